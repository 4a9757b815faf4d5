import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import muvera_nano as mn
from muvera_nano._testing import forced_isa

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `fixtures`, shared by every test folder

from fixtures.models import ModelStore  # noqa: E402


@pytest.fixture(params=mn.supported_isas())
def isa(request):
    """Runs the test once per instruction set this CPU supports, with that ISA's kernels forced."""
    with forced_isa(request.param):
        yield request.param


@pytest.fixture
def rng(request):
    # A fixed seed per test (not Python's salted hash), so failures reproduce.
    return np.random.default_rng(zlib.crc32(request.node.name.encode()))


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> ModelStore:
    """Test checkpoints (random weights, fixed seeds), built and exported once per session."""
    return ModelStore(tmp_path_factory.mktemp("models"))
