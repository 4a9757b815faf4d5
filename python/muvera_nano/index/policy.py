"""Which segments to merge: a tiered policy in the manner of Lucene's TieredMergePolicy.

A segment's size is its live documents, counted as at least ``floor_documents`` (so tiny
segments share the lowest tier). Tier t holds the sizes in [floor × factor^t, floor × factor^(t+1)).
When a tier holds more than ``segments_per_tier`` segments, up to that many are merged into one,
never beyond ``max_merged_documents``; segments above half that size are left alone (merging
them would exceed it or buy little). Besides, a segment with more than ``max_deleted_fraction``
of its documents removed is rewritten without them, and segments stored in another kind than the
index's target (staged, once codebooks exist) are rewritten in it.

Merges join *adjacent* segments only, and the merged segment takes their place: a document's
position in the index order (segment, then row) never changes relative to any other, so results,
ties included, are the same before and after every merge, and the same as one compacted segment.
Among the candidates of an overflowing tier the policy prefers the merge of the most segments,
then the one of fewest documents (the cheapest), then the newest.

The bound: when maintenance has run (after every commit with ``merge="commit"``), every tier
holds at most ``segments_per_tier`` segments, with T = tier(max_merged / 2) + 1 tiers below the
size limit. L segments at the limit (at most 2 per ``max_merged_documents`` live documents) come
on top, and, only when they isolate smaller segments from each other, one smaller segment
between two of them: at most ``segments_per_tier × T + 2L + 1`` (``bound()``). With the defaults
(10 per tier, factor 10, floor 1,000, max 1,000,000: T = 3) that is 31 segments below 500,000
documents and 35 at a million.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple


class SegmentStats(NamedTuple):
    documents: int  # stored (live + removed)
    live: int
    rewrite: bool  # stored in another kind than the index's target, which it can now be converted to


@dataclass(frozen=True)
class TieredMergePolicy:
    segments_per_tier: int = 10
    factor: int = 10
    floor_documents: int = 1_000
    max_merged_documents: int = 1_000_000
    max_deleted_fraction: float = 0.25

    def __post_init__(self):
        for name in ("segments_per_tier", "factor", "floor_documents", "max_merged_documents"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 2 - (name == "floor_documents"):
                raise ValueError(f"{name} must be an int >= {2 - (name == 'floor_documents')}, got {v!r}")
        if not 0 < self.max_deleted_fraction <= 1:
            raise ValueError(f"max_deleted_fraction must lie in (0, 1], got {self.max_deleted_fraction!r}")

    @property
    def tiers(self) -> int:
        """Tiers below the size limit (T in the bound above)."""
        return self.tier(self.max_merged_documents // 2) + 1

    def bound(self, live_documents: int) -> int:
        """The most segments an index of `live_documents` holds once maintenance has run: the
        tiers' segments, those at the size limit, and (when a tier's segments are all isolated
        between segments at the limit) one more between each two of those."""
        large = 2 * live_documents // self.max_merged_documents
        return self.segments_per_tier * self.tiers + 2 * large + 1

    def tier(self, live: int) -> int:
        size, t = max(live, self.floor_documents), 0
        while size >= self.floor_documents * self.factor ** (t + 1):
            t += 1
        return t

    def next_merge(self, segments: Sequence[SegmentStats]) -> tuple[int, int, str] | None:
        """The next merge, as (start, stop, reason) over the segments in index order, or None."""
        limit = self.max_merged_documents
        mergeable = [2 * s.live <= limit for s in segments]
        tiers = [self.tier(s.live) if m else None for s, m in zip(segments, mergeable)]
        counts = Counter(x for x in tiers if x is not None)
        for t in sorted(counts):
            if counts[t] > self.segments_per_tier:
                window = self._window(segments, tiers, t)
                if window is not None:
                    return (*window, "tier")
        converting = [i for i, s in enumerate(segments) if s.rewrite]
        if converting:
            start = stop = converting[0]
            total = 0
            while (
                stop < len(segments)
                and segments[stop].rewrite
                and (stop == start or total + segments[stop].live <= limit)
            ):
                total += segments[stop].live
                stop += 1
            return start, stop, "conversion"
        for i, s in enumerate(segments):
            if s.documents and (s.documents - s.live) > self.max_deleted_fraction * s.documents:
                return i, i + 1, "deletions"
        return None

    def _window(self, segments, tiers, t) -> tuple[int, int] | None:
        """The best run of adjacent segments of tier <= t to merge (see the module's description);
        when the tier's segments are all isolated between larger ones, the smallest of them with
        its smaller neighbour."""
        best, best_key = None, None
        n, m, limit = len(segments), self.segments_per_tier, self.max_merged_documents
        for start in range(n):
            total = 0
            for stop in range(start, min(n, start + m)):
                if tiers[stop] is None or tiers[stop] > t:
                    break
                total += segments[stop].live
                if total > limit:
                    break
                if stop > start:
                    key = (stop - start + 1, -total, start)
                    if best_key is None or key > best_key:
                        best, best_key = (start, stop + 1), key
        if best is not None:
            return best
        own = [i for i, x in enumerate(tiers) if x == t]
        i = min(own, key=lambda j: (segments[j].live, -j))
        neighbours = [
            j
            for j in (i - 1, i + 1)
            if 0 <= j < n and tiers[j] is not None and segments[i].live + segments[j].live <= limit
        ]
        if not neighbours:
            return None
        j = min(neighbours, key=lambda j: (segments[j].live, -j))
        return min(i, j), max(i, j) + 1
