"""The index's files and their records: every file is written atomically (muvera_nano._atomic),
and the manifest records its name, size and SHA-256 (and, for .npy arrays, dtype and shape), so
opening can refuse a file that is missing, truncated, foreign or changed."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .._atomic import HashingWriter, published, sha256_file, write_atomic


class IndexFormatError(ValueError):
    """An index folder, manifest or file that is corrupt, truncated, foreign or inconsistent."""


@dataclass(frozen=True)
class FileRecord:
    """What the manifest knows about one file of the index."""

    file: str  # name inside the index folder
    bytes: int
    sha256: str
    dtype: str | None = None  # .npy arrays: numpy dtype string and shape
    shape: tuple[int, ...] | None = None

    def to_dict(self) -> dict:
        d = {"file": self.file, "bytes": self.bytes, "sha256": self.sha256}
        if self.dtype is not None:
            d.update(dtype=self.dtype, shape=list(self.shape))
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "FileRecord":
        try:
            shape = None if d.get("shape") is None else tuple(int(x) for x in d["shape"])
            return cls(str(d["file"]), int(d["bytes"]), str(d["sha256"]), d.get("dtype"), shape)
        except (KeyError, TypeError, ValueError) as e:
            raise IndexFormatError(f"a file record in the manifest is malformed ({e!r}: {d!r})") from None


def save_array(folder: str, name: str, array: np.ndarray) -> FileRecord:
    """Writes `array` as folder/name (.npy) atomically and returns its record."""
    array = np.ascontiguousarray(array)
    sums = {}

    def write(f):
        w = HashingWriter(f)
        np.lib.format.write_array(w, array, allow_pickle=False)
        sums.update(sha256=w.sha256.hexdigest(), bytes=w.bytes)

    write_atomic(os.path.join(folder, name), write)
    return FileRecord(name, sums["bytes"], sums["sha256"], array.dtype.str, tuple(array.shape))


def save_file(folder: str, name: str, write_to) -> FileRecord:
    """Publishes folder/name written by `write_to(temporary path)` (for files a library writes
    itself, such as a usearch graph) and returns its record."""
    path = os.path.join(folder, name)
    with published(path) as tmp:
        write_to(tmp)
        record = FileRecord(name, os.path.getsize(tmp), sha256_file(tmp))
    return record


def check_file(folder: str, record: FileRecord, *, verify: bool) -> str:
    """The path of a recorded file, after checking it exists with the recorded size (and, when
    `verify`, the recorded contents)."""
    path = os.path.join(folder, record.file)
    if not os.path.isfile(path):
        raise IndexFormatError(f"{path}: missing (the manifest names it)")
    size = os.path.getsize(path)
    if size != record.bytes:
        raise IndexFormatError(f"{path}: {size} bytes on disk, the manifest says {record.bytes} (truncated or replaced)")
    if verify and sha256_file(path) != record.sha256:
        raise IndexFormatError(f"{path}: contents differ from what was written (checksum mismatch)")
    return path


def load_array(folder: str, record: FileRecord, *, verify: bool) -> np.ndarray:
    """Memory-maps a recorded .npy, refusing anything that does not match its record: missing,
    truncated or extended, a foreign header, another dtype or shape, or (when `verify`) other
    bytes than were written."""
    path = check_file(folder, record, verify=verify)
    with open(path, "rb") as f:
        try:
            version = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(f)
        except ValueError as e:
            raise IndexFormatError(f"{path}: not a .npy array file ({e})") from None
    if fortran or dtype.str != record.dtype or tuple(shape) != record.shape:
        raise IndexFormatError(f"{path}: holds {dtype.str} {tuple(shape)}, the manifest says "
                               f"{record.dtype} {record.shape}")
    return np.load(path, mmap_mode="r", allow_pickle=False) if record.bytes else np.load(path, allow_pickle=False)
