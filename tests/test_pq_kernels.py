"""Product quantization through the Python API, on every instruction set, against float64
numpy references: pq_encode / pq_decode, MaxSim and rerank over pq8 tokens, the 4-bit LUT's
bound, and pq4_topk against a full sort of every eligible row (identical across ISAs and
thread counts); plus the errors bad input gets."""

import numpy as np
import pytest

import muvera_nano as mn
from muvera_nano import kernels


def unpack(codes, K):
    if K == 256:
        return codes.astype(np.int64)
    out = np.empty((codes.shape[0], 2 * codes.shape[1]), np.int64)
    out[:, 0::2], out[:, 1::2] = codes & 15, codes >> 4
    return out


@pytest.mark.parametrize("K", [16, 256])
@pytest.mark.parametrize("M,dsub", [(2, 1), (6, 3), (32, 4), (4, 9)])
def test_pq_encode_is_the_nearest_centroid_and_identical_everywhere(isa, rng, K, M, dsub):
    cent = rng.standard_normal((M, K, dsub)).astype(np.float32)
    rows = rng.standard_normal((301, M * dsub)).astype(np.float32)
    codes = kernels.pq_encode(rows, cent, threads=2)
    assert codes.shape == (301, M if K == 256 else M // 2) and codes.dtype == np.uint8
    x = rows.reshape(301, M, 1, dsub).astype(np.float64)
    d = ((x - cent[None].astype(np.float64)) ** 2).sum(-1)  # (n, M, K)
    got = np.take_along_axis(d, unpack(codes, K)[..., None], 2)[..., 0]
    assert (got <= d.min(2) + 1e-5 * (1 + d.min(2))).all()
    with mn._testing.forced_isa("scalar"):
        assert np.array_equal(kernels.pq_encode(rows, cent, threads=1), codes)
    assert np.array_equal(kernels.pq_encode(rows, cent, threads=3), codes)
    decoded = kernels.pq_decode(codes, cent)
    want = cent[np.arange(M)[None], unpack(codes, K)].reshape(301, M * dsub)
    assert np.array_equal(decoded, want)


def test_pq8_maxsim_and_rerank_score_the_decoded_tokens(isa, rng):
    M, dsub, dim = 16, 8, 128
    cb = kernels.PQCodebook(rng.standard_normal((M, 256, dsub)).astype(np.float32) / 8)
    lengths = rng.integers(0, 40, 37)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    codes = rng.integers(0, 256, (offsets[-1], M), dtype=np.uint8)
    docs = kernels.Ragged(codes, offsets, codebook=cb)
    decoded = docs.to_float32()
    assert np.array_equal(decoded, cb.decode(codes))
    q = rng.standard_normal((9, dim)).astype(np.float32) / 8
    got = kernels.maxsim(q, docs, threads=2)
    q64, d64 = q.astype(np.float64), decoded.astype(np.float64)
    for j in range(len(lengths)):
        a, b = offsets[j], offsets[j + 1]
        if a == b:
            assert got[j] == -np.inf
            continue
        want = (q64 @ d64[a:b].T).max(1).sum()
        # bfloat16 decoding's bound (AVX512_BF16), which also covers float32 decoding.
        bound = (2**-7 + 2**-16) * (np.abs(q64) @ np.abs(d64[a:b]).T).max(1).sum() + 1e-6
        assert abs(got[j] - want) <= bound
    cand = np.array([5, 0, 17], np.int64)
    ids, scores = kernels.rerank(q, docs, candidates=cand, k=2)
    order = sorted(cand.tolist(), key=lambda c: (-got[c], c))[:2]
    assert ids.tolist() == order and np.array_equal(scores, got[order])


def test_pq4_lut_is_within_its_bound_of_the_exact_adc_score(rng):
    M, dsub = 40, 4
    cent = rng.standard_normal((M, 16, dsub)).astype(np.float32)
    qs = rng.standard_normal((3, M * dsub)).astype(np.float32)
    luts = kernels.pq4_lut(qs, cent)
    assert luts.table.shape == (3, M, 16) and luts.table.dtype == np.uint8 and len(luts) == 3
    codes = rng.integers(0, 16, (200, M))
    for i in range(3):
        lut = np.einsum("mkd,md->mk", cent.astype(np.float64), qs[i].reshape(M, dsub).astype(np.float64))
        exact = lut[np.arange(M), codes].sum(1)
        approx = luts.scale[i] * luts.table[i][np.arange(M), codes].astype(np.float64).sum(1) + luts.bias[i]
        bound = M * luts.scale[i] / 2 + 1e-5 * np.abs(lut).sum()
        assert (np.abs(approx - exact) <= bound).all()


@pytest.mark.parametrize("M,n", [(2, 1), (6, 33), (34, 95), (130, 700)])
def test_pq4_topk_is_a_full_sort_of_the_ranges_on_every_isa_and_thread_count(isa, rng, M, n):
    cent = rng.standard_normal((M, 16, 3)).astype(np.float32)
    rows = rng.standard_normal((n, 3 * M)).astype(np.float32)
    codes = kernels.pq_encode(rows, cent)
    blocked = kernels.pq4_block(codes)
    assert blocked.shape == (-(-n // 32), M // 2, 32)
    assert np.array_equal(kernels.pq4_unblock(blocked, n), codes)
    qs = rng.standard_normal((5, 3 * M)).astype(np.float32)
    luts = kernels.pq4_lut(qs, cent)
    cuts = np.sort(rng.integers(0, n + 1, 6))
    ranges = np.array([[cuts[0], cuts[2]], [cuts[4], cuts[5]], [cuts[3], cuts[3]], [cuts[2], cuts[3]]], np.int64)
    offsets = rng.integers(0, 3, (5, 4)).astype(np.float32)
    eligible = np.concatenate([np.arange(b, e) for b, e in ranges])
    sums = luts.table[:, np.arange(M)[None], unpack(codes, 16)].astype(np.int64).sum(2)  # (5, n)
    for k in sorted({min(1, len(eligible)), min(10, len(eligible)), len(eligible)}):
        ids, scores = kernels.pq4_topk(luts, blocked, ranges, offsets, k, threads=2)
        assert ids.shape == scores.shape == (5, k)
        for i in range(5):
            off = np.concatenate([np.full(e - b, offsets[i, r], np.float64) for r, (b, e) in enumerate(ranges)])
            s = (off + np.float64(luts.scale[i]) * sums[i, eligible] + np.float64(luts.bias[i])).astype(np.float32)
            order = np.lexsort((eligible, -s.astype(np.float64)))[:k]
            assert ids[i].tolist() == eligible[order].tolist()
            assert np.array_equal(scores[i], s[order])
        for threads in (1, 3):
            again = kernels.pq4_topk(luts, blocked, ranges, offsets, k, threads=threads)
            assert np.array_equal(again[0], ids) and np.array_equal(again[1], scores)
        one = kernels.pq4_topk(kernels.pq4_lut(qs[2], cent), blocked, ranges, offsets[2], k)
        assert np.array_equal(one[0], ids[2]) and np.array_equal(one[1], scores[2])


def test_pq_bad_input_gets_clear_errors(rng):
    cent = rng.standard_normal((4, 16, 2)).astype(np.float32)
    rows = rng.standard_normal((10, 8)).astype(np.float32)
    with pytest.raises(ValueError, match="dimension"):
        kernels.pq_encode(rows[:, :6], cent)
    with pytest.raises(ValueError, match=r"16 .* or 256"):
        kernels.pq_encode(rows, np.ascontiguousarray(cent[:, :8]))
    bad = rows.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"rows\[3\]"):
        kernels.pq_encode(bad, cent)
    blocked = kernels.pq4_block(kernels.pq_encode(rows, cent))
    luts = kernels.pq4_lut(rows[0], cent)
    with pytest.raises(TypeError, match="luts"):
        kernels.pq4_topk(object(), blocked, np.array([[0, 10]]), np.zeros(1, np.float32), 3)
    with pytest.raises(ValueError, match="overlap"):
        kernels.pq4_topk(luts, blocked, np.array([[0, 6], [5, 10]]), np.zeros(2, np.float32), 3)
    with pytest.raises(ValueError, match="ranges"):
        kernels.pq4_topk(luts, blocked, np.array([[0, 33]]), np.zeros(1, np.float32), 3)
    with pytest.raises(ValueError, match="range_offsets"):
        kernels.pq4_topk(luts, blocked, np.array([[0, 10]]), np.zeros(2, np.float32), 3)
    with pytest.raises(ValueError, match="codes_blocked"):
        kernels.pq4_topk(luts, blocked[:, :1], np.array([[0, 10]]), np.zeros(1, np.float32), 3)
