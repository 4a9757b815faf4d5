"""The FDE dot product approximates MaxSim: documents planted as noisy copies of a query are
its exact-MaxSim best match, and must also be the raw FDE's best candidate among random
documents (a structural property of MUVERA, not a tuned threshold), and among the candidates
the index re-ranks for normalised FDEs. Also: txtai's own Muvera, when installed, agrees with
the txtai preset on fresh random inputs."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
from fde_helpers import ragged

import muvera_nano as mn


def unit(x):
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize(
    "cfg",
    [
        mn.FDEConfig.google(128),
        mn.FDEConfig.txtai(128),
        mn.FDEConfig.google(128, 20, 4, 8),
        mn.FDEConfig.recommended(128),
        mn.FDEConfig.txtai(128, normalize=True),
    ],
    ids=["google", "txtai", "google-20-4-8", "recommended", "txtai-normalised"],
)
def test_planted_near_duplicates_rank_first(cfg):
    rng = np.random.default_rng(11)
    n_queries, n_random = 16, 400
    queries = [unit(rng.standard_normal((32, 128))) for _ in range(n_queries)]
    docs = [unit(rng.standard_normal((int(rng.integers(50, 300)), 128))) for _ in range(n_random)]
    planted = []
    for q in queries:  # the query's tokens, perturbed, among as many unrelated tokens
        near = unit(q + 0.1 * rng.standard_normal(q.shape))
        planted.append(unit(np.concatenate([near, rng.standard_normal((64, 128))]))[rng.permutation(96)])
    corpus = mn.Ragged.from_list(docs + planted)
    qs = mn.Ragged.from_list(queries)
    exact = mn.maxsim(qs, corpus)
    fde = cfg.encode_queries(qs) @ cfg.encode_documents(corpus).T
    for i in range(n_queries):
        assert int(np.argmax(exact[i])) == n_random + i  # the planted copy is the true best match
        rank = int((fde[i] > fde[i, n_random + i]).sum()) + 1
        if not cfg.normalize:
            # The raw FDE inner product approximates MaxSim (MUVERA's guarantee): the copy is first.
            assert rank == 1, f"query {i}: FDE ranks its near-duplicate {rank}"
        else:
            # Normalised FDEs trade this for recall on real-like data (see FDEConfig.recommended):
            # the copy must still be among the candidates the index re-ranks (100 by default).
            assert rank <= 100, f"query {i}: FDE ranks its near-duplicate {rank}"


def _txtai_muvera():
    """txtai 9.12's Muvera module, loaded on its own (no txtai or torch import)."""
    spec = importlib.util.find_spec("txtai")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(spec.submodule_search_locations[0], "models", "pooling", "muvera.py")
    if not os.path.exists(path):
        return None
    # The module's only import is txtai's optional-dependency helper, whose numpy() returns
    # numpy: stand it in so no other txtai code (nor torch) is imported.
    with open(path, encoding="utf-8") as f:
        source = f.read()
    source = source.replace(
        "from ...util import Library",
        "class Library:\n    def numpy(self):\n        import numpy\n        return numpy",
    )
    namespace = {"__name__": "_txtai_muvera"}
    exec(compile(source, path, "exec"), namespace)
    return namespace["Muvera"]


@pytest.mark.skipif(_txtai_muvera() is None, reason="txtai 9.12 is not installed (pip install --no-deps txtai==9.12.0)")
@pytest.mark.parametrize("params", [(20, 5, 16, 42), (3, 3, None, 7), (4, 0, 8, 1), (5, 2, 40, 123)])
def test_against_txtai_muvera(params):
    Muvera = _txtai_muvera()
    reps, hashes, proj, seed = params
    rng = np.random.default_rng(sum(p or 0 for p in params))
    for dim in (128, 33):
        docs = ragged(rng, rng.integers(1, 200, 9), dim)
        items = [np.ascontiguousarray(docs[i]) for i in range(len(docs))]
        cfg = mn.FDEConfig.txtai(dim, reps, hashes, proj, seed)
        for category, encode in (("data", cfg.encode_documents), ("query", cfg.encode_queries)):
            want = Muvera(reps, hashes, proj, seed)(items, category)
            got = encode(docs)
            if proj is None:
                np.testing.assert_array_equal(got, want)
            else:
                assert np.abs(got - want).max() <= 1e-5 * max(1.0, float(np.abs(want).max()))
