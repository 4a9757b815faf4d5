"""Storage kinds as the rest of the index uses them: the framework (kinds), the dense kinds
registered by importing them (dense), and the staging kinds of indexes that are not trained yet."""

from __future__ import annotations

from . import pq_fde, pq_tokens  # noqa: F401  (registers the compressed kinds)
from .dense import FDE_DTYPES, TOKEN_DTYPES, DenseFdeKind, DenseTokenKind
from .kinds import (
    FDE,
    ROLES,
    TOKENS,
    StorageKind,
    as_kind,
    check_kind_layout,
    kind_from_spec,
    kind_names,
    register_kind,
    same_kind,
)

# Where documents wait while the index's target kind needs codebooks it has not trained yet:
# float16, whose float32 reconstruction is exact (so training and re-encoding see what was stored).
STAGING = {TOKENS: DenseTokenKind("float16"), FDE: DenseFdeKind("float16")}

__all__ = [
    "FDE",
    "FDE_DTYPES",
    "ROLES",
    "STAGING",
    "TOKENS",
    "TOKEN_DTYPES",
    "StorageKind",
    "as_kind",
    "check_kind_layout",
    "kind_from_spec",
    "kind_names",
    "register_kind",
    "same_kind",
]
