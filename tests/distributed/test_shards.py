"""Sharded search on a local three-node Ray cluster: shards (Ray actors, spread over the nodes)
answer exactly as the one index does in every mode (ids, scores, tie order, removed documents);
a shard that does not answer in time, or dies, is named in the result."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

import muvera_nano as mn
from muvera_nano.distributed import ShardedIndex, ShardFailure
from muvera_nano.index import Index

DIM = 32


def unit_docs(rng, n: int) -> list[np.ndarray]:
    out = []
    for _ in range(n):
        x = rng.standard_normal((int(rng.integers(1, 30)), DIM)).astype(np.float32)
        out.append(x / np.linalg.norm(x, axis=1, keepdims=True))
    return out


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    """Seven segments of 12-30 documents; one document stored four times (in segments 0, 2, 2
    and 5, so in several shards: equal scores whose order is the index's), documents removed."""
    rng = np.random.default_rng(14)
    path = tmp_path_factory.mktemp("shards") / "ix"
    fde = mn.FDEConfig.google(DIM, repetitions=4, simhash_bits=3, projection_dimension=8, fill_empty=True)
    index = Index.create(path, dim=DIM, fde=fde, token_dtype="float32", fde_dtype="float32", merge="off")
    twin = unit_docs(rng, 1)[0]
    for s in range(7):
        docs = unit_docs(rng, int(rng.integers(12, 31)))
        if s in (0, 5):
            docs.insert(3, twin)
        if s == 2:
            docs[1:1] = [twin, twin]
        index.add(token_vectors=docs)
    assert len(index.segments()) == 7
    index.remove([5, 40, 41, 90])
    return path, twin


@pytest.fixture(scope="module")
def pq_index_dir(tmp_path_factory):
    """Product-quantized tokens and FDEs with 4 coarse lists (trained after 60 documents: the
    first segments stay staged in float16), the twins across shards, documents removed."""
    from muvera_nano.index.pq_fde import PQFdeKind
    from muvera_nano.index.pq_tokens import PQTokenKind

    rng = np.random.default_rng(15)
    path = tmp_path_factory.mktemp("pq") / "ix"
    fde = mn.FDEConfig.google(DIM, repetitions=4, simhash_bits=3, projection_dimension=8, fill_empty=True)
    index = Index.create(
        path,
        dim=DIM,
        fde=fde,
        token_dtype=PQTokenKind(subspaces=8, train_after=60),
        fde_dtype=PQFdeKind(lists=4, train_after=60),
        merge="off",
    )
    twin = unit_docs(rng, 1)[0]
    for s in range(6):
        docs = unit_docs(rng, 30)
        docs[s % 3] = twin
        index.add(token_vectors=docs)
    index.remove([3, 50, 100])
    kinds = {(row["tokens"], row["fde"]) for row in index.info()["storage"]}
    assert ("float16", "float16") in kinds and len(kinds) == 2  # staged and quantized segments
    return path, twin


def queries(twin) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return unit_docs(rng, 4) + [twin, twin[:2]]


def assert_same_as_index(sharded, index, qs, **search) -> None:
    for mode in ("maxsim", "muvera", "rerank"):
        got = sharded.search(qs, mode=mode, **search)
        want = index.search(qs, mode=mode, **search)
        for g, w in zip(got, want):
            assert g.failed == () and g.complete
            assert g.ids == w.ids, (mode, search)
            np.testing.assert_array_equal(g.scores, w.scores)


def test_sharded_search_equals_the_one_index(cluster, index_dir):
    path, twin = index_dir
    index = Index.open(path)
    with ShardedIndex(path, shards=3) as sharded:
        assert len({node for node, _ in sharded.locations()}) >= 2  # actors on several nodes
        plan = sharded.plan
        assert [n for names in plan.segments for n in names] == [s.name for s in index.segments()]
        assert sum(plan.documents) == len(index) and all(plan.documents)
        qs = queries(twin)
        # the twins tie: in index order, across shards
        top = index.search(twin, k=4, mode="maxsim")
        assert len(set(top.scores.tolist())) == 1
        for k, n_candidates in ((1, 1), (4, 3), (10, 7), (25, 60), (300, 300)):
            assert_same_as_index(sharded, index, qs, k=k, n_candidates=n_candidates)
        one = sharded.search(twin, k=5)  # one query: one result
        assert one.ids == index.search(twin, k=5).ids


def test_sharded_search_equals_the_one_index_when_quantized_and_probing_lists(cluster, pq_index_dir):
    path, twin = pq_index_dir
    index = Index.open(path)
    qs = queries(twin)
    with ShardedIndex(path, shards=3) as sharded:
        for k, n_candidates, probe in ((5, 5, 1), (10, 20, 2), (40, 40, None), (200, 200, 4)):
            assert_same_as_index(sharded, index, qs, k=k, n_candidates=n_candidates, probe=probe)


def test_sharded_search_follows_removals_after_refresh(cluster, index_dir, tmp_path):
    import shutil

    path, twin = index_dir
    shutil.copytree(path, tmp_path / "ix")
    index = Index.open(tmp_path / "ix", merge="off")
    qs = queries(twin)
    with ShardedIndex(tmp_path / "ix", shards=2) as sharded:
        before = [r.ids for r in index.search(qs, k=8, mode="maxsim")]
        top = index.search(twin, k=4, mode="maxsim").ids
        index.remove(top[:2] + [0, 1, 2])
        # still the committed state it planned on, until refresh()
        assert [r.ids for r in sharded.search(qs, k=8, mode="maxsim")] == before
        assert sharded.refresh() == index.info()["generation"]
        assert_same_as_index(sharded, index, qs, k=8, n_candidates=5)


def test_a_shard_that_does_not_answer_in_time_is_reported(cluster, index_dir):
    path, twin = index_dir
    index = Index.open(path)
    qs = queries(twin)
    with ShardedIndex(path, shards=3) as sharded:
        plan = sharded.plan
        _, pid = sharded.locations()[1]
        os.kill(pid, signal.SIGSTOP)  # the shard's process stops answering
        try:
            got = sharded.search(qs, k=10, mode="rerank", n_candidates=8, timeout=2.0)
        finally:
            os.kill(pid, signal.SIGCONT)
        assert all(r.failed == (ShardFailure(1, "no answer within 2.0 s"),) and not r.complete for r in got)
        # the others answered: as an index holding only their segments
        others = list(plan.segments[0] + plan.segments[2])
        want = index.search(qs, k=10, mode="rerank", n_candidates=8, segments=others)
        assert [r.ids for r in got] == [w.ids for w in want]
        assert_same_as_index(sharded, index, qs, k=10, n_candidates=8)  # answers again


def test_a_shard_whose_process_dies_is_reported_or_restarted(cluster, index_dir):
    path, twin = index_dir
    index = Index.open(path)
    qs = queries(twin)
    with ShardedIndex(path, shards=2) as sharded:
        plan = sharded.plan
        _, pid = sharded.locations()[0]
        os.kill(pid, signal.SIGKILL)
        # a search sent while Ray notices the death fails on that shard (reported, the other
        # shard's answer kept); one sent once Ray restarts it waits for it and is complete
        got = sharded.search(qs, k=5, mode="maxsim")
        if got[0].failed:
            assert all(
                len(r.failed) == 1 and r.failed[0].shard == 0 and r.failed[0].reason.startswith("failed: ") for r in got
            )
            want = index.search(qs, k=5, mode="maxsim", segments=list(plan.segments[1]))
            assert [r.ids for r in got] == [w.ids for w in want]
        else:
            assert [r.ids for r in got] == [w.ids for w in index.search(qs, k=5, mode="maxsim")]
        # the restarted actor reopened the index: complete again (a loaded machine may take seconds
        # to restart it; until then the shard is reported as restarting)
        deadline = time.monotonic() + 120
        while any(r.failed for r in sharded.search(qs, k=5, mode="maxsim")):
            assert time.monotonic() < deadline, "the killed shard did not come back within 120 s"
            time.sleep(0.5)
        assert_same_as_index(sharded, index, qs, k=5, n_candidates=5)
        assert sharded.locations()[0][1] != pid


def test_bad_arguments_are_refused(cluster, index_dir):
    path, twin = index_dir
    with pytest.raises(ValueError, match="shards must be an int >= 1, got 0"):
        ShardedIndex(path, shards=0)
    with ShardedIndex(path, shards=1) as sharded:
        with pytest.raises(ValueError, match="mode must be one of"):
            sharded.search(twin, mode="exact")
        with pytest.raises(ValueError, match="timeout must be a number of seconds > 0 or None, got 0"):
            sharded.search(twin, timeout=0)
        with pytest.raises(ValueError, match="queries have dimension 16, the index 32"):
            sharded.search(np.zeros((3, 16), np.float32))
        with pytest.raises(TypeError, match="queries must be a string"):
            sharded.search(42)
