"""`muvera_nano.model.load`: one way from what the user names (an exported folder, a PyLate
checkpoint folder, a hub id) to an encoder, with the same identity whichever way it came; and
exported files that other users can read."""

import os
import shutil
import stat
import subprocess
import sys

import numpy as np
import pytest

from muvera_nano import model

TEXTS = ["late interaction search", "a colbert model"]


def hub_cache(root, repo_id, checkpoint):
    """A Hugging Face hub cache holding `checkpoint` as the snapshot of `repo_id` (what a previous
    download leaves), so the hub path runs offline."""
    repo = root / ("models--" + repo_id.replace("/", "--"))
    commit = "0" * 40
    shutil.copytree(checkpoint, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    return root


def test_every_source_kind_gives_the_same_encoder(store, tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub")
    checkpoint = store.checkpoint("bert").folder
    exported = store.model_folder("bert")
    monkeypatch.setenv("MUVERA_NANO_CACHE", str(tmp_path / "cache"))

    from_folder = model.load(exported, threads=1)
    from_checkpoint = model.load(checkpoint, threads=1)  # exported into the cache
    assert from_checkpoint.folder.parent == tmp_path / "cache" / "models"
    assert model.load(checkpoint, threads=1).folder == from_checkpoint.folder  # exported once
    # the hub path, offline from a hub cache, in a fresh process (huggingface_hub reads its
    # settings on import)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_CACHE": str(hub_cache(tmp_path / "hub", "someone/bert", checkpoint)),
        "MUVERA_NANO_CACHE": str(tmp_path / "cache-hub"),
    }
    code = (
        "from muvera_nano import model; e = model.load('someone/bert', threads=1); "
        "print(e.identity.sha256, e.folder, e.identity.settings['source'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    hub_sha, hub_folder, hub_source = out.stdout.split()
    assert hub_folder.startswith(str(tmp_path / "cache-hub"))

    assert from_folder.identity == model.ColBERT(exported, threads=1).identity
    assert from_checkpoint.identity.sha256 == from_folder.identity.sha256 == hub_sha
    assert from_folder.identity.dim == from_folder.dim == 16
    # where it was exported from is recorded, but is not part of the identity
    assert hub_source == "hub:someone/bert" and from_folder.identity.settings["source"] == str(checkpoint)
    for a, b in zip(from_checkpoint.encode(TEXTS, is_query=False), from_folder.encode(TEXTS, is_query=False)):
        np.testing.assert_array_equal(a, b)


def test_the_identity_follows_the_content(store, tmp_path):
    a = model.load(store.model_folder("bert"), threads=1).identity
    assert model.load(store.model_folder("bert_dense3"), threads=1).identity.sha256 != a.sha256
    moved = tmp_path / "moved"
    shutil.copytree(store.model_folder("bert"), moved)
    assert model.load(moved, threads=1).identity == a  # where it lies does not matter
    (moved / "tokenizer.json").write_text((moved / "tokenizer.json").read_text().replace('"[MASK]"', '"[MASK]" '))
    assert model.load(moved, threads=1).identity.sha256 != a.sha256


def test_load_arguments(store, tmp_path):
    with pytest.raises(TypeError, match="the model must be a folder path or a hub id string, got int"):
        model.load(3)
    with pytest.raises(FileNotFoundError, match="neither an existing folder nor a hub id"):
        model.load(tmp_path / "nowhere" / "deeper")
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        model.load(store.model_folder("bert"), threads=0)


def test_exported_files_respect_the_umask(store, tmp_path):
    old = os.umask(0o022)
    try:
        model.export(store.checkpoint("bert").folder, tmp_path / "out")
    finally:
        os.umask(old)
    for f in (tmp_path / "out").iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f  # readable by a service account
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755


def test_a_home_relative_folder_is_expanded(store, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copytree(store.model_folder("bert"), tmp_path / "nano-onnx")
    assert model.load("~/nano-onnx", threads=1).folder == tmp_path / "nano-onnx"
