"""New documents: chunks of float32 token vectors become prepared segments (files in a job, or
in-memory segments), with codebooks trained first when the documents seen reach the minimum;
prepared segments (from any process) are then committed at once with their ids."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..kernels import Ragged
from . import codebooks
from .build import PreparedSegment, build_stored, memory_segment, write_prepared
from .commit import Snapshot, Store
from .files import save_array
from .ids import SegmentIds, new_ids
from .manifest import SegmentRecord
from .segment import Segment, open_segment
from .storage import ROLES, STAGING, kind_from_spec, same_kind
from .writer import Writer, place


class JobRef:
    """Another process's job, written into by Index.prepare()."""

    def __init__(self, folder: str, job_id: str):
        self.folder, self.id = folder, job_id


def prepare(writer: Writer, job, ranges: list[tuple[int, int]], source: Callable[[int, int], Ragged], threads) -> list:
    """Builds and writes documents a range at a time into `job` (in memory: keeps the
    segments), training codebooks first when the documents seen reach the kind's minimum."""
    out = []
    for start, stop in ranges:
        tokens = source(start, stop)
        fde_rows = writer.state.manifest.settings.fde.encode_documents(tokens, threads=threads)
        if codebooks.due(writer.state, len(tokens), out):
            staged = build_stored(tokens, fde_rows, STAGING, {}, threads)
            pending = [(staged, np.arange(len(tokens)))] + codebooks.prepared_pieces(out, job)
            codebooks.train(writer, threads, pending=pending)
        state = writer.state
        kinds = codebooks.output_kinds(state)
        books = {role: state.codebooks[role][1] for role in ROLES if kinds[role].needs_training}
        stored = build_stored(tokens, fde_rows, kinds, books, threads)
        if job.folder is None:
            out.append(memory_segment("pending", stored, None, state.manifest.settings, threads))
        else:
            out.append(write_prepared(job.folder, job.id, stored, None, state.manifest.settings, threads))
        del tokens, fde_rows, stored
    return out


def commit(writer: Writer, job, prepared: list, ids: list | None, folders: dict | None = None) -> list:
    """Commits prepared segments (files in jobs, or in-memory segments) with `ids` (None:
    consecutive ints); returns the ids."""
    n = sum(p.documents if isinstance(p, PreparedSegment) else p.n for p in prepared)
    folders = folders or ({} if job is None or job.folder is None else {job.id: job.folder})

    def change(state: Snapshot, generation: int):
        m = state.manifest
        added, kind = new_ids(ids, n, m.id_kind, m.next_int_id, writer.ids())
        segments, at, next_segment = list(state.segments), 0, m.next_segment
        for p in prepared:
            name = f"seg-{next_segment:06d}"
            next_segment += 1
            count = p.documents if isinstance(p, PreparedSegment) else p.n
            seg_ids = SegmentIds.from_ids(added[at : at + count], kind)
            at += count
            segments.append(_adopt(writer.store, p, name, seg_ids, kind, state, folders, generation))
        next_int = max(m.next_int_id, max(added) + 1) if kind == "int" else m.next_int_id
        m = m.replace(next_segment=next_segment, id_kind=kind, next_int_id=next_int)
        return state.replace(manifest=m, segments=tuple(segments)), (added, tuple(segments[len(state.segments) :]))

    added, _ = writer.commit(change, lambda id_map, result: place(id_map, result[1]))
    return added


def _adopt(
    store: Store, p, name: str, ids: SegmentIds, id_kind: str, state: Snapshot, folders: dict, generation: int
) -> Segment:
    """A prepared segment as a segment of the index, named `name` (under the writer lock)."""
    settings = state.manifest.settings
    if isinstance(p, Segment):  # prepared in memory; written now if the index was saved meanwhile
        seg = p.replace(name=name, ids=ids, record=SegmentRecord(name, p.n, p.tokens.n_tokens, {}, p.storage))
        return seg if store.folder is None else store.write_segment(seg, generation)
    for role in ROLES:
        kind = kind_from_spec(role, p.storage[role], f"prepared segment of job {p.job}")
        if not (same_kind(kind, settings.kind(role)) or same_kind(kind, STAGING[role])):
            raise ValueError(
                f"a prepared segment stores its {role} as {p.storage[role]}, the index as "
                f"{settings.kind(role).to_dict()}"
            )
    folder = folders[p.job]
    id_files = {
        part: save_array(folder, f"{name}.{part}.npy", a, sync_folder=False) for part, a in ids.arrays().items()
    }
    files = store.adopt(folder, {**p.files, **id_files}, name)
    graph = None if p.graph is None else store.adopt(folder, {"hnsw": p.graph}, name)["hnsw"]
    record = SegmentRecord(name, p.documents, p.tokens, files, p.storage, graph=graph)
    return open_segment(store.folder, record, settings, id_kind, state.codebooks, verify=False)
