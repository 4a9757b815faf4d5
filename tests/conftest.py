import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import muvera_nano as mn
from muvera_nano._testing import forced_isa

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))  # `fixtures`, shared by every test folder

from fixtures.models import ModelStore  # noqa: E402

# Markers (registered in pyproject.toml), set here by test id so the lists live in one place.
# An entry is a test file relative to tests/, file::test (any parametrisation of that test) or
# file::test[id] (that parametrisation only).
# `reference`: compares against PyLate on torch, txtai or sentence-transformers, which
# `tests/install.sh --no-reference` leaves out; run the rest with pytest -m "not reference".
REFERENCE = (
    "evaluate/test_metrics.py",
    "model/test_bench_encoder.py",
    "model/test_parity_pylate.py",
    "test_pylate_compat.py",
    "fde/test_fde_property.py::test_against_txtai_muvera",
    "test_bench_scripts.py::test_benchmark_runs_and_prints_its_tables[bench_maxsim.py]",
)
# `smoke`: what every built wheel runs (pyproject.toml [tool.cibuildwheel] test-command and the
# wheel stage of .ci/run): the kernels on every ISA against float64 numpy, FDE, encoder, index.
# Needs no torch, no compiler, no qemu and no FDE test vectors (they live outside the repository,
# in the project's shared/testdata), and takes about a minute.
SMOKE = (
    "test_ragged.py",
    "test_bindings.py",
    "test_maxsim.py",
    "test_maxsim_edges.py",
    "test_rerank.py",
    "test_scan.py",
    "test_threads.py",
    "fde/test_fde_api.py",
    "fde/test_fde_isa.py",
    "model/test_encoder.py",
    "index/test_index.py",
)
# `qemu`: runs the package under qemu's x86-64 emulation of older CPUs (the qemu stage of
# tests/run.sh runs these; its pytest stage leaves them out).
QEMU = ("test_dispatch.py::test_older_cpus_fall_back_and_agree",)
MARKED = {"reference": REFERENCE, "smoke": SMOKE, "qemu": QEMU}
# Packages of the reference implementations: a test module that cannot import one of them is
# collected as one failing `reference` test instead of stopping the whole run.
REFERENCE_PACKAGES = {"torch", "pylate", "txtai", "sentence_transformers", "transformers"}


def _test_id(item: pytest.Item) -> tuple[str, str]:
    """(file relative to tests/, test name without parameters)."""
    path = Path(str(item.path)).resolve().relative_to(TESTS).as_posix()
    return path, item.name.split("[", 1)[0]


def pytest_collection_modifyitems(config, items):
    seen = set()
    for item in items:
        path, name = _test_id(item)
        for marker, entries in MARKED.items():
            for entry in entries:
                if entry in (path, f"{path}::{name}", f"{path}::{item.name}"):
                    item.add_marker(marker)
                    seen.add(entry)
    # An entry whose file was collected but which matched no test is a renamed or deleted test:
    # say so rather than let the marker silently stop applying.
    collected = {_test_id(item)[0] for item in items}
    stale = [e for entries in MARKED.values() for e in entries if e.split("::")[0] in collected and e not in seen]
    if stale:
        raise pytest.UsageError(f"tests/conftest.py names tests that do not exist: {', '.join(stale)}")


def pytest_ignore_collect(collection_path, config):
    # `pytest -m smoke` (a wheel's test environment) imports only the smoke test files, so that
    # environment needs nothing the others import (pytrec_eval, usearch, the reference stack).
    if config.getoption("markexpr", "") != "smoke" or collection_path.suffix != ".py":
        return None
    try:
        path = collection_path.resolve().relative_to(TESTS).as_posix()
    except ValueError:
        return None
    if collection_path.name.startswith("test_") and path not in {entry.split("::")[0] for entry in SMOKE}:
        return True
    return None


class _MissingReference(pytest.Item):
    """Stands for a test module whose reference implementation is not installed."""

    def __init__(self, *, error: ModuleNotFoundError, **kwargs):
        super().__init__(**kwargs)
        self.error = error
        self.add_marker("reference")

    def runtest(self):
        raise ModuleNotFoundError(
            f"{self.path.name} needs {self.error.name!r} (a reference implementation): install them with "
            "tests/install.sh, or leave these tests out with pytest -m 'not reference'"
        )

    def repr_failure(self, excinfo):
        return str(excinfo.value)

    def reportinfo(self):
        return self.path, None, f"{self.path.name}: reference implementation missing"


class _Module(pytest.Module):
    def collect(self):
        try:
            return super().collect()
        except self.CollectError as e:
            cause = e.__cause__
            if isinstance(cause, ModuleNotFoundError) and (cause.name or "").split(".")[0] in REFERENCE_PACKAGES:
                return [_MissingReference.from_parent(self, name="reference_implementation_missing", error=cause)]
            raise


def pytest_pycollect_makemodule(module_path, parent):
    if module_path.name == "conftest.py":
        return None
    return _Module.from_parent(parent, path=module_path)


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
