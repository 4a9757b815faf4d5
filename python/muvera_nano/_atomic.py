"""Crash-safe files, shared by the index and the model folder.

Every file is written under a temporary name beside its target, fsynced, renamed into place and
its folder fsynced, so a reader (or a restart after a crash) sees either the old file or the
complete new one. Files are created with the process umask (as any other file the user writes).

JSON files that describe a folder carry a header: ``format`` (what the file is) and
``format_version`` (the layout version), checked on reading with one message per mismatch.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

TMP_PREFIX = ".tmp-"


def fsync_dir(folder: str | os.PathLike) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def published(path: str | os.PathLike, *, sync_folder: bool = True) -> Iterator[str]:
    """Yields a temporary path beside `path` to write; on success fsyncs it, renames it to
    `path` and fsyncs the folder (unless the file is moved elsewhere later, whose folder is then
    fsynced: `sync_folder=False`); on failure removes it."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f"{TMP_PREFIX}{uuid.uuid4().hex}-{os.path.basename(path)}")
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if sync_folder:
        fsync_dir(folder)


def write_atomic(path: str | os.PathLike, data: bytes | Callable[[Any], None]) -> None:
    """Writes `data` (bytes, or a function called with the open binary file) to `path` atomically."""
    with published(path) as tmp, open(tmp, "wb") as f:
        if callable(data):
            data(f)
        else:
            f.write(data)


class HashingWriter:
    """A binary file wrapper that hashes (SHA-256) and counts what passes through it."""

    def __init__(self, f):
        self.f = f
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def write(self, b) -> int:
        mv = memoryview(b).cast("B")
        self.sha256.update(mv)
        self.bytes += len(mv)
        return self.f.write(mv)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(chunk):
            h.update(b)
    return h.hexdigest()


def canonical_json(data: Any) -> bytes:
    """One byte string per JSON value (sorted keys, no spaces): what checksums are taken over."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def write_json(path: str | os.PathLike, fmt: str, version: int, body: dict) -> None:
    """Writes ``{"format": fmt, "format_version": version, **body}`` atomically: a key per line,
    and an item per line in lists (an index manifest's segments), each encoded by json's C encoder
    (indent= would take its pure-Python one, a few ms per manifest)."""
    data = {"format": fmt, "format_version": version, **body}
    write_atomic(path, _readable(data).encode("utf-8"))


def _readable(data: dict) -> str:
    def enc(v):
        return json.dumps(v, sort_keys=True, ensure_ascii=False)

    lines = []
    for key in sorted(data):
        v = data[key]
        if isinstance(v, list) and v:
            items = ",\n  ".join(enc(x) for x in v)
            lines.append(f" {enc(key)}: [\n  {items}\n ]")
        else:
            lines.append(f" {enc(key)}: {enc(v)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def read_json(
    path: str | os.PathLike,
    fmt: str,
    version: int | tuple[int, ...],
    error: type[Exception],
    *,
    what: str,
    upgrade: str,
) -> dict:
    """The JSON object at `path`, checked to be a `fmt` file of `version` (or one of several);
    anything else raises `error` naming the file. `what` names the kind of file in messages
    ("index manifest"), `upgrade` says what to do with a file of another version."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"missing file {path}")
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise error(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict) or data.get("format") != fmt:
        found = data.get("format") if isinstance(data, dict) else None
        raise error(f"{path}: not a muvera-nano {what} (format {found!r}, expected {fmt!r})")
    found = data.get("format_version", data.get("version"))  # "version": how index format 1 named it
    versions = version if isinstance(version, tuple) else (version,)
    if found not in versions:
        raise error(
            f"{path}: {what} format version {found!r}; this muvera-nano reads version "
            f"{' and '.join(map(str, versions))}: {upgrade}"
        )
    return data
