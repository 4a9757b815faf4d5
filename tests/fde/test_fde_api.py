"""The Python API: configuration checks, presets, serialization, input forms, edge cases and
every rejection path (a clear TypeError/ValueError naming the argument, never a crash)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from fde_helpers import bits, ragged

import muvera_nano as mn
from muvera_nano import _core


def test_presets_and_output_dim():
    g = mn.FDEConfig.google(128)
    assert (g.repetitions, g.simhash_bits, g.projection_dimension, g.fill_empty, g.seed) == (20, 5, 16, True, 1)
    assert g.output_dim == 10240
    t = mn.FDEConfig.txtai()
    assert (t.dimension, t.repetitions, t.simhash_bits, t.projection_dimension, t.seed, t.fill_empty) == (
        128,
        20,
        5,
        16,
        42,
        False,
    )
    assert mn.FDEConfig.txtai(8, 2, 3, None).output_dim == 2 * 8 * 8
    assert mn.FDEConfig.txtai(8, 2, 3, 0).projection_dimension is None
    assert mn.FDEConfig.google(16, 5, 5, None, final_dimension=1000).output_dim == 1000
    rec = mn.FDEConfig.recommended(128)
    assert rec.output_dim == 10240 and rec.normalize and not rec.fill_empty and rec.preset == "google"


def test_roundtrip_dict_and_hash():
    for cfg in (
        mn.FDEConfig.google(7, 3, 2, None, final_dimension=11, seed=2**32 - 1),
        mn.FDEConfig.txtai(normalize=True),
        mn.FDEConfig.recommended(64),
    ):
        d = json.loads(json.dumps(cfg.to_dict()))
        back = mn.FDEConfig.from_dict(d)
        assert back == cfg and hash(back) == hash(cfg)
    with pytest.raises(ValueError, match="unknown FDEConfig fields"):
        mn.FDEConfig.from_dict({**mn.FDEConfig.txtai().to_dict(), "bogus": 1})
    with pytest.raises(ValueError, match="format"):
        mn.FDEConfig.from_dict({"dimension": 4})
    with pytest.raises(ValueError, match="version"):
        mn.FDEConfig.from_dict({**mn.FDEConfig.txtai().to_dict(), "version": 99})
    with pytest.raises(TypeError):
        mn.FDEConfig.from_dict([1])
    cfg = mn.FDEConfig.txtai()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 3  # frozen


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(dimension=0), ValueError, "dimension"),
        (dict(dimension=8, simhash_bits=31), ValueError, "simhash_bits"),
        (dict(dimension=8, simhash_bits=-1), ValueError, "simhash_bits"),
        (dict(dimension=8, projection_dimension=0), ValueError, "projection_dimension"),
        (dict(dimension=8, projection_dimension=-3), ValueError, "projection_dimension"),
        (dict(dimension=8, repetitions=0), ValueError, "repetitions"),
        (dict(dimension=8, final_dimension=0), ValueError, "final_dimension"),
        (dict(dimension=8, seed=-1), ValueError, "seed"),
        (dict(dimension=8, seed=2**32), ValueError, "seed"),
        (dict(dimension=8, preset="faiss"), ValueError, "preset"),
        (dict(dimension=8, preset="txtai", final_dimension=10), ValueError, "final_dimension"),
        (dict(dimension=8.0), TypeError, "dimension"),
        (dict(dimension=True), TypeError, "dimension"),
        (dict(dimension=8, fill_empty=1), TypeError, "fill_empty"),
        (dict(dimension=8, simhash_bits=30, projection_dimension=16), ValueError, "at most"),
    ],
)
def test_config_rejections(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        mn.FDEConfig(**kwargs)


def test_k30_single_partition_size_is_accepted():
    cfg = mn.FDEConfig.google(4, 1, 30, 1, fill_empty=False)
    assert cfg.output_dim == 2**30


def test_input_forms():
    rng = np.random.default_rng(0)
    items = [rng.standard_normal((n, 8)).astype(np.float32) for n in (3, 0, 5)]
    cfg = mn.FDEConfig.google(8, 4, 3, 4)
    want = cfg.encode_documents(mn.Ragged.from_list(items))
    np.testing.assert_array_equal(bits(cfg.encode_documents(items)), bits(want))
    padded = np.zeros((3, 5, 8), np.float32)
    for i, a in enumerate(items):
        padded[i, : len(a)] = a
    np.testing.assert_array_equal(bits(cfg.encode_documents(padded, lengths=[3, 0, 5])), bits(want))
    full = cfg.encode_queries(padded)  # every row counts
    np.testing.assert_array_equal(bits(full[2]), bits(cfg.encode_query(padded[2])))
    np.testing.assert_array_equal(bits(cfg.encode_document(items[0])), bits(want[0]))
    assert cfg.encode_documents([]).shape == (0, cfg.output_dim)


def test_empty_items_and_k0():
    cfg = mn.FDEConfig.google(6, 3, 0, None)
    e = np.zeros((0, 6), np.float32)
    assert not cfg.encode_document(e).any() and not cfg.encode_query(e).any()
    x = np.random.default_rng(1).standard_normal((4, 6)).astype(np.float32)
    doc = cfg.encode_document(x).reshape(3, 6)
    for r in range(3):  # k = 0: one partition, the centroid (fill has nothing to fill)
        np.testing.assert_array_equal(bits(doc[r]), bits(((x[0] + x[1]) + x[2] + x[3]) / np.float32(4)))
    q = cfg.encode_query(x).reshape(3, 6)
    np.testing.assert_array_equal(bits(q[0]), bits(((x[0] + x[1]) + x[2]) + x[3]))
    norm = mn.FDEConfig.txtai(6, 2, 2, 4, normalize=True)
    assert not norm.encode_document(e).any()


def test_rejections_at_encode():
    cfg = mn.FDEConfig.google(8, 2, 3, 4)
    rng = np.random.default_rng(2)
    good = rng.standard_normal((5, 8)).astype(np.float32)
    with pytest.raises(ValueError, match="dimension"):
        cfg.encode_documents([rng.standard_normal((3, 7)).astype(np.float32)])
    with pytest.raises(ValueError, match="dimension"):
        cfg.encode_query(rng.standard_normal((3, 9)).astype(np.float32))
    with pytest.raises(TypeError, match="float32"):
        cfg.encode_document(good.astype(np.float64))
    with pytest.raises(TypeError, match="float32"):
        cfg.encode_documents([good.astype(np.float64)])
    with pytest.raises(TypeError, match="float32"):
        cfg.encode_documents(mn.Ragged(good.astype(np.float16), np.array([0, 5], np.int64)))
    with pytest.raises(TypeError):
        cfg.encode_documents("tokens")
    with pytest.raises(ValueError, match="2-D"):
        cfg.encode_document(good[0])
    with pytest.raises(ValueError, match="3-D"):
        cfg.encode_documents(good)
    # Non-finite inputs are rejected, naming the item and the row.
    for bad in (np.nan, np.inf, -np.inf):
        x = good.copy()
        x[3, 6] = bad
        with pytest.raises(ValueError, match=r"item 1 .* row 3"):
            cfg.encode_documents([good, x, x])
    # Bad offsets are caught before any kernel runs.
    with pytest.raises(ValueError, match="offsets"):
        cfg.encode_documents(mn.Ragged(good, np.array([0, 6], np.int64)))
    with pytest.raises(ValueError, match="offsets"):
        cfg.encode_documents(mn.Ragged(good, np.array([0, 3, 2, 5], np.int64)))
    with pytest.raises(ValueError, match="offsets"):
        cfg.encode_documents(mn.Ragged(good, np.array([1, 5], np.int64)))
    with pytest.raises(TypeError, match="int64"):
        cfg.encode_documents(mn.Ragged(good, np.array([0, 5], np.int32)))
    # Fill applies to documents only; items must be a float32 Ragged.
    items = mn.Ragged(good, np.array([0, 5], np.int64))
    with pytest.raises(ValueError, match="documents only"):
        _core.fde_encode(_plan(cfg), items, _core.FdeKind.query, True)
    with pytest.raises(TypeError, match=r"items must be a muvera_nano\.Ragged"):
        _core.fde_encode(_plan(cfg), good, _core.FdeKind.document)
    # Threads.
    with pytest.raises(ValueError, match="threads"):
        cfg.encode_documents([good], threads=0)
    with pytest.raises(TypeError, match="threads"):
        cfg.encode_documents([good], threads=1.5)


def test_out_rejections():
    cfg = mn.FDEConfig.google(8, 2, 3, 4)
    x = np.random.default_rng(3).standard_normal((5, 8)).astype(np.float32)
    docs = mn.Ragged(x, np.array([0, 2, 5], np.int64))
    D = cfg.output_dim
    with pytest.raises(ValueError, match="shape"):
        cfg.encode_documents(docs, out=np.zeros((3, D), np.float32))
    with pytest.raises(TypeError, match="float32"):
        cfg.encode_documents(docs, out=np.zeros((2, D), np.float64))
    with pytest.raises(ValueError, match="contiguous"):
        cfg.encode_documents(docs, out=np.zeros((2, 2 * D), np.float32)[:, ::2])
    ro = np.zeros((2, D), np.float32)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="writeable"):
        cfg.encode_documents(docs, out=ro)
    big = np.zeros(2 * D + 40, np.float32)
    tokens = big[:40].reshape(5, 8)
    tokens[:] = x
    with pytest.raises(ValueError, match="share memory"):
        cfg.encode_documents(mn.Ragged(tokens, np.array([0, 2, 5], np.int64)), out=big[: 2 * D].reshape(2, D))


def test_plan_rejections():
    with pytest.raises(ValueError, match="ams_column"):
        _core.fde_plan(
            4,
            1,
            1,
            2,
            np.ones((4, 1), np.float32),
            np.full((1, 4), 5, np.int32),
            np.ones((1, 4), np.float32),
            0,
            None,
            None,
        )
    with pytest.raises(ValueError, match="ams_sign"):
        _core.fde_plan(
            4,
            1,
            1,
            2,
            np.ones((4, 1), np.float32),
            np.zeros((1, 4), np.int32),
            np.full((1, 4), 0.5, np.float32),
            0,
            None,
            None,
        )
    with pytest.raises(ValueError, match="simhash"):
        _core.fde_plan(4, 1, 1, 0, np.full((4, 1), np.nan, np.float32), None, None, 0, None, None)
    with pytest.raises(ValueError, match="shape"):
        _core.fde_plan(4, 1, 1, 0, np.ones((3, 1), np.float32), None, None, 0, None, None)
    with pytest.raises(TypeError, match="float32"):
        _core.fde_plan(4, 1, 1, 0, np.ones((4, 1), np.float64), None, None, 0, None, None)
    with pytest.raises(ValueError, match="final_index"):
        _core.fde_plan(
            4, 1, 1, 0, np.ones((4, 1), np.float32), None, None, 3, np.full(8, 3, np.int32), np.ones(8, np.float32)
        )
    with pytest.raises(ValueError):
        _core.fde_google_state(4, 1, 31, 0, 0, 1)
    with pytest.raises(ValueError, match="seed"):
        _core.fde_google_state(4, 1, 3, 0, 0, -1)


def test_normalize_option():
    rng = np.random.default_rng(5)
    docs = ragged(rng, [3, 0, 9], 16)
    plain = mn.FDEConfig.txtai(16, 4, 2, 8)
    norm = mn.FDEConfig.txtai(16, 4, 2, 8, normalize=True)
    a, b = plain.encode_documents(docs), norm.encode_documents(docs)
    np.testing.assert_array_equal(b[0], a[0] / np.linalg.norm(a[0]))
    assert not b[1].any()


def _plan(cfg):
    from muvera_nano.fde import _plan as plan
    from muvera_nano.fde import _state_key

    return plan(_state_key(cfg))
