"""A segment: an immutable batch of documents as written by one `add` chunk (or a merge): token
vectors and FDE rows each in the storage kind its manifest record names, ids, an HNSW graph for
the 'hnsw' backend. Only its deletion mask changes, and a change makes a new Segment (and, on
disk, a new file)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from . import layout as L
from .files import IndexFormatError, load_array
from .graph import open_graph
from .ids import SegmentIds, id_layout
from .manifest import SegmentRecord
from .settings import IndexSettings
from .storage import FDE, TOKENS, check_kind_layout, kind_from_spec, same_kind


class SegmentInfo(NamedTuple):
    """What Index.segments() tells about a segment."""

    name: str
    documents: int  # stored, removed ones included
    live: int  # not removed


@dataclass(frozen=True, eq=False)  # arrays inside: compared by identity
class Segment:
    name: str
    tokens: Any  # a token kind's stored form (kinds.py): .kind, .rerank, .to_float32, .arrays
    fde: Any  # an FDE kind's stored form: .kind, .topk, .scores, .to_float32, .arrays
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

    def kind(self, role: str):
        return self.tokens.kind if role == TOKENS else self.fde.kind

    @property
    def storage(self) -> dict[str, dict]:
        return {TOKENS: self.tokens.kind.to_dict(), FDE: self.fde.kind.to_dict()}

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array the segment writes, by name (the deletion mask apart)."""
        return {**self.tokens.arrays(), **self.fde.arrays(), **self.ids.arrays()}

    def replace(self, **changes) -> Segment:
        return dataclasses.replace(self, **changes)


def segment_layout(settings: IndexSettings, tokens_kind, fde_kind, id_kind: str) -> L.Layout:
    """Every array of a segment stored in these kinds, by name."""
    parts = [
        check_kind_layout(tokens_kind, settings.dim),
        check_kind_layout(fde_kind, settings.fde.output_dim),
        id_layout(id_kind),
    ]
    names = [n for p in parts for n in p]
    if len(set(names)) != len(names):
        raise ValueError(f"the {tokens_kind.name} and {fde_kind.name} storage kinds name the same arrays: {names}")
    return {n: part for p in parts for n, part in p.items()}


def open_segment(
    folder: str,
    record: SegmentRecord,
    settings: IndexSettings,
    id_kind: str,
    codebooks: Mapping[str, tuple[Any, dict]],
    *,
    verify: bool,
) -> Segment:
    """Memory-maps a segment's files, refusing any that do not match the manifest. Small (1-D)
    arrays are always checksummed; the large ones (token rows, FDE rows, graph) on `verify`.
    codebooks: role -> (the kind they were trained for, their arrays)."""
    where = f"segment {record.name}"
    kinds = {role: kind_from_spec(role, record.storage.get(role), where) for role in (TOKENS, FDE)}
    books = {}
    for role, kind in kinds.items():
        if kind.needs_training:
            trained = codebooks.get(role)
            if trained is None or not same_kind(trained[0], kind):
                raise IndexFormatError(f"{where}: stored as {kind.to_dict()}, but the index has no codebooks for it")
            books[role] = trained[1]
    layout = segment_layout(settings, kinds[TOKENS], kinds[FDE], id_kind)
    missing = set(layout) - set(record.files)
    if missing:
        raise IndexFormatError(f"{where}: the manifest lists no {sorted(missing)} file")
    arr = {
        part: load_array(folder, rec, verify=verify or len(rec.shape or ()) == 1) for part, rec in record.files.items()
    }
    try:
        L.check_arrays(layout, arr, record.documents, where)
    except ValueError as e:
        raise IndexFormatError(str(e)) from None
    tokens = kinds[TOKENS].open(arr, books.get(TOKENS), where)
    fde = kinds[FDE].open(arr, books.get(FDE), where)
    ids = SegmentIds(id_kind, arr)
    n = record.documents
    if len(tokens) != n or len(fde) != n or len(ids) != n:
        raise IndexFormatError(
            f"{where}: {len(tokens)} token items, {len(fde)} FDE rows, {len(ids)} ids; the manifest says {n} documents"
        )
    deleted = None
    if record.deleted is not None:
        deleted = load_array(folder, record.deleted, verify=True)
        if deleted.dtype != np.bool_ or deleted.shape != (n,):
            raise IndexFormatError(f"{where}: deletion mask has shape {deleted.shape}, expected ({n},)")
    graph = None
    if settings.graph is not None:
        if record.graph is None:
            raise IndexFormatError(f"{where}: the index uses the hnsw backend but the manifest names no graph")
        graph = open_graph(folder, record.graph, n, settings.fde.output_dim, settings.graph, verify)
    return Segment(record.name, tokens, fde, ids, deleted, graph, record)
