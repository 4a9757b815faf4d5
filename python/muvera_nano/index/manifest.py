"""The index manifest: one JSON file naming the settings and every file of the current state.
Publishing a new manifest (atomically) is the commit point of every change.

The manifest carries a SHA-256 over its own content, checked on every read: a manifest edited
by hand (say, the FDE seed, which would silently change every result) is refused like a damaged
file. Format version 2 added it (with the model's location and the storage kinds); version 3 names
each segment's storage kinds and the index's codebooks (version 2 manifests are read as segments in
the index's kinds, without codebooks); version 1 indexes are refused with the advice to rebuild them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .._atomic import TMP_PREFIX, canonical_json, read_json, write_json
from .files import FileRecord, IndexFormatError
from .settings import IndexSettings

MANIFEST = "manifest.json"
LOCK = ".lock"
FORMAT = "muvera-nano-index"
FORMAT_VERSION = 3
READS = (2, 3)
# Names the index writes: segment files and index-level files (codebooks). Only these are ever
# deleted; work in progress lives in JOBS (see jobs.py).
OWNED_PREFIXES = ("seg-", "ix-", TMP_PREFIX)
_UPGRADE = "rebuild it from its documents (muvera-nano index INPUT INDEX_DIR --overwrite)"


@dataclass(frozen=True)
class SegmentRecord:
    """A segment as the manifest records it: its files (by part), deletion mask and graph."""

    name: str
    documents: int
    tokens: int
    files: dict[str, FileRecord]
    storage: dict[str, dict]  # role -> the kind its files are stored in ({"kind": ...})
    deleted: FileRecord | None = None
    graph: FileRecord | None = None

    def records(self) -> Iterator[tuple[str, FileRecord]]:
        """(part, record) for every file of the segment."""
        yield from self.files.items()
        for part in ("deleted", "graph"):
            if getattr(self, part) is not None:
                yield part, getattr(self, part)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "documents": self.documents,
            "tokens": self.tokens,
            "storage": self.storage,
            "files": {part: rec.to_dict() for part, rec in self.files.items()},
            "deleted": None if self.deleted is None else self.deleted.to_dict(),
            "graph": None if self.graph is None else self.graph.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], storage: dict[str, dict]) -> SegmentRecord:
        """`storage`: the kinds of a format 2 record, which names none."""

        def rec(x):
            return None if x is None else FileRecord.from_dict(x)

        return cls(
            d["name"],
            int(d["documents"]),
            int(d["tokens"]),
            {part: FileRecord.from_dict(r) for part, r in d["files"].items()},
            dict(d.get("storage", storage)),
            rec(d.get("deleted")),
            rec(d.get("graph")),
        )


@dataclass(frozen=True)
class CodebookRecord:
    """A role's trained codebooks: the kind they were trained for, their files, and how many
    documents the training sample held."""

    kind: dict
    files: dict[str, FileRecord]
    documents: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "files": {part: rec.to_dict() for part, rec in self.files.items()},
            "documents": self.documents,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CodebookRecord:
        return cls(
            dict(d["kind"]), {part: FileRecord.from_dict(r) for part, r in d["files"].items()}, int(d["documents"])
        )


@dataclass(frozen=True)
class Manifest:
    settings: IndexSettings
    created_by: str
    generation: int = 0
    id_kind: str | None = None  # 'int' or 'str' once the first documents are added
    next_int_id: int = 0  # default ids continue from here
    next_segment: int = 0  # segment names are never reused
    segments: tuple[SegmentRecord, ...] = ()
    codebooks: dict[str, CodebookRecord] = dataclasses.field(default_factory=dict)  # role -> trained codebooks
    model: dict[str, Any] | None = None  # where the encoder's model folder was: {"path", "relative"}

    def replace(self, **changes) -> Manifest:
        return dataclasses.replace(self, **changes)

    def records(self) -> Iterator[tuple[str, FileRecord]]:
        """(part, record) for every file the manifest names."""
        for seg in self.segments:
            yield from seg.records()
        for book in self.codebooks.values():
            for rec in book.files.values():
                yield "codebooks", rec

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.settings.to_dict(),
            "created_by": self.created_by,
            "generation": self.generation,
            "id_kind": self.id_kind,
            "next_int_id": self.next_int_id,
            "next_segment": self.next_segment,
            "segments": [s.to_dict() for s in self.segments],
            "codebooks": {role: book.to_dict() for role, book in self.codebooks.items()},
            "model": self.model,
        }


def _checksum(body: dict[str, Any], version: int) -> str:
    return hashlib.sha256(canonical_json({"format": FORMAT, "format_version": version, **body})).hexdigest()


def write_manifest(folder: str, manifest: Manifest) -> None:
    body = manifest.to_dict()
    write_json(
        os.path.join(folder, MANIFEST), FORMAT, FORMAT_VERSION, {**body, "checksum": _checksum(body, FORMAT_VERSION)}
    )


def read_manifest(folder: str) -> Manifest:
    path = os.path.join(folder, MANIFEST)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{folder}: no such index folder")
    if not os.path.isfile(path):
        raise IndexFormatError(f"{folder}: not a muvera-nano index (no {MANIFEST})")
    data = read_json(path, FORMAT, READS, IndexFormatError, what="index manifest", upgrade=_UPGRADE)
    checksum = data.pop("checksum", None)
    data.pop("format")
    version = data.pop("format_version")  # the checksum covers both as written, below
    if checksum != _checksum(data, version):
        raise IndexFormatError(
            f"{path}: the manifest does not match its checksum (edited or damaged); its settings "
            "and file list cannot be trusted. Restore it, or " + _UPGRADE
        )
    try:
        storage = {"tokens": data["token_storage"], "fde": data["fde_storage"]}  # format 2: every segment's
        return Manifest(
            IndexSettings.from_dict(data, path),
            str(data["created_by"]),
            int(data["generation"]),
            data["id_kind"],
            int(data["next_int_id"]),
            int(data["next_segment"]),
            tuple(SegmentRecord.from_dict(s, storage) for s in data["segments"]),
            {role: CodebookRecord.from_dict(b) for role, b in data.get("codebooks", {}).items()},
            data["model"],
        )
    except IndexFormatError:
        raise
    except KeyError as e:
        raise IndexFormatError(f"{path}: the manifest has no {e.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as e:
        raise IndexFormatError(f"{path}: malformed manifest ({e})") from None


def generation_on_disk(folder: str) -> int:
    """The committed generation (only that is read: a commit's first step, so it stays cheap; the
    whole manifest is checked when it is loaded)."""
    try:
        with open(os.path.join(folder, MANIFEST), "rb") as f:
            generation = json.loads(f.read())["generation"]
        if isinstance(generation, int):
            return generation
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return read_manifest(folder).generation  # which says what is wrong


def referenced_files(manifest: Manifest) -> set[str]:
    return {MANIFEST, LOCK} | {rec.file for _, rec in manifest.records()}
