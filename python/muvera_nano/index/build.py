"""Making segments: from float32 token vectors and FDE rows (`add`), or from the live documents of
existing segments (`compact`). Both end the same way: the HNSW graph, when the index has one, is
built from the stored FDE rows, so a compacted index proposes exactly the candidates the original
did and a graph never sees values the exact scan does not."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..kernels import Ragged
from .graph import build_graph
from .ids import SegmentIds
from .segment import Segment
from .settings import IndexSettings


def build_segment(name: str, tokens: Ragged, fde_rows: np.ndarray, ids: Sequence[Any], id_kind: str,
                  settings: IndexSettings, threads: int | None) -> Segment:
    """A new in-memory segment: float32 tokens and FDE rows converted to the index's storage."""
    seg = Segment(name, settings.tokens.build(tokens, threads), settings.fde_rows.build(fde_rows, threads),
                  SegmentIds.from_ids(ids, id_kind))
    return _with_graph(seg, settings, threads)


def concatenate(name: str, segments: Sequence[Segment], settings: IndexSettings, id_kind: str,
                threads: int | None) -> Segment | None:
    """The live documents of `segments` as one segment (None when there are none), stored values
    copied as they are, so scores do not change."""
    live = [(seg, seg.live_rows) for seg in segments if seg.n_live]
    if not live:
        return None
    tokens = settings.tokens.concatenate([seg.tokens.take(rows) for seg, rows in live])
    fde = settings.fde_rows.concatenate([seg.fde.take(rows) for seg, rows in live])
    ids = SegmentIds.from_ids([i for seg, rows in live for i in seg.ids.get(rows)], id_kind)
    return _with_graph(Segment(name, tokens, fde, ids), settings, threads)


def _with_graph(seg: Segment, settings: IndexSettings, threads: int | None) -> Segment:
    if settings.graph is None:
        return seg
    return seg.replace(graph=build_graph(seg.fde, settings.graph, threads))
