"""The tiered merge policy on its own: which adjacent segments it merges, and the bound on the
segment count it keeps, simulated over long random histories of adds and removals."""

import numpy as np
import pytest

from muvera_nano.index import TieredMergePolicy
from muvera_nano.index.policy import SegmentStats


def stats(*lives, documents=None):
    return [SegmentStats(n if documents is None else documents[i], n, False) for i, n in enumerate(lives)]


def test_tiers_and_the_stated_bound():
    p = TieredMergePolicy()
    assert [p.tier(n) for n in (0, 1, 999, 1000, 9999, 10_000, 499_999, 500_000)] == [0, 0, 0, 0, 0, 1, 2, 2]
    assert p.tiers == 3
    assert p.bound(0) == 31 and p.bound(999_999) == 31 + 2 and p.bound(1_000_000) == 35
    small = TieredMergePolicy(segments_per_tier=4, factor=3, floor_documents=2, max_merged_documents=200)
    assert small.tiers == small.tier(100) + 1 == 4  # tiers [2,6) [6,18) [18,54) [54,162)


def test_an_overflowing_tier_merges_its_adjacent_segments():
    p = TieredMergePolicy(segments_per_tier=3, factor=10, floor_documents=10, max_merged_documents=10_000)
    assert p.next_merge(stats(500, 1, 1, 1)) is None  # three in tier 0: allowed
    # four in tier 0: the cheapest run of three adjacent ones
    assert p.next_merge(stats(500, 3, 1, 1, 1)) == (2, 5, "tier")
    # a run may take in smaller segments but never a larger tier's
    assert p.next_merge(stats(50, 50, 2, 50, 50, 600)) == (2, 5, "tier")
    # isolated between larger ones: the newest of the smallest with its smaller neighbour
    assert p.next_merge(stats(50, 600, 50, 600, 50, 600, 50)) == (5, 7, "tier")
    assert p.next_merge(stats(50, 600, 50, 700, 40, 600, 50)) == (4, 6, "tier")
    # segments above half the maximum are left alone; merges never exceed it
    assert p.next_merge(stats(6000, 6000, 6000, 6000)) is None
    assert p.next_merge(stats(4000, 4000, 4000, 4000)) == (2, 4, "tier")  # two, not three: 12,000 > max


def test_removed_documents_and_staged_segments_are_rewritten():
    p = TieredMergePolicy(max_deleted_fraction=0.25)
    assert p.next_merge(stats(100, 74, documents=[100, 100])) == (1, 2, "deletions")
    assert p.next_merge(stats(100, 75, documents=[100, 100])) is None
    assert p.next_merge(stats(0, documents=[5])) == (0, 1, "deletions")  # all removed: it goes
    staged = [
        SegmentStats(10, 10, True),
        SegmentStats(20, 20, True),
        SegmentStats(5, 5, False),
        SegmentStats(7, 7, True),
    ]
    assert p.next_merge(staged) == (0, 2, "conversion")


@pytest.mark.parametrize(
    "policy",
    [
        TieredMergePolicy(),
        TieredMergePolicy(segments_per_tier=4, factor=3, floor_documents=2, max_merged_documents=300),
        TieredMergePolicy(segments_per_tier=2, factor=2, floor_documents=1, max_merged_documents=64),
    ],
)
def test_the_segment_count_stays_within_the_bound(policy):
    rng = np.random.default_rng(7)
    segments = []  # [documents, live]
    worst = 0
    for step in range(2000):
        r = rng.random()
        if r < 0.7:
            segments.append([1, 1])  # a service adding one document at a time
        elif r < 0.8:
            n = int(rng.integers(1, 4 * policy.max_merged_documents))  # a bulk add, even above the maximum
            segments.append([n, n])
        elif segments:
            s = segments[int(rng.integers(len(segments)))]
            s[1] -= min(s[1], int(rng.integers(0, 3)))
        while (choice := policy.next_merge([SegmentStats(d, v, False) for d, v in segments])) is not None:
            start, stop, _ = choice
            live = sum(v for _, v in segments[start:stop])
            assert stop - start <= policy.segments_per_tier or choice[2] != "tier"
            assert live <= policy.max_merged_documents or stop - start == 1
            segments[start:stop] = [[live, live]] if live else []
        live = sum(v for _, v in segments)
        assert len(segments) <= policy.bound(live), (step, len(segments), policy.bound(live))
        tiers = [policy.tier(v) for _, v in segments if 2 * v <= policy.max_merged_documents]
        assert all(tiers.count(t) <= policy.segments_per_tier for t in set(tiers)) or len(segments) <= policy.bound(
            live
        )
        worst = max(worst, len(segments))
    assert worst > policy.segments_per_tier  # the history did exercise more than one tier
