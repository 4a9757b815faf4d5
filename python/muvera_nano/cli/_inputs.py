"""Reading documents and queries for the commands: JSON lines, CSV/TSV or plain text, in a
chosen encoding, with empty texts skipped, kept or refused."""

from __future__ import annotations

import argparse
import codecs
import contextlib
import csv
import json
import os
import sys
from collections.abc import Iterator

from . import CommandError

FORMATS = ("auto", "jsonl", "csv", "tsv", "txt")
EMPTY = ("skip", "keep", "error")
FIX_ENCODING = "pass the file's encoding with --encoding (e.g. --encoding cp1252)"


def encoding_name(text: str) -> str:
    """An argparse type: a codec Python knows (the canonical name)."""
    try:
        return codecs.lookup(text).name
    except LookupError:
        raise argparse.ArgumentTypeError(f"unknown encoding {text!r} (e.g. utf-8, cp1252, latin-1, utf-16)") from None


def add_text_options(parser: argparse.ArgumentParser, what: str) -> None:
    """--encoding and --empty, for a command that reads `what` (documents, queries)."""
    parser.add_argument(
        "--encoding",
        type=encoding_name,
        default="utf-8",
        help=f"encoding of the {what} (default utf-8; a UTF-8 byte-order mark is accepted)",
    )
    parser.add_argument(
        "--empty",
        choices=EMPTY,
        default="skip",
        help=f"{what} whose text is empty or only whitespace: skip them (the default; they are "
        "counted and a warning names the first), keep them, or stop with an error",
    )


def detect_format(path: str, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    ext = os.path.splitext(path)[1].lower()
    return {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv"}.get(ext, "txt")


def _decoder(encoding: str):
    name = codecs.lookup(encoding).name
    # utf-8-sig drops a byte-order mark at the start (Windows tools write one) and is utf-8 after it
    return codecs.getincrementaldecoder("utf-8-sig" if name == "utf-8" else name)("strict")


def text_lines(path: str, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """(line number from 1, line with its ending) of a file or stdin ("-"), decoded strictly: a byte
    that is not valid in `encoding` stops with an error naming the file, the line and the byte."""
    where = "<stdin>" if path == "-" else path
    if path != "-" and not os.path.isfile(path):
        raise CommandError(f"{path}: no such file")
    decoder, line_no, pending = _decoder(encoding), 0, ""
    with contextlib.nullcontext(sys.stdin.buffer) if path == "-" else open(path, "rb") as f:
        for raw in f:  # split at b"\n": one line each for ASCII-compatible encodings; utf-16 is re-split below
            try:
                pending += decoder.decode(raw)
            except UnicodeDecodeError as e:
                raise CommandError(
                    f"{where}:{line_no + 1}: byte 0x{e.object[e.start]:02x} (byte {e.start + 1} of the line) "
                    f"is not valid {encoding}; {FIX_ENCODING}"
                ) from None
            while (end := pending.find("\n")) >= 0:
                line_no += 1
                yield line_no, pending[: end + 1]
                pending = pending[end + 1 :]
        try:
            pending += decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise CommandError(
                f"{where}:{line_no + 1}: the file ends inside a character, not valid {encoding}; {FIX_ENCODING}"
            ) from None
        if pending:
            yield line_no + 1, pending


def decode_argument(text: str, encoding: str, name: str) -> str:
    """A command-line argument as text. Bytes the system could not decode reach Python as lone
    surrogates (which the tokenizer refuses): those are decoded again with `encoding`."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    raw = os.fsencode(text)
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as e:
        raise CommandError(
            f"{name} is not valid {encoding} text (byte 0x{raw[e.start]:02x} at byte {e.start + 1}); "
            "pass the terminal's encoding with --encoding, or the query in a file with --queries "
            "FILE --encoding ENCODING"
        ) from None


class Records:
    """(id, text) per record of a documents or queries file. Without an id column, ids are the
    0-based record numbers. A title column, when present, is prepended to the text (as PyLate's
    BEIR loader does). Records whose text is empty or only whitespace are skipped, kept or refused
    as `empty` says, and counted. An iterator, read once."""

    def __init__(
        self,
        path: str,
        fmt: str,
        *,
        text_field: str,
        id_field: str | None,
        title_field: str | None,
        encoding: str = "utf-8",
        empty: str = "skip",
    ):
        if empty not in EMPTY:
            raise ValueError(f"empty must be one of {EMPTY}, got {empty!r}")
        self.path, self.empty = path, empty
        self.where = "<stdin>" if path == "-" else path
        self.empty_count = 0
        self.first_empty: str | None = None  # where the first one is: file:line (id ...)
        self._records = self._read(detect_format(path, fmt), text_field, id_field, title_field, encoding)

    def __iter__(self):
        return self

    def __next__(self) -> tuple[object, str]:
        while True:
            line, doc_id, text = next(self._records)
            if text.strip():
                return doc_id, text
            self.empty_count += 1
            here = f"{self.where}:{line} (id {doc_id!r})"
            if self.empty == "error":
                raise CommandError(
                    f"{here}: the text is empty or only whitespace (--empty skip leaves such records "
                    "out, --empty keep takes them as they are)"
                )
            self.first_empty = self.first_empty or here
            if self.empty == "keep":
                return doc_id, text

    def warning(self) -> str | None:
        """One line on the empty texts met so far (None when there were none)."""
        if not self.empty_count:
            return None
        n = self.empty_count
        texts = f"{n} record{'s' if n > 1 else ''} with an empty or whitespace-only text"
        if self.empty == "keep":
            return f"kept {texts} (the first at {self.first_empty}); they match every query a little"
        return f"skipped {texts} (the first at {self.first_empty}); --empty keep takes them, --empty error refuses them"

    def _read(self, fmt, text_field, id_field, title_field, encoding) -> Iterator[tuple[int, object, str]]:
        lines = text_lines(self.path, encoding)
        if fmt == "txt":  # one document per line that is not blank; ids count those lines
            n = 0
            for line_no, line in lines:
                if line.strip():
                    yield line_no, n, line.rstrip("\r\n")
                    n += 1
            return
        if fmt == "jsonl":
            rows = ((i, self._json_line(i, line)) for i, line in lines if line.strip())
        else:
            rows = self._csv_rows(lines, "," if fmt == "csv" else "\t")
        for n, (line_no, row) in enumerate(rows):
            doc_id, text = self._record(n, line_no, row, text_field, id_field, title_field)
            yield line_no, doc_id, text

    @staticmethod
    def _csv_rows(lines, delimiter: str) -> Iterator[tuple[int, dict]]:
        reader = csv.DictReader((line for _, line in lines), delimiter=delimiter)
        for row in reader:
            yield reader.line_num, row  # the record's last line (a quoted field may span lines)

    def _json_line(self, line_no: int, line: str) -> dict:
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise CommandError(f"{self.where}:{line_no}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict):
            raise CommandError(f"{self.where}:{line_no}: expected a JSON object per line")
        return row

    def _record(self, n, line_no, row, text_field, id_field, title_field):
        if text_field not in row:
            raise CommandError(
                f"{self.where}:{line_no}: record {n} has no {text_field!r} field (choose one with --text-field)"
            )
        text = "" if row[text_field] is None else str(row[text_field])
        if title_field and row.get(title_field):
            text = f"{row[title_field]} {text}".strip()
        if id_field is None:
            id_field = next((f for f in ("_id", "id") if f in row), None)
        if id_field is not None and id_field not in row:
            raise CommandError(f"{self.where}:{line_no}: record {n} has no {id_field!r} field")
        return (row[id_field] if id_field is not None else n), text


def read_records(
    path: str,
    fmt: str,
    *,
    text_field: str,
    id_field: str | None,
    title_field: str | None,
    encoding: str = "utf-8",
    empty: str = "skip",
) -> Records:
    """The records of a documents or queries file (see :class:`Records`)."""
    return Records(
        path, fmt, text_field=text_field, id_field=id_field, title_field=title_field, encoding=encoding, empty=empty
    )


def count_records(path: str, fmt: str, encoding: str = "utf-8") -> int | None:
    """How many records a file holds (for a progress bar's ETA; None for stdin). A quick count:
    lines that are not blank (plain text and JSON lines), rows after the header (CSV/TSV)."""
    if path == "-" or not os.path.isfile(path):
        return None
    fmt = detect_format(path, fmt)
    name = codecs.lookup(encoding).name
    with open(path, encoding="utf-8-sig" if name == "utf-8" else name, newline="", errors="replace") as f:
        if fmt in ("txt", "jsonl"):
            return sum(1 for line in f if line.strip())
        return max(0, sum(1 for _ in csv.reader(f, delimiter="," if fmt == "csv" else "\t")) - 1)
