"""Builds in several processes published in one commit: a driver starts a job, workers prepare
segments into it, the driver commits their records at once. A job that fails publishes nothing
and its files go; a killed worker or driver leaves nothing behind once the job is over."""

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from conftest import random_docs, random_queries

from muvera_nano.index import Index, PreparedSegment

WORKER = textwrap.dedent("""
    import pickle, sys, numpy as np
    from muvera_nano.index import Index, build
    path, job, seed, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    build.CHUNK_DOCUMENTS = int(sys.argv[6])  # small chunks: several segments per worker
    rng = np.random.default_rng(seed)
    docs = [x / np.linalg.norm(x, axis=1, keepdims=True) for x in
            (rng.standard_normal((int(rng.integers(1, 30)), 32)).astype(np.float32) for _ in range(n))]
    print("preparing", flush=True)
    records = Index.open(path).prepare(job, token_vectors=docs, ids=[f"w{seed}-{i}" for i in range(n)])
    with open(out, "wb") as f:
        pickle.dump(records, f)
""")


def worker_docs(seed, n):
    rng = np.random.default_rng(seed)
    return [
        x / np.linalg.norm(x, axis=1, keepdims=True)
        for x in (rng.standard_normal((int(rng.integers(1, 30)), 32)).astype(np.float32) for _ in range(n))
    ]


def run_worker(path, job, seed, n, out, chunk=40):
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(path), job, str(seed), str(n), str(out), str(chunk)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def files_in(folder):
    return sorted(n for n in os.listdir(folder))


def test_two_processes_prepare_and_one_commit_publishes_both(tmp_path, rng, small_fde):
    path = tmp_path / "ix"
    idx = Index.create(path, dim=32, fde=small_fde)
    old = random_docs(rng, 10)
    idx.add(token_vectors=old, ids=[f"old-{i}" for i in range(10)])
    with idx.start_job() as job:
        workers = [run_worker(path, job.id, seed, 100, tmp_path / f"w{seed}.pkl") for seed in (1, 2)]
        for w in workers:
            _, err = w.communicate(timeout=300)  # reads and closes the pipes
            assert w.returncode == 0, err
        records = [r for seed in (1, 2) for r in pickle.loads((tmp_path / f"w{seed}.pkl").read_bytes())]
        assert len(records) == 6 and all(isinstance(r, PreparedSegment) for r in records)  # 40-document chunks
        assert len(Index.open(path)) == 10  # nothing visible before the commit
        added = idx.commit_prepared(records)
    assert added == [f"w{s}-{i}" for s in (1, 2) for i in range(100)]
    assert files_in(path / "jobs") == []
    reopened = Index.open(path, verify=True)
    assert reopened.ids() == [f"old-{i}" for i in range(10)] + added
    one = Index.create(None, dim=32, fde=small_fde)  # the same documents added in one process
    one.add(token_vectors=old + worker_docs(1, 100) + worker_docs(2, 100), ids=reopened.ids())
    for q in random_queries(rng, 3):
        for mode in ("maxsim", "muvera", "rerank"):
            got, want = reopened.search(q, k=20, mode=mode), one.search(q, k=20, mode=mode)
            assert got.ids == want.ids
            np.testing.assert_array_equal(got.scores, want.scores)


def test_a_killed_worker_and_a_job_that_fails_leave_nothing(tmp_path, rng, small_fde):
    path = tmp_path / "ix"
    idx = Index.create(path, dim=32, fde=small_fde)
    idx.add(token_vectors=random_docs(rng, 5), ids=[f"old-{i}" for i in range(5)])
    with idx.start_job() as job:
        good = run_worker(path, job.id, 1, 60, tmp_path / "good.pkl")
        doomed = run_worker(path, job.id, 2, 20000, tmp_path / "doomed.pkl", chunk=20)  # killed while writing
        assert doomed.stdout.readline().strip() == "preparing"
        _, err = good.communicate(timeout=300)
        assert good.returncode == 0, err
        prepared = len(os.listdir(path / "jobs" / job.id))  # the good worker's files
        deadline = time.time() + 60
        while len(os.listdir(path / "jobs" / job.id)) < prepared + 6 and time.time() < deadline:
            time.sleep(0.02)
        doomed.send_signal(signal.SIGKILL)
        doomed.communicate()
        left = len(os.listdir(path / "jobs" / job.id))
        assert left >= prepared + 6  # the killed worker's files (some maybe half written) are in the job
        Index.open(path).remove(["old-0"])  # another commit meanwhile: a live job's files are kept
        assert len(os.listdir(path / "jobs" / job.id)) == left
        idx.commit_prepared(pickle.loads((tmp_path / "good.pkl").read_bytes()))
    assert files_in(path / "jobs") == []  # the killed worker's files went with the job
    assert sorted(Index.open(path, verify=True).ids()[4:]) == sorted(f"w1-{i}" for i in range(60))
    # a job closed without a commit publishes nothing and removes what was prepared
    with idx.start_job() as job:
        records = idx.prepare(job, token_vectors=random_docs(rng, 30), ids=[f"x{i}" for i in range(30)])
        assert len(os.listdir(path / "jobs" / job.id)) > 0
    assert files_in(path / "jobs") == [] and "x0" not in Index.open(path).ids()
    with pytest.raises(ValueError, match=f"job {job.id} of .* is not live"):
        idx.commit_prepared(records)
    with pytest.raises(ValueError, match="is not live"):
        idx.prepare(job.id, token_vectors=random_docs(rng, 1))
    assert {n for n in files_in(path) if n.startswith("seg-")} == {r.file for _, r in idx._manifest.records()}


DRIVER = textwrap.dedent("""
    import sys, time, numpy as np
    from muvera_nano.index import Index
    idx = Index.open(sys.argv[1])
    job = idx.start_job()
    rng = np.random.default_rng(0)
    idx.prepare(job, token_vectors=[rng.standard_normal((5, 32)).astype(np.float32) for _ in range(50)])
    print(job.id, flush=True)
    time.sleep(600)
""")


def test_the_files_of_a_killed_driver_are_removed_by_the_next_commit(tmp_path, rng, small_fde):
    path = tmp_path / "ix"
    Index.create(path, dim=32, fde=small_fde).add(token_vectors=random_docs(rng, 5))
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(path)], stdout=subprocess.PIPE, text=True)
    job_id = driver.stdout.readline().strip()
    assert os.listdir(path / "jobs" / job_id)
    Index.open(path).remove([0])
    assert os.listdir(path / "jobs" / job_id)  # live: kept
    driver.send_signal(signal.SIGKILL)
    driver.communicate()
    Index.open(path).remove([1])
    assert files_in(path / "jobs") == []
    assert len(Index.open(path, verify=True)) == 3


def test_a_commit_checks_the_records_as_a_whole(tmp_path, rng, small_fde):
    path = tmp_path / "ix"
    idx = Index.create(path, dim=32, fde=small_fde)
    idx.add(token_vectors=random_docs(rng, 3), ids=["a", "b", "c"])
    with idx.start_job() as job:
        one = idx.prepare(job, token_vectors=random_docs(rng, 2), ids=["d", "e"])
        two = idx.prepare(job, token_vectors=random_docs(rng, 2), ids=["e", "f"])
        clash = idx.prepare(job, token_vectors=random_docs(rng, 1), ids=["b"])
        plain = idx.prepare(job, token_vectors=random_docs(rng, 1))
        generation = idx._manifest.generation
        with pytest.raises(ValueError, match="ids contains 'e' more than once"):
            idx.commit_prepared(one + two)
        with pytest.raises(ValueError, match="id 'b' is already in the index"):
            idx.commit_prepared(one + clash)
        with pytest.raises(ValueError, match="records mix documents with ids and without"):
            idx.commit_prepared(one + plain)
        with pytest.raises(TypeError, match=r"records must be what Index\.prepare returned"):
            idx.commit_prepared([{"job": job.id}])
        assert Index.open(path)._manifest.generation == generation  # nothing committed
        assert idx.commit_prepared(one) == ["d", "e"]
    with pytest.raises(ValueError, match="jobs need an index folder"):
        Index.create(None, dim=32, fde=small_fde).start_job()
    with pytest.raises(ValueError, match="job must be a job id"):
        idx.prepare("../../etc", token_vectors=random_docs(rng, 1))


def test_cleanup_tolerates_a_job_closing_while_it_looks(tmp_path, monkeypatch):
    # a job closes itself (not under the writer lock) between cleanup seeing its lock file and
    # opening it: a background merge's cleanup once failed with FileNotFoundError there
    from muvera_nano.index import jobs

    (tmp_path / "ix").mkdir()
    job = jobs.Job.start(str(tmp_path / "ix"))
    real_exists = os.path.exists

    def exists_then_close(p):
        seen = real_exists(p)
        if p.endswith(".lock") and job.live:
            job.close()
        return seen

    monkeypatch.setattr(jobs.os.path, "exists", exists_then_close)
    assert jobs.remove_dead_jobs(str(tmp_path / "ix")) == [job.id]
    monkeypatch.undo()
    assert os.listdir(jobs.jobs_folder(str(tmp_path / "ix"))) == []
