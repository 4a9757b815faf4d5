"""The command line, end to end on a fixture model (nano shapes, random weights) and a small
BEIR folder built from Python's documentation."""

import json
import subprocess
import sys

import pytest

from muvera_nano.cli import main


def cli(*args):
    return main([str(a) for a in args])


def test_index_search_info_eval(tmp_path, beir, model_dir, capsys):
    ix = tmp_path / "ix"
    assert cli("index", beir / "corpus.jsonl", ix, "--model", model_dir, "--segment-size", "25", "--quiet") == 0
    out = capsys.readouterr().out
    assert "indexed 60 documents" in out and "now holds 60 documents" in out

    assert cli("search", ix, "what does the with statement do?", "--k", "3") == 0
    row = json.loads(capsys.readouterr().out)
    assert len(row["results"]) == 3 and row["results"][0]["score"] >= row["results"][1]["score"]
    assert all(r["id"].startswith("d") for r in row["results"])

    assert cli("search", ix, "--queries", beir / "queries.jsonl", "--mode", "maxsim", "--k", "5") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == [f"q{i}" for i in range(20)]

    assert cli("info", ix, "--verify") == 0
    out = capsys.readouterr().out
    assert "60 live" in out and "3 segments" in out and "verified" in out

    assert cli("index", beir / "corpus.jsonl", ix, "--append", "--quiet") == 2  # same ids again
    assert "is already in the index" in capsys.readouterr().err

    report = tmp_path / "report.json"
    assert cli("eval", beir, "--model", model_dir, "--json", report) == 0
    table = capsys.readouterr().out
    for mode in ("maxsim", "rerank", "muvera"):
        assert f"| {mode} |" in table
    data = json.loads(report.read_text())
    assert data["queries"] == 20 and set(data["modes"]) == {"maxsim", "rerank", "muvera"}


@pytest.mark.parametrize(
    "args, message",
    [
        (["index", "missing.jsonl", "ix", "--model", "MODEL"], "missing.jsonl: no such file"),
        (["index", "CORPUS", "ix"], "--model is required to build a new index"),
        (["search", "nowhere"], "give either a QUERY or --queries FILE"),
        (["search", "nowhere", "q"], "nowhere: no such index folder"),
        (["info", "CORPUS"], "not a muvera-nano index"),
        (["eval", "nowhere", "--model", "MODEL"], "does not exist"),
        (["index", "CORPUS", "ix", "--model", "MODEL", "--text-field", "body"], "has no 'body' field"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, beir, model_dir, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    args = [a.replace("CORPUS", str(beir / "corpus.jsonl")).replace("MODEL", str(model_dir)) for a in args]
    if args[0] == "info":
        args[1] = str(beir)
    assert cli(*args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_every_command_has_help_with_examples():
    for cmd in ("demo", "export", "index", "search", "remove", "compact", "eval", "info", "bench"):
        out = subprocess.run([sys.executable, "-m", "muvera_nano.cli", cmd, "--help"], capture_output=True, text=True)
        assert out.returncode == 0 and "examples:" in out.stdout, cmd


def test_demo_with_a_model(model_dir, capsys):
    assert cli("demo", "--model", model_dir, "--k", "2") == 0
    out = capsys.readouterr().out
    assert "indexed" in out and out.count("maxsim") == 4 and out.count("rerank") == 4
