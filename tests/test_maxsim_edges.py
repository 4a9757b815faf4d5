"""MaxSim's defined edge cases: empty inputs, NaN, negative similarities, zero documents."""

import numpy as np
import pytest

import muvera_nano as mn

DTYPES = ["float32", "float16", "bfloat16", "int8"]


def rows(rng, n, dim=16):
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_query_scores_zero_and_empty_document_minus_inf(isa, rng, dtype):
    store = mn.Ragged.from_list([rows(rng, 0), rows(rng, 3)]).astype(dtype)
    np.testing.assert_array_equal(mn.maxsim(np.zeros((0, 16), np.float32), store), [0.0, 0.0])
    got = mn.maxsim(rows(rng, 4), store)
    assert got[0] == -np.inf and np.isfinite(got[1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_documents_give_empty_results(isa, rng, dtype):
    store = mn.Ragged.from_list([], dim=16).astype(dtype)
    assert len(store) == 0
    assert mn.maxsim(rows(rng, 4), store).shape == (0,)
    assert mn.maxsim(np.stack([rows(rng, 4)] * 3), store).shape == (3, 0)
    ids, scores = mn.rerank(rows(rng, 4), store)
    assert ids.shape == (0,) and scores.shape == (0,)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_nan_in_a_document_row_makes_only_that_score_nan(isa, rng, dtype):
    docs = [rows(rng, 5) for _ in range(4)]
    docs[2][3, 7] = np.nan
    got = mn.maxsim(rows(rng, 6), mn.Ragged.from_list(docs).astype(dtype))
    assert np.isnan(got[2]) and np.isfinite(np.delete(got, 2)).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_in_the_query_makes_every_score_nan(isa, rng, dtype):
    store = mn.Ragged.from_list([rows(rng, n) for n in (1, 5, 40)]).astype(dtype)
    q = rows(rng, 20)
    q[17, 2] = np.nan
    assert np.isnan(mn.maxsim(q, store)).all()


def test_nan_in_int8_scales_propagates(isa, rng):
    store = mn.Ragged.from_list([rows(rng, n) for n in (2, 5, 9)]).astype("int8")
    scales = store.scales.copy()
    scales[3] = np.nan  # a row of document 1
    got = mn.maxsim(rows(rng, 3), mn.Ragged(store.tokens, store.offsets, scales))
    assert np.isnan(got[1]) and np.isfinite(got[[0, 2]]).all()


def test_nan_ranks_last(isa, rng):
    docs = [rows(rng, 3) for _ in range(5)]
    docs[1][0, 0] = np.nan
    docs[3] = docs[3][:0]
    ids, scores = mn.rerank(rows(rng, 4), mn.Ragged.from_list(docs, dim=16))
    assert ids[-1] == 1 and np.isnan(scores[-1])
    assert ids[-2] == 3 and scores[-2] == -np.inf


@pytest.mark.parametrize("dtype", DTYPES)
def test_negative_similarities_are_not_lifted_to_zero(isa, dtype):
    """PyLate zero-pads short documents in rerank/colbert_scores, so a short document's
    row max becomes max(true max, 0). MaxSim here is exact: this test fails on that quirk."""
    q = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    short = np.array([[-0.6, -0.8]], np.float32)  # every similarity negative
    long = np.array([[0.6, 0.8], [-1.0, 0.0], [0.0, -1.0]], np.float32)
    store = mn.Ragged.from_list([short, long]).astype(dtype)
    got = mn.maxsim(q, store)
    assert got[0] == pytest.approx(-1.4, abs=0.03)
    # What zero padding to the longest document gives instead (the quirk): 0 for the short one.
    padded = np.zeros((2, 3, 2), np.float32)
    padded[0, :1], padded[1] = short, long
    assert np.einsum("id,ntd->nit", q, padded).max(axis=2).sum(axis=1)[0] == 0.0
    ids, _ = mn.rerank(q, store)
    assert list(ids) == [1, 0]


def test_infinite_query_gives_non_finite_not_a_crash(isa, rng):
    store = mn.Ragged.from_list([rows(rng, 3), rows(rng, 0)])
    q = rows(rng, 2)
    q[0, 0] = np.inf
    got = mn.maxsim(q, store)
    assert not np.isfinite(got).any()
