"""The index: documents stored as token vectors and MUVERA FDEs, searched in the model card's
three modes (exact MaxSim, MUVERA + rerank, MUVERA only), persisted crash-safely."""

from .files import IndexFormatError
from .graph import BACKENDS, GraphConfig
from .index import Index
from .search import MODES, SearchResult

__all__ = ["BACKENDS", "GraphConfig", "Index", "IndexFormatError", "MODES", "SearchResult"]
