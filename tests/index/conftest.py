import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

import muvera_nano as mn


def random_docs(rng, n, dim=32, lo=1, hi=40):
    out = []
    for _ in range(n):
        x = rng.standard_normal((int(rng.integers(lo, hi)), dim)).astype(np.float32)
        out.append(x / np.linalg.norm(x, axis=1, keepdims=True))
    return out


def random_queries(rng, n, dim=32, rows=8):
    return [x for x in random_docs(rng, n, dim, rows, rows + 1)]


@pytest.fixture
def docs(rng):
    return random_docs(rng, 120)


@pytest.fixture
def small_fde():
    # a small FDE so tests stay fast; 4 repetitions x 8 partitions x 8 dims
    return mn.FDEConfig.google(32, repetitions=4, simhash_bits=3, projection_dimension=8, fill_empty=True)


@pytest.fixture
def fast_folder(tmp_path):
    """A folder on tmpfs when there is one: the same files, renames and fsync calls, without the
    disk's fsync latency (5 ms here), which 2,000 commits would turn into minutes."""
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        with tempfile.TemporaryDirectory(dir="/dev/shm") as d:
            yield Path(d)
    else:
        yield tmp_path
