"""Text input that hurts: files that are not UTF-8 (the error names the file, line and byte;
--encoding reads them), a UTF-8 byte-order mark, a query argument that is not UTF-8, and empty or
whitespace-only texts (counted, warned about, skipped, kept or refused with --empty)."""

import json
import os
import re
import subprocess
import sys

import pytest

from muvera_nano.cli import CommandError, main
from muvera_nano.cli._inputs import read_records

CLI = [sys.executable, "-m", "muvera_nano.cli"]


def cli(*args):
    return main([str(a) for a in args])


def records(path, fmt="auto", **kw):
    return list(read_records(str(path), fmt, text_field="text", id_field=None, title_field="title", **kw))


def jsonl(rows) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


ROWS = [{"_id": "a", "text": "the cat sat"}, {"_id": "b", "text": "un café crème"}, {"_id": "c", "text": "dogs bark"}]


@pytest.mark.parametrize(
    "name, data, line",
    [
        ("docs.jsonl", jsonl(ROWS[:1]) + jsonl(ROWS[1:]).decode().encode("cp1252"), 2),
        ("docs.csv", "_id,text\na,the cat\nb,un café\n".encode("latin-1"), 3),
        ("docs.txt", "first\n\nsecond line\ncafé\n".encode("latin-1"), 4),
    ],
)
def test_a_file_that_is_not_utf8_names_the_file_line_and_byte(tmp_path, name, data, line):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(CommandError) as e:
        records(path)
    message = str(e.value)
    assert message.startswith(f"{path}:{line}: byte 0xe9 ") and "not valid utf-8" in message, message
    assert "--encoding" in message


def test_encoding_reads_the_file_in_that_encoding(tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_bytes(jsonl(ROWS).decode().encode("cp1252"))
    assert records(path, encoding="cp1252") == [("a", "the cat sat"), ("b", "un café crème"), ("c", "dogs bark")]
    utf16 = tmp_path / "docs16.csv"  # not ASCII-compatible: a b"\n" byte is no line end there
    utf16.write_bytes("_id,text\nx,\u0a0a caf\u00e9\ny,line two\n".encode("utf-16"))
    assert records(utf16, encoding="utf-16") == [("x", "\u0a0a caf\u00e9"), ("y", "line two")]


def test_the_encoding_option_and_a_bad_name(tmp_path, model_dir, capsys):
    path = tmp_path / "docs.jsonl"
    path.write_bytes(jsonl(ROWS).decode().encode("latin-1"))
    assert cli("index", path, tmp_path / "ix", "--model", model_dir, "--quiet") == 2
    err = capsys.readouterr().err.strip()
    assert f"{path}:2: byte 0xe9" in err and len(err.splitlines()) == 1, err
    assert cli("index", path, tmp_path / "ix", "--model", model_dir, "--quiet", "--encoding", "latin-1") == 0
    assert "indexed 3 documents" in capsys.readouterr().out
    assert cli("search", tmp_path / "ix", "crème", "--k", "1") == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["id"] == "b"
    with pytest.raises(SystemExit) as e:
        cli("index", path, tmp_path / "ix2", "--model", model_dir, "--encoding", "klingon")
    assert e.value.code == 2
    assert "argument --encoding: unknown encoding 'klingon'" in capsys.readouterr().err


def test_a_file_ending_inside_a_character(tmp_path):
    path = tmp_path / "docs.txt"
    path.write_bytes("one\ncaf\u00e9".encode()[:-1])  # the last character cut in half
    with pytest.raises(CommandError, match=rf"^{re.escape(str(path))}:2: the file ends inside a character"):
        records(path)


@pytest.mark.parametrize(
    "name, text",
    [
        ("docs.jsonl", jsonl(ROWS).decode()),
        ("docs.csv", "_id,text\na,the cat sat\nb,un café crème\nc,dogs bark\n"),
        ("docs.tsv", "_id\ttext\r\na\tthe cat sat\r\nb\tun café crème\r\nc\tdogs bark\r\n"),
    ],
)
def test_a_utf8_byte_order_mark_is_accepted(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())  # what Windows tools write
    assert records(path) == [("a", "the cat sat"), ("b", "un café crème"), ("c", "dogs bark")]


def test_plain_text_with_a_byte_order_mark_and_crlf(tmp_path):
    path = tmp_path / "docs.txt"
    path.write_bytes(b"\xef\xbb\xbffirst line\r\n\r\nsecond line\r\n")
    assert records(path) == [(0, "first line"), (1, "second line")]


def test_stdin_is_decoded_the_same_way(monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"good\ncaf\xe9\n")))
    with pytest.raises(CommandError, match=r"^<stdin>:2: byte 0xe9 \(byte 4 of the line\) is not valid utf-8"):
        records("-", "txt")


def test_a_query_argument_that_is_not_utf8(tmp_path, model_dir):
    ix = tmp_path / "ix"
    (tmp_path / "docs.jsonl").write_bytes(jsonl(ROWS))
    assert cli("index", tmp_path / "docs.jsonl", ix, "--model", model_dir, "--quiet") == 0
    env = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONUTF8": "1"}
    # the bytes reach Python as they were typed in a latin-1 terminal
    bad = subprocess.run([*CLI, "search", str(ix).encode(), b"caf\xe9 cr\xe8me"], capture_output=True, env=env)
    err = bad.stderr.decode().strip()
    assert bad.returncode == 2 and len(err.splitlines()) == 1, err
    assert "QUERY is not valid utf-8 text (byte 0xe9 at byte 4)" in err and "--encoding" in err, err
    good = subprocess.run(
        [*CLI, "search", str(ix).encode(), b"caf\xe9 cr\xe8me", b"--encoding", b"latin-1", b"--k", b"1"],
        capture_output=True,
        env=env,
    )
    assert good.returncode == 0, good.stderr.decode()
    row = json.loads(good.stdout)
    assert row["query"] == "café crème" and row["results"][0]["id"] == "b"


EMPTY_ROWS = [
    {"_id": "a", "text": "the cat sat"},
    {"_id": "b", "text": ""},
    {"_id": "c", "text": "dogs bark"},
    {"_id": "d", "text": " \t\u3000 "},
    {"_id": "e", "text": None},
    {"_id": "f", "text": "birds fly"},
]


def test_empty_texts_are_skipped_by_default_counted_and_named(tmp_path, model_dir, capsys):
    path = tmp_path / "docs.jsonl"
    path.write_bytes(jsonl(EMPTY_ROWS))
    assert cli("index", path, tmp_path / "ix", "--model", model_dir, "--quiet") == 0
    captured = capsys.readouterr()
    assert "indexed 3 documents" in captured.out
    warning = captured.err.strip()
    assert warning == (
        f"muvera-nano index: warning: skipped 3 records with an empty or whitespace-only text (the "
        f"first at {path}:2 (id 'b')); --empty keep takes them, --empty error refuses them"
    )
    assert cli("search", tmp_path / "ix", "cats", "--k", "10") == 0
    assert sorted(r["id"] for r in json.loads(capsys.readouterr().out)["results"]) == ["a", "c", "f"]


def test_empty_texts_kept_or_refused(tmp_path, model_dir, capsys):
    path = tmp_path / "docs.jsonl"
    path.write_bytes(jsonl(EMPTY_ROWS))
    assert cli("index", path, tmp_path / "ix", "--model", model_dir, "--quiet", "--empty", "keep") == 0
    captured = capsys.readouterr()
    assert "indexed 6 documents" in captured.out and "warning: kept 3 records with an empty" in captured.err
    assert cli("index", path, tmp_path / "ix2", "--model", model_dir, "--quiet", "--empty", "error") == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"muvera-nano index: error: {path}:2 (id 'b'): the text is empty or only whitespace (--empty skip "
        "leaves such records out, --empty keep takes them as they are)"
    )
    assert not (tmp_path / "ix2").exists() or not any((tmp_path / "ix2").iterdir())  # nothing written


def test_empty_queries(tmp_path, model_dir, capsys):
    (tmp_path / "docs.jsonl").write_bytes(jsonl(ROWS))
    ix = tmp_path / "ix"
    assert cli("index", tmp_path / "docs.jsonl", ix, "--model", model_dir, "--quiet") == 0
    queries = tmp_path / "queries.jsonl"
    queries.write_bytes(jsonl([{"_id": "q1", "text": "cats"}, {"_id": "q2", "text": "  "}, {"_id": "q3", "text": "x"}]))
    capsys.readouterr()
    assert cli("search", ix, "--queries", queries, "--k", "1") == 0
    captured = capsys.readouterr()
    assert [json.loads(line)["id"] for line in captured.out.splitlines()] == ["q1", "q3"]
    assert (
        f"warning: skipped 1 record with an empty or whitespace-only text (the first at {queries}:2 (id 'q2'))"
        in captured.err
    )
    assert cli("search", ix, "--queries", queries, "--k", "1", "--empty", "keep") == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == ["q1", "q2", "q3"]
    assert cli("search", ix, "   ") == 2
    assert "QUERY is empty or only whitespace (--empty keep searches it anyway)" in capsys.readouterr().err
    assert cli("search", ix, "", "--empty", "keep", "--k", "1") == 0
    assert len(json.loads(capsys.readouterr().out)["results"]) == 1


def test_line_numbers_of_records(tmp_path):
    path = tmp_path / "docs.csv"
    path.write_text('_id,text\na,"two\nlines"\nb,\n', encoding="utf-8")
    with pytest.raises(CommandError, match=rf"^{re.escape(str(path))}:4 \(id 'b'\): the text is empty"):
        records(path, empty="error")
    path = tmp_path / "docs.jsonl"
    path.write_text('{"_id": "a", "text": "x"}\n\n{"_id": "b", "body": "y"}\n', encoding="utf-8")
    with pytest.raises(CommandError, match=rf"^{re.escape(str(path))}:3: record 1 has no 'text' field"):
        records(path)
