"""One Index object's hold on its index: the store, the snapshot it reads, the id map, and how a
change becomes the next committed state. The facade, additions, merges and codebooks all commit
through it, so none of them reaches into another's state."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from .commit import Snapshot, Store
from .encoder import model_location
from .files import save_array
from .ids import IdMap
from .jobs import Job
from .manifest import CodebookRecord


class Writer:
    def __init__(self, store: Store, state: Snapshot, encoder: Any):
        self.store = store
        self.state = state
        self.encoder = encoder  # the model whose location commits record (None: not loaded yet)
        self.lock = threading.RLock()  # the state and the id map
        self.merging = threading.Lock()  # one merge at a time per Index object
        self._id_map: IdMap | None = None  # built on first use

    def ids(self) -> IdMap:
        if self._id_map is None:
            self._id_map = IdMap(self.state.segments)
        return self._id_map

    def refresh(self) -> bool:
        """Picks up changes another process committed; returns whether there were any."""
        with self.lock:
            if self.store.folder is None or self.store.generation() == self.state.manifest.generation:
                return False
            self.state = self.store.load(verify=False, previous=self.state)
            self._id_map = None
            return True

    def commit(
        self,
        change: Callable[[Snapshot, int], tuple | None],
        on_publish: Callable[[IdMap, Any], None] | None = None,
    ) -> Any:
        """Applies change(state, generation) -> (new state, result) to the latest committed state
        under the writer lock, publishes the new state's manifest, runs on_publish(id map, result)
        (still under the lock, when the id map is built) and returns the result; None when change
        returns None (nothing to commit)."""
        with self.lock, self.store.writer_lock():
            self.refresh()
            generation = self.state.manifest.generation + 1
            changed = change(self.state, generation)
            if changed is None:
                return None
            state, result = changed
            manifest = state.manifest
            model = manifest.model
            if self.encoder is not None and manifest.settings.encoder is not None:
                model = model_location(self.encoder, self.store.folder) or model  # where it was found last
            manifest = manifest.replace(
                generation=generation, segments=tuple(s.record for s in state.segments), model=model
            )
            try:
                self.store.publish(manifest)
            except BaseException:
                self._id_map = None
                raise
            self.state = state.replace(manifest=manifest)
            if on_publish is not None and self._id_map is not None:
                on_publish(self._id_map, result)
            return result

    def job(self):
        """A job for a call's files (in memory: a placeholder, the files stay in memory)."""
        if self.store.folder is None:
            return _NoJob()
        with self.store.writer_lock():
            return Job.start(self.store.folder)

    def save(self, path: str | os.PathLike, overwrite: bool) -> None:
        """Writes the in-memory state to a new index folder, which then holds it."""
        with self.merging, self.lock:  # not in the middle of a merge
            folder = os.path.abspath(os.fspath(path))
            state = self.state
            empty = state.manifest.replace(segments=(), codebooks={}, model=model_location(self.encoder, folder))
            store = Store.create(folder, empty, overwrite=overwrite)
            generation = empty.generation + 1
            with store.writer_lock():
                books = {
                    role: CodebookRecord(
                        kind.to_dict(),
                        {
                            part: save_array(folder, f"ix-{generation:08d}.{role}.{part}.npy", a)
                            for part, a in arrays.items()
                        },
                        state.manifest.codebooks[role].documents,
                    )
                    for role, (kind, arrays) in state.codebooks.items()
                }
                segments = tuple(store.write_segment(seg, generation) for seg in state.segments)
                manifest = empty.replace(
                    generation=generation, segments=tuple(s.record for s in segments), codebooks=books
                )
                store.publish(manifest)
            self.store, self.state = store, state.replace(manifest=manifest, segments=segments)


def place(id_map: IdMap, segments) -> None:
    """Enters new segments' live documents in the id map (an on_publish of commit)."""
    for seg in segments:
        id_map.place(seg.name, seg.ids.get(seg.live_rows), seg.live_rows)


class _NoJob:
    """The job of an index in memory: files stay in memory."""

    folder = None
    id = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass
