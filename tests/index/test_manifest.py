"""The manifest is checked as a whole (its checksum covers every setting results depend on), and
`info` accounts for every file of the folder and names the backend."""

import json
import os

import numpy as np
import pytest
from conftest import random_docs, random_queries

from muvera_nano.cli import main
from muvera_nano.index import GraphConfig, Index, IndexFormatError


def folder_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def edit_manifest(path, change):
    m = json.loads((path / "manifest.json").read_text())
    change(m)
    (path / "manifest.json").write_text(json.dumps(m, indent=1))


@pytest.fixture
def built(tmp_path, rng, small_fde):
    path = tmp_path / "ix"
    idx = Index.create(path, dim=32, fde=small_fde)
    idx.add(token_vectors=random_docs(rng, 40))
    idx.add(token_vectors=random_docs(rng, 20))
    idx.remove([3])
    return path


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m["fde"].update(seed=m["fde"]["seed"] + 1),  # changes every FDE, hence every ranking
        lambda m: m["token_storage"].update(kind="float32"),
        lambda m: m["backend"].update(kind="hnsw"),
        lambda m: m.update(next_int_id=0),
        lambda m: m["segments"][0]["files"]["tokens"].update(sha256="0" * 64),
    ],
)
def test_a_manifest_edited_by_hand_is_refused(built, edit, capsys):
    q = random_queries(np.random.default_rng(0), 1)[0]
    Index.open(built).search(q, k=5)  # intact: opens and searches
    edit_manifest(built, edit)
    with pytest.raises(IndexFormatError, match=r"manifest\.json: the manifest does not match its checksum"):
        Index.open(built)
    assert main(["info", str(built), "--verify"]) == 2
    assert "the manifest does not match its checksum" in capsys.readouterr().err


def test_a_reformatted_manifest_is_still_accepted(built):
    # the checksum is over the content, not the bytes: re-indenting changes nothing
    edit_manifest(built, lambda m: None)
    assert len(Index.open(built, verify=True)) == 59


def test_writers_refresh_the_checksum(built, rng):
    idx = Index.open(built)
    idx.add(token_vectors=random_docs(rng, 3))
    idx.compact()
    assert len(Index.open(built, verify=True)) == 62


@pytest.mark.parametrize("backend", ["exact", "hnsw"])
def test_info_counts_every_file_and_names_the_backend(backend, tmp_path, rng, small_fde, capsys):
    path = tmp_path / "ix"
    graph = GraphConfig(connectivity=4, expansion_add=16, expansion_search=16) if backend == "hnsw" else None
    idx = Index.create(path, dim=32, fde=small_fde, backend=backend, graph=graph)
    idx.add(token_vectors=random_docs(rng, 50))
    idx.add(token_vectors=random_docs(rng, 30))
    idx.remove([0, 60])
    info = Index.open(path).info()
    assert sum(info["bytes"].values()) == folder_bytes(path)  # the lock file is empty
    assert ("graph" in info["bytes"]) == (backend == "hnsw")
    assert info["backend"]["kind"] == backend
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"backend     {backend} (" in out
    assert f"disk        {folder_bytes(path) / 1e6:.1f} MB" in out


def test_a_format_2_manifest_is_read_as_segments_in_the_index_kinds(built, rng):
    # what muvera-nano wrote before segments named their storage kinds
    from muvera_nano.index.manifest import _checksum

    q = random_queries(np.random.default_rng(0), 1)[0]
    want = Index.open(built).search(q, k=5)
    m = json.loads((built / "manifest.json").read_text())
    for key in ("checksum", "format", "format_version"):
        m.pop(key)
    for seg in m["segments"]:
        seg.pop("storage")
    m["files"] = m.pop("codebooks")
    (built / "manifest.json").write_text(
        json.dumps({"format": "muvera-nano-index", "format_version": 2, **m, "checksum": _checksum(m, 2)})
    )
    idx = Index.open(built, verify=True)
    got = idx.search(q, k=5)
    assert got.ids == want.ids and len(idx) == 59
    idx.add(token_vectors=random_docs(rng, 2))  # and a commit writes format 3
    assert json.loads((built / "manifest.json").read_text())["format_version"] == 3
    assert len(Index.open(built, verify=True)) == 61
