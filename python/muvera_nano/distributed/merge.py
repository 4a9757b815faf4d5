"""Merging the ranked lists of shards into the one index's ranking.

A shard holds a contiguous run of the index's segments, and shards are numbered in index order,
so the index's order (segment, row) is (shard, order within the shard). Each shard's list is
ranked as the index ranks (score descending, equal scores in index order, NaN last), so a
document's rank within its shard's list orders it among equal scores of the same shard. The merge
sorts by (NaN last, score descending, shard, rank): exactly the one index's order.

``rerank`` needs one more step, because the one index re-scores only the global top
``n_candidates`` by FDE: every shard returns its own FDE top-c (a superset of its share of the
global top-c) and the MaxSim scores of those same documents; the driver merges the FDE lists to
the global top-c, keeps the MaxSim scores of those documents only, and merges them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Ranked = tuple[list, np.ndarray]  # (ids, float32 scores), best first


def merge_ranked(lists: Sequence[Ranked], k: int) -> Ranked:
    """The top k of shards' ranked lists (given in shard order) in the one index's order."""
    ids = [i for ids, _ in lists for i in ids]
    if not ids:
        return [], np.zeros(0, np.float32)
    scores = np.concatenate([np.asarray(s, np.float32) for _, s in lists])
    shard = np.concatenate([np.full(len(s), n, np.int64) for n, (_, s) in enumerate(lists)])
    rank = np.concatenate([np.arange(len(s), dtype=np.int64) for _, s in lists])
    nan = np.isnan(scores)
    # lexsort: the last key is the primary one
    order = np.lexsort((rank, shard, -np.where(nan, 0, scores), nan))[:k]
    return [ids[i] for i in order.tolist()], scores[order]


def merge_rerank(candidates: Sequence[Ranked], rescored: Sequence[Ranked], n_candidates: int, k: int) -> Ranked:
    """rerank's top k: `candidates` are the shards' FDE top-c lists, `rescored` the MaxSim scores
    of the same documents, ranked (both in shard order); c = n_candidates as the index takes it
    (max(n_candidates, k))."""
    chosen = set(merge_ranked(candidates, n_candidates)[0])
    kept = []
    for ids, scores in rescored:
        keep = [n for n, i in enumerate(ids) if i in chosen]
        kept.append(([ids[n] for n in keep], np.asarray(scores, np.float32)[keep]))
    return merge_ranked(kept, k)
