"""Distributed builds on a local three-node Ray cluster: the index they commit equals a
single-process build of the same documents; progress is reported; bad input is refused before
any worker starts."""

from __future__ import annotations

import json
import os
import signal
import threading

import numpy as np
import pytest
from ray_helpers import assert_same_documents, assert_same_search, ray_processes, texts

from muvera_nano.distributed import BuildCancelled, DistributedBuildError, build_index
from muvera_nano.index import Index


def rows(n: int, seed: int = 0, prefix: str = "d") -> list[dict]:
    return [{"id": f"{prefix}{i}", "text": t} for i, t in enumerate(texts(n, seed))]


def single_process(path, model, items, **settings) -> Index:
    index = Index.create(path, encoder=model, merge="off", **settings)
    index.add([r["text"] for r in items], ids=[r["id"] for r in items])
    return index


def test_a_build_from_a_dataset_equals_a_single_process_build(cluster, models, tmp_path):
    import ray.data

    model = models.model_folder("nano")
    items = rows(300)
    seen = []
    report = build_index(
        ray.data.from_items(items, override_num_blocks=5),
        tmp_path / "ix",
        model=model,
        workers=2,
        batch_size=64,
        merge="off",
        progress=seen.append,
    )
    built = Index.open(tmp_path / "ix", verify=True)
    sizes = [s.documents for s in built.segments()]
    # a segment per batch of at most 64 documents (Ray Data cuts batches at block ends too)
    assert report.documents == sum(sizes) == 300 and report.segments == len(sizes) >= 5 and max(sizes) <= 64
    assert report.generation == built.info()["generation"]
    assert os.listdir(tmp_path / "ix" / "jobs") == []
    one = single_process(tmp_path / "one", model, items)
    assert_same_documents(built, one)
    assert_same_search(built, one, ["worker commit", "sketch of a shard", "tie"])
    # progress per segment: documents so far, the total (counted), rate and time left
    assert [p.documents for p in seen] == np.cumsum(sizes).tolist()
    assert all(p.total == 300 and p.rate > 0 and p.eta is not None for p in seen)
    assert seen[-1].eta == 0 and seen[-1].seconds >= seen[0].seconds


def test_builds_from_files_append_to_an_index_in_order(cluster, models, tmp_path):
    import pyarrow as pa
    import pyarrow.csv
    import pyarrow.parquet

    model = models.model_folder("nano")
    first, second, third = rows(40, 1, "j"), rows(50, 2, "p"), rows(30, 3, "c")
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in first))
    pyarrow.parquet.write_table(pa.Table.from_pylist(second), tmp_path / "b.parquet")
    pyarrow.csv.write_csv(pa.Table.from_pylist(third), tmp_path / "c.csv")
    build_index(tmp_path / "a.jsonl", tmp_path / "ix", model=model, batch_size=16, merge="off")
    build_index([tmp_path / "b.parquet"], tmp_path / "ix", model=model, batch_size=16, merge="off")
    build_index(tmp_path / "c.csv", tmp_path / "ix", model=model, batch_size=64, merge="off")
    built = Index.open(tmp_path / "ix", verify=True)
    sizes = [s.documents for s in built.segments()]
    assert sum(sizes) == 120 and max(sizes[:-1]) <= 16 and len(sizes) >= 3 + 4 + 1  # a segment per batch
    one = single_process(tmp_path / "one", model, first + second + third)
    assert_same_documents(built, one)


def test_bad_input_is_refused_before_any_work(cluster, models, tmp_path):
    import ray.data

    model = models.model_folder("nano")
    ds = ray.data.from_items(rows(5))
    with pytest.raises(ValueError, match=r"the source has no column 'body'; its columns are \['id', 'text'\]"):
        build_index(ds, tmp_path / "ix", model=model, text_column="body")
    with pytest.raises(TypeError, match=r"source must be a ray\.data\.Dataset, or a path or list of paths"):
        build_index({"id": 1}, tmp_path / "ix", model=model)
    with pytest.raises(ValueError, match=r"cannot tell the format from '\.txt'"):
        build_index(tmp_path / "docs.txt", tmp_path / "ix", model=model)
    with pytest.raises(ValueError, match="workers must be an int >= 1, got 0"):
        build_index(ds, tmp_path / "ix", model=model, workers=0)
    with pytest.raises(TypeError, match="progress must be a bool or a function taking a DistributedProgress, got str"):
        build_index(ds, tmp_path / "ix", model=model, progress="yes")
    assert not (tmp_path / "ix").exists()
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['token_type'\]"):
        build_index(ds, tmp_path / "ix", model=model, token_type="int8")
    Index.create(tmp_path / "old", encoder=model)
    with pytest.raises(ValueError, match="holds an index already; its settings \\(token_dtype\\) are its own"):
        build_index(ds, tmp_path / "old", model=model, token_dtype="int8")


def test_a_failing_build_commits_nothing(cluster, models, tmp_path):
    import ray.data

    model = models.model_folder("nano")
    index = single_process(tmp_path / "ix", model, rows(20, 4, "old"))
    before = index.info()["generation"]
    clash = rows(30) + [{"id": "old3", "text": "an id the index holds"}]
    with pytest.raises(DistributedBuildError, match="id 'old3' is already in the index"):
        build_index(ray.data.from_items(clash), tmp_path / "ix", model=model, batch_size=8)
    bad = rows(30) + [{"id": "x", "text": None}]  # a worker's batch fails
    with pytest.raises(DistributedBuildError, match="the distributed build failed, nothing was committed"):
        build_index(ray.data.from_items(bad), tmp_path / "ix", model=model, batch_size=8)
    after = Index.open(tmp_path / "ix", verify=True)
    assert after.info()["generation"] == before and len(after) == 20
    assert os.listdir(tmp_path / "ix" / "jobs") == []


def test_a_worker_killed_mid_build_is_retried_and_the_index_is_complete(cluster, models, tmp_path):
    import ray.data

    model = models.model_folder("nano")
    items = rows(240, 5)
    killed, earlier = [], set(ray_processes("SegmentWriter"))  # of earlier builds, ending

    def kill_a_worker(progress):
        if not killed:  # at the first segment written: the others are in flight or queued
            pids = sorted(set(ray_processes("SegmentWriter")) - earlier)
            assert pids, "no SegmentWriter process found"
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    report = build_index(
        ray.data.from_items(items, override_num_blocks=15),
        tmp_path / "ix",
        model=model,
        workers=2,
        batch_size=16,
        merge="off",
        progress=kill_a_worker,
    )
    assert killed and report.documents == 240
    built = Index.open(tmp_path / "ix", verify=True)
    assert os.listdir(tmp_path / "ix" / "jobs") == []
    one = single_process(tmp_path / "one", model, items)
    assert_same_documents(built, one)


def test_a_cancelled_build_leaves_the_committed_state(cluster, models, tmp_path):
    import ray.data

    model = models.model_folder("nano")
    index = single_process(tmp_path / "ix", model, rows(20, 4, "old"))
    before = (index.info()["generation"], index.segments())
    cancel = threading.Event()
    seen = []

    def cancel_at_the_first_segment(progress):
        seen.append(progress.documents)
        cancel.set()

    with pytest.raises(BuildCancelled, match="the build was cancelled; nothing was committed"):
        build_index(
            ray.data.from_items(rows(200), override_num_blocks=10),
            tmp_path / "ix",
            model=model,
            batch_size=20,
            progress=cancel_at_the_first_segment,
            cancel=cancel,
        )
    assert seen == [20]
    after = Index.open(tmp_path / "ix", verify=True)
    assert (after.info()["generation"], after.segments()) == before
    assert os.listdir(tmp_path / "ix" / "jobs") == []


def test_codebooks_are_trained_once_on_the_driver_and_used_by_every_worker(cluster, models, tmp_path):
    import ray.data
    import trained_kinds as tk

    model = models.model_folder("nano")
    items = rows(160, 6)
    kinds = {"token_dtype": "test-table-int8", "fde_dtype": "test-table-int8"}
    report = build_index(
        ray.data.from_items(items, override_num_blocks=4),
        tmp_path / "ix",
        model=model,
        workers=2,
        batch_size=32,
        merge="off",
        **kinds,
    )
    built = Index.open(tmp_path / "ix", verify=True)
    info = built.info()
    book = {"kind": {"kind": "test-table-int8"}, "documents": tk.MIN_DOCUMENTS}
    assert info["codebooks"] == {"tokens": book, "fde": book}
    assert info["storage"] == [
        {"tokens": "test-table-int8", "fde": "test-table-int8", "segments": report.segments, "documents": 160}
    ]  # no worker wrote a staged segment
    # a single-process build that trains on the same first documents stores the same codes
    one = Index.create(tmp_path / "one", encoder=model, merge="off", **kinds)
    first, rest = items[: tk.MIN_DOCUMENTS], items[tk.MIN_DOCUMENTS :]
    one.add([r["text"] for r in first], ids=[r["id"] for r in first])
    one.add([r["text"] for r in rest], ids=[r["id"] for r in rest])
    assert_same_documents(built, one)
    assert_same_search(built, one, ["worker commit", "sketch of a shard"])
