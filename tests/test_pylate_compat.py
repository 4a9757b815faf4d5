"""The PyLate-compatible rerank against PyLate's own rank.rerank (run for real: tests/install.sh
installs PyLate 1.4.0 on torch 2.13.0). PyLate zero-pads documents, so it is exact only when
every query row's true maximum is >= 0; the inputs here guarantee that with non-negative
embeddings, and a second case shows where the two differ by design."""

import numpy as np
import pytest
import torch
from pylate import rank

import muvera_nano as mn


def nonneg_rows(rng, n, dim=32):
    x = np.abs(rng.standard_normal((n, dim))).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_same_ranking_and_scores_as_pylate_where_pylate_is_exact(rng):
    queries = [nonneg_rows(rng, 32) for _ in range(3)]
    documents = [[nonneg_rows(rng, int(n)) for n in rng.integers(1, 60, 25)] for _ in range(3)]
    ids = [[f"d{q}-{j}" for j in range(25)] for q in range(3)]
    ours = mn.pylate_rerank(ids, queries, documents)
    theirs = rank.rerank(documents_ids=ids, queries_embeddings=queries, documents_embeddings=documents)
    for o, t in zip(ours, theirs):
        assert [r["id"] for r in o] == [r["id"] for r in t]
        np.testing.assert_allclose([r["score"] for r in o], [r["score"] for r in t], rtol=1e-5)


def test_accepts_torch_tensors_like_pylate(rng):
    q = torch.from_numpy(nonneg_rows(rng, 8))
    docs = [[torch.from_numpy(nonneg_rows(rng, 5)), torch.from_numpy(nonneg_rows(rng, 9))]]
    ours = mn.pylate_rerank([[1, 2]], [q], docs)
    theirs = rank.rerank(documents_ids=[[1, 2]], queries_embeddings=[q], documents_embeddings=docs)
    assert [r["id"] for r in ours[0]] == [r["id"] for r in theirs[0]]


def test_where_pylate_pads_with_zeros_the_exact_score_differs(rng):
    q = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    short = np.array([[-0.6, -0.8]], np.float32)  # all similarities negative
    long = np.array([[0.6, 0.8], [-1.0, 0.0], [0.0, -1.0]], np.float32)
    theirs = rank.rerank(
        documents_ids=[["short", "long"]], queries_embeddings=[q], documents_embeddings=[[short, long]]
    )
    ours = mn.pylate_rerank([["short", "long"]], [q], [[short, long]])
    pylate_short = {r["id"]: r["score"] for r in theirs[0]}["short"]
    ours_short = {r["id"]: r["score"] for r in ours[0]}["short"]
    assert pylate_short == pytest.approx(0.0)  # max(true max, 0) per row
    assert ours_short == pytest.approx(-1.4, abs=1e-6)
