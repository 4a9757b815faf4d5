"""A model folder's identity: a content hash over everything that shapes its vectors, so an index
can tell whether query vectors from a model are comparable with the vectors it stores, wherever
the folder has moved. Only this package knows which files a model folder holds."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._atomic import canonical_json, sha256_file
from .settings import MODEL_FILE, TOKENIZER_FILE, EncodingSettings

# Recorded for people, not part of the hash: where the model was exported from, and with what.
_PROVENANCE = ("source", "versions")


@dataclass(frozen=True)
class ModelIdentity:
    sha256: str  # over model.onnx, tokenizer.json and the encoding settings (provenance left out)
    dim: int
    settings: dict[str, Any]  # encoding.json's settings, for `info`

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "dim": self.dim, "settings": self.settings}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelIdentity:
        return cls(str(data["sha256"]), int(data["dim"]), dict(data.get("settings") or {}))


def identity_of(folder: str | os.PathLike, settings: EncodingSettings | None = None) -> ModelIdentity:
    """The identity of an exported model folder (reads and hashes its files)."""
    folder = Path(folder)
    settings = settings or EncodingSettings.load(folder)
    shaping = {k: v for k, v in settings.to_json().items() if k not in _PROVENANCE}
    content = {name: sha256_file(folder / name) for name in (MODEL_FILE, TOKENIZER_FILE)}
    digest = hashlib.sha256(canonical_json({"files": content, "settings": shaping})).hexdigest()
    return ModelIdentity(digest, settings.dim, settings.to_json())
