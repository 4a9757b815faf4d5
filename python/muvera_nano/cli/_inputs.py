"""Reading documents and queries for the commands: JSON lines, CSV/TSV or plain text."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from typing import Iterator

from . import CommandError

FORMATS = ("auto", "jsonl", "csv", "tsv", "txt")


def detect_format(path: str, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    ext = os.path.splitext(path)[1].lower()
    return {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv"}.get(ext, "txt")


def _open(path: str):
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8")
    if not os.path.isfile(path):
        raise CommandError(f"{path}: no such file")
    return open(path, encoding="utf-8", newline="")


def read_records(path: str, fmt: str, *, text_field: str, id_field: str | None, title_field: str | None
                 ) -> Iterator[tuple[object, str]]:
    """(id, text) per document. Without an id column, ids are the 0-based record numbers.
    A title column, when present, is prepended to the text (as PyLate's BEIR loader does)."""
    fmt = detect_format(path, fmt)
    with _open(path) as f:
        if fmt == "txt":
            n = 0
            for line in f:
                if line.strip():
                    yield n, line.rstrip("\n")
                    n += 1
            return
        if fmt == "jsonl":
            rows = (_json_line(path, i, line) for i, line in enumerate(f, 1) if line.strip())
        else:
            rows = csv.DictReader(f, delimiter="," if fmt == "csv" else "\t")
        for n, row in enumerate(rows):
            yield _record(path, n, row, text_field, id_field, title_field)


def _json_line(path: str, line_no: int, line: str) -> dict:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as e:
        raise CommandError(f"{path}:{line_no}: not valid JSON ({e.msg})") from None
    if not isinstance(row, dict):
        raise CommandError(f"{path}:{line_no}: expected a JSON object per line")
    return row


def _record(path, n, row, text_field, id_field, title_field):
    if text_field not in row:
        raise CommandError(f"{path}: record {n} has no {text_field!r} field (choose one with --text-field)")
    text = "" if row[text_field] is None else str(row[text_field])
    if title_field and row.get(title_field):
        text = f"{row[title_field]} {text}".strip()
    if id_field is None:
        id_field = next((f for f in ("_id", "id") if f in row), None)
    doc_id = row[id_field] if id_field is not None and id_field in row else n
    if id_field is not None and id_field not in row:
        raise CommandError(f"{path}: record {n} has no {id_field!r} field")
    return doc_id, text


def count_records(path: str, fmt: str) -> int | None:
    """How many records a file holds (for a progress bar's ETA; None for stdin). A quick count:
    lines that are not blank (plain text and JSON lines), rows after the header (CSV/TSV)."""
    if path == "-" or not os.path.isfile(path):
        return None
    fmt = detect_format(path, fmt)
    with open(path, encoding="utf-8", newline="", errors="replace") as f:
        if fmt in ("txt", "jsonl"):
            return sum(1 for line in f if line.strip())
        return max(0, sum(1 for _ in csv.reader(f, delimiter="," if fmt == "csv" else "\t")) - 1)
