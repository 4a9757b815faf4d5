"""The hnsw candidate backend (usearch) behind the same search interface."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import random_docs, random_queries

import muvera_nano as mn
from muvera_nano.index import GraphConfig, Index, IndexFormatError
from muvera_nano.index.graph import GRAPH_DTYPES


@pytest.fixture
def many(rng):
    return random_docs(rng, 600, lo=1, hi=12)


def build_pair(folder, docs, fde, dtype):
    """The same documents (two segments) behind each backend, the graph in the given precision.
    Requests below a quarter of a segment go through the graph; larger ones scan exactly."""
    exact = Index.create(folder / "exact", dim=32, fde=fde, fde_dtype="float32")
    graph = Index.create(
        folder / "graph",
        dim=32,
        fde=fde,
        fde_dtype="float32",
        backend="hnsw",
        graph=GraphConfig(connectivity=8, expansion_add=64, expansion_search=64, dtype=dtype),
    )
    for idx in (exact, graph):
        idx.add(token_vectors=docs[:400])
        idx.add(token_vectors=docs[400:])
    return exact, graph


@pytest.fixture(params=GRAPH_DTYPES)
def pair(request, tmp_path, many, small_fde):
    return build_pair(tmp_path, many, small_fde, request.param)


def test_graph_candidates_are_scored_exactly(pair, rng, many):
    exact, graph = pair
    doc_fde = exact.fde.encode_documents(mn.Ragged.from_list(many))
    for q in random_queries(rng, 5):
        res = graph.search(q, k=10, mode="muvera")
        qf = graph.fde.encode_queries(mn.Ragged.from_list([q]))[0]
        want = {i: float(doc_fde[i] @ qf) for i in res.ids}
        np.testing.assert_allclose(res.scores, [want[i] for i in res.ids], rtol=1e-5, atol=1e-6)
        assert list(res.scores) == sorted(res.scores, reverse=True)


@pytest.mark.parametrize("dtype", [d for d in GRAPH_DTYPES if d != "i8"])
def test_graph_finds_the_exact_scans_neighbours(dtype, tmp_path, many, small_fde, rng):
    # On 300-row segments a search list of 64 explores most of the graph, so its top 10 should be
    # nearly the exact scan's. ('i8' is left out: usearch's fixed scale suits entries near ±1.)
    exact, graph = build_pair(tmp_path, many, small_fde, dtype)
    qs = random_queries(rng, 20)
    overlap = [
        len(set(a.ids) & set(b.ids)) / 10
        for a, b in zip(graph.search(qs, k=10, mode="muvera"), exact.search(qs, k=10, mode="muvera"))
    ]
    assert np.mean(overlap) >= 0.95, overlap


def test_large_requests_scan_exactly(pair, rng, many):
    exact, graph = pair
    for q in random_queries(rng, 4):
        a = graph.search(q, k=15, mode="rerank", n_candidates=len(many))
        b = exact.search(q, k=15, mode="maxsim")
        assert a.ids == b.ids
        np.testing.assert_array_equal(a.scores, b.scores)


def test_graph_search_is_deterministic_for_a_saved_graph(pair, rng, tmp_path):
    _, graph = pair
    qs = random_queries(rng, 10)
    a = graph.search(qs, k=10, mode="muvera")
    b = Index.open(tmp_path / "graph").search(qs, k=10, mode="muvera")
    for x, y in zip(a, b):
        assert x.ids == y.ids


def test_graph_persists_removes_and_compacts(pair, rng, tmp_path):
    _, graph = pair
    q = random_queries(rng, 1)[0]
    before = graph.search(q, k=10, mode="rerank", n_candidates=20)
    reopened = Index.open(tmp_path / "graph", verify=True)
    again = reopened.search(q, k=10, mode="rerank", n_candidates=20)
    assert again.ids == before.ids
    reopened.remove(before.ids[:3])
    after = reopened.search(q, k=10, mode="rerank", n_candidates=20)
    assert not set(before.ids[:3]) & set(after.ids)
    reopened.compact()
    compacted = Index.open(tmp_path / "graph")
    assert len(compacted._segments) == 1 and compacted._segments[0].graph is not None
    assert not set(before.ids[:3]) & set(compacted.search(q, k=10, mode="rerank", n_candidates=20).ids)


def test_damaged_graph_file_is_refused(pair, tmp_path):
    m = json.loads((tmp_path / "graph" / "manifest.json").read_text())
    f = tmp_path / "graph" / m["segments"][0]["graph"]["file"]
    f.write_bytes(f.read_bytes()[:-10])
    with pytest.raises(IndexFormatError, match="bytes on disk"):
        Index.open(tmp_path / "graph")


def test_the_graph_backend_loads_onnxruntime_before_usearch():
    # usearch's RTLD_GLOBAL NumKong library crashes an onnxruntime imported after it; the index
    # loads onnxruntime first, so the encoder still loads after a graph was opened. A fresh process, since this one may have imported either already.
    code = (
        "from muvera_nano.index.graph import _usearch; _usearch(); "
        "import onnxruntime; from muvera_nano.model import ColBERT; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_graph_settings_are_checked(small_fde):
    with pytest.raises(ValueError, match="connectivity must be an int >= 2"):
        GraphConfig(connectivity=1)
    with pytest.raises(ValueError, match="dtype must be one of 'bf16', 'f16', 'f32', 'i8', got 'b1'"):
        GraphConfig(dtype="b1")
    with pytest.raises(ValueError, match="graph settings only apply to backend='hnsw'"):
        Index.create(None, dim=32, fde=small_fde, graph=GraphConfig())
    with pytest.raises(ValueError, match="backend must be one of"):
        Index.create(None, dim=32, fde=small_fde, backend="ivf")


@pytest.mark.parametrize("fde_dtype", ["int8", "float16"])
def test_compacted_graph_proposes_what_the_added_one_did(fde_dtype, many, small_fde, rng):
    # Both graphs are built from the stored (rounded or quantized) FDE rows, in the same order, so
    # one segment added whole and the same documents added in two segments then compacted must
    # propose the same candidates. (Built from the float32 rows on add, half the queries differed.)
    cfg = GraphConfig(connectivity=8, expansion_add=32, expansion_search=16)
    whole = Index.create(None, dim=32, fde=small_fde, fde_dtype=fde_dtype, backend="hnsw", graph=cfg)
    whole.add(token_vectors=many, threads=1)
    pieces = Index.create(None, dim=32, fde=small_fde, fde_dtype=fde_dtype, backend="hnsw", graph=cfg)
    pieces.add(token_vectors=many[:300], threads=1)
    pieces.add(token_vectors=many[300:], threads=1)
    pieces.compact(threads=1)
    qs = random_queries(rng, 30)
    for mode in ("muvera", "rerank"):
        for a, b in zip(
            whole.search(qs, k=10, mode=mode, n_candidates=20), pieces.search(qs, k=10, mode=mode, n_candidates=20)
        ):
            assert a.ids == b.ids
            np.testing.assert_array_equal(a.scores, b.scores)
