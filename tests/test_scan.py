"""The dense scan (dot products + fused top-k) against float64, on every ISA and row type."""

import ml_dtypes
import numpy as np
import pytest

import muvera_nano as mn

DTYPES = ["float32", "float16", "bfloat16", "int8"]


def stored(rows, dtype):
    """(array, scales, the float64 values the kernel multiplies)."""
    if dtype == "float32":
        return rows, None, rows.astype(np.float64)
    if dtype == "float16":
        a = rows.astype(np.float16)
        return a, None, a.astype(np.float64)
    if dtype == "bfloat16":
        a = rows.astype(ml_dtypes.bfloat16)
        return a, None, a.astype(np.float64)
    q, s = mn.quantize_int8(rows)
    return q, s, q.astype(np.float64) * s[:, None].astype(np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [1, 7, 15, 16, 17, 31, 33, 100, 257])
def test_dot_scores_match_float64(isa, rng, dtype, dim):
    rows = rng.standard_normal((203, dim)).astype(np.float32)
    arr, scales, values = stored(rows, dtype)
    for nq in (1, 2, 3, 4, 5, 9):
        q = rng.standard_normal((nq, dim)).astype(np.float32)
        got = mn.dot_scores(q, arr, scales=scales)
        want = q.astype(np.float64) @ values.T
        bound = 1.01 * (dim + 2) * 2.0**-24 * (np.abs(q).astype(np.float64) @ np.abs(values).T)
        assert (np.abs(got - want) <= bound).all()
    # a query's scores do not depend on which queries it is batched with
    batch = mn.dot_scores(q, arr, scales=scales)
    for i in range(nq):
        np.testing.assert_array_equal(mn.dot_scores(q[i], arr, scales=scales), batch[i])


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_rows_score_does_not_depend_on_its_neighbours(isa, rng, dtype):
    # Kernels score several rows at once; starting the matrix one to three rows later shifts
    # every row into another position of its block, and must not change a single bit.
    rows = rng.standard_normal((37, 161)).astype(np.float32)
    arr, scales, _ = stored(rows, dtype)
    for nq in (1, 2, 3, 4):
        q = rng.standard_normal((nq, 161)).astype(np.float32)
        full = mn.dot_scores(q, arr, scales=scales)
        for start in (1, 2, 3):
            part = mn.dot_scores(q, arr[start:], scales=None if scales is None else scales[start:])
            np.testing.assert_array_equal(part, full[:, start:])


@pytest.mark.parametrize("dtype", DTYPES)
def test_dot_topk_equals_sorting_every_score(isa, rng, dtype):
    rows = rng.standard_normal((5000, 40)).astype(np.float32)
    rows[100] = rows[7]  # an exact tie: the lower row index ranks first
    arr, scales, _ = stored(rows, dtype)
    q = rng.standard_normal((6, 40)).astype(np.float32)
    scores = mn.dot_scores(q, arr, scales=scales)
    for k in (0, 1, 10, 100):
        ids, top = mn.dot_topk(q, arr, k, scales=scales)
        assert ids.shape == top.shape == (6, k)
        for i in range(6):
            order = sorted(range(5000), key=lambda j: (-scores[i, j], j))[:k]
            np.testing.assert_array_equal(ids[i], order)
            np.testing.assert_array_equal(top[i], scores[i, order])


def test_exclude_and_short_results(isa, rng):
    rows = rng.standard_normal((50, 8)).astype(np.float32)
    q = rng.standard_normal(8).astype(np.float32)
    exclude = np.zeros(50, bool)
    exclude[::2] = True
    ids, top = mn.dot_topk(q, rows, 30, exclude=exclude)
    # Fewer results when fewer rows are eligible: never padded with ids numpy would read as rows.
    assert ids.shape == top.shape == (25,)
    assert (ids % 2 == 1).all() and not np.isnan(top).any()
    scores = mn.dot_scores(q, rows)
    np.testing.assert_array_equal(ids, sorted(range(1, 50, 2), key=lambda j: -scores[j]))
    # A k far above the row count is clamped before anything is allocated.
    ids, top = mn.dot_topk(np.stack([q, q]), rows, 10**12)
    assert ids.shape == top.shape == (2, 50)
    ids, _ = mn.dot_topk(q, rows, 10**12, exclude=np.ones(50, bool))
    assert ids.shape == (0,)


def test_topk_is_independent_of_threads_and_nan_ranks_last(isa, rng):
    rows = rng.standard_normal((20000, 24)).astype(np.float32)
    rows[5, 3] = np.nan
    q = rng.standard_normal((3, 24)).astype(np.float32)
    one = mn.dot_topk(q, rows, 20000, threads=1)
    two = mn.dot_topk(q, rows, 20000, threads=2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
    assert (one[0][:, -1] == 5).all() and np.isnan(one[1][:, -1]).all()


@pytest.mark.parametrize(
    "call, exc, pattern",
    [
        (lambda q, r: mn.dot_scores(q.astype(np.float64), r), TypeError, "queries must be a float32 array"),
        (lambda q, r: mn.dot_scores(q[:, :3], r), ValueError, "queries have dimension 3 but rows have dimension 8"),
        (lambda q, r: mn.dot_scores(q, r.astype(np.float64)), TypeError, "rows must be float32, float16, bfloat16"),
        (lambda q, r: mn.dot_scores(q, r[:, ::2]), ValueError, "rows must have contiguous rows"),
        (lambda q, r: mn.dot_scores(q, r.astype(np.int8)), TypeError, "scales must be a float32 array"),
        (lambda q, r: mn.dot_topk(q, r, -1), ValueError, "k must be >= 0"),
        (lambda q, r: mn.dot_topk(q, r, 2, exclude=np.zeros(3, bool)), ValueError, r"exclude must have shape \(10,\)"),
        (lambda q, r: mn.dot_topk(q, r, 2, exclude=np.zeros(10, np.int8)), TypeError, "exclude must be a bool array"),
        (lambda q, r: mn.dot_topk(q, r, 2, exclude=[False] * 10), TypeError, "exclude must be a bool numpy array"),
        (lambda q, r: mn.dot_topk(q, r, 2.0), TypeError, "k must be an int"),
        (lambda q, r: mn.dot_topk(q, r, True), TypeError, "k must be an int"),
        (lambda q, r: mn.dot_topk(q, r, -(2**70)), ValueError, "k must be >= 0"),
        (
            lambda q, r: mn.dot_topk(q, r, 2, dtype="float16"),
            TypeError,
            "rows holds float32 values but dtype='float16'",
        ),
        (lambda q, r: mn.dot_topk(q, r, 2, dtype="float8"), ValueError, "dtype must be one of"),
        (lambda q, r: mn.dot_topk(q, r.view(np.uint16), 2), TypeError, "uint16, which is ambiguous"),
    ],
)
def test_scan_rejections(rng, call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call(rng.standard_normal((2, 8)).astype(np.float32), rng.standard_normal((10, 8)).astype(np.float32))
