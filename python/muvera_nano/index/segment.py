"""A segment: an immutable batch of documents as written by one `add` (or a compaction): token
vectors and FDE rows in the index's storage kinds, ids, an HNSW graph for the 'hnsw' backend.
Only its deletion mask changes, and a change makes a new Segment (and, on disk, a new file)."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from .files import IndexFormatError, load_array
from .graph import open_graph
from .ids import SegmentIds, id_parts
from .manifest import SegmentRecord
from .settings import IndexSettings
from .storage import DenseFde, DenseTokens


@dataclass(frozen=True, eq=False)  # arrays inside: compared by identity
class Segment:
    name: str
    tokens: DenseTokens
    fde: DenseFde
    ids: SegmentIds
    deleted: np.ndarray | None = None  # bool (n,), None when nothing is deleted
    graph: Any = None  # usearch HNSW over the FDE rows (the 'hnsw' backend)
    record: SegmentRecord | None = None  # its files, once written (None in memory)

    @property
    def n(self) -> int:
        return len(self.tokens)

    @functools.cached_property
    def live_rows(self) -> np.ndarray:
        """Row indices not deleted (int64, ascending)."""
        rows = np.arange(self.n, dtype=np.int64)
        return rows if self.deleted is None else rows[~self.deleted]

    @property
    def n_live(self) -> int:
        return len(self.live_rows)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array the segment writes, by part name (the deletion mask apart)."""
        return {**self.tokens.arrays(), **self.fde.arrays(), **self.ids.arrays()}

    def replace(self, **changes) -> "Segment":
        return dataclasses.replace(self, **changes)


def open_segment(folder: str, record: SegmentRecord, settings: IndexSettings, id_kind: str, *,
                 verify: bool) -> Segment:
    """Memory-maps a segment's files, refusing any that do not match the manifest. Small files
    are always checksummed; the large ones (tokens, FDE rows, graph) on `verify`."""
    where = f"segment {record.name}"
    need = {*settings.tokens.parts, *settings.fde_rows.parts, *id_parts(id_kind)}
    missing = need - set(record.files)
    if missing:
        raise IndexFormatError(f"{where}: the manifest lists no {sorted(missing)} file")
    arr = {part: load_array(folder, rec, verify=verify or part not in ("tokens", "fde"))
           for part, rec in record.files.items()}
    tokens = settings.tokens.open(arr, where)
    fde = settings.fde_rows.open(arr, where)
    ids = SegmentIds(id_kind, arr)
    n = len(tokens)
    if len(fde) != n or len(ids) != n or n != record.documents or fde.width != settings.fde.output_dim:
        raise IndexFormatError(f"{where}: {n} token items, {len(fde)} FDE rows of {fde.width} values, {len(ids)} ids; "
                               f"the manifest says {record.documents} documents, FDE width {settings.fde.output_dim}")
    deleted = None
    if record.deleted is not None:
        deleted = load_array(folder, record.deleted, verify=True)
        if deleted.dtype != np.bool_ or deleted.shape != (n,):
            raise IndexFormatError(f"{where}: deletion mask has shape {deleted.shape}, expected ({n},)")
    graph = None
    if settings.graph is not None:
        if record.graph is None:
            raise IndexFormatError(f"{where}: the index uses the hnsw backend but the manifest names no graph")
        graph = open_graph(folder, record.graph, n, fde.width, settings.graph, verify)
    return Segment(record.name, tokens, fde, ids, deleted, graph, record)
