"""A model given as an exported folder, a PyLate checkpoint folder or a hub id, turned into an
exported model folder (exporting into a cache the first time) and loaded: the one way every
caller (the index, each command) gets an encoder from what the user named."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from .settings import MODEL_FILE, SETTINGS_FILE


def cache_dir() -> Path:
    """Where exported models are kept: $MUVERA_NANO_CACHE, else ~/.cache/muvera-nano."""
    root = os.environ.get("MUVERA_NANO_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "muvera-nano")
    return Path(root) / "models"


def is_exported(folder: str | os.PathLike) -> bool:
    p = Path(folder)
    return (p / SETTINGS_FILE).is_file() and (p / MODEL_FILE).is_file()


def load(
    source: str | os.PathLike,
    *,
    threads: int | None = None,
    batch_size: int = 32,
    graph_optimization: str = "all",
    spin: bool = True,
    precision: str | None = None,
    progress: Callable[[str], None] | None = None,
):
    """The encoder (a :class:`ColBERT`) for `source`: an exported model folder, a PyLate
    checkpoint folder or a hub id (the last two exported once into the cache, see
    :func:`resolve_model`). The other arguments are :class:`ColBERT`'s; ``precision`` is
    "float32" (the default, exact), "int8" or "bfloat16"."""
    from .encoder import ColBERT

    folder = resolve_model(source, progress=progress)
    return ColBERT(folder, threads, batch_size, graph_optimization=graph_optimization, spin=spin, precision=precision)


def resolve_model(spec: str | os.PathLike, *, progress: Callable[[str], None] | None = None) -> Path:
    """An exported model folder for `spec`: used as is when it already is one; otherwise the
    checkpoint (folder or hub id) is exported once into the cache and that folder returned."""
    if not isinstance(spec, (str, os.PathLike)):
        raise TypeError(f"the model must be a folder path or a hub id string, got {type(spec).__name__}")
    text = os.path.expanduser(os.fspath(spec))
    if is_exported(text):
        return Path(text).resolve()
    from .export import export

    key = text
    if os.path.isdir(text):  # a local checkpoint: re-export when its files change
        key = os.path.abspath(text) + "".join(
            f"|{name}:{st.st_size}:{st.st_mtime_ns}"
            for name in sorted(os.listdir(text))
            if os.path.isfile(os.path.join(text, name))
            for st in [os.stat(os.path.join(text, name))]
        )
    target = cache_dir() / (Path(text).name + "-" + hashlib.sha256(key.encode()).hexdigest()[:12])
    if is_exported(target):
        return target
    export(text, target, progress=progress)
    return target
