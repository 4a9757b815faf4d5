"""The three search modes over a snapshot of segments, as the model card defines them:

- ``maxsim``: exact MaxSim against every live document;
- ``muvera``: the FDE dot product only;
- ``rerank``: the FDE's top ``n_candidates`` re-scored with exact MaxSim.

Every ranking orders by score descending, equal scores by index order (segment, then row),
NaN last, across segments exactly as within one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ..kernels import Ragged
from .graph import graph_candidates
from .segment import Segment

MODES = ("maxsim", "muvera", "rerank")


class SearchResult(NamedTuple):
    ids: list  # the user's ids, best first
    scores: np.ndarray  # float32, same order


class Hits(NamedTuple):
    """Internal: ranked (segment position, row, score) triples."""

    seg: np.ndarray
    row: np.ndarray
    score: np.ndarray


def check_search_args(mode: str, k: Any, n_candidates: Any, probe: Any = None) -> None:
    """TypeError / ValueError naming a search argument that is not what it must be."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    for name, v in (("k", k), ("n_candidates", n_candidates), ("probe", probe)):
        if v is None and name == "probe":
            continue
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(v).__name__}")
        if v < (0 if name == "k" else 1):  # k as in the kernels: k = 0 asks for nothing
            raise ValueError(f"{name} must be an int >= {0 if name == 'k' else 1}, got {v!r}")


def _merge(parts: list[Hits], k: int) -> Hits:
    if not parts:
        return Hits(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
    seg = np.concatenate([p.seg for p in parts])
    row = np.concatenate([p.row for p in parts])
    score = np.concatenate([p.score for p in parts])
    nan = np.isnan(score)
    # lexsort: last key is primary -> (NaN last, score descending, segment, row)
    order = np.lexsort((row, seg, -np.where(nan, 0, score), nan))[:k]
    return Hits(seg[order], row[order], score[order])


def _hits(s: int, rows: np.ndarray, scores: np.ndarray) -> Hits:
    keep = rows >= 0
    rows, scores = rows[keep], scores[keep]
    return Hits(np.full(len(rows), s, np.int64), rows.astype(np.int64), scores.astype(np.float32))


def fde_candidates(
    segments: Sequence[Segment], query_fdes: np.ndarray, c: int, threads, probe: int | None = None
) -> list[Hits]:
    """Per query, the c best live documents by FDE dot product across segments: every row
    scanned (dense kinds, exact backend), the rows a segment's HNSW graph proposes, scored
    exactly, or (pq) the rows of the `probe` lists a query scores highest, scored from their
    codes. Work a storage kind shares between its segments (a coarse probe, lookup tables) is
    done once per search."""
    per_query: list[list[Hits]] = [[] for _ in range(len(query_fdes))]
    prepared: dict = {}
    for s, seg in enumerate(segments):
        if seg.n_live == 0:
            continue
        kk = min(c, seg.n_live)
        # A graph only pays when it skips most rows; asking for a quarter or more of a segment
        # scans it exactly (which also makes small and exhaustive requests exact).
        if seg.graph is None or 4 * kk >= seg.n_live:
            books = getattr(seg.fde, "books", None)
            key = (seg.fde.kind, id(books))
            if key not in prepared:
                prepared[key] = seg.fde.kind.prepare(query_fdes, books, probe)
            ids, scores = seg.fde.topk(prepared[key], kk, seg.deleted, threads)
            for i in range(len(query_fdes)):
                per_query[i].append(_hits(s, ids[i], scores[i]))
            continue
        for i, rows in enumerate(graph_candidates(seg.graph, query_fdes, kk, seg.deleted, threads)):
            rows = np.sort(rows)
            per_query[i].append(_hits(s, rows, seg.fde.scores(query_fdes[i], rows, threads)))
    return [_merge(p, c) for p in per_query]


def exact(segments: Sequence[Segment], query: np.ndarray, k: int, threads) -> Hits:
    parts = []
    for s, seg in enumerate(segments):
        if seg.n_live == 0:
            continue
        rows = None if seg.deleted is None else seg.live_rows
        ids, scores = seg.tokens.rerank(query, rows, min(k, seg.n_live), threads)
        parts.append(_hits(s, ids, scores))
    return _merge(parts, k)


def rescore(segments: Sequence[Segment], query: np.ndarray, cand: Hits, k: int, threads) -> Hits:
    parts = []
    for s in np.unique(cand.seg).tolist():
        rows = np.ascontiguousarray(cand.row[cand.seg == s])
        ids, scores = segments[s].tokens.rerank(query, rows, min(k, len(rows)), threads)
        parts.append(_hits(s, ids, scores))
    return _merge(parts, k)


def search(
    segments: Sequence[Segment],
    queries: Ragged,
    query_fdes: np.ndarray | None,
    mode: str,
    k: int,
    n_candidates: int,
    threads,
    probe: int | None = None,
) -> list[Hits]:
    n = len(queries)
    if mode == "maxsim":
        return [exact(segments, queries[i], k, threads) for i in range(n)]
    if mode == "muvera":
        return fde_candidates(segments, query_fdes, k, threads, probe)
    cands = fde_candidates(segments, query_fdes, max(n_candidates, k), threads, probe)
    return [rescore(segments, queries[i], cands[i], k, threads) for i in range(n)]


def ids_of(segments: Sequence[Segment], hits: Hits) -> list:
    """The user's ids of ranked hits."""
    out = [None] * len(hits.seg)
    for s in np.unique(hits.seg).tolist():
        pos = np.nonzero(hits.seg == s)[0]
        for p, v in zip(pos.tolist(), segments[s].ids.get(hits.row[pos])):
            out[p] = v
    return out
