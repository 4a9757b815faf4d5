"""Top-k reranking: ordering, ties, candidates, batches, and the PyLate-compatible adapter."""

import numpy as np
import pytest

import muvera_nano as mn


def rows(rng, n, dim=24):
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def expected_order(scores, ids):
    # score descending, ties by lower id
    return sorted(range(len(ids)), key=lambda c: (-scores[c], ids[c]))


def test_rerank_all_documents_sorted_with_ties_by_lower_index(isa, rng):
    base = [rows(rng, n) for n in (3, 8, 1, 20, 5)]
    docs = base + [base[1], base[3], base[1]]  # duplicates score equal
    store = mn.Ragged.from_list(docs)
    q = rows(rng, 7)
    scores = mn.maxsim(q, store)
    ids, top = mn.rerank(q, store)
    order = expected_order(scores, list(range(len(docs))))
    np.testing.assert_array_equal(ids, order)
    np.testing.assert_array_equal(top, scores[order])
    assert ids.dtype == np.int64 and top.dtype == np.float32
    for k in (0, 1, 3, len(docs)):
        ids_k, top_k = mn.rerank(q, store, k=k)
        np.testing.assert_array_equal(ids_k, order[:k])
        np.testing.assert_array_equal(top_k, scores[order[:k]])


def test_rerank_candidates_subset(isa, rng):
    store = mn.Ragged.from_list([rows(rng, n) for n in rng.integers(1, 30, 50)])
    q = rows(rng, 9)
    scores = mn.maxsim(q, store)
    cand = np.array([40, 3, 17, 0, 49, 22], np.int64)
    ids, top = mn.rerank(q, store, candidates=cand, k=4)
    order = expected_order(scores[cand], list(cand))
    np.testing.assert_array_equal(ids, cand[order[:4]])
    np.testing.assert_array_equal(top, scores[cand][order[:4]])


def test_batch_rerank_with_per_query_candidates(isa, rng):
    store = mn.Ragged.from_list([rows(rng, n) for n in rng.integers(0, 30, 40)])
    qs = [rows(rng, n) for n in (1, 32, 33)]
    cand = np.stack([rng.permutation(40)[:10] for _ in qs]).astype(np.int64)
    ids, top = mn.rerank(mn.Ragged.from_list(qs), store, candidates=cand, k=5)
    assert ids.shape == top.shape == (3, 5)
    for i, q in enumerate(qs):
        one_ids, one_top = mn.rerank(q, store, candidates=cand[i], k=5)
        np.testing.assert_array_equal(ids[i], one_ids)
        np.testing.assert_array_equal(top[i], one_top)
    all_ids, all_top = mn.rerank(mn.Ragged.from_list(qs), store, k=7)
    for i, q in enumerate(qs):
        one_ids, one_top = mn.rerank(q, store, k=7)
        np.testing.assert_array_equal(all_ids[i], one_ids)
        np.testing.assert_array_equal(all_top[i], one_top)


def test_pylate_adapter_structure_and_order(rng):
    q = [rows(rng, 4), rows(rng, 6)]
    docs = [[rows(rng, 3), rows(rng, 9)], [rows(rng, 1), rows(rng, 2), rows(rng, 5)]]
    ids = [["a", "b"], [10, 11, 12]]
    out = mn.pylate_rerank(ids, q, docs)
    assert [len(r) for r in out] == [2, 3]
    for qi in range(2):
        scores = mn.maxsim(q[qi], mn.Ragged.from_list(docs[qi]))
        want = [ids[qi][c] for c in np.argsort(-scores, kind="stable")]
        assert [r["id"] for r in out[qi]] == want
        assert all(isinstance(r["score"], float) for r in out[qi])
    with pytest.raises(ValueError, match="documents_ids\\[0\\] has 1 ids"):
        mn.pylate_rerank([["a"]], q[:1], docs[:1])
    with pytest.raises(ValueError, match="one entry per query"):
        mn.pylate_rerank(ids, q[:1], docs)
