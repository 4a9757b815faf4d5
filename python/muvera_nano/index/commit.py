"""Where an index lives and how a change becomes its state.

In a folder, every change is committed before the call returns: new files are written atomically
(most of them beforehand, outside the writer lock, in a job: see jobs.py), moved to their final
names, then a new manifest is published with an atomic rename (the commit point), then files no
longer named and the folders of dead jobs are deleted. A crash at any moment leaves the last
committed state. Writers in several processes serialise on a lock file, held only to publish;
readers never block and open a consistent snapshot (retrying when a writer replaced files between
reading the manifest and opening them). In memory (an index not saved yet), a change simply
becomes the state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._atomic import fsync_dir
from .files import FileRecord, IndexFormatError, check_file, load_array, save_array
from .graph import save_graph
from .jobs import remove_dead_jobs
from .manifest import (
    LOCK,
    MANIFEST,
    OWNED_PREFIXES,
    Manifest,
    SegmentRecord,
    generation_on_disk,
    read_manifest,
    referenced_files,
    write_manifest,
)
from .segment import Segment, open_segment
from .storage import kind_from_spec


@dataclass(frozen=True)
class Snapshot:
    """One committed state: the manifest, its segments (memory-mapped) and its codebooks
    (role -> (the kind they were trained for, their arrays)). Searches read one snapshot."""

    manifest: Manifest
    segments: tuple[Segment, ...]
    codebooks: dict[str, tuple[Any, dict[str, np.ndarray]]]

    def replace(self, **changes) -> Snapshot:
        return dataclasses.replace(self, **changes)


class Store:
    """The index's folder (or None: memory) and its commit machinery."""

    def __init__(self, folder: str | None):
        self.folder = folder

    @classmethod
    def create(cls, path: str | os.PathLike | None, manifest: Manifest, *, overwrite: bool) -> Store:
        """A new index at `path` (None: in memory) holding the empty `manifest`; an existing index
        folder is replaced only with `overwrite`, anything else is never deleted."""
        if path is None:
            return cls(None)
        folder = os.path.abspath(os.fspath(path))
        if os.path.exists(folder) and (not os.path.isdir(folder) or os.listdir(folder)):
            if not overwrite:
                raise FileExistsError(
                    f"{folder} exists and is not an empty folder; pass overwrite=True (--overwrite) to replace it"
                )
            if not os.path.isfile(os.path.join(folder, MANIFEST)):
                raise FileExistsError(f"{folder} is not a muvera-nano index; refusing to delete it")
            shutil.rmtree(folder)
        os.makedirs(folder, exist_ok=True)
        write_manifest(folder, manifest)
        return cls(folder)

    # ------------------------------------------------------------------ reading
    def load(self, *, verify: bool, previous: Snapshot | None = None, attempts: int = 50) -> Snapshot:
        """The committed state, its segments memory-mapped (those unchanged since `previous`
        are reused as they are)."""
        for attempt in range(attempts):
            manifest = read_manifest(self.folder)
            try:
                return self._open(manifest, verify, previous)
            except (IndexFormatError, FileNotFoundError):
                # a writer may have committed and cleaned up in between: then read again
                if attempt == attempts - 1 or generation_on_disk(self.folder) == manifest.generation:
                    raise
        raise AssertionError("unreachable")

    def _open(self, manifest: Manifest, verify: bool, previous: Snapshot | None) -> Snapshot:
        codebooks = {}
        for role, book in manifest.codebooks.items():
            where = f"{role} codebooks"
            arrays = {part: load_array(self.folder, rec, verify=True) for part, rec in book.files.items()}
            kind = kind_from_spec(role, book.kind, where)
            kind.check_codebooks(arrays, manifest.settings.width(role), where)
            codebooks[role] = (kind, arrays)
        old = (
            {}
            if previous is None or previous.manifest.codebooks != manifest.codebooks
            else {seg.name: seg for seg in previous.segments}
        )
        segments = []
        for rec in manifest.segments:
            seg = old.get(rec.name)
            if seg is None or seg.record != rec or verify:
                seg = open_segment(self.folder, rec, manifest.settings, manifest.id_kind, codebooks, verify=verify)
            segments.append(seg)
        return Snapshot(manifest, tuple(segments), codebooks)

    def generation(self) -> int | None:
        """The committed generation on disk (None in memory)."""
        return None if self.folder is None else generation_on_disk(self.folder)

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Held while a change is published. Each holder opens the lock file anew, so flock
        orders the threads of one process as it orders processes; not reentrant."""
        if self.folder is None:
            yield
            return
        fd = os.open(os.path.join(self.folder, LOCK), os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def write_segment(self, seg: Segment, generation: int) -> Segment:
        """The segment with its record, its files (arrays, deletion mask, graph) written (under
        the writer lock: for indexes saved from memory)."""
        if self.folder is None:
            return seg.replace(record=SegmentRecord(seg.name, seg.n, seg.tokens.n_tokens, {}, seg.storage))
        files = {part: save_array(self.folder, f"{seg.name}.{part}.npy", a) for part, a in seg.arrays().items()}
        graph = None if seg.graph is None else save_graph(self.folder, f"{seg.name}.hnsw.usearch", seg.graph)
        record = SegmentRecord(seg.name, seg.n, seg.tokens.n_tokens, files, seg.storage, graph=graph)
        return self.write_deleted(seg.replace(record=record), seg.deleted, generation)

    def write_deleted(self, seg: Segment, deleted, generation: int) -> Segment:
        """The segment with a new deletion mask (a new file per change: readers keep the old one)."""
        rec = None
        if self.folder is not None and deleted is not None:
            rec = save_array(self.folder, f"{seg.name}.deleted-{generation:08d}.npy", deleted)
        return seg.replace(deleted=deleted, record=dataclasses.replace(seg.record, deleted=rec))

    def adopt(self, job_folder: str, files: dict[str, FileRecord], prefix: str) -> dict[str, FileRecord]:
        """Moves a job's files into the index folder as `prefix`.<their part and extension>
        (under the writer lock, before the manifest naming them is published)."""
        out = {}
        for part, rec in files.items():
            check_file(job_folder, rec, verify=False)
            name = f"{prefix}.{part}{os.path.splitext(rec.file)[1]}"
            os.rename(os.path.join(job_folder, rec.file), os.path.join(self.folder, name))
            out[part] = dataclasses.replace(rec, file=name)
        fsync_dir(self.folder)
        return out

    def publish(self, manifest: Manifest) -> None:
        """Commits `manifest` (its files written already), then deletes files it no longer names
        and the folders of dead jobs."""
        if self.folder is None:
            return
        write_manifest(self.folder, manifest)
        keep = referenced_files(manifest)
        for name in os.listdir(self.folder):
            if name not in keep and name.startswith(OWNED_PREFIXES):
                with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                    os.unlink(os.path.join(self.folder, name))
        remove_dead_jobs(self.folder)
