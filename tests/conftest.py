import zlib

import numpy as np
import pytest

import muvera_nano as mn


@pytest.fixture(params=mn.supported_isas())
def isa(request):
    """Runs the test once per instruction set this CPU supports, with that ISA's kernels forced."""
    with mn._forced_isa(request.param):
        yield request.param


@pytest.fixture
def rng(request):
    # A fixed seed per test (not Python's salted hash), so failures reproduce.
    return np.random.default_rng(zlib.crc32(request.node.name.encode()))
