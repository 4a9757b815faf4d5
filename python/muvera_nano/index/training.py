"""Training a storage kind's codebooks, once per index and role: when the index holds enough
staged documents (the kind's ``min_training_documents``), on a uniform sample of them (its
``training_sample``), reconstructed as float32 from the staging kind (exact). The codebooks are
then committed through the manifest like segment files (codebooks.py), and merges rewrite the staged
segments in the trained kind."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..kernels import Ragged
from .files import IndexFormatError
from .storage import TOKENS, same_kind


def staged(segments: Sequence[Any], role: str, target) -> list[tuple[Any, np.ndarray]]:
    """(stored part, live rows) of the segments not stored in the target kind."""
    out = []
    for seg in segments:
        if not same_kind(seg.kind(role), target) and seg.n_live:
            out.append((seg.tokens if role == TOKENS else seg.fde, seg.live_rows))
    return out


def sample(sources: Sequence[tuple[Any, np.ndarray]], count: int, role: str, seed: int = 0):
    """`count` documents drawn uniformly without replacement from the sources, as float32 (a
    Ragged of token vectors, or FDE rows), in source order."""
    sizes = np.array([len(rows) for _, rows in sources], dtype=np.int64)
    total = int(sizes.sum())
    picks = np.sort(np.random.default_rng(seed).choice(total, size=min(count, total), replace=False))
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    parts = []
    for (stored, rows), lo, hi in zip(sources, bounds[:-1], bounds[1:]):
        mine = picks[(picks >= lo) & (picks < hi)] - lo
        if len(mine):
            parts.append(stored.to_float32(rows[mine]))
    if role != TOKENS:
        return np.concatenate(parts)
    offsets = [np.zeros(1, np.int64)]
    for p in parts:
        offsets.append(p.offsets[1:] + offsets[-1][-1])
    return Ragged(np.concatenate([p.tokens for p in parts]), np.concatenate(offsets))


def train(kind, sample_data, width: int, threads) -> dict[str, np.ndarray]:
    """The kind's codebooks for the sample, checked as they will be when read back."""
    books = kind.train(sample_data, threads)
    if not isinstance(books, dict) or not books or not all(isinstance(a, np.ndarray) for a in books.values()):
        raise TypeError(f"{kind.name}.train must return a non-empty dict of numpy arrays")
    try:
        kind.check_codebooks(books, width, f"{kind.name} codebooks just trained")
    except IndexFormatError as e:
        raise ValueError(str(e)) from None
    return {name: np.ascontiguousarray(a) for name, a in books.items()}
