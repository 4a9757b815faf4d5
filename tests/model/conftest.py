"""Session-scoped checkpoints (built once into a temporary folder) and their exported model folders."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ -> `fixtures` package

from fixtures.checkpoints import Dense  # noqa: F401  (re-exported for the tests here)
from fixtures.models import ModelStore


@pytest.fixture(scope="session")
def store(models) -> ModelStore:
    return models


@pytest.fixture(scope="session")
def bert(store):
    return store.checkpoint("bert")


@pytest.fixture(scope="session")
def bert_model_folder(store) -> Path:
    return store.model_folder("bert")
