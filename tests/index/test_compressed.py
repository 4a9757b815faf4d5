"""The compressed storage kinds: PQ-coded tokens (an OPQ rotation + 8-bit product quantization)
and PQ-coded FDE rows (4-bit codes of the residual from a coarse centroid; with lists > 1 an
inverted file). Scores are checked against float64 computed here from the codebooks; the index's
life cycle (staging, training, conversion by merges, files on disk) against the rest of it."""

import json
from pathlib import Path

import numpy as np
import pytest

import muvera_nano as mn
from muvera_nano.index import Index, IndexFormatError
from muvera_nano.index.pq_fde import PQFdeKind
from muvera_nano.index.pq_tokens import PQTokenKind
from muvera_nano.index.quantizers import pq_decode, unpack_nibbles

DIM = 32


def clustered(rng, n, topics=24, lo=4, hi=30):
    """Documents of tokens around topic centres (compressible as real tokens are)."""
    centres = rng.standard_normal((topics, DIM)).astype(np.float32)
    out = []
    for _ in range(n):
        t = rng.choice(topics, 2)
        x = centres[rng.choice(t, int(rng.integers(lo, hi)))] + 0.3 * rng.standard_normal((1, DIM)).astype(np.float32)
        x = x + 0.25 * rng.standard_normal(x.shape).astype(np.float32)
        out.append((x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32))
    return out


@pytest.fixture
def fde():
    return mn.FDEConfig.google(DIM, repetitions=4, simhash_bits=3, projection_dimension=8)


def kinds(lists=1, train_after=200):
    return PQTokenKind(subspaces=8, train_after=train_after), PQFdeKind(lists=lists, train_after=train_after)


def create(path, fde, lists=1, train_after=200, **kw):
    tokens, fde_rows = kinds(lists, train_after)
    return Index.create(path, dim=DIM, fde=fde, token_dtype=tokens, fde_dtype=fde_rows, **kw)


def segment_kinds(path):
    m = json.loads((Path(path) / "manifest.json").read_text())
    return [(s["storage"]["tokens"]["kind"], s["storage"]["fde"]["kind"]) for s in m["segments"]]


def test_staged_until_trained_then_converted(tmp_path, rng, fde):
    docs = clustered(rng, 320)
    index = create(tmp_path / "ix", fde)
    index.add(token_vectors=docs[:120])
    assert segment_kinds(tmp_path / "ix") == [("float16", "float16")]  # below train_after: staged
    assert index.info()["codebooks"] == {}
    index.add(token_vectors=docs[120:])
    index.merge()
    info = index.info()
    assert set(info["codebooks"]) == {"tokens", "fde"}
    assert all(k == ("pq", "pq") for k in segment_kinds(tmp_path / "ix"))
    reopened = Index.open(tmp_path / "ix")
    q = clustered(rng, 1, lo=8, hi=9)[0]
    for mode in ("maxsim", "muvera", "rerank"):
        a, b = index.search(q, mode=mode, k=5), reopened.search(q, mode=mode, k=5)
        assert a.ids == b.ids
        np.testing.assert_array_equal(a.scores, b.scores)


def test_pq_token_scores_are_maxsim_of_the_decoded_tokens(rng, fde):
    index = create(None, fde, train_after=200)
    docs = clustered(rng, 260)
    index.add(token_vectors=docs)
    index.merge()
    seg = index._segments[0]
    assert seg.tokens.kind.name == "pq"
    codes, offsets = np.asarray(seg.tokens.ragged.tokens), np.asarray(seg.tokens.ragged.offsets)
    centroids = np.asarray(seg.tokens.ragged.codebook.centroids, np.float64)
    decoded = centroids[np.arange(codes.shape[1])[None, :], codes].reshape(len(codes), -1)  # rotated space
    q = clustered(rng, 1, lo=9, hi=10)[0]
    got = index.search(q, mode="maxsim", k=len(docs))
    # the kernel scores the query rotated in float32 against the decoded codes (in bfloat16 where
    # the AVX-512 kernels run on a CPU with AVX512_BF16)
    bf16 = mn.isa() == "avx512" and mn.cpu_info()["features"]["avx512_bf16"]
    qr = (q @ seg.tokens.rotation).astype(np.float64)
    gamma = lambda n: n * 2.0**-24 / (1 - n * 2.0**-24)  # noqa: E731
    want, bound = np.zeros(len(docs)), np.zeros(len(docs))
    for i in range(len(docs)):
        d = decoded[offsets[i] : offsets[i + 1]]
        sims = qr @ d.T
        want[i] = sims.max(axis=1).sum()
        # README, float32 storage: gamma(dim + 1) sum_i max_t sum_k |q_ik d_tk| + gamma(Tq) sum_i |m_i|
        bound[i] = (
            gamma(DIM + 1) * (np.abs(qr) @ np.abs(d).T).max(axis=1).sum()
            + gamma(len(q)) * np.abs(sims.max(axis=1)).sum()
        )
        if bf16:  # README, pq8 with AVX512_BF16: the bfloat16 row's bound on top
            bound[i] += ((2 * 2.0**-8 + 2.0**-16) * (np.abs(qr) @ np.abs(d).T)).max(axis=1).sum()
    ids = np.asarray(got.ids)
    assert sorted(ids.tolist()) == list(range(len(docs)))
    assert np.all(np.abs(got.scores - want[ids]) <= bound[ids])


def test_pq_fde_scores_within_the_lookup_table_bound(rng, fde):
    for lists in (1, 4):
        index = create(None, fde, lists=lists, train_after=200)
        index.add(token_vectors=clustered(rng, 260))
        index.merge()
        seg = index._segments[0]
        stored = seg.fde
        books = stored.books
        q = clustered(rng, 1, lo=9, hi=10)[0]
        q_fde = fde.encode_queries(mn.Ragged.from_list([q]))[0].astype(np.float64)
        rows = np.arange(len(stored))
        codes = unpack_nibbles(stored.codes(rows))
        residual = pq_decode(codes, books["centroids"].astype(np.float64))
        exact = books["coarse"][np.asarray(stored.lists)].astype(np.float64) @ q_fde + residual @ q_fde
        got = index.search(q, mode="muvera", k=len(rows), probe=lists)
        luts = mn.pq4_lut(q_fde.astype(np.float32), books["centroids"])
        m = books["centroids"].shape[0]
        bound = m * float(luts.scale[0]) / 2 + 1e-4 * (1 + np.abs(exact).max())
        np.testing.assert_allclose(got.scores, exact[np.asarray(got.ids)], rtol=0, atol=bound)


def test_probing_some_lists_scans_only_their_rows(rng, fde):
    index = create(None, fde, lists=8, train_after=200)
    index.add(token_vectors=clustered(rng, 300))
    index.merge()
    stored = index._segments[0].fde
    q = clustered(rng, 1, lo=9, hi=10)[0]
    q_fde = fde.encode_queries(mn.Ragged.from_list([q]))
    probe = stored.kind.prepare(q_fde, stored.books, 2)
    best = np.argsort(-(q_fde @ stored.books["coarse"].T)[0], kind="stable")[:2]
    assert sorted(probe.lists[0].tolist()) == sorted(best.tolist())
    got = index.search(q, mode="muvera", k=300, probe=2)
    assert set(np.asarray(stored.lists)[np.asarray(got.ids)].tolist()) <= set(best.tolist())
    in_lists = int(np.isin(np.asarray(stored.lists), best).sum())
    assert len(got.ids) == in_lists
    assert len(index.search(q, mode="muvera", k=300, probe=8).ids) == 300


@pytest.mark.parametrize("lists", [1, 4])
def test_merged_segments_answer_as_one_compacted_segment(tmp_path, rng, fde, lists):
    docs = clustered(rng, 420)
    queries = clustered(rng, 4, lo=8, hi=9)
    index = create(tmp_path / "ix", fde, lists=lists, train_after=200, merge="off")
    for s in range(0, 420, 60):
        index.add(token_vectors=docs[s : s + 60], ids=list(range(s, s + 60)))
    index.remove([3, 70, 250, 419])
    index.merge()  # converts staged segments, keeps later ones apart
    assert len(index.info()["codebooks"]) == 2
    before = {
        mode: [index.search(q, mode=mode, k=8, probe=lists) for q in queries] for mode in ("maxsim", "muvera", "rerank")
    }
    assert len(segment_kinds(tmp_path / "ix")) > 1
    index.compact()
    assert len(segment_kinds(tmp_path / "ix")) == 1
    for mode, results in before.items():
        for q, r in zip(queries, results):
            after = index.search(q, mode=mode, k=8, probe=lists)
            assert after.ids == r.ids, mode
            np.testing.assert_array_equal(after.scores, r.scores)


def test_codebooks_are_checked_on_open(tmp_path, rng, fde):
    index = create(tmp_path / "ix", fde, train_after=200)
    index.add(token_vectors=clustered(rng, 220))
    index.merge()
    m = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    centroids = tmp_path / "ix" / m["codebooks"]["tokens"]["files"]["centroids"]["file"]
    data = centroids.read_bytes()
    centroids.write_bytes(data[: len(data) - 64])  # truncated
    with pytest.raises(IndexFormatError, match="truncated"):
        Index.open(tmp_path / "ix")
    shape = m["codebooks"]["tokens"]["files"]["centroids"]["shape"]
    with open(centroids, "wb") as f:  # same size and header, other values
        np.save(f, np.random.default_rng(1).standard_normal(shape).astype(np.float32))
    assert len(centroids.read_bytes()) == len(data)
    with pytest.raises(IndexFormatError, match="checksum"):
        Index.open(tmp_path / "ix")


def test_compressed_rerank_agrees_with_exact_float32_maxsim(rng, fde):
    # a small, hard setting: 32-d tokens in 8 subspaces trained on 300 documents. Measured over 4 corpus
    # seeds (40 queries each): maxsim 0.81-0.88 and rerank(100) 0.79-0.85 against float16's 1.00 and
    # 0.93-0.95; the bounds below sit under that range (a broken codebook or scan scores near 0.1)
    docs = clustered(rng, 600, topics=40)
    index = create(None, fde, train_after=300)
    index.add(token_vectors=docs)
    index.merge()
    exact = mn.Ragged.from_list(docs)
    agree = {"maxsim": [], "rerank": []}
    for d in rng.choice(len(docs), 40, replace=False):  # queries: noisy tokens of a document
        q = docs[d][rng.integers(0, len(docs[d]), 8)] + 0.2 * rng.standard_normal((8, DIM)).astype(np.float32)
        q = (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)
        truth = set(mn.rerank(q, exact, k=10)[0].tolist())
        for mode in agree:
            agree[mode].append(len(set(index.search(q, mode=mode, k=10, n_candidates=100).ids) & truth) / 10)
    assert np.mean(agree["maxsim"]) >= 0.78 and np.mean(agree["rerank"]) >= 0.75, agree


def test_bad_kind_parameters(fde):
    with pytest.raises(ValueError, match="subspaces"):
        PQTokenKind(subspaces=0)
    with pytest.raises(ValueError, match="multiple of 5 subspaces"):
        Index.create(None, dim=DIM, fde=fde, token_dtype=PQTokenKind(subspaces=5), fde_dtype="float16")
    with pytest.raises(ValueError, match="lists"):
        PQFdeKind(lists=0)
    with pytest.raises(ValueError, match="backend='exact'"):
        Index.create(None, dim=DIM, fde=fde, token_dtype="float16", fde_dtype=PQFdeKind(), backend="hnsw")
    with pytest.raises(ValueError, match="probe"):
        Index.create(None, dim=DIM, fde=fde).search(np.ones((2, DIM), np.float32), probe=0)


def test_pq_training_refills_empty_clusters_from_repeated_vectors():
    # 300 rows, only 20 distinct: each Lloyd step leaves most of the 256 clusters empty, and each is
    # refilled by splitting the then-largest cluster (a split cluster may be chosen again)
    from muvera_nano.index.quantizers import pq_assign, pq_train

    rng = np.random.default_rng(3)
    x = rng.standard_normal((20, 8)).astype(np.float32)[rng.integers(0, 20, 300)]
    books = pq_train(x, 2, 256, iterations=4)
    assert books.shape == (2, 256, 4) and np.isfinite(books).all()
    decoded = pq_decode(pq_assign(x, books), books)
    np.testing.assert_allclose(decoded, x, atol=1e-3)  # fewer distinct sub-vectors than centroids: exact
