"""Typed wrappers over the compiled kernels: the ragged multi-vector container, MaxSim
scoring, top-k reranking, int8 quantization, product quantization (PQ-coded tokens, encoding,
the 4-bit fast scan of PQ-coded rows), and a PyLate-compatible rerank.

Arrays of the right dtype and layout are used in place; anything else raises a
TypeError/ValueError that names the argument. The only functions that copy are the
explicit converters (``Ragged.from_list``, ``Ragged.from_padded``, ``Ragged.astype``,
``quantize_int8``, ``PQCodebook``) and the PyLate adapter, whose inputs are Python lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _core

_DTYPES = ("float32", "float16", "bfloat16", "int8", "pq8")


def _bfloat16():
    try:
        import ml_dtypes
    except ImportError as e:  # pragma: no cover - ml_dtypes is a dependency
        raise ImportError("bfloat16 conversion needs the ml_dtypes package: pip install ml_dtypes") from e
    return ml_dtypes.bfloat16


class PQCodebook(_core.PQCodebook):
    """The codebook of PQ-coded (pq8) tokens: ``centroids`` float32 (M, 256, dsub), copied.

    A token of M uint8 codes stands for the concatenation over subspaces m of
    ``centroids[m, code_m]`` (dim = M * dsub values). ``centroids`` (read-only),
    ``n_subspaces``, ``dsub`` and ``dim`` read it back. Centroids must be finite.
    """

    def encode(self, rows: np.ndarray, *, threads: int | None = None) -> np.ndarray:
        """The codes (n, M) uint8 of float32 rows (n, dim): :func:`pq_encode`."""
        return _core.pq_encode(rows, self.centroids, threads)

    def decode(self, codes: np.ndarray, *, threads: int | None = None) -> np.ndarray:
        """Codes (n, M) uint8 back to float32 rows (n, dim): :func:`pq_decode`."""
        return _core.pq_decode(codes, self.centroids, threads)

    def __repr__(self) -> str:
        return f"PQCodebook({self.n_subspaces} subspaces x 256 centroids x {self.dsub} dims)"


class Ragged(_core.RaggedStore):
    """A set of multi-vectors in canonical ragged form.

    Item ``i`` is ``tokens[offsets[i]:offsets[i + 1]]``. ``tokens`` is (T, dim) with
    contiguous rows, stored as float32, float16, bfloat16 (ml_dtypes) or int8; the type is
    read from the array (``dtype='bfloat16'`` is needed only for uint16 arrays holding
    bfloat16 bits). ``offsets`` is int64 of length n + 1, starting at 0, non-decreasing and
    ending at T. int8 tokens carry a float32 ``scales`` entry per row (the value of a row is
    ``scales[t] * tokens[t]``); see :func:`quantize_int8`. PQ-coded tokens (dtype ``'pq8'``)
    are uint8 codes (T, M) with their :class:`PQCodebook` (``codebook=``); ``dim`` is then
    the decoded dimension M * dsub, and MaxSim decodes a few rows at a time as it scores.

    ``Ragged(tokens, offsets, scales=None, *, dtype=None, codebook=None)``: the arrays are
    referenced, not copied, and validated once here (TypeError for a wrong type, ValueError
    for a wrong shape or value).
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

    def astype(self, dtype: str, *, codebook: PQCodebook | None = None, threads: int | None = None) -> Ragged:
        """The same items stored as float32, float16, bfloat16, int8 or pq8 (a copy); pq8
        codes each token with `codebook` (nearest centroid per subspace, :func:`pq_encode`)."""
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
        if (dtype == "pq8") != (codebook is not None):
            raise TypeError("astype('pq8') needs codebook=, and only pq8 takes one")
        if dtype == self.dtype and (dtype != "pq8" or codebook is self.codebook):
            return self
        rows = self.to_float32()
        if dtype == "pq8":
            if not isinstance(codebook, _core.PQCodebook):
                raise TypeError(f"codebook must be a muvera_nano.PQCodebook, got {type(codebook).__name__}")
            return Ragged(_core.pq_encode(rows, codebook.centroids, threads), self.offsets, codebook=codebook)
        if dtype == "float32":
            return Ragged(rows, self.offsets)
        if dtype == "float16":
            return Ragged(_core.convert_rows(rows, _core.DType.float16, threads).view(np.float16), self.offsets)
        if dtype == "bfloat16":
            return Ragged(_core.convert_rows(rows, _core.DType.bfloat16, threads).view(_bfloat16()), self.offsets)
        q, scales = quantize_int8(rows, threads=threads)
        return Ragged(q, self.offsets, scales)

    def to_float32(self) -> np.ndarray:
        """The token rows as float32 (dequantized for int8, decoded for pq8; a copy unless
        already float32)."""
        tokens, dtype = self.tokens, self.dtype
        if dtype == "float32":
            return tokens
        if dtype == "pq8":
            return _core.pq_decode(tokens, self.codebook.centroids)
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
        """Item i's token rows (a view; int8 rows without their scales, pq8 rows as codes)."""
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


def pq_encode(rows: np.ndarray, centroids: np.ndarray, *, threads: int | None = None) -> np.ndarray:
    """Product-quantization codes of float32 rows (n, dim) with centroids (M, K, dsub),
    dim = M * dsub: per subspace the nearest centroid in L2 (ties to the lowest index).

    K = 256 gives one code per byte, (n, M) uint8; K = 16 gives two per byte, (n, M / 2)
    uint8 (M even), subspace 2p in the low nibble of byte p and 2p + 1 in the high one.
    The distance is computed by a fixed sequence of float32 fused multiply-adds (README,
    "Product quantization"), so codes are identical on every instruction set and thread
    count. Rows and centroids must be finite (ValueError naming the row otherwise).
    """
    return _core.pq_encode(rows, centroids, threads)


def pq_decode(codes: np.ndarray, centroids: np.ndarray, *, threads: int | None = None) -> np.ndarray:
    """PQ codes ((n, M) for K = 256, (n, M / 2) nibble pairs for K = 16) back to float32
    rows (n, M * dsub): the concatenation of ``centroids[m, code_m]``."""
    return _core.pq_decode(codes, centroids, threads)


PQ4Luts = _core.PQ4Luts


def pq4_lut(queries: np.ndarray, centroids: np.ndarray) -> PQ4Luts:
    """The quantized lookup tables of float32 queries ((D,) or (n_queries, D)) against 4-bit
    centroids (M, 16, dsub), for :func:`pq4_topk`.

    Per query, ``lut[m, c] = <q_m, centroids[m, c]>`` (float32) becomes ``table[m, c] =
    round((lut[m, c] - bias_m) / scale)`` in [0, 255], with ``bias_m = min_c lut[m, c]``, one
    ``scale`` per query (the widest row over 255) and ``bias = sum_m bias_m``, so that
    ``scale * sum_m table[m, code_m] + bias`` is within ``M * scale / 2`` of the exact
    asymmetric (ADC) score ``sum_m lut[m, code_m]``. The result reads back ``table``
    (n_queries, M, 16) uint8, ``scale`` and ``bias`` (n_queries,) float32, all read-only.
    """
    return _core.pq4_lut(queries, centroids)


def pq4_topk(
    luts: PQ4Luts,
    codes_blocked: np.ndarray,
    ranges: np.ndarray,
    range_offsets: np.ndarray,
    k: int,
    *,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The k best rows per query of 4-bit PQ codes in the blocked layout (:func:`pq4_block`),
    among the positions of `ranges` (int64 (r, 2), [begin, end) in the blocked order, not
    overlapping), as (positions int64, scores float32) sorted by score descending, equal
    scores by lower position.

    A row of range r scores ``range_offsets[r] + scale * sum_m table[m, code_m] + bias``
    (``range_offsets`` float32 (r,) for every query, or (n_queries, r)); the integer sum is
    exact, so results are identical on every instruction set and thread count. One query
    (``pq4_lut`` of a (D,) query) gives 1-D results, several give (n_queries, k). ``k`` is an
    int >= 0; min(k, positions in the ranges) results are returned, never padding.
    """
    return _core.pq4_topk(luts, codes_blocked, ranges, range_offsets, k, threads)


def pq4_block(codes: np.ndarray) -> np.ndarray:
    """(n, M / 2) nibble-packed 4-bit codes (:func:`pq_encode` with K = 16) in the blocked
    layout of :func:`pq4_topk`: (ceil(n / 32), M / 2, 32) uint8, byte [b, p, j] of row
    32 b + j, padding rows zero. Row i keeps position i."""
    return _core.pq4_block(codes)


def pq4_unblock(codes_blocked: np.ndarray, n: int) -> np.ndarray:
    """The first n rows of blocked codes back as (n, M / 2) nibble-packed codes."""
    return _core.pq4_unblock(codes_blocked, n)


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
