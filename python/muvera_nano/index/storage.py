"""How a segment stores its token vectors and its FDE rows: storage kinds.

A kind is named in the manifest (``{"kind": "float16"}``) and knows
- its files: the arrays a stored part writes (``arrays()``) and which it needs to open again;
- how to build the stored form from float32 (``build``), and to concatenate stored parts
  row-wise without converting again (``concatenate``, for compaction);
- how to score what it stores: MaxSim (tokens), dot products and a fused top-k (FDE rows).

Today's kinds keep every row in one element type (float32, float16, bfloat16, int8 with a scale
per row) and score with the kernels in place. A compressed kind (centroids + residual codes,
product-quantized FDE rows) is another class with the same methods, plus index-level files (its
codebooks) that the manifest's ``files`` commit like segment files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..kernels import Ragged, dot_scores, dot_topk, quantize_int8, rerank
from .files import IndexFormatError

TOKEN_DTYPES = ("float32", "float16", "bfloat16", "int8")
FDE_DTYPES = ("float32", "float16", "int8")


def _gather_rows(offsets: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row indices, lengths) of the given items of a ragged store, in item order."""
    starts, ends = offsets[items], offsets[items + 1]
    lengths = ends - starts
    rows = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths) + np.arange(lengths.sum())
    return rows, lengths


# ---------------------------------------------------------------------------------- tokens
@dataclass(frozen=True, eq=False)
class DenseTokens:
    """Token vectors of one element type, as a Ragged the MaxSim kernels read in place."""

    ragged: Ragged

    def __len__(self) -> int:
        return len(self.ragged)

    @property
    def n_tokens(self) -> int:
        return self.ragged.n_tokens

    def arrays(self) -> dict[str, np.ndarray]:
        r = self.ragged
        # numpy cannot describe bfloat16 in a .npy header: stored as its uint16 bits
        out = {"tokens": r.tokens.view(np.uint16) if r.dtype == "bfloat16" else r.tokens, "offsets": r.offsets}
        if r.scales is not None:
            out["scales"] = r.scales
        return out

    def rerank(self, query: np.ndarray, rows: np.ndarray | None, k: int, threads) -> tuple[np.ndarray, np.ndarray]:
        """The best k of `rows` (all when None) by exact MaxSim: (rows, scores)."""
        return rerank(query, self.ragged, candidates=rows, k=k, threads=threads)

    def take(self, items: np.ndarray) -> "DenseTokens":
        r = self.ragged
        rows, lengths = _gather_rows(r.offsets, items)
        offsets = np.zeros(len(items) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        scales = None if r.scales is None else np.asarray(r.scales[rows])
        return DenseTokens(Ragged(np.asarray(r.tokens[rows]), offsets, scales, dtype=r.dtype))


@dataclass(frozen=True)
class DenseTokenKind:
    dtype: str

    @property
    def parts(self) -> tuple[str, ...]:
        return ("tokens", "offsets", "scales") if self.dtype == "int8" else ("tokens", "offsets")

    def to_dict(self) -> dict:
        return {"kind": self.dtype}

    def build(self, tokens: Ragged, threads) -> DenseTokens:
        """The stored form of float32 token vectors (a converted copy)."""
        return DenseTokens(tokens.astype(self.dtype, threads=threads))

    def open(self, arrays: dict[str, np.ndarray], where: str) -> DenseTokens:
        try:
            return DenseTokens(Ragged(arrays["tokens"], arrays["offsets"], arrays.get("scales"), dtype=self.dtype))
        except (TypeError, ValueError) as e:
            raise IndexFormatError(f"{where}: inconsistent token store ({e})") from None

    def concatenate(self, parts: Sequence[DenseTokens]) -> DenseTokens:
        """The items of several stores, one after the other (stored values copied as they are)."""
        arrays = _concatenate([p.arrays() for p in parts])
        offsets = [np.zeros(1, np.int64)]
        for p in parts:
            offsets.append(p.ragged.offsets[1:] + offsets[-1][-1])
        arrays["offsets"] = np.concatenate(offsets)
        return self.open(arrays, "concatenated segments")


# ---------------------------------------------------------------------------------- FDE rows
@dataclass(frozen=True, eq=False)
class DenseFde:
    """FDE rows of one element type (int8 with a float32 scale per row), scanned in place."""

    rows: np.ndarray  # (n, D)
    scales: np.ndarray | None

    def __len__(self) -> int:
        return self.rows.shape[0]

    @property
    def width(self) -> int:
        return self.rows.shape[1]

    def arrays(self) -> dict[str, np.ndarray]:
        return {"fde": self.rows} if self.scales is None else {"fde": self.rows, "fde_scales": self.scales}

    def topk(self, query_fdes: np.ndarray, k: int, exclude: np.ndarray | None, threads):
        """Per query the k best rows by dot product (ids, scores), excluded rows skipped."""
        return dot_topk(query_fdes, self.rows, k, scales=self.scales, exclude=exclude, threads=threads)

    def scores(self, query_fde: np.ndarray, rows: np.ndarray, threads) -> np.ndarray:
        """Dot products of one query FDE with the given rows."""
        scales = None if self.scales is None else np.ascontiguousarray(self.scales[rows])
        return dot_scores(query_fde, np.ascontiguousarray(self.rows[rows]), scales=scales, threads=threads)

    def to_float32(self, rows: slice = slice(None)) -> np.ndarray:
        """Stored rows as float32 (dequantized for int8), all or a range: what graphs are built from."""
        f = np.ascontiguousarray(self.rows[rows], dtype=np.float32)
        return f if self.scales is None else f * self.scales[rows, None]

    def take(self, items: np.ndarray) -> "DenseFde":
        return DenseFde(np.asarray(self.rows[items]), None if self.scales is None else np.asarray(self.scales[items]))


@dataclass(frozen=True)
class DenseFdeKind:
    dtype: str

    @property
    def parts(self) -> tuple[str, ...]:
        return ("fde", "fde_scales") if self.dtype == "int8" else ("fde",)

    def to_dict(self) -> dict:
        return {"kind": self.dtype}

    def build(self, fde_rows: np.ndarray, threads) -> DenseFde:
        """The stored form of float32 FDE rows (a converted copy)."""
        if self.dtype == "int8":
            return DenseFde(*quantize_int8(np.ascontiguousarray(fde_rows, dtype=np.float32), threads=threads))
        return DenseFde(np.ascontiguousarray(fde_rows, dtype=np.dtype(self.dtype)), None)

    def open(self, arrays: dict[str, np.ndarray], where: str) -> DenseFde:
        rows, scales = arrays["fde"], arrays.get("fde_scales")
        if rows.ndim != 2 or (scales is not None and scales.shape != rows.shape[:1]):
            raise IndexFormatError(f"{where}: FDE rows of shape {rows.shape} with scales of shape "
                                   f"{None if scales is None else scales.shape}")
        return DenseFde(rows, scales)

    def concatenate(self, parts: Sequence[DenseFde]) -> DenseFde:
        return self.open(_concatenate([p.arrays() for p in parts]), "concatenated segments")


def _concatenate(arrays: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([a[name] for a in arrays]) for name in arrays[0]}


def token_kind(spec: dict) -> DenseTokenKind:
    """The token storage kind a manifest names (or create() was given as a dtype name)."""
    kind = spec.get("kind") if isinstance(spec, dict) else None
    if kind not in TOKEN_DTYPES:
        raise IndexFormatError(f"unknown token storage {spec!r}; this muvera-nano knows {TOKEN_DTYPES}")
    return DenseTokenKind(kind)


def fde_kind(spec: dict) -> DenseFdeKind:
    kind = spec.get("kind") if isinstance(spec, dict) else None
    if kind not in FDE_DTYPES:
        raise IndexFormatError(f"unknown FDE storage {spec!r}; this muvera-nano knows {FDE_DTYPES}")
    return DenseFdeKind(kind)
