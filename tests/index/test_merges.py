"""Segments that merge themselves: many tiny adds keep the count bounded; an index of segments of
different ages after merges gives the results of one compacted segment; merges are re-validated
when they publish; readers (threads and another process) always see a consistent snapshot with
identical results while merges run; a killed merge leaves the last committed state."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from conftest import random_docs, random_queries

from muvera_nano.index import Index, TieredMergePolicy, maintenance
from muvera_nano.index import merge as merge_module
from muvera_nano.index.codebooks import output_kinds

MODES = ("maxsim", "muvera", "rerank")
SMALL = TieredMergePolicy(segments_per_tier=3, factor=3, floor_documents=4, max_merged_documents=400)


def results(idx, qs, **kw):
    return {
        mode: [(r.ids, r.scores.tolist()) for r in idx.search(qs, k=15, mode=mode, n_candidates=40, **kw)]
        for mode in MODES
    }


def test_two_thousand_single_document_adds_keep_the_segment_count_bounded(fast_folder, rng, small_fde):
    idx = Index.create(fast_folder / "ix", dim=32, fde=small_fde)  # the default policy
    docs = random_docs(rng, 2000, lo=1, hi=12)
    policy = idx.merge_policy
    most = 0
    start = time.perf_counter()
    for i, doc in enumerate(docs):
        idx.add(token_vectors=[doc], ids=[f"d{i}"])
        most = max(most, len(idx._segments))
        assert len(idx._segments) <= policy.segments_per_tier  # every segment is in the lowest tier
    took = time.perf_counter() - start
    assert len(idx) == 2000 and most == policy.segments_per_tier
    reopened = Index.open(fast_folder / "ix", verify=True)
    assert reopened.ids() == [f"d{i}" for i in range(2000)]
    one = Index.create(None, dim=32, fde=small_fde)
    one.add(token_vectors=docs, ids=[f"d{i}" for i in range(2000)])
    qs = random_queries(rng, 3)
    assert results(reopened, qs) == results(one, qs)
    print(f"2,000 single-document adds: {took:.1f} s, {len(idx._segments)} segments at the end, {most} at most")


@pytest.mark.parametrize("where", ["folder", "memory"])
@pytest.mark.parametrize("token_dtype, fde_dtype", [("float16", "float16"), ("int8", "int8"), ("bfloat16", "float32")])
def test_segments_of_different_ages_give_the_results_of_one_compacted_segment(
    fast_folder, rng, small_fde, where, token_dtype, fde_dtype
):
    kw = dict(dim=32, fde=small_fde, token_dtype=token_dtype, fde_dtype=fde_dtype)
    idx = Index.create(fast_folder / "ix" if where == "folder" else None, merge_policy=SMALL, **kw)
    docs = random_docs(rng, 400, lo=1, hi=30)
    at, removed = 0, set()
    for size in [1, 1, 2, 5, 1, 37, 1, 1, 3, 120, 1, 1, 1, 9, 64, 2, 2, 1, 1, 30, 1, 4, 1, 1, 50, 1, 1, 1, 1]:
        idx.add(token_vectors=docs[at : at + size], ids=list(range(at, at + size)))
        at += size
        if size > 2:  # remove a few, old and new
            gone = [int(i) for i in rng.choice(at, 3, replace=False) if int(i) not in removed]
            idx.remove(gone)
            removed.update(gone)
    live = [i for i in range(at) if i not in removed]
    names = [s.name for s in idx._segments]
    sizes = [s.n for s in idx._segments]
    assert len(set(sizes)) > 3 and len(names) > 3  # segments of several ages and sizes
    assert any(s.deleted is not None for s in idx._segments)  # with removed documents
    qs = random_queries(rng, 6)
    mixed = results(idx, qs)
    one = Index.create(None, merge="off", **kw)  # one segment of the live documents, in order
    one.add(token_vectors=[docs[i] for i in live], ids=live)
    assert len(one._segments) == 1 and mixed == results(one, qs)
    idx.compact()
    assert len(idx._segments) == 1 and idx._segments[0].deleted is None
    assert idx.ids() == live and results(idx, qs) == mixed
    if where == "folder":
        assert results(Index.open(fast_folder / "ix", verify=True), qs) == mixed


def test_removals_committed_during_a_merge_are_applied_to_it(tmp_path, rng, small_fde):
    path = tmp_path / "ix"
    idx = Index.create(path, dim=32, fde=small_fde, merge="off")
    docs = random_docs(rng, 60)
    for s in range(0, 60, 10):
        idx.add(token_vectors=docs[s : s + 10])
    writer = idx._writer
    plan = merge_module.plan(writer.state.segments, 1, 5, output_kinds(writer.state), "test")
    with writer.job() as job:
        out = maintenance.write(writer, plan, job, None, None)
        other = Index.open(path)  # another writer removes documents of the merged segments meanwhile
        other.remove([12, 25, 26, 49, 55])  # 55: in a segment the merge does not touch
        assert maintenance.publish(writer, out, job)
    for reopened in (idx, Index.open(path, verify=True)):
        assert [s.n for s in reopened._segments] == [10, 40, 10]
        assert reopened._segments[1].deleted.sum() == 4
        assert reopened.ids() == [i for i in range(60) if i not in (12, 25, 26, 49, 55)]
    one = Index.create(None, dim=32, fde=small_fde)
    one.add(token_vectors=[d for i, d in enumerate(docs) if i not in (12, 25, 26, 49, 55)], ids=Index.open(path).ids())
    qs = random_queries(rng, 4)
    assert results(idx, qs) == results(one, qs)
    idx.remove([13])  # the id map follows the merge
    assert 13 not in Index.open(path).ids()


def test_a_merge_whose_segments_were_merged_meanwhile_is_abandoned(tmp_path, rng, small_fde):
    path = tmp_path / "ix"
    idx = Index.create(path, dim=32, fde=small_fde, merge="off")
    for _ in range(4):
        idx.add(token_vectors=random_docs(rng, 10))
    writer = idx._writer
    plan = merge_module.plan(writer.state.segments, 0, 3, output_kinds(writer.state), "test")
    with writer.job() as job:
        out = maintenance.write(writer, plan, job, None, None)
        Index.open(path).compact()  # takes the same segments
        before = json.loads((path / "manifest.json").read_text())
        assert not maintenance.publish(writer, out, job)
        assert json.loads((path / "manifest.json").read_text()) == before  # nothing published
    assert [s.n for s in idx._segments] == [40]
    idx.remove([0])  # the next commit removes what the abandoned merge left: nothing is
    assert os.listdir(path / "jobs") == []
    named = {r.file for _, r in Index.open(path)._manifest.records()}
    assert {n for n in os.listdir(path) if n.startswith("seg-")} == named


READER = textwrap.dedent("""
    import json, sys, numpy as np
    from muvera_nano.index import Index
    want = json.load(open(sys.argv[2]))
    qs = [np.array(q, dtype=np.float32) for q in want["queries"]]
    idx = Index.open(sys.argv[1])
    seen, checks = set(), 0
    while True:
        idx.refresh()
        seen.add(len(idx._segments))
        got = {mode: [[r.ids, r.scores.tolist()] for r in idx.search(qs, k=15, mode=mode, n_candidates=40)]
               for mode in ("maxsim", "muvera", "rerank")}
        assert got == want["results"], "results changed during merges"
        checks += 1
        if len(idx._segments) == 1 and checks > 5:
            break
    print(checks, len(seen))
""")


def test_readers_see_identical_results_while_merges_run(tmp_path, fast_folder, rng, small_fde):
    path = fast_folder / "ix"
    idx = Index.create(path, dim=32, fde=small_fde, merge="off")
    sizes = rng.integers(1, 25, 60)
    docs = random_docs(rng, int(sizes.sum()), lo=1, hi=20)
    at = 0
    for size in sizes:
        idx.add(token_vectors=docs[at : at + size], ids=list(range(at, at + size)))
        at += size
    idx.remove(list(range(0, at, 7)))
    qs = random_queries(rng, 4)
    want = results(idx, qs)
    (tmp_path / "want.json").write_text(json.dumps({"queries": [q.tolist() for q in qs], "results": want}))
    other = subprocess.Popen(
        [sys.executable, "-c", READER, str(path), str(tmp_path / "want.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    same_object, refreshing = [], Index.open(path)
    errors, done = [], threading.Event()

    def read(index, counts):
        try:
            while not done.is_set():
                index.refresh()
                assert results(index, qs) == want
                counts.append(len(index._segments))
        except Exception as e:
            errors.append(e)

    threads = [
        threading.Thread(target=read, args=(idx, same_object)),
        threading.Thread(target=read, args=(refreshing, [])),
    ]
    for t in threads:
        t.start()
    writer = Index.open(path, merge="background", merge_policy=SMALL)
    writer.merge()  # in this thread, while the background one (woken by nothing yet) waits
    writer.compact()
    done.set()
    for t in threads:
        t.join()
    writer.close()
    out, err = other.communicate(timeout=300)
    assert other.returncode == 0, err
    assert not errors, errors
    checks, snapshots = map(int, out.split())
    assert checks > 5 and snapshots >= 1  # the other process compared results until it saw the merged index
    assert len(set(same_object)) > 1  # the readers did search during the merges
    assert results(Index.open(path, verify=True), qs) == want


def test_background_merges_follow_commits_without_blocking_them(fast_folder, rng, small_fde):
    path = fast_folder / "ix"
    docs = random_docs(rng, 300, lo=1, hi=10)
    with Index.create(path, dim=32, fde=small_fde, merge="background", merge_policy=SMALL) as idx:
        for i, d in enumerate(docs):
            idx.add(token_vectors=[d])
            if i % 50 == 49:
                idx.remove([i - 3])
        assert idx.wait_for_merges(timeout=120)
        assert len(idx._segments) <= SMALL.bound(len(idx))
        live = [i for i in range(300) if not (i % 50 == 46)]
        assert idx.ids() == live
    one = Index.create(None, dim=32, fde=small_fde)
    one.add(token_vectors=[docs[i] for i in live], ids=live)
    qs = random_queries(rng, 3)
    assert results(Index.open(path, verify=True), qs) == results(one, qs)


def test_two_processes_merging_the_same_index_stay_consistent(fast_folder, rng, small_fde):
    path = fast_folder / "ix"
    Index.create(path, dim=32, fde=small_fde)
    script = textwrap.dedent("""
        import sys, numpy as np
        from muvera_nano.index import Index, TieredMergePolicy
        policy = TieredMergePolicy(segments_per_tier=3, factor=3, floor_documents=4, max_merged_documents=400)
        idx = Index.open(sys.argv[1], merge=sys.argv[3], merge_policy=policy)
        rng = np.random.default_rng(int(sys.argv[2]))
        for i in range(150):
            x = rng.standard_normal((int(rng.integers(1, 8)), 32)).astype(np.float32)
            idx.add(token_vectors=[x / np.linalg.norm(x, axis=1, keepdims=True)], ids=[f"p{sys.argv[2]}-{i}"])
            if i % 10 == 9:
                idx.remove([f"p{sys.argv[2]}-{i - 4}"])
        idx.wait_for_merges()
        idx.close()
    """)
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(path), str(seed), mode], stderr=subprocess.PIPE, text=True)
        for seed, mode in ((1, "commit"), (2, "background"))
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)  # reads and closes the pipe (an open one is a ResourceWarning)
        assert p.returncode == 0, err
    idx = Index.open(path, verify=True)
    want = {f"p{s}-{i}" for s in (1, 2) for i in range(150) if i % 10 != 5}
    assert sorted(idx.ids()) == sorted(want) and len(idx.ids()) == len(want)
    idx.merge()
    assert len(idx._segments) <= SMALL.bound(len(idx))
    assert os.listdir(path / "jobs") == []


KILLED = textwrap.dedent("""
    import sys
    from muvera_nano.index import Index, merge
    merge.WINDOW_DOCUMENTS = 1  # a window per document: a slow merge (0.5 s), to be killed in the middle
    idx = Index.open(sys.argv[1])
    print("merging", flush=True)
    idx.compact()
    print("done", flush=True)
""")


def test_a_killed_merge_leaves_the_last_committed_state(tmp_path, rng, small_fde):
    path = tmp_path / "ix"
    idx = Index.create(path, dim=32, fde=small_fde, merge="off")
    docs = random_docs(rng, 2400, lo=1, hi=12)
    for s in range(0, 2400, 300):
        idx.add(token_vectors=docs[s : s + 300])
    idx.remove(list(range(0, 2400, 11)))
    qs = random_queries(rng, 3)
    want, ids = results(idx, qs), idx.ids()
    interrupted = 0
    for delay in (0.05, 0.15, 0.3, 0.6, 1.5):
        proc = subprocess.Popen([sys.executable, "-c", KILLED, str(path)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "merging"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()  # waits, and closes the pipe (an open one is a ResourceWarning)
        after = Index.open(path, verify=True)
        assert after.ids() == ids and results(after, qs) == want  # merged or not: the same documents and results
        if len(after._segments) > 1:
            interrupted += 1
            assert any(os.listdir(path / "jobs" / j) for j in os.listdir(path / "jobs") if not j.endswith(".lock"))
        else:
            break
    assert interrupted >= 1  # at least one kill landed in the middle of the merge
    Index.open(path).remove([ids[0]])  # the next commit removes the dead merge's files
    assert os.listdir(path / "jobs") == []
    named = {r.file for _, r in Index.open(path)._manifest.records()}
    assert {n for n in os.listdir(path) if n.startswith(("seg-", ".tmp-"))} == named


def test_merged_segments_get_their_graph(fast_folder, rng, small_fde):
    from muvera_nano.index import GraphConfig

    graph = GraphConfig(connectivity=8, expansion_add=64, expansion_search=64, dtype="f32")
    kw = dict(dim=32, fde=small_fde, fde_dtype="float32")
    idx = Index.create(fast_folder / "ix", backend="hnsw", graph=graph, merge_policy=SMALL, **kw)
    exact = Index.create(None, merge="off", **kw)
    docs = random_docs(rng, 300, lo=1, hi=10)
    for s in range(0, 300, 20):
        idx.add(token_vectors=docs[s : s + 20])
    exact.add(token_vectors=docs)
    reopened = Index.open(fast_folder / "ix", verify=True)
    assert 1 < len(reopened._segments) < 15 and max(s.n for s in reopened._segments) > 20  # merged
    assert all(s.graph is not None and len(s.graph) == s.n for s in reopened._segments)
    qs = random_queries(rng, 3)
    for got, want in zip(reopened.search(qs, k=10, mode="muvera"), exact.search(qs, k=10, mode="muvera")):
        assert len(set(got.ids) & set(want.ids)) >= 8  # the graphs find the exact scan's neighbours
