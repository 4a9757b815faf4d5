"""Making new segments from float32 token vectors, a chunk at a time: FDE rows, the stored
forms in the chunk's storage kinds, the HNSW graph when the index has one, and (in a folder) the
files, written into a job to be committed later. Memory is that of one chunk."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..kernels import Ragged
from .files import FileRecord, load_array, save_array
from .graph import build_graph, save_graph
from .ids import SegmentIds
from .segment import Segment
from .settings import IndexSettings
from .storage import FDE, TOKENS

# A chunk (a new segment) holds at most this many documents and token vectors: with 128-dim
# tokens and the recommended 10,240-value FDE, about 100 MB of float32 input and FDE rows.
CHUNK_DOCUMENTS = 2048
CHUNK_TOKENS = 1 << 18


def chunks(lengths: np.ndarray, documents: int, tokens: int) -> Iterator[tuple[int, int]]:
    """(start, stop) document ranges of at most `documents` documents and `tokens` token
    vectors each (a longer document alone), covering everything in order."""
    ends = np.cumsum(np.asarray(lengths, dtype=np.int64))
    start, n = 0, len(ends)
    while start < n:
        before = ends[start - 1] if start else 0
        stop = int(np.searchsorted(ends, before + tokens, side="right"))
        stop = max(start + 1, min(stop, start + documents))
        yield start, stop
        start = stop


def items(tokens: Ragged, start: int, stop: int) -> Ragged:
    """Documents start..stop of a Ragged, without copying the token rows."""
    off = tokens.offsets[start : stop + 1]
    return Ragged(
        tokens.tokens[off[0] : off[-1]],
        off - off[0],
        None if tokens.scales is None else tokens.scales[off[0] : off[-1]],
        dtype=tokens.dtype,
    )


@dataclass(frozen=True)
class PreparedSegment:
    """Documents written into a job, waiting to be committed (Index.commit_prepared). Holds no
    arrays: it can be pickled and sent from a worker process to the driver that commits."""

    job: str
    documents: int
    tokens: int
    storage: dict[str, dict]  # role -> kind, as a manifest records it
    files: dict[str, FileRecord]  # in the job's folder
    ids: tuple | None  # the documents' ids; None: consecutive ints, given at commit
    graph: FileRecord | None = None


def build_stored(
    tokens: Ragged, fde_rows: np.ndarray, kinds: Mapping[str, Any], codebooks: Mapping[str, Any], threads
) -> tuple[Any, Any]:
    """The stored forms of float32 token vectors and FDE rows in the given kinds."""
    return (
        kinds[TOKENS].build(tokens, codebooks.get(TOKENS), threads),
        kinds[FDE].build(fde_rows, codebooks.get(FDE), threads),
    )


def memory_segment(
    name: str, stored: tuple[Any, Any], ids: SegmentIds | None, settings: IndexSettings, threads
) -> Segment:
    """A new in-memory segment (ids may come later, at commit)."""
    seg = Segment(name, stored[0], stored[1], ids)
    return seg.replace(graph=None if settings.graph is None else build_graph(seg.fde, settings.graph, threads))


def write_prepared(
    job_folder: str, job_id: str, stored: tuple[Any, Any], ids: tuple | None, settings: IndexSettings, threads
) -> PreparedSegment:
    """Writes a chunk's stored forms (and graph) into a job's folder."""
    prefix = uuid.uuid4().hex[:12]
    tokens, fde = stored
    files = {
        part: save_array(job_folder, f"{prefix}.{part}.npy", a, sync_folder=False)
        for part, a in {**tokens.arrays(), **fde.arrays()}.items()
    }
    graph = None
    if settings.graph is not None:
        graph = save_graph(
            job_folder, f"{prefix}.hnsw.usearch", build_graph(fde, settings.graph, threads), sync_folder=False
        )
    storage = {TOKENS: tokens.kind.to_dict(), FDE: fde.kind.to_dict()}
    return PreparedSegment(job_id, len(tokens), tokens.n_tokens, storage, files, ids, graph)


def open_prepared(
    job_folder: str, prepared: PreparedSegment, kinds: Mapping[str, Any], codebooks: Mapping[str, Any]
) -> tuple[Any, Any]:
    """A prepared segment's stored forms, memory-mapped from the job's folder."""
    arrays = {part: load_array(job_folder, rec, verify=False) for part, rec in prepared.files.items()}
    where = f"prepared segment in {os.path.basename(job_folder)}"
    return (
        kinds[TOKENS].open(arrays, codebooks.get(TOKENS), where),
        kinds[FDE].open(arrays, codebooks.get(FDE), where),
    )
