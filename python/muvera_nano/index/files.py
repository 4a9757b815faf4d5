"""The index's files and their records: every file is written atomically (muvera_nano._atomic),
and the manifest records its name, size and SHA-256 (and, for .npy arrays, dtype and shape), so
opening can refuse a file that is missing, truncated, foreign or changed."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .._atomic import HashingWriter, published, sha256_file


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
    def from_dict(cls, d: dict) -> FileRecord:
        try:
            shape = None if d.get("shape") is None else tuple(int(x) for x in d["shape"])
            return cls(str(d["file"]), int(d["bytes"]), str(d["sha256"]), d.get("dtype"), shape)
        except (KeyError, TypeError, ValueError) as e:
            raise IndexFormatError(f"a file record in the manifest is malformed ({e!r}: {d!r})") from None


class NpyWriter:
    """Writes one .npy array whose dtype and shape are known before its rows are: the header
    first, then rows appended in order in pieces of any size, hashed as they pass. ``close()``
    checks every row arrived, fsyncs and publishes the file atomically and returns its record;
    leaving the ``with`` block by an exception removes the temporary file instead. Memory stays
    that of the largest piece, whatever the array's size."""

    def __init__(self, folder: str, name: str, dtype, shape: tuple[int, ...], *, sync_folder: bool = True):
        self.name, self.dtype, self.shape = name, np.dtype(dtype), tuple(int(x) for x in shape)
        self._rows = 0
        self._publish = published(os.path.join(folder, name), sync_folder=sync_folder)
        self._file = open(self._publish.__enter__(), "wb")
        self._w = HashingWriter(self._file)
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": self.shape}
        np.lib.format.write_array_header_1_0(self._w, header)

    def write(self, rows: np.ndarray) -> None:
        """Appends rows (an array of this dtype whose shape past the first axis is the array's)."""
        if not isinstance(rows, np.ndarray) or rows.dtype != self.dtype or rows.shape[1:] != self.shape[1:]:
            got = f"{rows.dtype} {rows.shape}" if isinstance(rows, np.ndarray) else type(rows).__name__
            raise ValueError(f"{self.name}: rows of {self.dtype} (*, {self.shape[1:]}) expected, got {got}")
        if self._rows + rows.shape[0] > self.shape[0]:
            raise ValueError(f"{self.name}: more than the {self.shape[0]} rows announced")
        self._w.write(np.ascontiguousarray(rows).reshape(-1).view(np.uint8))
        self._rows += rows.shape[0]

    def close(self) -> FileRecord:
        if self._rows != self.shape[0]:
            raise ValueError(f"{self.name}: {self._rows} rows written, {self.shape[0]} announced")
        self._file.close()
        self._publish.__exit__(None, None, None)
        return FileRecord(self.name, self._w.bytes, self._w.sha256.hexdigest(), self.dtype.str, self.shape)

    def abort(self) -> None:
        """Removes the temporary file (nothing is published)."""
        self._file.close()
        error = RuntimeError("aborted")
        self._publish.__exit__(RuntimeError, error, None)  # published()'s clean-up; returns without raising

    def __enter__(self) -> NpyWriter:
        return self

    def __exit__(self, kind, value, tb) -> None:
        if kind is not None:
            self.abort()


def save_array(folder: str, name: str, array: np.ndarray, *, sync_folder: bool = True) -> FileRecord:
    """Writes `array` as folder/name (.npy) atomically and returns its record. sync_folder:
    False for files written in a job, moved into the index folder (and that fsynced) later."""
    with NpyWriter(folder, name, array.dtype, array.shape, sync_folder=sync_folder) as w:
        w.write(array)
        return w.close()


def save_file(folder: str, name: str, write_to, *, sync_folder: bool = True) -> FileRecord:
    """Publishes folder/name written by `write_to(temporary path)` (for files a library writes
    itself, such as a usearch graph) and returns its record."""
    path = os.path.join(folder, name)
    with published(path, sync_folder=sync_folder) as tmp:
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
        raise IndexFormatError(
            f"{path}: {size} bytes on disk, the manifest says {record.bytes} (truncated or replaced)"
        )
    if verify and sha256_file(path) != record.sha256:
        raise IndexFormatError(f"{path}: contents differ from what was written (checksum mismatch)")
    return path


def _data_offset(path: str, record: FileRecord) -> int:
    """Where a recorded .npy's data starts, after checking its header against the record (so the
    data can be mapped or read as the record's dtype and shape)."""
    with open(path, "rb") as f:
        try:
            version = np.lib.format.read_magic(f)
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(f)
        except ValueError as e:
            raise IndexFormatError(f"{path}: not a .npy array file ({e})") from None
        if fortran or dtype.str != record.dtype or tuple(shape) != record.shape:
            raise IndexFormatError(
                f"{path}: holds {dtype.str} {tuple(shape)}, the manifest says {record.dtype} {record.shape}"
            )
        return f.tell()


def load_array(folder: str, record: FileRecord, *, verify: bool) -> np.ndarray:
    """Memory-maps a recorded .npy, refusing anything that does not match its record: missing,
    truncated or extended, a foreign header, another dtype or shape, or (when `verify`) other
    bytes than were written."""
    path = check_file(folder, record, verify=verify)
    offset = _data_offset(path, record)
    if not np.prod(record.shape, dtype=np.int64):
        return np.zeros(record.shape, np.dtype(record.dtype))  # nothing to map
    return np.memmap(path, dtype=np.dtype(record.dtype), mode="r", offset=offset, shape=record.shape)


class FileArray:
    """A recorded .npy array read with explicit reads instead of a memory map: an index gives a
    scalar, a slice (step 1) a new in-memory array. Reading a large file a slice at a time keeps
    a process's memory (its resident set, which counts the mapped pages it touched) bounded by
    the slice; merges read their sources this way."""

    def __init__(self, folder: str, record: FileRecord):
        self.path = check_file(folder, record, verify=False)
        self._offset = _data_offset(self.path, record)
        self.dtype = np.dtype(record.dtype)
        self.shape = record.shape
        self._row_bytes = self.dtype.itemsize * int(np.prod(self.shape[1:], dtype=np.int64))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            i = int(key) + (len(self) if key < 0 else 0)
            if not 0 <= i < len(self):
                raise IndexError(f"{i} out of range for {len(self)} rows of {self.path}")
            return self._read(i, i + 1)[0]
        if isinstance(key, slice) and key.step in (None, 1):
            start, stop, _ = key.indices(len(self))
            return self._read(start, max(start, stop))
        raise TypeError(f"FileArray takes an int or a slice with step 1, got {key!r}")

    def _read(self, start: int, stop: int) -> np.ndarray:
        n = (stop - start) * self._row_bytes
        buf = bytearray(n)
        with open(self.path, "rb", buffering=0) as f:
            view, done = memoryview(buf), 0
            while done < n:  # a read may return less than asked
                got = os.preadv(f.fileno(), [view[done:]], self._offset + start * self._row_bytes + done)
                if got == 0:
                    raise IndexFormatError(f"{self.path}: ends before its recorded shape {self.shape}")
                done += got
        return np.frombuffer(buf, dtype=self.dtype).reshape((stop - start, *self.shape[1:]))
