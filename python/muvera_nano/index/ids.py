"""Document ids: the user's ids (all ints or all strings) per segment, stored so they can be
memory-mapped (int64, or UTF-8 bytes + offsets), with the id -> (segment, row) map built
only when something needs it (adding, removing, looking up)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import layout as L

INT, STR = "int", "str"


def id_kind(ids: Sequence[Any], name: str = "ids") -> str:
    """'int' or 'str' for a non-empty list of ids of one kind; raises otherwise."""
    kinds = set()
    for i in ids:
        if isinstance(i, (bool, np.bool_)):
            raise TypeError(f"{name} must be ints or strings, got a bool")
        if isinstance(i, (int, np.integer)):
            kinds.add(INT)
        elif isinstance(i, str):
            kinds.add(STR)
        else:
            raise TypeError(f"{name} must be ints or strings, got {type(i).__name__}")
    if len(kinds) > 1:
        raise TypeError(f"{name} mixes ints and strings; an index uses one kind")
    return kinds.pop()


def encode_ids(ids: Sequence[Any], kind: str) -> dict[str, np.ndarray]:
    """Arrays to store: {'ids': int64} or {'id_bytes': uint8, 'id_offsets': int64}."""
    if kind == INT:
        arr = np.array([int(i) for i in ids], dtype=np.int64) if len(ids) else np.zeros(0, np.int64)
        return {"ids": arr}
    encoded = [s.encode("utf-8") for s in ids]
    offsets = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return {"id_bytes": np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), "id_offsets": offsets}


def id_layout(kind: str) -> L.Layout:
    """The arrays a segment stores its ids in."""
    if kind == INT:
        return {"ids": L.Part(L.ITEM, np.int64)}
    return {"id_bytes": L.Part(L.ROWS, np.uint8, (), "id_offsets"), "id_offsets": L.Part(L.OFFSETS, np.int64)}


class SegmentIds:
    """The ids of one segment, as stored."""

    def __init__(self, kind: str, arrays: dict[str, np.ndarray]):
        self.kind = kind
        self._ints = arrays.get("ids")
        self._bytes = arrays.get("id_bytes")
        self._offsets = arrays.get("id_offsets")

    @classmethod
    def from_ids(cls, ids: Sequence[Any], kind: str) -> SegmentIds:
        return cls(kind, encode_ids(ids, kind))

    def arrays(self) -> dict[str, np.ndarray]:
        return {"ids": self._ints} if self.kind == INT else {"id_bytes": self._bytes, "id_offsets": self._offsets}

    def __len__(self) -> int:
        return len(self._ints) if self.kind == INT else len(self._offsets) - 1

    def get(self, rows: np.ndarray) -> list:
        """The ids of these rows, as Python ints or strs."""
        if self.kind == INT:
            return self._ints[rows].tolist()
        data, off = self._bytes, self._offsets
        return [bytes(data[off[r] : off[r + 1]]).decode("utf-8") for r in np.asarray(rows).tolist()]


def new_ids(ids: Sequence[Any] | None, n: int, kind: str | None, next_int_id: int, existing) -> tuple[list, str]:
    """(ids, kind) for `n` new documents: the caller's (checked: one kind, the index's, unique,
    not in `existing`) or, without them, consecutive ints from `next_int_id`."""
    if ids is None:
        if kind == STR:
            raise ValueError("this index uses string ids: pass ids=")
        return list(range(next_int_id, next_int_id + n)), INT
    ids = list(ids)
    if len(ids) != n:
        raise ValueError(f"ids has {len(ids)} entries for {n} documents")
    given = id_kind(ids)
    if kind not in (None, given):
        raise TypeError(f"this index uses {kind} ids, got {given} ids")
    ids = [int(i) for i in ids] if given == INT else ids
    seen = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"ids contains {i!r} more than once")
        seen.add(i)
    clash = next((i for i in ids if i in existing), None)
    if clash is not None:
        raise ValueError(f"id {clash!r} is already in the index (remove it first)")
    return ids, given


class IdMap:
    """id -> (segment name, row) of every live document: built when something needs it (adding
    checks for clashes, removing locates) and kept up to date by the index's changes, merges
    included (names survive other segments coming and going)."""

    def __init__(self, segments):
        self._where = {}
        for seg in segments:
            self.place(seg.name, seg.ids.get(seg.live_rows), seg.live_rows)

    def __contains__(self, i) -> bool:
        return i in self._where

    def place(self, name: str, ids: Sequence[Any], rows) -> None:
        """Records where these ids now are (a new segment, or a merged one)."""
        self._where.update(zip(ids, ((name, int(r)) for r in rows)))

    def discard(self, ids: Sequence[Any]) -> None:
        for i in ids:
            self._where.pop(i, None)

    def locate(self, ids: Sequence[Any], segments) -> list[tuple[int, int]]:
        """Sorted (segment position, row) of `ids` among `segments`; KeyError naming the unknown ones."""
        missing = [i for i in ids if i not in self._where]
        if missing:
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise KeyError(f"not in the index: {missing[:5]!r}{more}")
        position = {seg.name: s for s, seg in enumerate(segments)}
        return sorted({(position[self._where[i][0]], self._where[i][1]) for i in ids})
