"""Training the compressed storage kinds' codebooks: k-means, product quantization (PQ) and its
optimised rotation (OPQ), in numpy, deterministic for a given sample and seed.

Assignments go through one function (`pq_assign`), so the encoder that stores documents and the
trainer that learns the codebooks agree on which centroid is nearest (squared L2, ties to the
lowest index).
"""

from __future__ import annotations

import numpy as np

from ..kernels import pq_encode

_CHUNK = 1 << 14  # rows per assignment block (bounds the distance matrix's memory)


def pq_assign(x: np.ndarray, centroids: np.ndarray, threads=None) -> np.ndarray:
    """Nearest centroid of each row's sub-vectors: (n, M) int64 codes for centroids (M, K, dsub),
    K = 256 or 16 (the kernels' pq_encode)."""
    codes = pq_encode(np.ascontiguousarray(x, dtype=np.float32), np.ascontiguousarray(centroids), threads=threads)
    return unpack_nibbles(codes) if centroids.shape[1] == 16 else codes.astype(np.int64)


def unpack_nibbles(codes: np.ndarray) -> np.ndarray:
    """(n, M / 2) packed 4-bit codes (low nibble: even subspace) -> (n, M) int64."""
    out = np.empty((len(codes), 2 * codes.shape[1]), np.int64)
    out[:, 0::2] = codes & 0x0F
    out[:, 1::2] = codes >> 4
    return out


def _cluster_sums(x: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(sums (k, d) float64, counts (k,)) of the rows of x by label; rows sorted by label and summed
    with reduceat (np.add.at is unbuffered: 20x slower on a 2,000-document training sample)."""
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels, minlength=k)
    sums = np.zeros((k, x.shape[1]))
    present = np.nonzero(counts)[0]
    starts = np.concatenate([[0], np.cumsum(counts[present])[:-1]])
    sums[present] = np.add.reduceat(x[order].astype(np.float64), starts, axis=0)
    return sums, counts


def _refill_empty(
    rows: np.ndarray, labels: np.ndarray, counts: np.ndarray, centres: np.ndarray, rng: np.random.Generator
) -> None:
    """Gives each empty cluster a member of the then-largest one (slightly perturbed, as FAISS does)
    and moves half of that cluster's members to it, so the next pick is again a cluster with members."""
    labels = labels.copy()
    for k in np.nonzero(counts == 0)[0]:
        big = int(np.argmax(counts))
        members = np.nonzero(labels == big)[0]
        pick = rows[members[rng.integers(len(members))]].astype(np.float32)
        centres[k] = pick * (1 + 1e-4 * rng.standard_normal(pick.shape).astype(np.float32))
        moved = rng.permutation(members)[: len(members) // 2]
        labels[moved] = k
        counts[k], counts[big] = len(moved), len(members) - len(moved)


def _update(x: np.ndarray, codes: np.ndarray, centroids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """New centroids (M, K, dsub): the mean of each cluster's sub-vectors; empty clusters refilled."""
    n, (M, K, dsub) = len(x), centroids.shape
    xs = x.reshape(n, M, dsub)
    flat = (codes + (np.arange(M) * K)[None, :]).ravel()
    counts = np.bincount(flat, minlength=M * K).reshape(M, K)
    sums = np.stack([np.bincount(flat, weights=xs[:, :, j].ravel(), minlength=M * K) for j in range(dsub)], axis=1)
    out = (sums.reshape(M, K, dsub) / np.maximum(counts, 1)[:, :, None]).astype(np.float32)
    for m in np.nonzero((counts == 0).any(axis=1))[0]:
        _refill_empty(xs[:, m], codes[:, m], counts[m], out[m], rng)
    return out


def pq_train(
    x: np.ndarray,
    subspaces: int,
    centroids: int,
    *,
    iterations: int = 20,
    seed: int = 0,
    init: np.ndarray | None = None,
    threads=None,
) -> np.ndarray:
    """PQ codebooks (subspaces, centroids, dim / subspaces) by k-means in each subspace (Lloyd's
    iterations from `centroids` distinct sample rows, or from `init`)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    n, dim = x.shape
    if dim % subspaces:
        raise ValueError(f"the dimension {dim} is not a multiple of {subspaces} subspaces")
    if n < centroids:
        raise ValueError(f"training needs at least {centroids} vectors, got {n}")
    rng = np.random.default_rng(seed)
    if init is None:
        start = x[rng.choice(n, centroids, replace=False)]
        cb = np.ascontiguousarray(start.reshape(centroids, subspaces, dim // subspaces).transpose(1, 0, 2))
    else:
        cb = np.ascontiguousarray(init, dtype=np.float32)
    for _ in range(iterations):
        cb = _update(x, pq_assign(x, cb, threads), cb, rng)
    return cb


def pq_decode(codes: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The vectors codes (n, M) stand for: (n, M * dsub) float32."""
    M = centroids.shape[0]
    return centroids[np.arange(M)[None, :], codes].reshape(len(codes), -1)


def opq_train(
    x: np.ndarray,
    subspaces: int,
    centroids: int,
    *,
    rounds: int = 8,
    iterations: int = 4,
    final_iterations: int = 16,
    seed: int = 0,
    threads=None,
) -> tuple[np.ndarray, np.ndarray]:
    """(rotation R (dim, dim) orthonormal, PQ codebooks of x @ R): OPQ's alternation (Ge et al.,
    non-parametric): PQ on the rotated sample, then the rotation that best maps the sample onto its
    reconstruction (orthogonal Procrustes), `rounds` times; then a final PQ on the last rotation."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    dim = x.shape[1]
    rotation = np.eye(dim, dtype=np.float32)
    cb = None
    for r in range(rounds):
        y = x @ rotation
        cb = pq_train(y, subspaces, centroids, iterations=iterations, seed=seed + r, init=cb, threads=threads)
        y_hat = pq_decode(pq_assign(y, cb, threads), cb)
        u, _, vt = np.linalg.svd(x.T.astype(np.float64) @ y_hat.astype(np.float64))
        rotation = (u @ vt).astype(np.float32)
    y = x @ rotation
    cb = pq_train(y, subspaces, centroids, iterations=final_iterations, seed=seed + rounds, init=cb, threads=threads)
    return rotation, cb


def kmeans(x: np.ndarray, k: int, *, iterations: int = 20, seed: int = 0, spherical: bool = False) -> np.ndarray:
    """k centroids (k, dim) of the rows of x by Lloyd's iterations (squared L2 assignments; with
    `spherical` the centroids are renormalised, for inner-product search over unit rows)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = len(x)
    if n < k:
        raise ValueError(f"k-means with {k} centroids needs at least {k} rows, got {n}")
    rng = np.random.default_rng(seed)
    c = x[rng.choice(n, k, replace=False)].copy()
    for _ in range(iterations):
        assign = nearest(x, c)
        sums, counts = _cluster_sums(x, assign, k)
        new = (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)
        if not counts.all():
            _refill_empty(x, assign, counts, new, rng)
        if spherical:
            norms = np.linalg.norm(new, axis=1, keepdims=True)
            new = new / np.where(norms > 0, norms, 1)
        c = new
    return c


def nearest(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Index of the nearest row of c (squared L2, ties to the lowest index) for each row of x."""
    half = 0.5 * np.einsum("ij,ij->i", c, c)
    out = np.empty(len(x), np.int64)
    for s in range(0, len(x), _CHUNK):
        out[s : s + _CHUNK] = np.argmax(x[s : s + _CHUNK] @ c.T - half[None, :], axis=1)
    return out
