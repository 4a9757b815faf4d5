"""Independent float64 references for MaxSim and the documented error bounds of each
document storage type (see README, "Storage types and their error bounds")."""

from __future__ import annotations

import ml_dtypes
import numpy as np

U32 = 2.0**-24  # float32 unit roundoff


def maxsim64(q: np.ndarray, d: np.ndarray) -> float:
    """Exact MaxSim in float64: sum over query rows of the max over document rows."""
    if q.shape[0] == 0:
        return 0.0
    if d.shape[0] == 0:
        return -np.inf
    return float((q.astype(np.float64) @ d.astype(np.float64).T).max(axis=1).sum())


def bf16_round(x: np.ndarray) -> np.ndarray:
    return x.astype(ml_dtypes.bfloat16).astype(np.float64)


def int8_dequantized(x: np.ndarray) -> np.ndarray:
    """The value a row has after per-row symmetric int8 quantization (formula in README)."""
    x = x.astype(np.float32)
    scale = (np.abs(x).max(axis=1) / np.float32(127)).astype(np.float32) if x.shape[0] else np.zeros(0, np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(scale[:, None] > 0, np.clip(np.rint(x / scale[:, None]), -127, 127), 0)
    return q.astype(np.float64) * scale[:, None].astype(np.float64)


def as_scored(q: np.ndarray, d: np.ndarray, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """The query and document values a storage type scores with (float64)."""
    if dtype == "float32":
        return q.astype(np.float64), d.astype(np.float64)
    if dtype == "float16":
        return q.astype(np.float64), d.astype(np.float16).astype(np.float64)
    if dtype == "bfloat16":
        return bf16_round(q), bf16_round(d)
    if dtype == "int8":
        return int8_dequantized(q), int8_dequantized(d)
    raise ValueError(dtype)


def float32_bound(q: np.ndarray, d: np.ndarray) -> float:
    """Rigorous bound on the float32 rounding of MaxSim computed from exactly these values:
    each dot of length dim accumulates with error <= gamma_dim * sum|q_k d_k| (any order,
    with or without FMA), and the final sum over query rows adds gamma_rows * sum|max|."""
    if q.shape[0] == 0 or d.shape[0] == 0:
        return 0.0
    dim, rows = q.shape[1], q.shape[0]
    gamma = lambda n: 1.01 * n * U32 / (1 - n * U32)  # noqa: E731
    absdot = np.abs(q) @ np.abs(d).T
    maxima = np.abs((q @ d.T).max(axis=1))
    return float(
        gamma(dim + 1) * absdot.max(axis=1).sum()
        + gamma(rows) * (maxima.sum() + gamma(dim + 1) * absdot.max(axis=1).sum())
    )


def storage_bound(q: np.ndarray, d: np.ndarray, dtype: str) -> float:
    """The documented bound |score(stored) - score(float32 inputs)| from rounding the inputs
    (before float32 accumulation): per query row, the max over document rows of the
    per-dot bound, summed over query rows."""
    if q.shape[0] == 0 or d.shape[0] == 0 or dtype == "float32":
        return 0.0
    q = q.astype(np.float64)
    d = d.astype(np.float64)
    aq, ad = np.abs(q), np.abs(d)
    if dtype == "float16":
        # relative 2^-11 in the normal range; absolute 2^-25 for subnormals
        per = 2.0**-11 * (aq @ ad.T) + 2.0**-25 * aq.sum(axis=1)[:, None]
    elif dtype == "bfloat16":
        u = 2.0**-8
        per = (2 * u + u * u) * (aq @ ad.T)
    else:  # int8: |x - scale * q| <= scale / 2 for both operands
        sq = aq.max(axis=1) / 127.0
        sd = ad.max(axis=1) / 127.0
        per = (
            aq.sum(axis=1)[:, None] * sd[None, :] / 2
            + sq[:, None] * ad.sum(axis=1)[None, :] / 2
            + q.shape[1] * sq[:, None] * sd[None, :] / 4
        )
    return float(per.max(axis=1).sum())
