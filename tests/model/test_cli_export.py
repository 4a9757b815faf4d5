"""`muvera-nano export`: progress, summary, exit codes, help with examples."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from fixtures.checkpoints import write_checkpoint

from muvera_nano.cli import main
from muvera_nano.model import ColBERT


def test_export_command(store, tmp_path, capsys):
    src = store.checkpoint("bert_hash").folder
    assert main(["export", str(src), str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    assert "reading checkpoint" in err and "building the ONNX graph" in err
    assert "architecture: bert_hash" in out and "output dim 16" in out and "model.onnx" in out
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"model.onnx", "tokenizer.json", "encoding.json"}
    settings = json.loads((tmp_path / "out" / "encoding.json").read_text())
    assert settings["architecture"] == "bert_hash" and settings["source"] == str(src)
    # The tokenizer is clean: the checkpoint's stale truncation and padding are gone.
    tok = json.loads((tmp_path / "out" / "tokenizer.json").read_text())
    assert tok["truncation"] is None and tok["padding"] is None
    ref = ColBERT(store.model_folder("bert_hash"), threads=1).encode(["same model"], is_query=True)[0]
    np.testing.assert_array_equal(ColBERT(tmp_path / "out", threads=1).encode(["same model"], is_query=True)[0], ref)


def test_export_quantized(store, tmp_path, capsys):
    src = store.checkpoint("bert").folder
    assert main(["export", str(src), str(tmp_path / "q"), "--quantize", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "int8" in out
    enc = ColBERT(tmp_path / "q", threads=1)
    assert enc.settings.quantized is True
    full = ColBERT(store.model_folder("bert"), threads=1)
    texts = ["late interaction search", "colbert model vector token"]
    for a, b in zip(enc.encode(texts, is_query=False), full.encode(texts, is_query=False)):
        assert a.shape == b.shape
        cos = np.sum(a * b, axis=1)
        assert cos.min() > 0.9  # int8 weights: close, not equal (measured figures are in bench/)


@pytest.mark.parametrize(
    "argv,match",
    [
        (["export", "/definitely/not/here", "out"], "neither an existing folder nor a hub id"),
        (["export", "no-such-owner/no-such-model", "out"], "could not download|huggingface_hub is not installed"),
    ],
)
def test_export_errors_are_one_line(argv, match, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len([line for line in err if not line.startswith("...")]) == 1
    assert err[-1].startswith("muvera-nano export: error: ")
    import re

    assert re.search(match, err[-1])


def test_export_bad_checkpoint(tmp_path, capsys):
    built = write_checkpoint(tmp_path / "ckpt", prefixes=(), pylate_config={"query_length": 8, "document_length": 16})
    assert main(["export", str(built.folder), str(tmp_path / "out"), "--quiet"]) == 2
    assert "no token for the prefix" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_help_has_examples():
    result = subprocess.run(
        [sys.executable, "-m", "muvera_nano.cli", "export", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert "examples:" in result.stdout and "muvera-nano export ./colbert-muvera-nano" in result.stdout
    top = subprocess.run(
        [sys.executable, "-m", "muvera_nano.cli", "--help"], capture_output=True, text=True, timeout=60
    )
    assert top.returncode == 0 and "export" in top.stdout
    usage = subprocess.run(
        [sys.executable, "-m", "muvera_nano.cli", "export"], capture_output=True, text=True, timeout=60
    )
    assert usage.returncode == 2 and "required: SOURCE, OUT_DIR" in usage.stderr.replace(
        "the following arguments are ", ""
    )
