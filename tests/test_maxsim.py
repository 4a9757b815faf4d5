"""MaxSim against an independent float64 reference, on every ISA and storage type."""

import numpy as np
import pytest
from maxsim_reference import as_scored, float32_bound, maxsim64, storage_bound

import muvera_nano as mn
from muvera_nano._testing import forced_isa

DTYPES = ["float32", "float16", "bfloat16", "int8"]
DIMS = [1, 3, 8, 15, 16, 17, 31, 64, 96, 128, 129, 384]
QUERY_ROWS = [1, 2, 7, 32, 33]
DOC_ROWS = [0, 1, 2, 5, 15, 16, 17, 300]


def unit_rows(rng, n, dim):
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def corpus(rng, dim, lengths):
    docs = [unit_rows(rng, n, dim) for n in lengths]
    return docs, mn.Ragged.from_list(docs, dim=dim)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", DIMS)
def test_maxsim_matches_float64_reference(isa, rng, dim, dtype):
    lengths = DOC_ROWS + list(rng.permutation(DOC_ROWS))
    docs, store = corpus(rng, dim, lengths)
    stored = store.astype(dtype)
    for rows in QUERY_ROWS:
        q = unit_rows(rng, rows, dim)
        got = mn.maxsim(q, stored)
        assert got.dtype == np.float32 and got.shape == (len(docs),)
        for j, d in enumerate(docs):
            qs, ds = as_scored(q, d, dtype)
            want = maxsim64(qs, ds)
            if d.shape[0] == 0:
                assert got[j] == -np.inf
                continue
            # The kernel computes exactly these scored values up to float32 rounding ...
            assert abs(got[j] - want) <= float32_bound(qs, ds), (rows, j, got[j], want)
            # ... and stays within the documented storage bound of the float32 inputs' score.
            exact = maxsim64(q, d)
            assert abs(got[j] - exact) <= storage_bound(q, d, dtype) + float32_bound(qs, ds), (rows, j)


@pytest.mark.parametrize("dtype", DTYPES)
def test_many_queries_equal_one_at_a_time(isa, rng, dtype):
    docs, store = corpus(rng, 64, [3, 0, 40, 17, 1, 90])
    store = store.astype(dtype)
    qs = [unit_rows(rng, n, 64) for n in (1, 32, 33, 5)]
    ragged_q = mn.Ragged.from_list(qs)
    batch = mn.maxsim(ragged_q, store)
    assert batch.shape == (4, len(docs))
    for i, q in enumerate(qs):
        np.testing.assert_array_equal(batch[i], mn.maxsim(q, store))
    padded = np.stack([unit_rows(rng, 8, 64) for _ in range(3)])
    out3 = mn.maxsim(padded, store)
    for i in range(3):
        np.testing.assert_array_equal(out3[i], mn.maxsim(padded[i], store))


@pytest.mark.parametrize("dtype", DTYPES)
def test_simd_paths_agree_with_scalar(rng, dtype):
    """Every ISA against the scalar reference kernel on awkward sizes: both compute the
    same values in float32, so they differ by at most twice the float32 rounding bound."""
    for dim in (1, 7, 17, 33, 130):
        docs, store = corpus(rng, dim, [0, 1, 2, 5, 6, 7, 11, 12, 13, 31, 300])
        store = store.astype(dtype)
        queries = [unit_rows(rng, n, dim) for n in (1, 15, 16, 17, 31, 32, 33, 48, 65)]
        with forced_isa("scalar"):
            ref = mn.maxsim(mn.Ragged.from_list(queries), store)
        # Every level, and avx512 also without its extensions (AVX512_BF16 / VNNI kernels).
        for isa, ext in [(i, True) for i in mn.supported_isas()] + [("avx512", False)] * (
            "avx512" in mn.supported_isas()
        ):
            with forced_isa(isa, extensions=ext):
                got = mn.maxsim(mn.Ragged.from_list(queries), store)
            for i, q in enumerate(queries):
                for j, d in enumerate(docs):
                    if d.shape[0] == 0:
                        assert got[i, j] == ref[i, j] == -np.inf
                        continue
                    bound = 2 * float32_bound(*as_scored(q, d, dtype))
                    assert abs(got[i, j] - ref[i, j]) <= bound, (isa, dtype, dim, i, j)


def test_int8_is_exact_integer_arithmetic_on_every_isa(rng):
    """int8 dots are integers: every ISA gives the scalar path's bits when dim <= 1040."""
    _docs, store = corpus(rng, 96, [1, 7, 13, 50])
    store = store.astype("int8")
    q = unit_rows(rng, 20, 96)
    with forced_isa("scalar"):
        ref = mn.maxsim(q[:1], store)  # one query row: no summation-order freedom
    for isa in mn.supported_isas():
        with forced_isa(isa):
            np.testing.assert_array_equal(mn.maxsim(q[:1], store), ref)


def test_sliced_and_misaligned_buffers(isa, rng):
    dim = 33
    _docs, store = corpus(rng, dim, [4, 0, 19, 7])
    want = mn.maxsim(unit_rows(np.random.default_rng(5), 9, dim), store)
    q = unit_rows(np.random.default_rng(5), 9, dim)
    # rows with a stride wider than the row (a column slice of a wider array)
    wide = np.zeros((store.n_tokens, dim + 5), np.float32)
    wide[:, 3 : 3 + dim] = store.tokens
    sliced = mn.Ragged(wide[:, 3 : 3 + dim], store.offsets)
    np.testing.assert_array_equal(mn.maxsim(q, sliced), want)
    # misaligned: float32 data starting one byte into a buffer
    raw = bytearray(store.tokens.nbytes + 1)
    mis = np.frombuffer(raw, dtype=np.float32, count=store.tokens.size, offset=1).reshape(store.tokens.shape)
    mis[...] = store.tokens
    assert not mis.flags.aligned
    qraw = bytearray(q.nbytes + 3)
    qmis = np.frombuffer(qraw, dtype=np.float32, count=q.size, offset=3).reshape(q.shape)
    qmis[...] = q
    np.testing.assert_array_equal(mn.maxsim(qmis, mn.Ragged(mis, store.offsets)), want)
    # misaligned int8 scales and float16 tokens
    q8 = store.astype("int8")
    sraw = bytearray(q8.scales.nbytes + 1)
    smis = np.frombuffer(sraw, dtype=np.float32, count=q8.scales.size, offset=1)
    smis[...] = q8.scales
    np.testing.assert_array_equal(mn.maxsim(q, mn.Ragged(q8.tokens, q8.offsets, smis)), mn.maxsim(q, q8))
