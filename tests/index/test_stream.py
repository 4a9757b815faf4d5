"""Builds from a stream of batches: a segment committed at a time with progress per batch, a
failure that says what was committed, resuming with skip_existing, and memory that does not grow
with the size of the build."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import random_docs, random_queries

from muvera_nano.index import BuildProgress, Index, IndexBuildError


def batches_of(docs, size, ids=True, start=0):
    for s in range(0, len(docs), size):
        batch = {"token_vectors": docs[s : s + size]}
        if ids:
            batch["ids"] = [f"d{i}" for i in range(start + s, start + s + len(batch["token_vectors"]))]
        yield batch


def test_a_segment_is_committed_at_a_time_with_progress_per_batch(tmp_path, rng, small_fde):
    path = tmp_path / "ix"
    idx = Index.create(path, dim=32, fde=small_fde, merge="off")
    docs = random_docs(rng, 290)
    seen = []

    def progress(p):
        seen.append((p, len(Index.open(path))))

    assert idx.add_batches(batches_of(docs, 30), segment_documents=100, progress=progress) == 290
    assert [p.documents for p, _ in seen] == [30, 60, 90, 120, 150, 180, 210, 240, 270, 290, 290]
    # reported per batch, before the segment it belongs to is committed (100 at a time), and at the end
    assert [p.committed for p, _ in seen] == [0, 0, 0, 100, 100, 100, 200, 200, 200, 200, 290]
    assert [n for _, n in seen] == [p.committed for p, _ in seen]
    assert all(isinstance(p, BuildProgress) and p.skipped == 0 and p.seconds >= 0 for p, _ in seen)
    assert [s.n for s in idx._segments] == [100, 100, 90]
    one = Index.create(None, dim=32, fde=small_fde)
    one.add(token_vectors=docs, ids=[f"d{i}" for i in range(290)])
    for q in random_queries(rng, 3):
        a, b = Index.open(path).search(q, k=10), one.search(q, k=10)
        assert a.ids == b.ids
        np.testing.assert_array_equal(a.scores, b.scores)


def test_a_failed_batch_says_what_was_committed_and_the_build_resumes(tmp_path, rng, small_fde):
    path = tmp_path / "ix"
    idx = Index.create(path, dim=32, fde=small_fde)
    docs = random_docs(rng, 200)

    def failing():
        for i, batch in enumerate(batches_of(docs, 25)):
            if i == 5:
                batch = {"token_vectors": [np.zeros((3, 16), np.float32)], "ids": ["bad"]}
            yield batch

    with pytest.raises(IndexBuildError) as err:
        idx.add_batches(failing(), segment_documents=50)
    message = str(err.value)
    assert message.startswith("batch 5 failed: ValueError: batch 5 token_vectors[0] has dimension 16, the index 32; ")
    assert message.endswith(
        "100 documents in 2 commits (the last id 'd99') were committed before it and stay in the "
        "index; add the rest with skip_existing=True"
    )
    assert err.value.committed == 100 and err.value.last_id == "d99" and isinstance(err.value.__cause__, ValueError)
    assert Index.open(path).ids() == [f"d{i}" for i in range(100)]
    seen = []
    assert idx.add_batches(batches_of(docs, 25), skip_existing=True, segment_documents=50, progress=seen.append) == 100
    assert seen[-1].skipped == 100 and seen[-1].documents == 200 and seen[-1].committed == 100
    assert Index.open(path, verify=True).ids() == [f"d{i}" for i in range(200)]
    with pytest.raises(
        IndexBuildError, match=r"batch 0 failed: ValueError: skip_existing needs ids: .*; nothing was committed"
    ):
        idx.add_batches(batches_of(docs, 25, ids=False), skip_existing=True)
    with pytest.raises(IndexBuildError, match="batch 0 failed: ValueError: id 'd0' is already in the index"):
        idx.add_batches(batches_of(docs, 25))


def test_batches_of_texts_with_a_progress_bar(tmp_path, models, capsys):
    idx = Index.create(tmp_path / "ix", encoder=models.model_folder("nano"))
    texts = [f"document number {i} about {'cats' if i % 2 else 'dogs'}" for i in range(40)]
    batches = [texts[0:8], texts[8:16], {"texts": texts[16:24]}, {"texts": texts[24:40], "ids": None}]
    assert idx.add_batches(iter(batches), progress=True, total=40) == 40
    err = capsys.readouterr().err
    assert "indexing" in err and "40/40" in err and "doc/s" in err
    assert idx.ids() == list(range(40))
    want = Index.create(None, encoder=idx.encoder)
    want.add(texts)
    assert idx.search("cats", k=5, mode="maxsim").ids == want.search("cats", k=5, mode="maxsim").ids
    with pytest.raises(ValueError, match="segment_documents must be an int >= 1, got 0"):
        idx.add_batches([], segment_documents=0)
    with pytest.raises(TypeError, match="progress must be a bool or a function, got str"):
        idx.add_batches([], progress="yes")
    with pytest.raises(IndexBuildError, match="batch 0 failed: ValueError: batch 0 has unknown keys \\['text'\\]"):
        idx.add_batches([{"text": ["x"]}])


BUILD = textwrap.dedent("""
    import sys, numpy as np
    import muvera_nano as mn
    from muvera_nano.index import Index
    path, n, how = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    fde = mn.FDEConfig.google(128, repetitions=8, simhash_bits=4, projection_dimension=16, fill_empty=True)

    def batches():  # generated as they are needed: the stream itself holds one batch
        rng = np.random.default_rng(0)
        for start in range(0, n, 100):
            yield {"token_vectors": [rng.standard_normal((64, 128)).astype(np.float32) for _ in range(100)],
                   "ids": list(range(start, start + 100))}

    idx = Index.create(path, dim=128, fde=fde)
    if how == "stream":
        idx.add_batches(batches(), segment_documents=1024)
    else:  # the whole input in memory at once, as add() takes it
        idx.add(token_vectors=[d for b in batches() for d in b["token_vectors"]])
    idx.compact()
    assert len(idx) == n
    # the peak resident set of this process: VmHWM, as ru_maxrss would be if Linux did not start a
    # child's ru_maxrss at its parent's size (a pytest process of 900 MB hides everything below)
    with open("/proc/self/status") as f:
        print(next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:")))
""")


def peak_bytes(folder, n, how):
    out = subprocess.run(
        [sys.executable, "-c", BUILD, str(folder / f"{how}-{n}"), str(n), how], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the peak resident set from /proc")
def test_a_build_twice_as_large_does_not_take_twice_the_memory(tmp_path):
    # 64 token vectors of 128 float32 per document: 32 KB each, 131 MB per 4,000 documents
    per_document = 64 * 128 * 4
    small, large = peak_bytes(tmp_path, 4000, "stream"), peak_bytes(tmp_path, 8000, "stream")
    grew = large - small
    print(
        f"peak memory of a streamed build (merges and a compaction included): 4,000 documents {small / 1e6:.0f} MB, "
        f"8,000 documents {large / 1e6:.0f} MB: +{grew / 1e6:.0f} MB for +{4000 * per_document / 1e6:.0f} MB of input"
    )
    assert grew < 0.25 * 4000 * per_document
    # the same measurement sees an input held whole: it grows with the documents
    whole_small, whole_large = peak_bytes(tmp_path, 2000, "whole"), peak_bytes(tmp_path, 4000, "whole")
    assert whole_large - whole_small > 2000 * per_document
