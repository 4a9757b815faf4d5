"""Where an index lives and how a change becomes its state.

In a folder, every change is committed before the call returns: new files are written atomically,
then a new manifest is published with an atomic rename (the commit point), then files no longer
named are deleted. A crash at any moment leaves the last committed state. Writers in several
processes serialise on a lock file; readers never block and open a consistent snapshot (retrying
when a writer replaced files between reading the manifest and opening them). In memory (an index
not saved yet), a change simply becomes the state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import shutil
from typing import Iterator

from .files import IndexFormatError, save_array
from .graph import save_graph
from .manifest import LOCK, MANIFEST, OWNED_PREFIXES, Manifest, SegmentRecord, generation_on_disk, read_manifest, \
    referenced_files, write_manifest
from .segment import Segment, open_segment


class Store:
    """The index's folder (or None: memory) and its commit machinery."""

    def __init__(self, folder: str | None):
        self.folder = folder

    @classmethod
    def create(cls, path: str | os.PathLike | None, manifest: Manifest, *, overwrite: bool) -> "Store":
        """A new index at `path` (None: in memory) holding the empty `manifest`; an existing index
        folder is replaced only with `overwrite`, anything else is never deleted."""
        if path is None:
            return cls(None)
        folder = os.path.abspath(os.fspath(path))
        if os.path.exists(folder) and (not os.path.isdir(folder) or os.listdir(folder)):
            if not overwrite:
                raise FileExistsError(f"{folder} exists and is not an empty folder; pass overwrite=True "
                                      "(--overwrite) to replace it")
            if not os.path.isfile(os.path.join(folder, MANIFEST)):
                raise FileExistsError(f"{folder} is not a muvera-nano index; refusing to delete it")
            shutil.rmtree(folder)
        os.makedirs(folder, exist_ok=True)
        write_manifest(folder, manifest)
        return cls(folder)

    # ------------------------------------------------------------------ reading
    def load(self, *, verify: bool, attempts: int = 5) -> tuple[Manifest, tuple[Segment, ...]]:
        """The committed manifest and its segments (memory-mapped)."""
        for attempt in range(attempts):
            manifest = read_manifest(self.folder)
            try:
                return manifest, tuple(open_segment(self.folder, rec, manifest.settings, manifest.id_kind, verify=verify)
                                       for rec in manifest.segments)
            except (IndexFormatError, FileNotFoundError):
                # a writer may have committed and cleaned up in between: then read again
                if attempt == attempts - 1 or generation_on_disk(self.folder) == manifest.generation:
                    raise
        raise AssertionError("unreachable")

    def generation(self) -> int | None:
        """The committed generation on disk (None in memory)."""
        return None if self.folder is None else generation_on_disk(self.folder)

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Held while a change is prepared and published (nothing to hold in memory)."""
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
        """The segment with its record, its files (arrays, deletion mask, graph) written first."""
        if self.folder is None:
            return seg.replace(record=SegmentRecord(seg.name, seg.n, seg.tokens.n_tokens, {}))
        files = {part: save_array(self.folder, f"{seg.name}.{part}.npy", a) for part, a in seg.arrays().items()}
        graph = None if seg.graph is None else save_graph(self.folder, f"{seg.name}.hnsw.usearch", seg.graph)
        record = SegmentRecord(seg.name, seg.n, seg.tokens.n_tokens, files, graph=graph)
        return self.write_deleted(seg.replace(record=record), seg.deleted, generation)

    def write_deleted(self, seg: Segment, deleted, generation: int) -> Segment:
        """The segment with a new deletion mask (a new file per change: readers keep the old one)."""
        rec = None
        if self.folder is not None and deleted is not None:
            rec = save_array(self.folder, f"{seg.name}.deleted-{generation:08d}.npy", deleted)
        return seg.replace(deleted=deleted, record=dataclasses.replace(seg.record, deleted=rec))

    def publish(self, manifest: Manifest) -> None:
        """Commits `manifest` (its files written already), then deletes files it no longer names."""
        if self.folder is None:
            return
        write_manifest(self.folder, manifest)
        keep = referenced_files(manifest)
        for name in os.listdir(self.folder):
            if name not in keep and name.startswith(OWNED_PREFIXES):
                with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                    os.unlink(os.path.join(self.folder, name))
