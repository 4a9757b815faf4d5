"""Every instruction set against the scalar reference, bit for bit, on random ragged batches
of awkward sizes; batches against single items; thread counts; and inputs that sit on or
next to a SimHash hyperplane (the exact-sign path)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from fde_helpers import ISAS, bits, ragged

import muvera_nano as mn
from muvera_nano._testing import forced_isa

LENGTHS = [0, 1, 2, 31, 300, 0, 2]


def encode_all(cfg, items, kind, **kw):
    out = {}
    for name in ISAS:
        with forced_isa(name):
            enc = cfg.encode_documents if kind == "document" else cfg.encode_queries
            out[name] = enc(items, **kw)
    return out


@pytest.mark.parametrize("dim", [1, 7, 16, 33, 128])
@pytest.mark.parametrize("k", [0, 1, 5, 8])
def test_isas_match_scalar(dim, k):
    rng = np.random.default_rng(dim * 100 + k)
    docs = ragged(rng, LENGTHS, dim, unit=bool(dim % 2))
    for proj in (None, 1, 3, 16):
        if proj is None and k == 8 and dim == 128:
            continue  # 3 * 256 * 128 values per item: covered by the smaller identity cases
        for preset in ("google", "txtai"):
            fill = preset == "google"
            base = (
                mn.FDEConfig.google(dim, 3, k, proj, fill_empty=fill, seed=5)
                if preset == "google"
                else mn.FDEConfig.txtai(dim, 3, k, proj, 9)
            )
            for kind in ("document", "query"):
                res = encode_all(base, docs, kind)
                for name, got in res.items():
                    mismatch = np.flatnonzero(bits(got) != bits(res["scalar"]))
                    assert mismatch.size == 0, (name, dim, k, proj, preset, kind, mismatch[:5])
                if kind == "document":
                    assert not np.any(res["scalar"][[0, 5]]), "empty items must encode to zeros"


def test_final_projection_isas_and_wide_projection():
    rng = np.random.default_rng(1)
    docs = ragged(rng, [3, 40, 0, 17], 33)
    cfg = mn.FDEConfig.google(33, 4, 3, 40, final_dimension=97)
    res = encode_all(cfg, docs, "document")
    for got in res.values():
        np.testing.assert_array_equal(bits(got), bits(res["scalar"]))
    assert res["scalar"].shape == (4, 97)


def test_batch_equals_single_items_and_threads():
    rng = np.random.default_rng(2)
    docs = ragged(rng, rng.integers(0, 120, 61), 128)
    for cfg in (mn.FDEConfig.recommended(128), mn.FDEConfig.txtai(128), mn.FDEConfig.google(128, 4, 3, None)):
        batch = cfg.encode_documents(docs, threads=1)
        for threads in (2, 3, 8):
            np.testing.assert_array_equal(bits(cfg.encode_documents(docs, threads=threads)), bits(batch))
        for i in range(0, len(docs), 7):
            np.testing.assert_array_equal(bits(cfg.encode_document(np.ascontiguousarray(docs[i]))), bits(batch[i]))
        qb = cfg.encode_queries(docs, threads=2)
        np.testing.assert_array_equal(bits(cfg.encode_query(np.ascontiguousarray(docs[3]))), bits(qb[3]))


def test_strided_rows_and_out_argument():
    rng = np.random.default_rng(3)
    wide = rng.standard_normal((90, 40)).astype(np.float32)
    offsets = np.array([0, 10, 10, 90], np.int64)
    strided = mn.Ragged(wide[:, :33], offsets)  # rows 160 bytes apart, 33 used
    packed = mn.Ragged(np.ascontiguousarray(wide[:, :33]), offsets)
    cfg = mn.FDEConfig.google(33, 5, 4, 8)
    want = cfg.encode_documents(packed)
    for name in ISAS:
        with forced_isa(name):
            np.testing.assert_array_equal(bits(cfg.encode_documents(strided)), bits(want))
    buf = np.full((5, cfg.output_dim + 3), 7.0, np.float32)
    out = buf[1:4, : cfg.output_dim]  # row stride longer than a row
    res = cfg.encode_documents(packed, out=out)
    assert res is out or np.shares_memory(res, buf)
    np.testing.assert_array_equal(bits(buf[1:4, : cfg.output_dim]), bits(want))
    assert np.all(buf[0] == 7.0) and np.all(buf[4] == 7.0) and np.all(buf[:, cfg.output_dim :] == 7.0)


def exact_partition(token: np.ndarray, g: np.ndarray, r: int, k: int) -> int:
    idx = 0
    for j in range(k):
        s = sum(Fraction(float(a)) * Fraction(float(b)) for a, b in zip(token, g[:, r * k + j]))
        idx = (idx << 1) + (int(s > 0) ^ (idx & 1))
    return idx


def test_tokens_on_and_near_hyperplanes():
    """Tokens built to lie on (or within float32 rounding of) a hyperplane, zero tokens,
    huge and tiny tokens: every ISA must agree and each token must land in the partition
    given by the exact rational dot product."""
    dim, reps, k = 16, 2, 3
    cfg = mn.FDEConfig.google(dim, reps, k, None, fill_empty=False, seed=3)
    g = cfg.random_state()["simhash"]
    rng = np.random.default_rng(4)
    tokens = []
    for t in range(40):
        x = rng.standard_normal(dim)
        col = g[:, t % (reps * k)].astype(np.float64)
        x = x - (x @ col) / (col @ col) * col  # on the hyperplane in float64, ~1e-8 off in float32
        if t % 5 == 0:
            x[rng.integers(dim)] += rng.choice([-1, 1]) * 1e-7
        tokens.append(x.astype(np.float32))
    tokens += [
        np.zeros(dim, np.float32),
        np.full(dim, 1e30, np.float32),
        np.full(dim, -3e-38, np.float32),
        (rng.standard_normal(dim) * 1e35).astype(np.float32),
        (rng.standard_normal(dim) * 1e-40).astype(np.float32),
    ]
    results = {}
    for name in ISAS:
        with forced_isa(name):
            # One document per token: with the identity projection, the non-zero block shows the partition.
            results[name] = cfg.encode_documents([t[None, :] for t in tokens])
    for name, got in results.items():
        np.testing.assert_array_equal(bits(got), bits(results["scalar"]), err_msg=name)
    blocks = results["scalar"].reshape(len(tokens), reps, 1 << k, dim)
    for t, token in enumerate(tokens):
        for r in range(reps):
            want = exact_partition(token, g, r, k)
            nonzero = np.flatnonzero(np.any(blocks[t, r] != 0, axis=1))
            if np.any(token != 0):
                assert nonzero.tolist() == [want], (t, r)
            np.testing.assert_array_equal(bits(blocks[t, r, want]), bits(token))
