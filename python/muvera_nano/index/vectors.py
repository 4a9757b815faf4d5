"""Token vectors given by the caller (documents to add, queries) turned into a float32 Ragged:
one conversion, with one error per kind of bad input (wrong type: TypeError; wrong shape or
dimension: ValueError), naming the argument."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels import Ragged

_ACCEPTED = (
    "a muvera_nano.Ragged, a list of 2-D float32 arrays (tokens, dim) or a 3-D float32 array (items, tokens, dim)"
)


def as_ragged(vectors: Any, name: str, dim: int) -> Ragged:
    """`vectors` (one multi-vector per item) as a float32 Ragged of dimension `dim`. A Ragged is
    used in place; a list of arrays is concatenated; a 3-D array is viewed as equal-length items."""
    if isinstance(vectors, Ragged):
        if vectors.dtype != "float32":
            raise TypeError(f"{name} must hold float32 vectors, got a {vectors.dtype} Ragged")
        ragged = vectors
    elif isinstance(vectors, np.ndarray):
        if vectors.ndim != 3:
            raise ValueError(f"{name} must be {_ACCEPTED}; got an array of shape {vectors.shape}")
        _check_float32(vectors, name)
        n, rows, d = vectors.shape
        ragged = Ragged(np.ascontiguousarray(vectors.reshape(n * rows, d)), np.arange(n + 1, dtype=np.int64) * rows)
    elif isinstance(vectors, (list, tuple)):
        for i, a in enumerate(vectors):
            if not isinstance(a, np.ndarray):
                raise TypeError(f"{name}[{i}] must be a 2-D float32 array (tokens, dim), got {type(a).__name__}")
            if a.ndim != 2:
                raise ValueError(f"{name}[{i}] must be a 2-D float32 array (tokens, dim), got shape {a.shape}")
            _check_float32(a, f"{name}[{i}]")
            if a.shape[1] != dim:
                raise ValueError(f"{name}[{i}] has dimension {a.shape[1]}, the index {dim}")
        return Ragged.from_list(vectors, dim=dim)
    else:
        raise TypeError(f"{name} must be {_ACCEPTED}; got {type(vectors).__name__}")
    if ragged.dim != dim:
        raise ValueError(f"{name} have dimension {ragged.dim}, the index {dim}")
    return ragged


def _check_float32(a: np.ndarray, name: str) -> None:
    if a.dtype != np.float32:
        raise TypeError(f"{name} must be float32, got {a.dtype}; convert with .astype(numpy.float32)")
