"""The index commands beyond the basics: progress per batch, resuming a build, remove, compact,
streamed search output, and the promise that every error is one line with exit code 2."""

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from muvera_nano.cli import main

CLI = [sys.executable, "-m", "muvera_nano.cli"]


def cli(*args):
    return main([str(a) for a in args])


def corpus(path, n, bad_at=None):
    with open(path, "w") as f:
        for i in range(n):
            row = {"_id": f"d{i}", "text": f"document {i} about {['cats', 'dogs', 'birds'][i % 3]} and number {i}"}
            if i == bad_at:
                row = {"_id": f"d{i}", "body": "no text field"}
            f.write(json.dumps(row) + "\n")
    return path


def one_line_error(capsys, *args):
    assert cli(*args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_progress_is_shown_per_batch_not_per_segment(tmp_path, model_dir):
    # the 3,343 documents in one segment of up to 10,000: progress must still move per batch
    docs = corpus(tmp_path / "docs.jsonl", 3343)
    # the bar redraws at most every 0.1 s: on a fast machine 3,343 documents take 0.45 s, so every update is drawn
    out = subprocess.run(
        [*CLI, "index", docs, tmp_path / "ix", "--model", model_dir, "--segment-size", "10000"],
        capture_output=True,
        text=True,
        env={**os.environ, "TQDM_MININTERVAL": "0"},
    )
    assert out.returncode == 0, out.stderr
    counts = {
        int(part.split("/")[0])
        for part in out.stderr.replace("\r", "\n").split()
        if part.endswith("/3343") and part.split("/")[0].isdigit()
    }
    moving = {c for c in counts if 0 < c < 3343}
    assert len(moving) >= 5 and all(c % 32 == 0 for c in moving), out.stderr  # the encoder's batches of 32
    assert "doc/s" in out.stderr and "3343/3343" in out.stderr and "committed=3343" in out.stderr


def test_a_failed_build_says_what_was_committed_and_resumes(tmp_path, model_dir, capsys):
    ix = tmp_path / "ix"
    docs = corpus(tmp_path / "docs.jsonl", 300, bad_at=230)
    err = one_line_error(capsys, "index", docs, ix, "--model", model_dir, "--segment-size", "100", "--quiet")
    assert "record 230 has no 'text' field" in err
    assert (
        "200 documents were committed before it and stay in " + str(ix) + " (the last id 'd199'); add the rest "
        f"with: muvera-nano index {docs} {ix} --append --skip-existing"
    ) in err
    corpus(docs, 300)  # fixed
    assert cli("index", docs, ix, "--append", "--skip-existing", "--quiet") == 0
    assert "indexed 100 documents" in capsys.readouterr().out
    fresh = tmp_path / "fresh"
    assert cli("index", docs, fresh, "--model", model_dir, "--quiet") == 0
    capsys.readouterr()
    for path in (ix, fresh):
        assert cli("search", path, "a document about birds", "--k", "5", "--mode", "maxsim") == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["results"] == second["results"]
    err = one_line_error(capsys, "index", docs, ix, "--append", "--quiet")
    assert "id 'd0' is already in the index" in err and "--skip-existing skips documents the index holds" in err
    err = one_line_error(capsys, "index", docs, ix, "--model", model_dir)
    assert err.endswith(f"{ix} exists and is not empty: pass --overwrite to replace it, or --append to add to it")
    assert "overwrite=True" not in err
    assert "--skip-existing resumes a build: use it with --append" in one_line_error(
        capsys, "index", docs, ix, "--skip-existing", "--model", model_dir
    )


def test_remove_and_compact(tmp_path, model_dir, capsys):
    ix = tmp_path / "ix"
    assert (
        cli("index", corpus(tmp_path / "docs.txt", 120), ix, "--model", model_dir, "--segment-size", "30", "--quiet")
        == 0
    )  # plain text: int ids 0..119
    capsys.readouterr()
    assert cli("remove", ix, "3", "4") == 0
    assert capsys.readouterr().out.strip() == f"removed 2 documents; {ix} now holds 118 documents"
    (tmp_path / "stale.txt").write_text("10\n11\n\n12\n")
    assert cli("remove", ix, "13", "--ids-file", tmp_path / "stale.txt") == 0
    assert "removed 4 documents" in capsys.readouterr().out
    err = one_line_error(capsys, "remove", ix, "3", "50")
    assert err.endswith("not in the index: [3]; nothing was removed (--ignore-missing skips unknown ids)")
    assert cli("remove", ix, "3", "50", "--ignore-missing") == 0
    assert capsys.readouterr().out.strip() == f"removed 1 documents, 1 not in the index; {ix} now holds 113 documents"
    assert "has int ids; 'd7' is not one" in one_line_error(capsys, "remove", ix, "d7")
    assert "give the ids to remove" in one_line_error(capsys, "remove", ix)
    assert cli("info", ix, "--json") == 0
    before = json.loads(capsys.readouterr().out)
    assert before["segments"] == 4 and before["deleted"] == 7
    assert cli("compact", ix) == 0
    out = capsys.readouterr().out
    assert "4 segments (7 removed documents) -> 1 segment(s), 113 documents" in out
    assert cli("info", ix, "--verify", "--json") == 0
    after = json.loads(capsys.readouterr().out)
    assert after["segments"] == 1 and after["deleted"] == 0 and after["documents"] == 113


def test_search_writes_results_as_queries_arrive(tmp_path, model_dir):
    ix = tmp_path / "ix"
    assert cli("index", corpus(tmp_path / "docs.jsonl", 50), ix, "--model", model_dir, "--quiet") == 0
    with subprocess.Popen(
        [*CLI, "search", ix, "--queries", "-", "--k", "2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:  # closes the pipes
        proc.stdin.write("".join(f"question {i} about cats\n" for i in range(70)).encode())
        proc.stdin.flush()
        out = b""
        deadline = time.time() + 120
        # a batch of 64 is answered with the input still open
        while out.count(b"\n") < 64 and time.time() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 1)
            if ready:
                out += os.read(proc.stdout.fileno(), 1 << 16)
        assert out.count(b"\n") == 64 and proc.poll() is None
        proc.stdin.close()
        out += proc.stdout.read()
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    rows = [json.loads(line) for line in out.decode().splitlines()]
    assert len(rows) == 70 and [r["id"] for r in rows] == list(range(70))


@pytest.mark.parametrize(
    "args, message",
    [
        (["bench", "--docs", "0"], "argument --docs: must be an int >= 1, got '0' (see muvera-nano bench --help)"),
        (["bench", "--docs", "-5"], "argument --docs: must be an int >= 1, got '-5'"),
        (["search", "IX", "q", "--k", "many"], "argument --k: must be an int >= 1, got 'many'"),
        (["index"], "the following arguments are required: INPUT, INDEX_DIR"),
        (["no-such-command"], "argument COMMAND: invalid choice: 'no-such-command'"),
    ],
)
def test_usage_errors_are_one_line(args, message, capsys):
    with pytest.raises(SystemExit) as e:
        cli(*args)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_a_missing_optional_dependency_is_one_line(tmp_path, model_dir):
    # usearch made unimportable, as when it is not installed
    script = textwrap.dedent(f"""
        import sys
        sys.modules["usearch"] = None
        from muvera_nano.cli import main
        sys.exit(main(["index", {str(corpus(tmp_path / "d.jsonl", 5))!r}, {str(tmp_path / "ix")!r}, "--model",
                       {str(model_dir)!r}, "--backend", "hnsw"]))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "muvera-nano index: error: the 'hnsw' candidate backend needs usearch: pip install 'muvera-nano[graph]'"
    )


def test_a_closed_output_pipe_ends_quietly(tmp_path, model_dir):
    ix = tmp_path / "ix"
    assert cli("index", corpus(tmp_path / "docs.jsonl", 20), ix, "--model", model_dir, "--quiet") == 0
    for args in (["info", ix, "--json"], ["search", ix, "--queries", tmp_path / "docs.jsonl"]):
        with subprocess.Popen([*CLI, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
            proc.stdout.close()  # as `| head -1` does once it has its line
            err = proc.stderr.read().decode()
            assert proc.wait(timeout=120) == 128 + signal.SIGPIPE and err == "", err


def test_a_bug_is_one_line_and_debug_shows_its_traceback(tmp_path, model_dir, capsys, monkeypatch):
    from muvera_nano.cli import info

    monkeypatch.setattr(info, "run", lambda args: 1 / 0)
    err = one_line_error(capsys, "info", tmp_path)
    assert err == (
        "muvera-nano info: error: internal error (ZeroDivisionError: division by zero); this is a bug, "
        "please report it with the traceback --debug prints"
    )
    assert cli("info", tmp_path, "--debug") == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):") and "ZeroDivisionError" in err
    assert cli("--debug", "info", tmp_path / "missing") == 2  # an expected error: the traceback too, on request
    assert "Traceback" in capsys.readouterr().err
