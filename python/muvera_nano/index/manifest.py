"""The index manifest: one JSON file naming the settings and every file of the current state.
Publishing a new manifest (atomically) is the commit point of every change.

The manifest carries a SHA-256 over its own content, checked on every read: a manifest edited
by hand (say, the FDE seed, which would silently change every result) is refused like a damaged
file. Format version 2 added it (with the model's location and the storage kinds); version 1
indexes are refused with the advice to rebuild them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass
from typing import Any, Iterator

from .._atomic import TMP_PREFIX, canonical_json, read_json, write_json
from .files import FileRecord, IndexFormatError
from .settings import IndexSettings

MANIFEST = "manifest.json"
LOCK = ".lock"
FORMAT = "muvera-nano-index"
FORMAT_VERSION = 2
# Names the index writes: segment files and index-level files. Only these are ever deleted.
OWNED_PREFIXES = ("seg-", "ix-", TMP_PREFIX)
_UPGRADE = "rebuild it from its documents (muvera-nano index INPUT INDEX_DIR --overwrite)"


@dataclass(frozen=True)
class SegmentRecord:
    """A segment as the manifest records it: its files (by part), deletion mask and graph."""

    name: str
    documents: int
    tokens: int
    files: dict[str, FileRecord]
    deleted: FileRecord | None = None
    graph: FileRecord | None = None

    def records(self) -> Iterator[tuple[str, FileRecord]]:
        """(part, record) for every file of the segment."""
        yield from self.files.items()
        for part in ("deleted", "graph"):
            if getattr(self, part) is not None:
                yield part, getattr(self, part)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "documents": self.documents, "tokens": self.tokens,
                "files": {part: rec.to_dict() for part, rec in self.files.items()},
                "deleted": None if self.deleted is None else self.deleted.to_dict(),
                "graph": None if self.graph is None else self.graph.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SegmentRecord":
        def rec(x):
            return None if x is None else FileRecord.from_dict(x)

        return cls(d["name"], int(d["documents"]), int(d["tokens"]),
                   {part: FileRecord.from_dict(r) for part, r in d["files"].items()}, rec(d.get("deleted")),
                   rec(d.get("graph")))


@dataclass(frozen=True)
class Manifest:
    settings: IndexSettings
    created_by: str
    generation: int = 0
    id_kind: str | None = None  # 'int' or 'str' once the first documents are added
    next_int_id: int = 0  # default ids continue from here
    next_segment: int = 0  # segment names are never reused
    segments: tuple[SegmentRecord, ...] = ()
    files: dict[str, FileRecord] = dataclasses.field(default_factory=dict)  # index-level files
    model: dict[str, Any] | None = None  # where the encoder's model folder was: {"path", "relative"}

    def replace(self, **changes) -> "Manifest":
        return dataclasses.replace(self, **changes)

    def records(self) -> Iterator[tuple[str, FileRecord]]:
        """(part, record) for every file the manifest names."""
        for seg in self.segments:
            yield from seg.records()
        yield from self.files.items()

    def to_dict(self) -> dict[str, Any]:
        return {**self.settings.to_dict(), "created_by": self.created_by, "generation": self.generation,
                "id_kind": self.id_kind, "next_int_id": self.next_int_id, "next_segment": self.next_segment,
                "segments": [s.to_dict() for s in self.segments],
                "files": {name: rec.to_dict() for name, rec in self.files.items()}, "model": self.model}


def _checksum(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json({"format": FORMAT, "format_version": FORMAT_VERSION, **body})).hexdigest()


def write_manifest(folder: str, manifest: Manifest) -> None:
    body = manifest.to_dict()
    write_json(os.path.join(folder, MANIFEST), FORMAT, FORMAT_VERSION, {**body, "checksum": _checksum(body)})


def read_manifest(folder: str) -> Manifest:
    path = os.path.join(folder, MANIFEST)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{folder}: no such index folder")
    if not os.path.isfile(path):
        raise IndexFormatError(f"{folder}: not a muvera-nano index (no {MANIFEST})")
    data = read_json(path, FORMAT, FORMAT_VERSION, IndexFormatError, what="index manifest", upgrade=_UPGRADE)
    checksum = data.pop("checksum", None)
    for header in ("format", "format_version"):  # the checksum covers them as written, below
        data.pop(header, None)
    if checksum != _checksum(data):
        raise IndexFormatError(f"{path}: the manifest does not match its checksum (edited or damaged); its settings "
                               "and file list cannot be trusted. Restore it, or " + _UPGRADE)
    try:
        return Manifest(IndexSettings.from_dict(data, path), str(data["created_by"]), int(data["generation"]),
                        data["id_kind"], int(data["next_int_id"]), int(data["next_segment"]),
                        tuple(SegmentRecord.from_dict(s) for s in data["segments"]),
                        {name: FileRecord.from_dict(r) for name, r in data["files"].items()}, data["model"])
    except IndexFormatError:
        raise
    except KeyError as e:
        raise IndexFormatError(f"{path}: the manifest has no {e.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as e:
        raise IndexFormatError(f"{path}: malformed manifest ({e})") from None


def generation_on_disk(folder: str) -> int:
    return read_manifest(folder).generation


def referenced_files(manifest: Manifest) -> set[str]:
    return {MANIFEST, LOCK} | {rec.file for _, rec in manifest.records()}
