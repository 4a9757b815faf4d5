"""The encoder an index's vectors came from. The model package gives its identity (a content
hash, the dimension, the settings); the index stores it, compares it with any encoder it is
given, and records where the model folder was so it can load it again."""

from __future__ import annotations

import os
from typing import Any


def as_encoder(encoder: Any):
    """None, an encoder object (as muvera_nano.model.ColBERT), or one loaded from a model folder,
    a PyLate checkpoint folder or a hub id (muvera_nano.model.load)."""
    if encoder is None:
        return None
    if isinstance(encoder, (str, os.PathLike)):
        from .. import model

        return model.load(encoder)
    if not all(hasattr(encoder, a) for a in ("encode_ragged", "dim", "identity")):
        raise TypeError(f"encoder must be a muvera_nano.model.ColBERT, a model or checkpoint folder or a hub id, "
                        f"got {type(encoder).__name__}")
    return encoder


def check_encoder(identity: dict | None, dim: int, encoder, where: str) -> None:
    """Refuses an encoder whose vectors would not be comparable with the index's."""
    if encoder.dim != dim:
        raise ValueError(f"the encoder produces {encoder.dim}-dimensional vectors, the index at {where} holds {dim}")
    if identity is not None and encoder.identity.sha256 != identity["sha256"]:
        raise ValueError(f"the index at {where} was built with another model (content sha256 "
                         f"{identity['sha256'][:12]}, this one {encoder.identity.sha256[:12]}); "
                         "its vectors would not be comparable")


def model_location(encoder, index_folder: str | None) -> dict | None:
    """Where the encoder's model folder is, as the manifest records it (None without a folder)."""
    folder = getattr(encoder, "folder", None)
    return None if folder is None else {"path": os.path.abspath(os.fspath(folder))}


def find_model(identity: dict, location: dict | None, index_folder: str | None):
    """Loads the model the index was built with from where the manifest says it is, checking
    its identity."""
    from ..model import load

    folder = (location or {}).get("path")
    if not folder or not os.path.isdir(folder):
        raise FileNotFoundError(f"the index was built with the model folder {folder!r}, which is not there; "
                                "open the index with encoder=<model folder or ColBERT>")
    encoder = load(folder)
    check_encoder(identity, identity["dim"], encoder, index_folder or "<memory>")
    return encoder
