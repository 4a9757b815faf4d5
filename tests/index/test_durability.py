"""Crash safety, refusal of damaged folders, and concurrent readers and writers."""

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from conftest import random_docs, random_queries

from muvera_nano.index import Index, IndexFormatError


@pytest.fixture
def built(tmp_path, rng, small_fde):
    path = tmp_path / "ix"
    idx = Index.create(path, dim=32, fde=small_fde)
    idx.add(token_vectors=random_docs(rng, 30), ids=[f"d{i}" for i in range(30)])
    idx.add(token_vectors=random_docs(rng, 10), ids=[f"e{i}" for i in range(10)])
    idx.remove(["d4"])
    return path


def part_file(path, part, segment=0):
    m = json.loads((path / "manifest.json").read_text())
    return path / m["segments"][segment]["files"][part]["file"]


def test_truncated_file_is_refused(built):
    f = part_file(built, "tokens")
    data = f.read_bytes()
    f.write_bytes(data[:-7])
    with pytest.raises(IndexFormatError, match=r"bytes on disk, the manifest says .* \(truncated or replaced\)"):
        Index.open(built)


def test_flipped_byte_in_a_small_file_is_refused(built):
    f = part_file(built, "offsets")
    data = bytearray(f.read_bytes())
    data[-3] ^= 0x40
    f.write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match="checksum mismatch"):
        Index.open(built)


def test_flipped_byte_in_the_token_store_is_found_by_verify(built):
    f = part_file(built, "tokens")
    data = bytearray(f.read_bytes())
    data[-5] ^= 0x01
    f.write_bytes(bytes(data))
    Index.open(built)  # sizes and headers match: opening stays fast
    with pytest.raises(IndexFormatError, match="checksum mismatch"):
        Index.open(built, verify=True)
    with pytest.raises(IndexFormatError, match="checksum mismatch"):
        Index.open(built).verify()


def test_foreign_files_are_refused(built, tmp_path):
    f = part_file(built, "fde")
    size = f.stat().st_size
    np.save(f, np.zeros(3))  # a valid .npy, but not this one
    with open(f, "ab") as fh:  # same size as recorded, different header
        fh.write(b"\0" * (size - f.stat().st_size))
    with pytest.raises(IndexFormatError, match="holds <f8 \\(3,\\), the manifest says"):
        Index.open(built)
    other = tmp_path / "not-an-index"
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(IndexFormatError, match="not a muvera-nano index manifest"):
        Index.open(other)
    (other / "manifest.json").write_text("{ not json")
    with pytest.raises(IndexFormatError, match="not valid JSON"):
        Index.open(other)
    # format 1 (before the manifest checksum) named its version "version"
    (other / "manifest.json").write_text(json.dumps({"format": "muvera-nano-index", "version": 1}))
    with pytest.raises(
        IndexFormatError,
        match="index manifest format version 1; this muvera-nano reads version 2 and 3: rebuild it from its documents",
    ):
        Index.open(other)
    (other / "manifest.json").write_text(json.dumps({"format": "muvera-nano-index", "format_version": 99}))
    with pytest.raises(IndexFormatError, match="format version 99; this muvera-nano reads version 2 and 3"):
        Index.open(other)
    with pytest.raises(FileNotFoundError, match="no such index folder"):
        Index.open(tmp_path / "missing")


def test_missing_file_is_refused(built):
    part_file(built, "id_offsets").unlink()
    with pytest.raises(IndexFormatError, match="missing \\(the manifest names it\\)"):
        Index.open(built)


WRITER = textwrap.dedent("""
    import sys, numpy as np, muvera_nano as mn
    from muvera_nano.index import Index
    idx = Index.open(sys.argv[1])
    rng = np.random.default_rng(int(sys.argv[2]))
    batch = 0
    while True:
        docs = [x / np.linalg.norm(x, axis=1, keepdims=True) for x in
                (rng.standard_normal((int(rng.integers(50, 120)), 32)).astype(np.float32) for _ in range(400))]
        idx.add(token_vectors=docs, ids=[f"b{sys.argv[2]}-{batch}-{i}" for i in range(400)])
        print(batch, flush=True)
        batch += 1
""")


def test_killing_the_writer_mid_write_leaves_the_last_committed_state(built):
    base = Index.open(built)
    base_ids = set(base.ids())
    for attempt, delay in enumerate((0.35, 0.6, 0.9, 1.3)):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(built), str(attempt)], stdout=subprocess.PIPE, text=True
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with proc.stdout:  # closed here, not left to the garbage collector (a ResourceWarning)
            done = len(proc.stdout.read().split())
        idx = Index.open(built, verify=True)
        added = set(idx.ids()) - base_ids
        batches = {i.rsplit("-", 1)[0] for i in added}
        # every committed batch is there whole; the interrupted one is either whole or absent
        assert all(sum(1 for i in added if i.rsplit("-", 1)[0] == b) == 400 for b in batches)
        assert done <= len(batches) <= done + 1
        base_ids = set(idx.ids())
        q = random_queries(np.random.default_rng(attempt), 1)[0]
        assert len(idx.search(q, k=5).ids) == 5
    stray = [p.name for p in built.iterdir() if p.name.startswith(".tmp-")]
    Index.open(built).remove([next(iter(base_ids))])  # the next commit cleans leftovers
    assert not [p.name for p in built.iterdir() if p.name.startswith(".tmp-")], stray


READER = textwrap.dedent("""
    import sys, numpy as np
    from muvera_nano.index import Index
    idx = Index.open(sys.argv[1])
    rng = np.random.default_rng(1)
    q = rng.standard_normal((8, 32)).astype(np.float32)
    n = 0
    for _ in range(int(sys.argv[2])):
        idx.refresh()
        for mode in ("maxsim", "muvera", "rerank"):
            r = idx.search(q, k=5, mode=mode)
            assert len(r.ids) == 5 and (np.diff(r.scores) <= 0).all()
        n += 1
    print(n)
""")


def test_concurrent_searches_while_another_process_reads_and_a_writer_commits(built, rng):
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(built), "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    idx = Index.open(built)
    writer = Index.open(built)
    errors = []
    qs = random_queries(rng, 4)

    def search_loop():
        try:
            for _ in range(40):
                for q in qs:
                    r = idx.search(q, k=5)
                    assert len(r.ids) == 5
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=search_loop) for _ in range(4)]
    for t in threads:
        t.start()
    for b in range(5):
        writer.add(token_vectors=random_docs(rng, 20), ids=[f"w{b}-{i}" for i in range(20)])
        writer.remove([f"w{b}-0"])
    for t in threads:
        t.join()
    out, err = reader.communicate(timeout=300)
    assert reader.returncode == 0, err
    assert out.strip() == "60"
    assert not errors, errors
    assert idx.refresh() and len(idx) == len(writer)
