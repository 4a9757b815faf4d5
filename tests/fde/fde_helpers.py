"""Helpers for the FDE tests: the reference vectors and a random ragged batch maker. (The
`isa` fixture, one run per supported instruction set, comes from tests/conftest.py.)"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

import muvera_nano as mn


def _testdata_dir() -> Path:
    env = os.environ.get("MUVERA_NANO_TESTDATA")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        for cand in (parent / "shared" / "testdata", parent.parent / "shared" / "testdata"):
            if (cand / "fde_google.json").exists():
                return cand
    return Path("/work/shared/testdata")


TESTDATA = _testdata_dir()


def load_cases(name: str) -> list[dict]:
    path = TESTDATA / name
    if not path.exists():
        raise FileNotFoundError(f"reference vectors not found at {path}; set MUVERA_NANO_TESTDATA")
    return json.loads(path.read_text())["cases"]


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def ragged(rng: np.random.Generator, lengths, dim: int, *, unit: bool = True) -> mn.Ragged:
    lengths = np.asarray(lengths, np.int64)
    tokens = rng.standard_normal((int(lengths.sum()), dim)).astype(np.float32)
    if unit and tokens.size:
        tokens /= np.linalg.norm(tokens, axis=1, keepdims=True)
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return mn.Ragged(tokens, offsets)


ISAS = mn.supported_isas()
