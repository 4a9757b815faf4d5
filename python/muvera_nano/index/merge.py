"""Writing a merge: the live documents of adjacent segments, as one segment, in bounded memory.

A merge is planned on a snapshot (which segments, and which of their documents were live then)
and written outside the writer lock into a job. Each output array is streamed to its file
(files.NpyWriter: the shape is known from the sources' offsets before a row is written, hashed as
written, published atomically), a window of source documents at a time; sources are read with
explicit reads (files.FileArray), so a merge's memory is that of one window plus a few integers
per document, whatever the segments' sizes. Stored values are copied as they are when a source is
stored in the output's kind (scores do not change); a source stored in another kind (a staged
segment once the index has codebooks) is re-encoded from its float32 reconstruction.

At publish (maintenance.py) the merge is checked against the then-current state: its sources must still
be there, side by side (else it is abandoned: another merge or a compaction took them); documents
removed since planning are removed from the merged segment too (a deletion mask written with it).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import layout as L
from .build import memory_segment
from .files import FileArray, FileRecord, NpyWriter, load_array
from .graph import build_graph, save_graph
from .ids import SegmentIds, id_layout
from .segment import Segment, segment_layout
from .settings import IndexSettings
from .storage import FDE, TOKENS, same_kind

WINDOW_DOCUMENTS = 1024  # documents read, converted and written at a time
WINDOW_TOKENS = 1 << 17


class MergeAbandoned(Exception):
    """A merge stopped before publishing (the index is closing, or its sources changed)."""


@dataclass(frozen=True, eq=False)
class MergePlan:
    names: tuple[str, ...]  # adjacent segments, in index order
    live: tuple[np.ndarray, ...]  # each one's live rows when planned
    kinds: dict[str, Any]  # role -> the output's storage kind
    reason: str  # 'tier', 'conversion', 'deletions' or 'compact'

    @property
    def documents(self) -> int:
        return sum(len(x) for x in self.live)


@dataclass(frozen=True, eq=False)
class MergeOutput:
    plan: MergePlan
    documents: int
    tokens: int
    storage: dict[str, dict]
    files: dict[str, FileRecord] | None  # in the job's folder (None in memory)
    graph: FileRecord | None
    segment: Segment | None  # in memory: the merged segment


def plan(segments: tuple[Segment, ...], start: int, stop: int, kinds: Mapping[str, Any], reason: str) -> MergePlan:
    chosen = segments[start:stop]
    return MergePlan(tuple(s.name for s in chosen), tuple(s.live_rows for s in chosen), dict(kinds), reason)


def _source_arrays(seg: Segment, folder: str | None) -> Mapping[str, Any]:
    if folder is None or seg.record is None or not seg.record.files:
        return seg.arrays()
    return {part: FileArray(folder, rec) for part, rec in seg.record.files.items()}


def _windows(offsets: np.ndarray, live: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """(start, stop, live rows in it, relative) windows over a source's rows."""
    out = []
    n, start = len(offsets) - 1, 0
    while start < n:
        stop = int(np.searchsorted(offsets, offsets[start] + WINDOW_TOKENS, side="right")) - 1
        stop = max(start + 1, min(stop, start + WINDOW_DOCUMENTS, n))
        lo, hi = np.searchsorted(live, [start, stop])
        if hi > lo:
            out.append((start, stop, live[lo:hi] - start))
        start = stop
    return out


def write(
    merge: MergePlan,
    segments: tuple[Segment, ...],
    settings: IndexSettings,
    id_kind: str,
    codebooks: Mapping[str, tuple[Any, dict]],
    folder: str | None,
    job_folder: str | None,
    threads,
    stop: threading.Event | None = None,
) -> MergeOutput:
    """Writes the merged segment (into `job_folder`, or in memory when the index lives in memory)."""
    if merge.documents == 0:  # every document removed: the sources just go
        return MergeOutput(merge, 0, 0, _storage(merge.kinds), None, None, None)
    by_name = {s.name: s for s in segments}
    sources = [by_name[n] for n in merge.names]
    kinds = merge.kinds
    out_books = {role: codebooks[role][1] for role, kind in kinds.items() if kind.needs_training}
    out_layout = segment_layout(settings, kinds[TOKENS], kinds[FDE], id_kind)
    ids_layout = id_layout(id_kind)
    arrays = [_source_arrays(s, folder) for s in sources]
    offsets = [np.asarray(a["offsets"][:]) for a in arrays]
    rows = {name: 0 for name, p in out_layout.items() if p.layout == L.OFFSETS}
    for a, off, live in zip(arrays, offsets, merge.live):
        rows["offsets"] += int((off[live + 1] - off[live]).sum())
        if "id_offsets" in rows:
            ioff = np.asarray(a["id_offsets"][:])
            rows["id_offsets"] += int((ioff[live + 1] - ioff[live]).sum())
    documents = merge.documents
    shapes = L.shapes(out_layout, documents, rows)
    prefix = uuid.uuid4().hex[:12]
    # Roles whose kind writes its merged arrays itself (custom_merge) stay out of the window loop.
    custom = [role for role, kind in kinds.items() if kind.custom_merge]
    custom_names = {n for role in custom for n in kinds[role].layout(settings.width(role))}
    if job_folder is not None:
        writers = {
            name: NpyWriter(job_folder, f"{prefix}.{name}.npy", p.dtype, shapes[name], sync_folder=False)
            for name, p in out_layout.items()
        }
        sinks = {name: w.write for name, w in writers.items()}
    else:
        writers, pieces = {}, {name: [] for name in out_layout}
        sinks = {name: pieces[name].append for name in out_layout}
    try:
        generic = {n: p for n, p in out_layout.items() if n not in custom_names}
        cat = L.Concatenation(generic, {n: sinks[n] for n in generic})
        for seg, a, off, live in zip(sources, arrays, offsets, merge.live):
            roles = {role: seg.kind(role) for role in (TOKENS, FDE) if role not in custom}
            layouts = {role: k.layout(settings.width(role)) for role, k in roles.items()}
            src_books = {role: codebooks[role][1] for role, k in roles.items() if k.needs_training}
            for start, end, keep in _windows(off, live):
                if stop is not None and stop.is_set():
                    raise MergeAbandoned("the index is closing")
                piece = {}
                whole = len(keep) == end - start  # nothing removed in the window: no gathering copy
                for role, kind in roles.items():
                    if kind.custom_merge:
                        raise ValueError(f"{kind.name} storage cannot be merged into {kinds[role].name} storage")
                    taken = L.slice_items(layouts[role], a, start, end)
                    taken = taken if whole else L.take(layouts[role], taken, keep)
                    if not same_kind(kind, kinds[role]):
                        stored = kind.open(taken, src_books.get(role), f"segment {seg.name}")
                        taken = kinds[role].build(stored.to_float32(), out_books.get(role), threads).arrays()
                    piece.update(taken)
                taken = L.slice_items(ids_layout, a, start, end)
                piece.update(taken if whole else L.take(ids_layout, taken, keep))
                cat.append(piece)
        for role in custom:
            _write_custom(
                kinds[role],
                role,
                sources,
                arrays,
                merge.live,
                out_books.get(role),
                settings.width(role),
                out_layout,
                sinks,
                threads,
            )
        if job_folder is None:
            merged = {name: np.concatenate(p) if len(p) > 1 else p[0] for name, p in pieces.items()}
            tokens = kinds[TOKENS].open(merged, out_books.get(TOKENS), "merged segment")
            fde = kinds[FDE].open(merged, out_books.get(FDE), "merged segment")
            seg = memory_segment("merged", (tokens, fde), SegmentIds(id_kind, merged), settings, threads)
            return MergeOutput(merge, documents, rows["offsets"], _storage(kinds), None, None, seg)
        files = {name: w.close() for name, w in writers.items()}
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    graph = None
    if settings.graph is not None:
        fde_files = {name: files[name] for name in kinds[FDE].layout(settings.fde.output_dim)}
        fde = kinds[FDE].open(
            {n: load_array(job_folder, r, verify=False) for n, r in fde_files.items()},
            out_books.get(FDE),
            "merged segment",
        )
        graph = save_graph(
            job_folder, f"{prefix}.hnsw.usearch", build_graph(fde, settings.graph, threads), sync_folder=False
        )
    return MergeOutput(merge, documents, rows["offsets"], _storage(kinds), files, graph, None)


def _write_custom(kind, role: str, sources, arrays, live, books, width: int, out_layout, sinks, threads) -> None:
    """A custom-merge kind writes its arrays from every source at once (its order need not be the
    documents'): sources are handed over with a reader of their stored arrays (a slice at a
    time), and BLOCKS arrays reach their files cut into blocks."""
    names = kind.layout(width)
    blockers = {
        n: L.Blocker(sinks[n], out_layout[n].row_shape[0], out_layout[n].dtype)
        for n in names
        if out_layout[n].layout == L.BLOCKS
    }
    src = []
    for seg, a, rows in zip(sources, arrays, live):
        stored = seg.tokens if role == TOKENS else seg.fde
        src.append((stored, rows, lambda name, start, stop, a=a: np.asarray(a[name][start:stop])))
    kind.write_merged(src, books, {n: blockers.get(n, sinks[n]) for n in names}, threads)
    for blocker in blockers.values():
        blocker.close()


def _storage(kinds: Mapping[str, Any]) -> dict[str, dict]:
    return {role: kind.to_dict() for role, kind in kinds.items()}


def deletions_since(merge: MergePlan, current: tuple[Segment, ...]) -> np.ndarray | None:
    """The merged segment's deletion mask: documents live when the merge was planned and removed
    since (None when there are none). `current`: the sources as they are now."""
    parts = []
    for seg, live in zip(current, merge.live):
        parts.append(np.zeros(len(live), bool) if seg.deleted is None else np.asarray(seg.deleted[live]))
    mask = np.concatenate(parts) if parts else np.zeros(0, bool)
    return mask if mask.any() else None
