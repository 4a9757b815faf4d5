"""When and how an Index object's segments merge: after each commit, in a background thread or
on request (the merge mode), by the tiered policy, with codebooks trained first when due. A
merge is planned on a snapshot, written outside the writer lock (merge.py) and published only if
its sources are still there side by side; otherwise it is abandoned and planned again."""

from __future__ import annotations

import threading
import warnings

from . import codebooks
from . import merge as _merge
from .background import BackgroundMerges
from .commit import Snapshot, Store
from .manifest import SegmentRecord
from .policy import SegmentStats, TieredMergePolicy
from .segment import Segment, open_segment
from .storage import ROLES, same_kind
from .writer import Writer, place


class Maintenance:
    def __init__(self, writer: Writer, mode: str, policy: TieredMergePolicy):
        self.writer = writer
        self.mode = mode
        self.policy = policy
        self._background = BackgroundMerges(self) if mode == "background" else None

    def after_commit(self) -> None:
        """What the merge mode does after a commit; a merge that fails leaves the commit standing."""
        if self.mode == "commit":
            try:
                self.run(None, None)
            except Exception as e:
                warnings.warn(
                    f"muvera-nano: merging after the commit failed ({type(e).__name__}: {e}); the commit "
                    "stands and the index keeps it",
                    RuntimeWarning,
                    stacklevel=3,
                )
        elif self._background is not None:
            self._background.wake()

    def run(self, threads, stop: threading.Event | None) -> int:
        """Trains when due, then merges by the policy until it has nothing to do (or `stop`);
        returns the number of merges committed."""
        codebooks.train(self.writer, threads)
        done = abandoned = 0
        while (stop is None or not stop.is_set()) and abandoned < 3:
            with self.writer.merging:
                state = self.writer.state
                kinds = codebooks.output_kinds(state)
                stats = [
                    SegmentStats(s.n, s.n_live, any(not same_kind(s.kind(r), kinds[r]) for r in ROLES))
                    for s in state.segments
                ]
                choice = self.policy.next_merge(stats)
                if choice is None:
                    break
                start, end, reason = choice
                if merge(self.writer, _merge.plan(state.segments, start, end, kinds, reason), threads, stop):
                    done += 1
                else:
                    abandoned += 1  # another writer changed those segments: plan again on its state
                    self.writer.refresh()
        return done

    def compact(self, threads) -> None:
        """Merges every segment into one in the target kinds (see Index.compact)."""
        for _ in range(20):
            self.writer.refresh()
            with self.writer.merging:
                state = self.writer.state
                segs = state.segments
                kinds = codebooks.output_kinds(state)
                if len(segs) <= 1 and all(
                    s.deleted is None and all(same_kind(s.kind(r), kinds[r]) for r in ROLES) for s in segs
                ):
                    return
                if merge(self.writer, _merge.plan(segs, 0, len(segs), kinds, "compact"), threads, None):
                    return
        raise RuntimeError("compact: other writers kept merging the same segments; nothing was compacted")

    def wait(self, timeout: float | None) -> bool:
        return True if self._background is None else self._background.wait(timeout)

    def close(self) -> None:
        """Stops background merges; later commits merge as with merge='off'."""
        if self._background is not None:
            self._background.close()
            self._background = None
            self.mode = "off"


def merge(writer: Writer, plan: _merge.MergePlan, threads, stop) -> bool:
    """Writes a merge outside the writer lock and publishes it; False when abandoned."""
    with writer.job() as job:
        try:
            out = write(writer, plan, job, threads, stop)
        except _merge.MergeAbandoned:
            return False
        return publish(writer, out, job)


def write(writer: Writer, plan: _merge.MergePlan, job, threads, stop) -> _merge.MergeOutput:
    """Writes the merged segment into `job` (in memory: keeps it), from the current snapshot."""
    state = writer.state
    m = state.manifest
    return _merge.write(
        plan, state.segments, m.settings, m.id_kind, state.codebooks, writer.store.folder, job.folder, threads, stop
    )


def publish(writer: Writer, out: _merge.MergeOutput, job) -> bool:
    """Publishes a written merge if its sources are still there side by side, with the
    documents removed since it was planned masked; False (abandoned) otherwise."""
    plan = out.plan

    def change(current: Snapshot, generation: int):
        names = [s.name for s in current.segments]
        if plan.names[0] not in names:
            return None
        i, n = names.index(plan.names[0]), len(plan.names)
        if tuple(names[i : i + n]) != plan.names or any(
            k.needs_training and r not in current.codebooks for r, k in plan.kinds.items()
        ):
            return None
        store = writer.store
        if out.documents and (out.files is None) != (store.folder is None):
            return None  # written in memory, and the index was saved meanwhile: merge again later
        merged = ()
        if out.documents:
            seg = _adopt(store, out, f"seg-{current.manifest.next_segment:06d}", job, current)
            deleted = _merge.deletions_since(plan, current.segments[i : i + n])
            if deleted is not None:
                seg = store.write_deleted(seg, deleted, generation)
            merged = (seg,)
        m = current.manifest.replace(next_segment=current.manifest.next_segment + 1)
        return current.replace(manifest=m, segments=current.segments[:i] + merged + current.segments[i + n :]), merged

    return writer.commit(change, place) is not None


def _adopt(store: Store, out: _merge.MergeOutput, name: str, job, state: Snapshot) -> Segment:
    """The merge's output as a segment of the index, named `name` (under the writer lock)."""
    if out.segment is not None:
        return out.segment.replace(name=name, record=SegmentRecord(name, out.documents, out.tokens, {}, out.storage))
    files = store.adopt(job.folder, out.files, name)
    graph = None if out.graph is None else store.adopt(job.folder, {"hnsw": out.graph}, name)["hnsw"]
    record = SegmentRecord(name, out.documents, out.tokens, files, out.storage, graph=graph)
    return open_segment(
        store.folder, record, state.manifest.settings, state.manifest.id_kind, state.codebooks, verify=False
    )
