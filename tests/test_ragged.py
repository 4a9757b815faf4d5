"""The ragged container's converters."""

import ml_dtypes
import numpy as np
import pytest

import muvera_nano as mn


def test_from_list_and_items(rng):
    arrays = [rng.standard_normal((n, 5)).astype(np.float32) for n in (2, 0, 3)]
    r = mn.Ragged.from_list(arrays)
    assert len(r) == 3 and r.dim == 5 and r.n_tokens == 5 and r.dtype == "float32"
    np.testing.assert_array_equal(r.offsets, [0, 2, 2, 5])
    np.testing.assert_array_equal(r.lengths, [2, 0, 3])
    for i, a in enumerate(arrays):
        np.testing.assert_array_equal(r[i], a)
    np.testing.assert_array_equal(r[-1], arrays[-1])
    with pytest.raises(IndexError):
        r[3]
    with pytest.raises(ValueError, match="pass dim="):
        mn.Ragged.from_list([])
    with pytest.raises(ValueError, match=r"arrays\[1\] has dimension 4"):
        mn.Ragged.from_list([arrays[0], arrays[0][:, :4]])
    with pytest.raises(TypeError, match=r"arrays\[1\] has dtype float64"):
        mn.Ragged.from_list([arrays[0], arrays[0].astype(np.float64)])


def test_from_padded(rng):
    padded = rng.standard_normal((3, 4, 6)).astype(np.float32)
    r = mn.Ragged.from_padded(padded, [4, 0, 2])
    np.testing.assert_array_equal(r[0], padded[0])
    assert r[1].shape == (0, 6)
    np.testing.assert_array_equal(r[2], padded[2, :2])
    with pytest.raises(ValueError, match=r"lengths must lie in \[0, 4\]"):
        mn.Ragged.from_padded(padded, [5, 0, 0])
    with pytest.raises(ValueError, match="lengths must be 3 integers"):
        mn.Ragged.from_padded(padded, [1, 2])


def test_astype_round_trips(rng):
    r = mn.Ragged.from_list([rng.standard_normal((n, 9)).astype(np.float32) for n in (1, 4)])
    f16 = r.astype("float16")
    assert f16.tokens.dtype == np.float16
    bf = r.astype("bfloat16")
    assert bf.tokens.dtype == ml_dtypes.bfloat16
    np.testing.assert_array_equal(bf.to_float32(), r.tokens.astype(ml_dtypes.bfloat16).astype(np.float32))
    as_bits = mn.Ragged(bf.tokens.view(np.uint16), bf.offsets, dtype="bfloat16")
    np.testing.assert_array_equal(as_bits.to_float32(), bf.to_float32())
    q = rng.standard_normal((3, 9)).astype(np.float32)
    np.testing.assert_array_equal(mn.maxsim(q, as_bits), mn.maxsim(q, bf))
    i8 = r.astype("int8")
    assert i8.tokens.dtype == np.int8 and i8.scales.shape == (5,)
    assert np.abs(i8.to_float32() - r.tokens).max() <= i8.scales.max() / 2 * (1 + 1e-6)
    assert r.astype("float32") is r


def test_conversions_equal_numpy_and_ml_dtypes_bit_for_bit(isa, rng):
    """float16 / bfloat16 conversion (C++, F16C where present) against numpy's and ml_dtypes'
    rounding, including subnormals, overflow, infinities, NaN and exact ties."""
    x = rng.standard_normal((300, 37)).astype(np.float32) * np.float32(10.0) ** rng.integers(-9, 6, (300, 1)).astype(
        np.float32
    )
    edge = np.array(
        [
            0.0,
            -0.0,
            np.inf,
            -np.inf,
            np.nan,
            65504,
            65519.99,
            65520,
            1e-8,
            6e-8,
            2.9802322e-08,
            5.9604645e-08,
            1.0 + 2**-11,
            1.0 + 3 * 2**-11,
            3.4e38,
            -1e-45,
            1.0 + 2**-8,
            1.0 + 3 * 2**-8,
        ],
        np.float32,
    )
    x[0, : len(edge)] = edge
    ragged = mn.Ragged(x, np.array([0, 100, 300], np.int64))
    with np.errstate(over="ignore"):
        want16 = x.astype(np.float16).view(np.uint16)
        want_bf = x.astype(ml_dtypes.bfloat16).view(np.uint16)
    got16 = ragged.astype("float16").tokens
    np.testing.assert_array_equal(got16.view(np.uint16), want16)
    got_bf = ragged.astype("bfloat16").tokens
    nan = np.isnan(x)
    np.testing.assert_array_equal(got_bf.view(np.uint16)[~nan], want_bf[~nan])
    assert np.isnan(got_bf.astype(np.float32)[nan]).all()
