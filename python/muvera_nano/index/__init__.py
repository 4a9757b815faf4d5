"""The index: documents stored as token vectors and MUVERA FDEs, searched in the model card's
three modes (exact MaxSim, MUVERA + rerank, MUVERA only), persisted crash-safely, its segments
merged by a tiered policy, its storage kinds chosen per segment (see kinds.py for the hooks a
storage kind implements)."""

from .build import PreparedSegment
from .files import IndexFormatError
from .graph import BACKENDS, GraphConfig
from .index import MERGE_MODES, Index
from .jobs import Job
from .kinds import StorageKind, register_kind
from .policy import TieredMergePolicy
from .pq_fde import PQFdeKind
from .pq_tokens import PQTokenKind
from .search import MODES, SearchResult
from .segment import SegmentInfo
from .stream import BuildProgress, IndexBuildError

__all__ = [
    "BACKENDS",
    "MERGE_MODES",
    "MODES",
    "BuildProgress",
    "GraphConfig",
    "Index",
    "IndexBuildError",
    "IndexFormatError",
    "Job",
    "PQFdeKind",
    "PQTokenKind",
    "PreparedSegment",
    "SearchResult",
    "SegmentInfo",
    "StorageKind",
    "TieredMergePolicy",
    "register_kind",
]
