"""Typed wrappers over the compiled kernels: the ragged multi-vector container, MaxSim
scoring, top-k reranking, int8 quantization, and a PyLate-compatible rerank.

Arrays of the right dtype and layout are used in place; anything else raises a
TypeError/ValueError that names the argument. The only functions that copy are the
explicit converters (``Ragged.from_list``, ``Ragged.from_padded``, ``Ragged.astype``,
``quantize_int8``) and the PyLate adapter, whose inputs are Python lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _core

_DTYPES = ("float32", "float16", "bfloat16", "int8")


def _bfloat16():
    try:
        import ml_dtypes
    except ImportError as e:  # pragma: no cover - ml_dtypes is a dependency
        raise ImportError("bfloat16 conversion needs the ml_dtypes package: pip install ml_dtypes") from e
    return ml_dtypes.bfloat16


class Ragged(_core.RaggedStore):
    """A set of multi-vectors in canonical ragged form.

    Item ``i`` is ``tokens[offsets[i]:offsets[i + 1]]``. ``tokens`` is (T, dim) with
    contiguous rows, stored as float32, float16, bfloat16 (ml_dtypes) or int8; the type is
    read from the array (``dtype='bfloat16'`` is needed only for uint16 arrays holding
    bfloat16 bits). ``offsets`` is int64 of length n + 1, starting at 0, non-decreasing and
    ending at T. int8 tokens carry a float32 ``scales`` entry per row (the value of a row is
    ``scales[t] * tokens[t]``); see :func:`quantize_int8`.

    ``Ragged(tokens, offsets, scales=None, *, dtype=None)``: the arrays are referenced, not
    copied, and validated once here (TypeError for a wrong type, ValueError for a wrong
    shape or value).
    """

    # -- construction ---------------------------------------------------------------
    @classmethod
    def from_list(cls, arrays: Sequence[np.ndarray], *, dim: int | None = None) -> Ragged:
        """Concatenates a list of (rows, dim) arrays of one float dtype (a copy)."""
        arrays = list(arrays)
        if not arrays:
            if dim is None:
                raise ValueError("arrays is empty: pass dim= so the (0, dim) store has a dimension")
            return cls(np.zeros((0, int(dim)), np.float32), np.zeros(1, np.int64))
        for i, a in enumerate(arrays):
            if not isinstance(a, np.ndarray) or a.ndim != 2:
                got = f"shape {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
                raise ValueError(f"arrays[{i}] must be a 2-D numpy array (rows, dim), got {got}")
            if a.dtype != arrays[0].dtype:
                raise TypeError(f"arrays[{i}] has dtype {a.dtype} but arrays[0] has {arrays[0].dtype}")
            if a.shape[1] != arrays[0].shape[1]:
                raise ValueError(f"arrays[{i}] has dimension {a.shape[1]} but arrays[0] has {arrays[0].shape[1]}")
        if dim is not None and arrays[0].shape[1] != dim:
            raise ValueError(f"arrays have dimension {arrays[0].shape[1]}, not dim={dim}")
        offsets = np.zeros(len(arrays) + 1, np.int64)
        np.cumsum([a.shape[0] for a in arrays], out=offsets[1:])
        return cls(np.concatenate(arrays, axis=0), offsets)

    @classmethod
    def from_padded(cls, padded: np.ndarray, lengths: Sequence[int] | np.ndarray) -> Ragged:
        """Drops padding from a (n, max_rows, dim) array given each item's row count (a copy)."""
        if not isinstance(padded, np.ndarray) or padded.ndim != 3:
            got = f"shape {padded.shape}" if isinstance(padded, np.ndarray) else type(padded).__name__
            raise ValueError(f"padded must be a 3-D numpy array (items, rows, dim), got {got}")
        lengths = np.asarray(lengths)
        if lengths.shape != (padded.shape[0],) or (lengths.size and lengths.dtype.kind not in "iu"):
            raise ValueError(f"lengths must be {padded.shape[0]} integers, got shape {lengths.shape} {lengths.dtype}")
        if lengths.size and (lengths.min() < 0 or lengths.max() > padded.shape[1]):
            raise ValueError(f"lengths must lie in [0, {padded.shape[1]}], got {lengths.min()}..{lengths.max()}")
        offsets = np.zeros(padded.shape[0] + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        mask = np.arange(padded.shape[1])[None, :] < lengths[:, None]
        return cls(np.ascontiguousarray(padded[mask]), offsets)

    def astype(self, dtype: str, *, threads: int | None = None) -> Ragged:
        """The same items stored as float32, float16, bfloat16 or int8 (a copy)."""
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
        if dtype == self.dtype:
            return self
        rows = self.to_float32()
        if dtype == "float32":
            return Ragged(rows, self.offsets)
        if dtype == "float16":
            return Ragged(_core.convert_rows(rows, _core.DType.float16, threads).view(np.float16), self.offsets)
        if dtype == "bfloat16":
            return Ragged(_core.convert_rows(rows, _core.DType.bfloat16, threads).view(_bfloat16()), self.offsets)
        q, scales = quantize_int8(rows, threads=threads)
        return Ragged(q, self.offsets, scales)

    def to_float32(self) -> np.ndarray:
        """The token rows as float32 (dequantized for int8; a copy unless already float32)."""
        tokens, dtype = self.tokens, self.dtype
        if dtype == "float32":
            return tokens
        if dtype == "int8":
            return tokens.astype(np.float32) * self.scales[:, None]
        if dtype == "bfloat16" and tokens.dtype == np.uint16:
            return (tokens.astype(np.uint32) << 16).view(np.float32)
        return tokens.astype(np.float32)

    # -- access (tokens, offsets, scales, dtype, dim, n_tokens and len() are native) ----
    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __getitem__(self, i: int) -> np.ndarray:
        """Item i's token rows (a view; int8 rows without their scales)."""
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"item {i} out of range for {n} items")
        i %= n
        offsets = self.offsets
        return self.tokens[offsets[i] : offsets[i + 1]]

    def __repr__(self) -> str:
        return f"Ragged({len(self)} items, {self.n_tokens} tokens, dim {self.dim}, {self.dtype})"


def maxsim(queries: np.ndarray | Ragged, docs: Ragged, *, threads: int | None = None) -> np.ndarray:
    """Exact MaxSim scores: sum over query rows of the max dot product over document rows.

    ``queries`` is one float32 query (rows, dim) -> scores (n,), or many: a float32
    (n_queries, rows, dim) array or a float32 Ragged -> scores (n_queries, n). An empty
    query scores 0, an empty document -inf, and NaN inputs give NaN. Document storage
    types and their error bounds are described in the README.
    """
    return _core.maxsim(queries, docs, threads)


def rerank(
    query: np.ndarray | Ragged,
    docs: Ragged,
    *,
    candidates: np.ndarray | None = None,
    k: int | None = None,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Scores a query against all documents (or `candidates`, int64 document indices, each
    at most once) and returns the best ``k`` as ``(ids, scores)``, sorted by score
    descending, equal scores by lower document index, NaN last.

    ``k``: None for all, else an int >= 0; ``min(k, number of candidates)`` results are
    returned. One query (rows, dim) gives 1-D results; a batch ((n_queries, rows, dim) or
    Ragged) gives (n_queries, k) results and takes candidates of shape
    (n_queries, n_candidates).
    """
    return _core.rerank(query, docs, candidates, k, threads)


def dot_scores(
    queries: np.ndarray,
    rows: np.ndarray,
    *,
    scales: np.ndarray | None = None,
    dtype: str | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Dot products of float32 queries ((dim,) or (n_queries, dim)) with every row of `rows`
    (n, dim), stored as float32, float16, bfloat16 or int8 with per-row `scales`. The type
    is read from `rows`; ``dtype='bfloat16'`` is needed only for uint16 bfloat16 bits."""
    return _core.dot_scores(queries, _core.Rows(rows, scales, dtype=dtype), threads)


def dot_topk(
    queries: np.ndarray,
    rows: np.ndarray,
    k: int,
    *,
    scales: np.ndarray | None = None,
    dtype: str | None = None,
    exclude: np.ndarray | None = None,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The k rows with the largest dot product per query, as (ids, scores) sorted like
    :func:`rerank`, scanning every row once (top-k selection fused into the scan). Rows
    whose entry in the bool mask `exclude` is set are skipped. ``k`` is an int >= 0; when
    fewer than k rows are eligible, fewer results are returned (min(k, eligible rows) per
    query), never padding."""
    return _core.dot_topk(queries, _core.Rows(rows, scales, dtype=dtype), k, exclude, threads)


def quantize_int8(rows: np.ndarray, *, threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-row symmetric int8: returns (int8 rows, float32 scales) with
    ``scales[t] = max|rows[t]| / 127`` and ``q = clip(rint(rows / scale), -127, 127)``."""
    return _core.quantize_int8(rows, threads)


def _as_rows(x: Any, name: str) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    a = np.asarray(x, dtype=np.float32)
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (tokens, dim), got shape {a.shape}")
    return np.ascontiguousarray(a)


def pylate_rerank(
    documents_ids: Sequence[Sequence[Any]],
    queries_embeddings: Any,
    documents_embeddings: Any,
    *,
    threads: int | None = None,
) -> list[list[dict]]:
    """Drop-in for ``pylate.rank.rerank``: per query, its documents as ``{"id", "score"}``
    sorted by score descending. Scores are exact MaxSim (PyLate zero-pads documents, so a
    short document's row maximum is never below 0 there; here it is the true maximum)."""
    if isinstance(queries_embeddings, np.ndarray) and queries_embeddings.ndim == 2:
        queries_embeddings = [queries_embeddings]
    if len(documents_ids) != len(queries_embeddings) or len(documents_embeddings) != len(queries_embeddings):
        raise ValueError(
            f"documents_ids ({len(documents_ids)}), queries_embeddings ({len(queries_embeddings)}) and "
            f"documents_embeddings ({len(documents_embeddings)}) must have one entry per query"
        )
    results = []
    for qi, (q_emb, ids, d_embs) in enumerate(zip(queries_embeddings, documents_ids, documents_embeddings)):
        q = _as_rows(q_emb, f"queries_embeddings[{qi}]")
        if len(ids) != len(d_embs):
            raise ValueError(f"documents_ids[{qi}] has {len(ids)} ids but documents_embeddings[{qi}] has {len(d_embs)}")
        docs = Ragged.from_list(
            [_as_rows(d, f"documents_embeddings[{qi}][{j}]") for j, d in enumerate(d_embs)], dim=q.shape[1]
        )
        order, scores = rerank(q, docs, threads=threads)
        results.append([{"id": ids[j], "score": s} for j, s in zip(order.tolist(), scores.tolist())])
    return results
