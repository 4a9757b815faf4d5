"""The dense storage kinds: every token vector or FDE row in one element type (float32,
float16, bfloat16, int8 with a float32 scale per row), scored in place by the kernels. No
codebooks. float16 is also the staging kind of indexes whose target kind needs training: its
float32 reconstruction is exact, so re-encoding staged documents loses nothing more."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernels import Ragged, dot_scores, dot_topk, quantize_int8, rerank
from . import layout as L
from .files import IndexFormatError
from .kinds import FDE, TOKENS, StorageKind, register_kind

TOKEN_DTYPES = ("float32", "float16", "bfloat16", "int8")
FDE_DTYPES = ("float32", "float16", "int8")
# numpy cannot describe bfloat16 in a .npy header: it is stored as its uint16 bits
_STORED = {"float32": np.float32, "float16": np.float16, "bfloat16": np.uint16, "int8": np.int8}


# ---------------------------------------------------------------------------------- tokens
@dataclass(frozen=True, eq=False)
class DenseTokens:
    """Token vectors of one element type, as a Ragged the MaxSim kernels read in place."""

    kind: DenseTokenKind
    ragged: Ragged

    def __len__(self) -> int:
        return len(self.ragged)

    @property
    def n_tokens(self) -> int:
        return self.ragged.n_tokens

    def arrays(self) -> dict[str, np.ndarray]:
        r = self.ragged
        out = {"tokens": r.tokens.view(np.uint16) if r.dtype == "bfloat16" else r.tokens, "offsets": r.offsets}
        if r.scales is not None:
            out["scales"] = r.scales
        return out

    def rerank(self, query: np.ndarray, rows: np.ndarray | None, k: int, threads) -> tuple[np.ndarray, np.ndarray]:
        """The best k of `rows` (all when None) by exact MaxSim: (rows, scores)."""
        return rerank(query, self.ragged, candidates=rows, k=k, threads=threads)

    def to_float32(self, items: np.ndarray | None = None) -> Ragged:
        """The given documents' (all when None) token vectors as float32 (exact for float32 and
        float16 storage, dequantized for int8)."""
        r = self.ragged
        if items is not None:
            taken = L.take(self.kind.layout(r.dim), self.arrays(), items)
            r = self.kind.open(taken, None, "taken documents").ragged
        return Ragged(np.ascontiguousarray(r.to_float32(), dtype=np.float32), r.offsets)


@dataclass(frozen=True)
class DenseTokenKind(StorageKind):
    dtype: str
    role = TOKENS

    @property
    def name(self) -> str:
        return self.dtype

    def layout(self, width: int) -> L.Layout:
        parts = {
            "tokens": L.Part(L.ROWS, _STORED[self.dtype], (width,), "offsets"),
            "offsets": L.Part(L.OFFSETS, np.int64),
        }
        if self.dtype == "int8":
            parts["scales"] = L.Part(L.ROWS, np.float32, (), "offsets")
        return parts

    def build(self, tokens: Ragged, codebooks, threads) -> DenseTokens:
        """The stored form of float32 token vectors (a converted copy)."""
        return DenseTokens(self, tokens.astype(self.dtype, threads=threads))

    def open(self, arrays, codebooks, where: str) -> DenseTokens:
        try:
            return DenseTokens(
                self, Ragged(arrays["tokens"], arrays["offsets"], arrays.get("scales"), dtype=self.dtype)
            )
        except (TypeError, ValueError) as e:
            raise IndexFormatError(f"{where}: inconsistent token store ({e})") from None


# ---------------------------------------------------------------------------------- FDE rows
@dataclass(frozen=True, eq=False)
class DenseFde:
    """FDE rows of one element type (int8 with a float32 scale per row), scanned in place."""

    kind: DenseFdeKind
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

    def to_float32(self, rows: slice | np.ndarray | None = None) -> np.ndarray:
        """Stored rows as float32 (dequantized for int8): all (None), a range or the given indices."""
        rows = slice(None) if rows is None else rows
        f = np.ascontiguousarray(self.rows[rows], dtype=np.float32)
        return f if self.scales is None else f * self.scales[rows, None]


@dataclass(frozen=True)
class DenseFdeKind(StorageKind):
    dtype: str
    role = FDE

    @property
    def name(self) -> str:
        return self.dtype

    def layout(self, width: int) -> L.Layout:
        parts = {"fde": L.Part(L.ITEM, _STORED[self.dtype], (width,))}
        if self.dtype == "int8":
            parts["fde_scales"] = L.Part(L.ITEM, np.float32)
        return parts

    def build(self, fde_rows: np.ndarray, codebooks, threads) -> DenseFde:
        """The stored form of float32 FDE rows (a converted copy)."""
        if self.dtype == "int8":
            return DenseFde(self, *quantize_int8(np.ascontiguousarray(fde_rows, dtype=np.float32), threads=threads))
        return DenseFde(self, np.ascontiguousarray(fde_rows, dtype=np.dtype(self.dtype)), None)

    def open(self, arrays, codebooks, where: str) -> DenseFde:
        rows, scales = arrays["fde"], arrays.get("fde_scales")
        if rows.ndim != 2 or (scales is not None and scales.shape != rows.shape[:1]):
            raise IndexFormatError(
                f"{where}: FDE rows of shape {rows.shape} with scales of shape "
                f"{None if scales is None else scales.shape}"
            )
        return DenseFde(self, rows, scales)


def _factory(cls, name):
    def make(spec: dict):
        if set(spec) != {"kind"}:
            raise ValueError(f"{name} storage takes no parameters")
        return cls(name)

    return make


for _name in TOKEN_DTYPES:
    register_kind(TOKENS, _name, _factory(DenseTokenKind, _name))
for _name in FDE_DTYPES:
    register_kind(FDE, _name, _factory(DenseFdeKind, _name))
