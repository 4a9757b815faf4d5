"""Index end to end with token vectors: modes, persistence, ids, removal, compaction."""

import os

import numpy as np
import pytest
from conftest import random_queries

import muvera_nano as mn
from muvera_nano.index import Index


def brute_force(docs, q, k):
    scores = mn.maxsim(q, mn.Ragged.from_list(docs))
    order = sorted(range(len(docs)), key=lambda j: (-scores[j], j))[:k]
    return order, scores[order]


@pytest.mark.parametrize("token_dtype", ["float32", "float16", "bfloat16", "int8"])
def test_maxsim_mode_equals_brute_force(tmp_path, rng, docs, small_fde, token_dtype):
    idx = Index.create(tmp_path / "ix", dim=32, fde=small_fde, token_dtype=token_dtype)
    idx.add(token_vectors=docs[:70])
    idx.add(token_vectors=docs[70:])  # two segments
    stored = mn.Ragged.from_list(docs).astype(token_dtype)
    for q in random_queries(rng, 5):
        res = idx.search(q, k=10, mode="maxsim")
        ids, scores = mn.rerank(q, stored, k=10)
        assert res.ids == ids.tolist()
        np.testing.assert_array_equal(res.scores, scores)


def test_rerank_with_every_candidate_equals_maxsim(rng, docs, small_fde):
    idx = Index.create(None, dim=32, fde=small_fde, token_dtype="float32")
    idx.add(token_vectors=docs[:50])
    idx.add(token_vectors=docs[50:])
    for q in random_queries(rng, 5):
        full = idx.search(q, k=20, mode="rerank", n_candidates=len(docs))
        exact = idx.search(q, k=20, mode="maxsim")
        assert full.ids == exact.ids
        np.testing.assert_array_equal(full.scores, exact.scores)


def test_muvera_mode_ranks_by_fde_dot_product(rng, docs, small_fde):
    idx = Index.create(None, dim=32, fde=small_fde, fde_dtype="float32")
    idx.add(token_vectors=docs)
    doc_fde = small_fde.encode_documents(mn.Ragged.from_list(docs))
    for q in random_queries(rng, 4):
        res = idx.search(q, k=15, mode="muvera")
        s = doc_fde @ small_fde.encode_queries(mn.Ragged.from_list([q]))[0]
        want = sorted(range(len(docs)), key=lambda j: (-s[j], j))[:15]
        assert res.ids == want
        np.testing.assert_allclose(res.scores, s[want], rtol=1e-5, atol=1e-5)


def test_segments_do_not_change_results(rng, docs, small_fde):
    one = Index.create(None, dim=32, fde=small_fde)
    one.add(token_vectors=docs)
    many = Index.create(None, dim=32, fde=small_fde)
    for s in range(0, len(docs), 17):
        many.add(token_vectors=docs[s : s + 17])
    qs = random_queries(rng, 6)
    for mode in ("maxsim", "muvera", "rerank"):
        a = one.search(qs, k=12, mode=mode, n_candidates=30)
        b = many.search(qs, k=12, mode=mode, n_candidates=30)
        for x, y in zip(a, b):
            assert x.ids == y.ids
            np.testing.assert_array_equal(x.scores, y.scores)


def test_save_open_and_batch_search(tmp_path, rng, docs, small_fde):
    mem = Index.create(None, dim=32, fde=small_fde, token_dtype="int8", fde_dtype="int8")
    mem.add(token_vectors=docs[:60], ids=[f"doc-{i}" for i in range(60)])
    mem.add(token_vectors=docs[60:], ids=[f"doc-{i}" for i in range(60, 120)])
    mem.remove(["doc-3", "doc-100"])
    qs = random_queries(rng, 4)
    before = mem.search(qs, k=8)
    mem.save(tmp_path / "saved")
    reopened = Index.open(tmp_path / "saved")
    after = reopened.search(mn.Ragged.from_list(qs), k=8)
    for x, y in zip(before, after):
        assert x.ids == y.ids
        np.testing.assert_array_equal(x.scores, y.scores)
    assert len(reopened) == 118 and reopened.id_kind == "str"
    assert "doc-3" not in reopened.ids()
    single = reopened.search(qs[0], k=8)
    assert single.ids == after[0].ids


def test_ids(tmp_path, docs, small_fde):
    idx = Index.create(tmp_path / "ix", dim=32, fde=small_fde)
    assert idx.add(token_vectors=docs[:3]) == [0, 1, 2]
    assert idx.add(token_vectors=docs[3:5], ids=[10, 7]) == [10, 7]
    assert idx.add(token_vectors=docs[5:6]) == [11]
    with pytest.raises(TypeError, match="this index uses int ids, got str ids"):
        idx.add(token_vectors=docs[:1], ids=["a"])
    with pytest.raises(ValueError, match="id 7 is already in the index"):
        idx.add(token_vectors=docs[:1], ids=[7])
    with pytest.raises(ValueError, match="ids contains 4 more than once"):
        idx.add(token_vectors=docs[:2], ids=[4, 4])
    with pytest.raises(ValueError, match="ids has 1 entries for 2 documents"):
        idx.add(token_vectors=docs[:2], ids=[4])
    with pytest.raises(TypeError, match="ids mixes ints and strings"):
        Index.create(None, dim=32, fde=small_fde).add(token_vectors=docs[:2], ids=[1, "a"])
    with pytest.raises(TypeError, match="ids must be ints or strings, got float"):
        Index.create(None, dim=32, fde=small_fde).add(token_vectors=docs[:1], ids=[1.5])
    assert Index.open(tmp_path / "ix").ids() == [0, 1, 2, 10, 7, 11]


def test_remove_and_compact(tmp_path, rng, docs, small_fde):
    idx = Index.create(tmp_path / "ix", dim=32, fde=small_fde, token_dtype="int8")
    idx.add(token_vectors=docs[:40])
    idx.add(token_vectors=docs[40:])
    qs = random_queries(rng, 3)
    target = idx.search(qs[0], k=1, mode="maxsim").ids[0]
    assert idx.remove([target, 5]) == 2
    with pytest.raises(KeyError, match="not in the index"):
        idx.remove([target])
    for mode in ("maxsim", "muvera", "rerank"):
        assert target not in idx.search(qs[0], k=len(docs), mode=mode, n_candidates=200).ids
    before = idx.search(qs, k=10, mode="maxsim")
    idx.compact()
    assert len(Index.open(tmp_path / "ix")._segments) == 1
    after = Index.open(tmp_path / "ix").search(qs, k=10, mode="maxsim")
    for x, y in zip(before, after):
        assert x.ids == y.ids
        np.testing.assert_array_equal(x.scores, y.scores)
    assert len(idx) == len(docs) - 2
    names = sorted(p.name for p in (tmp_path / "ix").iterdir())
    assert all(n.startswith(("seg-000002", "manifest", ".lock", "jobs")) for n in names), names
    assert not os.listdir(tmp_path / "ix" / "jobs")  # no work left in progress


def test_search_arguments(rng, docs, small_fde):
    idx = Index.create(None, dim=32, fde=small_fde)
    idx.add(token_vectors=docs)
    q = random_queries(rng, 1)[0]
    with pytest.raises(ValueError, match="mode must be one of"):
        idx.search(q, mode="fast")
    with pytest.raises(ValueError, match="k must be an int >= 0"):
        idx.search(q, k=-1)
    for mode in ("maxsim", "muvera", "rerank"):  # k = 0, as in the kernels: nothing, in every mode
        none = idx.search(q, k=0, mode=mode)
        assert none.ids == [] and none.scores.shape == (0,)
    with pytest.raises(ValueError, match="n_candidates must be an int >= 1"):
        idx.search(q, n_candidates=0)
    with pytest.raises(ValueError, match="have dimension 16"):
        idx.search(q[:, :16])
    with pytest.raises(TypeError, match="queries must be a string"):
        idx.search(42)
    with pytest.raises(ValueError, match="this index has no encoder"):
        idx.search("a text query")
    assert len(idx.search(q, k=500).ids) == len(docs)  # k beyond the collection: everything


def test_create_refuses_to_clobber(tmp_path, small_fde):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not an empty folder"):
        Index.create(tmp_path / "other", dim=32, fde=small_fde)
    with pytest.raises(FileExistsError, match="is not a muvera-nano index; refusing to delete it"):
        Index.create(tmp_path / "other", dim=32, fde=small_fde, overwrite=True)
    with pytest.raises(ValueError, match="the FDE config is for 32-dimensional tokens, the index for 16"):
        Index.create(None, dim=16, fde=small_fde)


@pytest.mark.parametrize("token_dtype", ["float32", "float16", "bfloat16", "int8"])
@pytest.mark.parametrize("fde_dtype", ["float32", "float16", "int8"])
def test_compaction_joins_stored_and_new_segments_as_they_are(tmp_path, rng, docs, small_fde, token_dtype, fde_dtype):
    # segments read back from disk (bfloat16 kept as uint16 bits) and one just added (in memory)
    idx = Index.create(tmp_path / "ix", dim=32, fde=small_fde, token_dtype=token_dtype, fde_dtype=fde_dtype)
    idx.add(token_vectors=docs[:50])
    idx = Index.open(tmp_path / "ix")
    idx.add(token_vectors=docs[50:])
    idx.remove([7, 77])
    qs = random_queries(rng, 4)
    before = {mode: idx.search(qs, k=20, mode=mode, n_candidates=40) for mode in ("maxsim", "muvera", "rerank")}
    idx.compact()
    for reopened in (idx, Index.open(tmp_path / "ix", verify=True)):
        assert len(reopened._segments) == 1 and len(reopened) == len(docs) - 2
        for mode, results in before.items():
            for x, y in zip(results, reopened.search(qs, k=20, mode=mode, n_candidates=40)):
                assert x.ids == y.ids
                np.testing.assert_array_equal(x.scores, y.scores)
