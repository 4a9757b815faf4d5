"""Every case of the reference vectors: Google graph-mining (fde_google.json) and txtai 9.12
(fde_txtai.json), on every instruction set. Identity projections are bit-exact; AMS cases
within |got - expected| <= 1e-5 * max(1, max|expected|) (testdata/README.md) with the exact
partition assignment of the reference."""

from __future__ import annotations

import numpy as np
import pytest
from fde_helpers import bits, load_cases

import muvera_nano as mn

GOOGLE = load_cases("fde_google.json")
TXTAI = load_cases("fde_txtai.json")


def google_config(case: dict) -> mn.FDEConfig:
    p = case["params"]
    ams = p["projection_type"] == "AMS_SKETCH"
    return mn.FDEConfig.google(
        p["dimension"],
        p["num_repetitions"],
        p["num_simhash_projections"],
        p["projection_dimension"] if ams else None,
        fill_empty=p["fill_empty_partitions"],
        final_dimension=p["final_projection_dimension"],
        seed=p["seed"],
    )


def txtai_config(case: dict) -> mn.FDEConfig:
    p = case["params"]
    return mn.FDEConfig.txtai(case["dimension"], p["repetitions"], p["hashes"], p["projection"], p["seed"])


def check(got: np.ndarray, expected: np.ndarray, exact: bool) -> None:
    assert got.shape == expected.shape
    if exact:
        mismatch = np.flatnonzero(bits(got) != bits(expected))
        assert mismatch.size == 0, f"{mismatch.size} values differ, first at {mismatch[:5]}"
    else:
        tol = 1e-5 * max(1.0, float(np.abs(expected).max()))
        assert float(np.abs(got - expected).max()) <= tol


def partitions(cfg: mn.FDEConfig, tokens: np.ndarray) -> np.ndarray:
    """[repetition][token] partition indices from the config's random state, in float64
    (the reference cases keep every token at least 2e-5 away from each hyperplane)."""
    g = cfg.random_state()["simhash"].astype(np.float64)
    k = cfg.simhash_bits
    if k == 0:
        return np.zeros((cfg.repetitions, tokens.shape[0]), np.int64)
    s = tokens.astype(np.float64) @ g
    out = np.zeros((cfg.repetitions, tokens.shape[0]), np.int64)
    for r in range(cfg.repetitions):
        idx = np.zeros(tokens.shape[0], np.int64)
        for j in range(k):
            b = (s[:, r * k + j] > 0).astype(np.int64)
            idx = (idx << 1) + (b ^ (idx & 1))
        out[r] = idx
    return out


@pytest.mark.parametrize("case", GOOGLE, ids=[c["name"] for c in GOOGLE])
def test_google_case(case, isa):
    cfg = google_config(case)
    points = np.array(case["points"], np.float32).reshape(case["num_points"], case["params"]["dimension"])
    expected = np.array(case["expected"], np.float32)
    assert cfg.output_dim == case["output_length"]
    if case["mode"] == "query":
        got = cfg.encode_query(points)
    else:
        got = cfg.encode_document(points)
    check(got, expected, case["exact"])
    np.testing.assert_array_equal(partitions(cfg, points), np.array(case["partition_indices"]))


@pytest.mark.parametrize("case", TXTAI, ids=[c["name"] for c in TXTAI])
def test_txtai_case(case, isa):
    cfg = txtai_config(case)
    docs = [np.array(d["tokens"], np.float32).reshape(d["num_tokens"], case["dimension"]) for d in case["documents"]]
    expected = np.array(case["expected"], np.float32)
    encode = cfg.encode_documents if case["category"] == "data" else cfg.encode_queries
    got = encode(docs)
    check(got, expected, case["exact"])
    for doc, want in zip(docs, case["partition_indices"]):
        np.testing.assert_array_equal(partitions(cfg, doc).reshape(-1), np.array(want).reshape(-1))


def test_txtai_rng_reference():
    """The numpy draws txtai's Muvera makes, against the file's rng_reference block."""
    import json

    from fde_helpers import TESTDATA

    ref = json.loads((TESTDATA / "fde_txtai.json").read_text())["rng_reference"]
    g = mn.FDEConfig.txtai(4, 1, 3, None, 42).random_state()["simhash"]
    np.testing.assert_array_equal(bits(g), bits(np.array(ref["simhash_seed42_dim4_hashes3_as_float32"], np.float32)))
    red = ref["reducer_seed7_dim8_projection4"]
    s = mn.FDEConfig.txtai(8, 1, 1, 4, 7).random_state()
    np.testing.assert_array_equal(s["ams_column"][0], red["indices"])
    np.testing.assert_array_equal(s["ams_sign"][0], red["signs"])


def test_txtai_normalize_matches_index_vectors():
    """normalize=True divides by the float32 L2 norm exactly as txtai's index does."""
    case = TXTAI[0]
    docs = [np.array(d["tokens"], np.float32).reshape(d["num_tokens"], case["dimension"]) for d in case["documents"]]
    expected = np.array(case["expected"], np.float32)
    expected /= np.linalg.norm(expected, axis=1)[:, np.newaxis]
    p = case["params"]
    cfg = mn.FDEConfig.txtai(
        case["dimension"], p["repetitions"], p["hashes"], p["projection"], p["seed"], normalize=True
    )
    got = cfg.encode_documents(docs)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-6)
