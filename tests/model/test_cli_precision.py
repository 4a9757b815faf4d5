"""--precision on the commands that encode: passed to the encoder, refused without --model."""

from __future__ import annotations

import json

import pytest

from muvera_nano import model
from muvera_nano.cli import main


def _corpus(path, n=12):
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({"_id": f"d{i}", "text": f"late interaction search document {i} about colbert"}) + "\n")
    return path


@pytest.mark.parametrize("precision", ["int8", "bfloat16"])
def test_index_and_search_with_a_reduced_precision(bert_model_folder, tmp_path, capsys, monkeypatch, precision):
    loaded = []

    def load(*args, **kwargs):  # the commands import model.load when they run
        loaded.append(real_load(*args, **kwargs))
        return loaded[-1]

    real_load = model.load
    monkeypatch.setattr(model, "load", load)
    ix = tmp_path / "ix"
    assert (
        main(
            [
                "index",
                str(_corpus(tmp_path / "d.jsonl")),
                str(ix),
                "--model",
                str(bert_model_folder),
                "--precision",
                precision,
                "--quiet",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(
            [
                "search",
                str(ix),
                "colbert document 3",
                "--model",
                str(bert_model_folder),
                "--precision",
                precision,
                "--k",
                "3",
            ]
        )
        == 0
    )
    assert "d" in capsys.readouterr().out
    assert [enc.precision for enc in loaded] == [precision, precision]


def test_precision_needs_a_model_and_a_known_value(bert_model_folder, tmp_path, capsys):
    ix = tmp_path / "ix"
    assert (
        main(["index", str(_corpus(tmp_path / "d.jsonl")), str(ix), "--model", str(bert_model_folder), "--quiet"]) == 0
    )
    capsys.readouterr()
    assert main(["search", str(ix), "colbert", "--precision", "int8"]) == 2
    assert "--precision needs --model" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["search", str(ix), "colbert", "--precision", "fp16"])
    assert e.value.code == 2
    assert "argument --precision: invalid choice: 'fp16'" in capsys.readouterr().err
