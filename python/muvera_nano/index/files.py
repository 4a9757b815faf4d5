"""Crash-safe files: every file is written under a temporary name, fsynced, renamed into
place and its folder fsynced, so a reader (or a restart after a crash) sees either the old
file or the complete new one. Arrays are .npy files (self-describing, memory-mappable)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from typing import Any, Callable

import numpy as np


class IndexFormatError(ValueError):
    """An index folder, manifest or file that is corrupt, truncated, foreign or inconsistent."""


def fsync_dir(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def published(path: str):
    """Yields a temporary path beside `path` to write; on success fsyncs it, renames it to
    `path` and fsyncs the folder; on failure removes it."""
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".tmp-{uuid.uuid4().hex}-{os.path.basename(path)}")
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(folder)


def write_atomic(path: str, write: Callable[[Any], None]) -> None:
    """Calls write(file object) on a temporary file beside `path`, then publishes it."""
    with published(path) as tmp, open(tmp, "wb") as f:
        write(f)


class _HashingWriter:
    """A file wrapper that hashes what passes through it."""

    def __init__(self, f):
        self.f = f
        self.h = hashlib.sha256()
        self.n = 0

    def write(self, b) -> int:
        mv = memoryview(b).cast("B")
        self.h.update(mv)
        self.n += len(mv)
        return self.f.write(mv)


def save_array(path: str, array: np.ndarray) -> dict:
    """Writes `array` as .npy atomically; returns its record {file, bytes, sha256, dtype, shape}."""
    array = np.ascontiguousarray(array)
    digest = {}

    def write(f):
        w = _HashingWriter(f)
        np.lib.format.write_array(w, array, allow_pickle=False)
        digest["sha256"], digest["bytes"] = w.h.hexdigest(), w.n

    write_atomic(path, write)
    return {"file": os.path.basename(path), "bytes": digest["bytes"], "sha256": digest["sha256"],
            "dtype": array.dtype.str, "shape": list(array.shape)}


def sha256_file(path: str, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                return h.hexdigest()
            h.update(b)


def load_array(folder: str, record: dict, *, mmap: bool, verify: bool) -> np.ndarray:
    """Opens a .npy named by a manifest record, refusing anything that does not match it:
    missing, truncated or extended, a foreign header, another dtype or shape, or (when
    `verify`) other bytes than were written."""
    path = os.path.join(folder, record["file"])
    if not os.path.isfile(path):
        raise IndexFormatError(f"{path}: missing (the manifest names it)")
    size = os.path.getsize(path)
    if size != record["bytes"]:
        raise IndexFormatError(f"{path}: {size} bytes on disk, the manifest says {record['bytes']} (truncated or replaced)")
    with open(path, "rb") as f:
        try:
            version = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(f)
        except ValueError as e:
            raise IndexFormatError(f"{path}: not a .npy array file ({e})") from None
    if fortran or dtype.str != record["dtype"] or list(shape) != list(record["shape"]):
        raise IndexFormatError(f"{path}: holds {dtype.str} {tuple(shape)}, the manifest says "
                               f"{record['dtype']} {tuple(record['shape'])}")
    if verify and sha256_file(path) != record["sha256"]:
        raise IndexFormatError(f"{path}: contents differ from what was written (checksum mismatch)")
    if mmap and size > 0:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    return np.load(path, allow_pickle=False)


def save_json(path: str, data: dict) -> None:
    payload = (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()
    write_atomic(path, lambda f: f.write(payload))


def load_json(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise IndexFormatError(f"{path}: not valid JSON ({e})") from None
