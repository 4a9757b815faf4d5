"""How a stored part's arrays line up with its documents, so that every storage kind can be
sliced, gathered, concatenated and streamed to files by the same code.

A segment stores each part (token vectors, FDE rows, ids) as named arrays, each of one layout:

- ``item``: one row per document (FDE rows, int ids, a PQ code per document);
- ``offsets``: n + 1 int64 boundaries starting at 0 (a Ragged's offsets, string-id offsets);
- ``rows``: a variable number of rows per document, delimited by an ``offsets`` array of the
  same part (a Ragged's token rows and their int8 scales, string-id bytes, a code per token);
- ``blocks``: one row per document, stored in blocks of 32 documents along the last axis and
  ordered by the kind (the 4-bit fast scan's layout): only its kind reads and merges it
  (``StorageKind.custom_merge``); generic code only sizes and checks it.

A kind declares its arrays as ``{name: Part}``; the functions here do the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

ITEM, OFFSETS, ROWS, BLOCKS = "item", "offsets", "rows", "blocks"
BLOCK_ROWS = 32  # documents per block of a BLOCKS array


@dataclass(frozen=True)
class Part:
    layout: str  # ITEM, OFFSETS, ROWS or BLOCKS
    dtype: np.dtype
    row_shape: tuple[int, ...] = ()
    index: str | None = None  # ROWS: the OFFSETS array that delimits each document's rows

    def __post_init__(self):
        object.__setattr__(self, "dtype", np.dtype(self.dtype))
        if self.layout not in (ITEM, OFFSETS, ROWS, BLOCKS) or (self.layout == ROWS) != (self.index is not None):
            raise ValueError(f"invalid part layout {self.layout!r} (index {self.index!r})")


Layout = Mapping[str, Part]


def _length(part: Part, documents: int, rows: Mapping[str, int]) -> int:
    if part.layout == ITEM:
        return documents
    if part.layout == OFFSETS:
        return documents + 1
    if part.layout == BLOCKS:
        return -(-documents // BLOCK_ROWS)
    return rows[part.index]


def generic(layout: Layout) -> dict[str, Part]:
    """The parts generic code slices, gathers and concatenates (all but BLOCKS)."""
    return {name: part for name, part in layout.items() if part.layout != BLOCKS}


def check_layout(layout: Layout, where: str) -> None:
    """Every ROWS array names an OFFSETS array of the layout."""
    for name, part in layout.items():
        if part.layout == ROWS and getattr(layout.get(part.index), "layout", None) != OFFSETS:
            raise ValueError(f"{where}: {name} is delimited by {part.index!r}, which is not an offsets array")


def shapes(layout: Layout, documents: int, rows: Mapping[str, int]) -> dict[str, tuple[int, ...]]:
    """The shape of each array for `documents` documents, `rows[o]` rows delimited by each
    offsets array o."""
    out = {}
    for name, part in layout.items():
        out[name] = (_length(part, documents, rows), *part.row_shape)
    return out


def row_counts(layout: Layout, arrays: Mapping[str, Any], items: np.ndarray) -> dict[str, int]:
    """Per offsets array, how many rows the given documents hold."""
    out = {}
    for name, part in layout.items():
        if part.layout == OFFSETS:
            off = np.asarray(arrays[name][:])
            out[name] = int((off[items + 1] - off[items]).sum())
    return out


def slice_items(layout: Layout, arrays: Mapping[str, Any], start: int, stop: int) -> dict[str, np.ndarray]:
    """Documents start..stop as in-memory arrays (offsets from 0). `arrays` may be memory maps or
    files.FileArray: only the slice is read."""
    out, bounds = {}, {}
    for name, part in layout.items():
        if part.layout == OFFSETS:
            off = np.asarray(arrays[name][start : stop + 1], dtype=np.int64)
            bounds[name] = (int(off[0]), int(off[-1]))
            out[name] = off - off[0]
    for name, part in layout.items():
        if part.layout == ITEM:
            out[name] = np.asarray(arrays[name][start:stop])
        elif part.layout == ROWS:
            lo, hi = bounds[part.index]
            out[name] = np.asarray(arrays[name][lo:hi])
    return out


def take(layout: Layout, arrays: Mapping[str, np.ndarray], items: np.ndarray) -> dict[str, np.ndarray]:
    """The given documents (int64 indices, in that order) as new in-memory arrays."""
    items = np.asarray(items, dtype=np.int64)
    out, gathers = {}, {}
    for name, part in layout.items():
        if part.layout == OFFSETS:
            off = np.asarray(arrays[name])
            starts, lengths = off[items], off[items + 1] - off[items]
            new = np.zeros(len(items) + 1, np.int64)
            np.cumsum(lengths, out=new[1:])
            out[name] = new
            # row indices of the chosen documents, in order
            gathers[name] = np.repeat(starts - new[:-1], lengths) + np.arange(new[-1])
    for name, part in layout.items():
        if part.layout == ITEM:
            out[name] = np.asarray(arrays[name][items])
        elif part.layout == ROWS:
            out[name] = np.asarray(arrays[name][gathers[part.index]])
    return out


class Concatenation:
    """Appends pieces (arrays of one layout, offsets from 0) one after the other: offsets are
    rebased on what came before and their leading 0 written once. `sinks` receive each array's
    rows in order: file writers (files.NpyWriter) or lists (in memory)."""

    def __init__(self, layout: Layout, sinks: Mapping[str, Callable[[np.ndarray], None]]):
        self.layout = layout
        self._sinks = sinks
        self._last = {name: 0 for name, part in layout.items() if part.layout == OFFSETS}
        for name in self._last:
            sinks[name](np.zeros(1, np.int64))

    def append(self, arrays: Mapping[str, np.ndarray]) -> None:
        for name, part in self.layout.items():
            a = arrays[name]
            if part.layout == OFFSETS:
                a = np.asarray(a[1:], dtype=np.int64) + self._last[name]
                if len(a):
                    self._last[name] = int(a[-1])
            if a.dtype != part.dtype:  # never a silent conversion (bfloat16 is stored as its uint16 bits)
                raise ValueError(f"{name}: a piece of {a.dtype}, the layout says {part.dtype}")
            self._sinks[name](np.ascontiguousarray(a))


def concatenate(layout: Layout, pieces: Iterable[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Pieces joined in memory (for indexes that live in memory and for small merges)."""
    lists: dict[str, list] = {name: [] for name in layout}
    cat = Concatenation(layout, {name: lists[name].append for name in layout})
    for p in pieces:
        cat.append(p)
    return {
        name: np.concatenate(parts)
        if len(parts) > 1
        else parts[0]
        if parts
        else np.zeros((0, *layout[name].row_shape), layout[name].dtype)
        for name, parts in lists.items()
    }


def check_arrays(layout: Layout, arrays: Mapping[str, np.ndarray], documents: int, where: str) -> None:
    """Arrays read back match the layout for `documents` documents: the arrays named, their
    element types and row shapes, and their lengths (rows arrays: their offsets' last value)."""
    missing, extra = set(layout) - set(arrays), set(arrays) - set(layout)
    if missing or extra:
        raise ValueError(f"{where}: arrays {sorted(arrays)}, expected {sorted(layout)}")
    for name, part in layout.items():
        a = arrays[name]
        if a.dtype != part.dtype or a.shape[1:] != part.row_shape:
            raise ValueError(
                f"{where}: {name} holds {a.dtype} rows of shape {a.shape[1:]}, expected {part.dtype} "
                f"rows of shape {part.row_shape}"
            )
        if part.layout == ROWS:
            off = arrays[part.index]
            want = int(off[-1]) if len(off) == documents + 1 else None
        else:
            want = _length(part, documents, {})
        if want is None or len(a) != want:
            raise ValueError(f"{where}: {name} has {len(a)} rows for {documents} documents")


def to_blocks(rows: np.ndarray) -> np.ndarray:
    """Rows (n, w) as BLOCKS (ceil(n / 32), w, 32): block b, column c, lane j holds row 32b + j's
    column c; missing rows of the last block are zeros."""
    n, w = rows.shape
    nb = -(-n // BLOCK_ROWS)
    padded = np.zeros((nb * BLOCK_ROWS, w), rows.dtype)
    padded[:n] = rows
    return np.ascontiguousarray(padded.reshape(nb, BLOCK_ROWS, w).transpose(0, 2, 1))


def from_blocks(blocks: np.ndarray, n: int) -> np.ndarray:
    """The first n rows (n, w) of BLOCKS (nb, w, 32)."""
    nb, w, _ = blocks.shape
    return np.ascontiguousarray(np.asarray(blocks).transpose(0, 2, 1).reshape(nb * BLOCK_ROWS, w)[:n])


class Blocker:
    """A sink taking rows in pieces of any size and passing them on as whole blocks (the last one
    padded at close)."""

    def __init__(self, sink: Callable[[np.ndarray], None], width: int, dtype):
        self._sink, self._pending = sink, np.zeros((0, width), dtype)

    def __call__(self, rows: np.ndarray) -> None:
        rows = np.concatenate([self._pending, rows]) if len(self._pending) else rows
        whole = len(rows) - len(rows) % BLOCK_ROWS
        if whole:
            self._sink(to_blocks(rows[:whole]))
        self._pending = np.array(rows[whole:])

    def close(self) -> None:
        if len(self._pending):
            self._sink(to_blocks(self._pending))
            self._pending = self._pending[:0]
