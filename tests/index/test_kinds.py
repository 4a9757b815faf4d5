"""Storage kinds per segment and codebooks per index, proven with a kind that needs training
(trained_kinds.py: int8 codes with a trained scale table) before the real compressed kinds exist:
documents are staged as float16 until the index holds the kind's minimum, training happens once
on a sample of what is staged, the codebooks are committed through the manifest, merges rewrite
staged segments in the trained kind, and search treats every segment by its own kinds."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import trained_kinds as tk
from conftest import random_docs, random_queries

import muvera_nano as mn
from muvera_nano.index import Index, IndexFormatError

TRAINED = "test-table-int8"
HERE = Path(__file__).resolve().parent


def create(path, fde, **kw):
    return Index.create(path, dim=32, fde=fde, token_dtype=TRAINED, fde_dtype=TRAINED, **kw)


def manifest(path):
    return json.loads((path / "manifest.json").read_text())


def kinds_of(path):
    return [
        (s["storage"]["tokens"]["kind"], s["storage"]["fde"]["kind"], s["documents"])
        for s in manifest(path)["segments"]
    ]


def scale_table(path, role):
    book = manifest(path)["codebooks"][role]
    return np.load(path / book["files"]["scale"]["file"])


def expected_scores(path, docs, staged, q, fde):
    """MaxSim and FDE scores computed here, in float64, from what each document should be stored
    as: float16 while staged; the codes of its float32 input when added after training; the codes
    of its float16 value when a merge re-encoded it from the staging kind."""
    tok_scale, fde_scale = scale_table(path, "tokens"), scale_table(path, "fde")
    q_fde = fde.encode_queries(mn.Ragged.from_list([q]))[0].astype(np.float64)
    maxsim, dots = [], []
    for i, x in enumerate(docs):
        f = fde.encode_documents(mn.Ragged.from_list([x]))[0]
        if staged[i] == "staged":
            xt, xf = x.astype(np.float16), f.astype(np.float16)
        else:
            src_t = x.astype(np.float16).astype(np.float32) if staged[i] == "converted" else x
            src_f = f.astype(np.float16).astype(np.float32) if staged[i] == "converted" else f
            xt, xf = tk.encode(src_t, tok_scale) * tok_scale, tk.encode(src_f[None], fde_scale)[0] * fde_scale
        maxsim.append((q.astype(np.float64) @ xt.astype(np.float64).T).max(axis=1).sum())
        dots.append(xf.astype(np.float64) @ q_fde)
    return np.array(maxsim), np.array(dots)


def check_results(idx, path, docs, staged, fde, rng):
    for q in random_queries(rng, 4):
        maxsim, dots = expected_scores(path, docs, staged, q, fde)
        for mode, want in (("maxsim", maxsim), ("muvera", dots)):
            res = idx.search(q, k=10, mode=mode)
            np.testing.assert_allclose(res.scores, want[res.ids], rtol=1e-4, atol=1e-4)
            assert res.scores[-1] >= np.sort(want)[-10] - 1e-4  # the true top 10, up to rounding
        full = idx.search(q, k=10, mode="rerank", n_candidates=len(docs))
        assert full.ids == idx.search(q, k=10, mode="maxsim").ids


def test_documents_are_staged_until_the_kind_can_be_trained(tmp_path, rng, small_fde):
    path = tmp_path / "ix"
    idx = create(path, small_fde, merge="off")
    docs = random_docs(rng, 100)
    idx.add(token_vectors=docs[:15])
    idx.add(token_vectors=docs[15:30])
    assert kinds_of(path) == [("float16", "float16", 15)] * 2 and manifest(path)["codebooks"] == {}
    staged = ["staged"] * 30
    # reaching the minimum (40) within an add: trained on a sample of the staged and the new
    # documents, committed, and the add's documents stored in the trained kind
    idx.add(token_vectors=docs[30:45])
    books = manifest(path)["codebooks"]
    assert set(books) == {"tokens", "fde"} and books["tokens"]["documents"] == tk.MIN_DOCUMENTS
    assert books["tokens"]["kind"] == {"kind": TRAINED}
    assert kinds_of(path)[2] == (TRAINED, TRAINED, 15)
    idx.add(token_vectors=docs[45:])
    staged += ["trained"] * 70
    for reopened in (idx, Index.open(path, verify=True)):  # the codebooks are checksummed like segment files
        check_results(reopened, path, docs, staged, small_fde, rng)
    # a merge rewrites the staged segments in the trained kind, from their float16 values
    assert idx.merge() == 1
    assert [k[:2] for k in kinds_of(path)] == [(TRAINED, TRAINED)] * 3
    staged = ["converted"] * 30 + ["trained"] * 70
    check_results(idx, path, docs, staged, small_fde, rng)
    idx.compact()
    assert kinds_of(path) == [(TRAINED, TRAINED, 100)]
    check_results(Index.open(path, verify=True), path, docs, staged, small_fde, rng)


def test_training_happens_once_and_merges_convert_after_commits(tmp_path, rng, small_fde):
    path = tmp_path / "ix"
    idx = create(path, small_fde)  # merge="commit": training and conversion follow each commit
    docs = random_docs(rng, 90)
    for s in range(0, 90, 10):
        idx.add(token_vectors=docs[s : s + 10])
        n = s + 10
        assert bool(manifest(path)["codebooks"]) == (n >= tk.MIN_DOCUMENTS)
        if n >= tk.MIN_DOCUMENTS:  # nothing staged is left once the index is trained
            assert all(k[:2] == (TRAINED, TRAINED) for k in kinds_of(path)), kinds_of(path)
    first = scale_table(path, "tokens")
    idx.add(token_vectors=random_docs(rng, 30))
    np.testing.assert_array_equal(scale_table(path, "tokens"), first)  # trained once, never again
    # documents 0..29 were staged (3 x 10 < 40), the fourth add trained on all 40
    staged = ["converted"] * 30 + ["trained"] * 60
    idx.remove(list(range(90, 120)))
    check_results(idx, path, docs, staged, small_fde, rng)


def test_an_index_in_memory_trains_and_saves_its_codebooks(tmp_path, rng, small_fde):
    idx = create(None, small_fde)
    docs = random_docs(rng, 60)
    idx.add(token_vectors=docs[:20])
    idx.add(token_vectors=docs[20:])
    assert [(s.kind("tokens").name, s.n) for s in idx._segments] == [(TRAINED, 20), (TRAINED, 40)]
    q = random_queries(rng, 1)[0]
    before = idx.search(q, k=10)
    idx.save(tmp_path / "saved")
    after = Index.open(tmp_path / "saved", verify=True).search(q, k=10)
    assert before.ids == after.ids
    np.testing.assert_array_equal(before.scores, after.scores)


def test_damaged_or_missing_codebooks_are_refused(tmp_path, rng, small_fde):
    path = tmp_path / "ix"
    create(path, small_fde).add(token_vectors=random_docs(rng, 50))
    m = manifest(path)
    scale = path / m["codebooks"]["tokens"]["files"]["scale"]["file"]
    good = scale.read_bytes()
    scale.write_bytes(good[:-4] + b"\0\0\0\0")
    with pytest.raises(IndexFormatError, match="checksum mismatch"):
        Index.open(path)
    np.save(scale, np.zeros(7, np.float32))
    with pytest.raises(IndexFormatError):
        Index.open(path)
    scale.write_bytes(good)
    Index.open(path)
    # a manifest claiming a trained segment without codebooks (checksum recomputed, as a buggy
    # writer would) is refused with what is wrong
    from muvera_nano.index.manifest import _checksum

    m.pop("checksum")
    version = m.pop("format_version")
    m.pop("format")
    m["codebooks"] = {}
    (path / "manifest.json").write_text(
        json.dumps({"format": "muvera-nano-index", "format_version": version, **m, "checksum": _checksum(m, version)})
    )
    with pytest.raises(IndexFormatError, match=r"stored as .*test-table-int8.*, but the index has no codebooks for it"):
        Index.open(path)


def test_a_process_that_does_not_know_the_kind_says_so(tmp_path, rng, small_fde):
    path = tmp_path / "ix"
    create(path, small_fde).add(token_vectors=random_docs(rng, 50))
    out = subprocess.run(
        [sys.executable, "-c", f"from muvera_nano.index import Index; Index.open({str(path)!r})"],
        capture_output=True,
        text=True,
    )
    assert "unknown token storage {'kind': 'test-table-int8'}; this muvera-nano knows" in out.stderr
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(HERE)!r})
        import trained_kinds
        from muvera_nano.index import Index
        print(len(Index.open({str(path)!r}, verify=True)))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.stdout.strip() == "50", out.stderr


def test_kinds_are_checked_when_named(small_fde):
    with pytest.raises(
        ValueError, match=r"token_dtype must be one of \(.*'float16'.*'test-table-int8'.*\), got 'residual'"
    ):
        Index.create(None, dim=32, fde=small_fde, token_dtype="residual")
    with pytest.raises(ValueError, match="fde_dtype must be a fde storage kind, got a tokens kind"):
        Index.create(None, dim=32, fde=small_fde, fde_dtype=tk.TableTokenKind())
    with pytest.raises(TypeError, match="token_dtype must be a storage kind's name or object, got int"):
        Index.create(None, dim=32, fde=small_fde, token_dtype=8)


def test_training_documents_says_how_many_documents_the_codebooks_wait_for(tmp_path, rng, small_fde):
    assert Index.create(None, dim=32, fde=small_fde).training_documents() == 0  # no kind needs codebooks
    idx = create(tmp_path / "ix", small_fde, merge="off")
    assert idx.training_documents() == tk.MIN_DOCUMENTS
    idx.add(token_vectors=random_docs(rng, tk.MIN_DOCUMENTS - 1))
    assert idx.training_documents() == tk.MIN_DOCUMENTS  # staged, not trained yet
    idx.add(token_vectors=random_docs(rng, 1))
    assert manifest(tmp_path / "ix")["codebooks"] and idx.training_documents() == 0
    mixed = Index.create(tmp_path / "mixed", dim=32, fde=small_fde, token_dtype=TRAINED)
    assert mixed.training_documents() == tk.MIN_DOCUMENTS  # one role is enough
    # the sample a kind takes from a large collection, when more than its minimum
    from muvera_nano.index.pq_fde import PQFdeKind

    pq = Index.create(None, dim=32, fde=small_fde, fde_dtype=PQFdeKind(lists=4, train_after=60))
    assert pq.training_documents() == PQFdeKind(lists=4, train_after=60).training_sample(10**9) == 4000
