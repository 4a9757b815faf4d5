"""The encoder an index's vectors came from. The model package gives its identity (a content
hash, the dimension, the settings); the index stores it, compares it with any encoder it is
given, and records where the model folder was so it can load it again: a path relative to the
index when the model sits inside the index folder or beside it (under the same parent folder,
so the pair can move together), and the absolute path."""

from __future__ import annotations

import os
from typing import Any

HOW = "pass the model folder (encoder= in Python, --model on the command line)"


def as_encoder(encoder: Any):
    """None, an encoder object (as muvera_nano.model.ColBERT), or one loaded from a model folder,
    a PyLate checkpoint folder or a hub id (muvera_nano.model.load)."""
    if encoder is None:
        return None
    if isinstance(encoder, (str, os.PathLike)):
        from .. import model

        return model.load(encoder)
    if not all(hasattr(encoder, a) for a in ("encode_ragged", "dim", "identity")):
        raise TypeError(
            f"encoder must be a muvera_nano.model.ColBERT, a model or checkpoint folder or a hub id, "
            f"got {type(encoder).__name__}"
        )
    return encoder


def check_encoder(identity: dict | None, dim: int, encoder, where: str) -> None:
    """Refuses an encoder whose vectors would not be comparable with the index's."""
    if encoder.dim != dim:
        raise ValueError(f"the encoder produces {encoder.dim}-dimensional vectors, the index at {where} holds {dim}")
    if identity is not None and encoder.identity.sha256 != identity["sha256"]:
        raise ValueError(
            f"the index at {where} was built with another model (content sha256 "
            f"{identity['sha256'][:12]}, this one {encoder.identity.sha256[:12]}); "
            "its vectors would not be comparable"
        )


def model_location(encoder, index_folder: str | None) -> dict | None:
    """Where the encoder's model folder is, as the manifest records it (None without a folder)."""
    folder = getattr(encoder, "folder", None)
    if folder is None:
        return None
    path = os.path.abspath(os.fspath(folder))
    relative = None
    if index_folder is not None:
        parent = os.path.dirname(index_folder)
        if os.path.commonpath([path, parent]) == parent:
            relative = os.path.relpath(path, index_folder)
    return {"path": path, "relative": relative}


def encoder_record(encoder) -> dict:
    """What the manifest keeps of the encoder: its identity, and the precision it ran in (issue 11:
    an index records it; the model is loaded in it again when the index is opened)."""
    precision = getattr(encoder, "precision", None)
    return encoder.identity.to_dict() | ({} if precision is None else {"precision": precision})


def find_model(identity: dict, location: dict | None, index_folder: str | None):
    """Loads the model the index was built with from where the manifest says it is (relative to
    the index first, then the absolute path), checking its identity."""
    from ..model.identity import identity_of
    from ..model.resolve import is_exported

    location = location or {}
    places = []
    if location.get("relative") and index_folder is not None:
        places.append(os.path.normpath(os.path.join(index_folder, location["relative"])))
    if location.get("path"):
        places.append(location["path"])
    other = []
    for place in dict.fromkeys(places):
        if is_exported(place):
            if identity_of(place).sha256 == identity["sha256"]:
                return _load_in(place, identity.get("precision"), index_folder)
            other.append(place)
    where = index_folder or "<memory>"
    if not places:
        raise FileNotFoundError(f"the index at {where} does not record where its model folder is; {HOW}")
    state = f"{' and '.join(other)} holds another model" if other else "it is not there"
    raise FileNotFoundError(
        f"the index at {where} was built with the model folder {' or '.join(places)} "
        f"(content sha256 {identity['sha256'][:12]}), but {state}; {HOW}"
    )


def _load_in(place: str, precision: str | None, index_folder: str | None):
    """The model in the precision the index was built with; if this machine cannot run it, an error
    that says how to search in another one (the vectors are comparable, the scores differ slightly)."""
    from ..model import load

    try:
        return load(place, precision=precision)
    except (ImportError, ValueError) as e:
        raise type(e)(
            f"the index at {index_folder or '<memory>'} was built with its encoder in {precision}, which cannot "
            f"run here ({e}); to search with another precision, open it with "
            f"encoder=muvera_nano.model.load({place!r}, precision='float32')"
        ) from e
