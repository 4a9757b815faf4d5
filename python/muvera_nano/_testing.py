"""Test hooks (private, not part of the API): force an instruction set or turn off its
extensions for the whole process, and read the FDE random-stream primitives. The suite
uses these to run every kernel on one machine; nothing else should."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ._core import _testing as _native
from ._core import isa

fde_random_stream = _native.fde_random_stream
fde_log_float = _native.fde_log_float
set_isa = _native.set_isa
set_extensions = _native.set_extensions

__all__ = ["fde_log_float", "fde_random_stream", "forced_isa", "set_extensions", "set_isa"]


@contextlib.contextmanager
def forced_isa(name: str, *, extensions: bool = True) -> Iterator[None]:
    """Runs the block with the kernels of instruction set `name` (process-wide); with
    extensions=False, without that level's extensions (AVX512_BF16 / AVX512_VNNI)."""
    previous = isa()
    set_isa(name)
    set_extensions(extensions)
    try:
        yield
    finally:
        set_isa(previous)
        set_extensions(True)
