"""Document ids: the user's ids (all ints or all strings) per segment, stored so they can be
memory-mapped (int64, or UTF-8 bytes + offsets), with the id -> (segment, row) map built
only when something needs it (adding, removing, looking up)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

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


class SegmentIds:
    """The ids of one segment, as stored."""

    def __init__(self, kind: str, arrays: dict[str, np.ndarray]):
        self.kind = kind
        self._ints = arrays.get("ids")
        self._bytes = arrays.get("id_bytes")
        self._offsets = arrays.get("id_offsets")

    def __len__(self) -> int:
        return len(self._ints) if self.kind == INT else len(self._offsets) - 1

    def get(self, rows: np.ndarray) -> list:
        """The ids of these rows, as Python ints or strs."""
        if self.kind == INT:
            return self._ints[rows].tolist()
        data, off = self._bytes, self._offsets
        return [bytes(data[off[r]:off[r + 1]]).decode("utf-8") for r in np.asarray(rows).tolist()]

    def all(self) -> list:
        return self.get(np.arange(len(self)))
