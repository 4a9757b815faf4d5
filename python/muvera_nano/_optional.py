"""Imports of optional dependencies, failing with the pip extra that provides them (pyproject.toml)."""

from __future__ import annotations

import importlib
from types import ModuleType


def optional_import(module: str, extra: str, needed_for: str) -> ModuleType:
    """`module` imported, or ModuleNotFoundError naming `extra`, e.g.
    ``optional_import("onnx", "export", "exporting a checkpoint to ONNX")``."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name is None or module.split(".")[0] != e.name.split(".")[0]:
            raise  # the package is there but one of its own imports is broken: show that
        raise ModuleNotFoundError(
            f"{needed_for} needs the {module.split('.')[0]} package: pip install 'muvera-nano[{extra}]'",
            name=e.name,
        ) from None
