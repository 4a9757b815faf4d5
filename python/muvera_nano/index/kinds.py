"""Storage kinds: how a segment stores its token vectors or its FDE rows, and how it scores them.

Each segment's manifest record names the kind of its tokens and of its FDE rows, so one index may
hold segments of several kinds; the index's settings name the kinds new documents should end up
in (its target). A kind is a small object with a name and parameters (``to_dict()``, as the
manifest records it) that knows

- its arrays per segment: ``layout(width)``, a ``{name: layout.Part}`` (width: the token
  dimension or the FDE width). Token kinds have an ``offsets`` array (n + 1 token boundaries)
  and one row per token in each ``rows`` array; FDE kinds have ``item`` arrays only. That is
  what lets any segment be sliced, gathered, concatenated and re-encoded by generic code;
- ``build(float32 input, codebooks, threads)``: the stored form (an object with ``arrays()``);
  input is a float32 Ragged (tokens) or an (n, width) float32 array (FDE rows);
- ``open(arrays, codebooks, where)``: a stored part over arrays read back (memory maps), which
  scores (tokens: ``rerank``; FDE rows: ``topk`` and ``scores``) and reconstructs float32
  (``to_float32(items)``), which is how a segment stored in one kind is re-encoded in another;
- training, for kinds with codebooks: ``needs_training``, ``min_training_documents``,
  ``train(sample, threads) -> {name: array}`` (index-level arrays, committed through the
  manifest like segment files) and ``check_codebooks``. Until an index has its codebooks, its
  documents are stored in the staging kind (float16: exact when reconstructed), and merges later
  rewrite them in the trained kind.

Kinds are registered by name per role (``register_kind``); the manifest's ``{"kind": name, ...}``
finds them again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from .files import IndexFormatError
from .layout import BLOCKS, ITEM, OFFSETS, ROWS, Layout, check_layout

TOKENS, FDE = "tokens", "fde"
ROLES = (TOKENS, FDE)


class StorageKind:
    """Base of every storage kind (see the module's description). Subclasses are frozen
    dataclasses (or otherwise compare by value) so two kinds with equal specs are equal."""

    role: ClassVar[str] = ""
    name: ClassVar[str] = ""
    needs_training: ClassVar[bool] = False
    min_training_documents: ClassVar[int] = 0  # documents an index holds before it trains
    custom_merge: ClassVar[bool] = False  # writes a merged segment's arrays itself (write_merged)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.name}

    def layout(self, width: int) -> Layout:
        raise NotImplementedError

    def build(self, data, codebooks: Mapping[str, np.ndarray] | None, threads):
        raise NotImplementedError

    def open(self, arrays: Mapping[str, np.ndarray], codebooks: Mapping[str, np.ndarray] | None, where: str):
        raise NotImplementedError

    # -- training (kinds with codebooks) ---------------------------------------------
    def training_sample(self, available: int) -> int:
        """How many documents to train on when `available` are staged."""
        return min(available, self.min_training_documents)

    def train(self, sample, threads) -> dict[str, np.ndarray]:
        """Codebooks from a float32 sample (a Ragged of token vectors, or FDE rows)."""
        raise NotImplementedError(f"{self.name} storage needs no training")

    def check_codebooks(self, codebooks: Mapping[str, np.ndarray], width: int, where: str) -> None:
        """Raises IndexFormatError when codebooks read back cannot be this kind's for `width`."""

    # -- searching (FDE kinds) --------------------------------------------------------
    def prepare(self, query_fdes: np.ndarray, codebooks: Mapping[str, np.ndarray] | None, probe: int | None):
        """The query FDEs as this kind's stored parts' ``topk`` takes them: the work a search
        shares between every segment stored in the kind (a coarse probe, lookup tables), done
        once per search. Dense kinds take the FDEs as they are."""
        return query_fdes


def check_kind_layout(kind: StorageKind, width: int) -> Layout:
    """The kind's layout, checked to follow its role's rules."""
    layout = kind.layout(width)
    where = f"{kind.role} storage {kind.name!r}"
    check_layout(layout, where)
    if kind.role == TOKENS:
        if (
            layout.get("offsets") is None
            or layout["offsets"].layout != OFFSETS
            or any(p.layout == OFFSETS and n != "offsets" for n, p in layout.items())
            or any(p.layout == ROWS and p.index != "offsets" for p in layout.values())
        ):
            raise ValueError(f"{where}: a token kind has one offsets array, 'offsets', delimiting every rows array")
    elif any(p.layout != ITEM and not (p.layout == BLOCKS and kind.custom_merge) for p in layout.values()):
        raise ValueError(
            f"{where}: an FDE kind stores item arrays (one row per document), or blocks of them "
            "when it merges its arrays itself"
        )
    return layout


_REGISTRY: dict[str, dict[str, Callable[[dict], StorageKind]]] = {TOKENS: {}, FDE: {}}


def register_kind(role: str, name: str, factory: Callable[[dict], StorageKind]) -> None:
    """Makes kind `name` known for `role`: `factory(spec)` builds it from the manifest's
    ``{"kind": name, ...}`` (and from ``{"kind": name}`` when a user names it)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    _REGISTRY[role][name] = factory


def kind_names(role: str) -> tuple[str, ...]:
    return tuple(_REGISTRY[role])


def kind_from_spec(role: str, spec: Any, where: str) -> StorageKind:
    """The kind a manifest names; IndexFormatError for one this muvera-nano does not know."""
    name = spec.get("kind") if isinstance(spec, dict) else None
    factory = _REGISTRY[role].get(name)
    if factory is None:
        raise IndexFormatError(
            f"{where}: unknown {'token' if role == TOKENS else 'FDE'} storage {spec!r}; "
            f"this muvera-nano knows {kind_names(role)}"
        )
    try:
        return factory(spec)
    except (KeyError, TypeError, ValueError) as e:
        raise IndexFormatError(f"{where}: invalid {role} storage {spec!r} ({e})") from None


def as_kind(role: str, value: Any, argument: str) -> StorageKind:
    """What a user passed (a kind's name or a kind object) as a kind, or a ValueError/TypeError
    naming `argument`."""
    if isinstance(value, StorageKind):
        if value.role != role:
            raise ValueError(f"{argument} must be a {role} storage kind, got a {value.role} kind ({value.name})")
        return value
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a storage kind's name or object, got {type(value).__name__}")
    if value not in _REGISTRY[role]:
        raise ValueError(f"{argument} must be one of {kind_names(role)}, got {value!r}")
    return _REGISTRY[role][value]({"kind": value})


def same_kind(a: StorageKind, b: StorageKind) -> bool:
    return a.to_dict() == b.to_dict()
