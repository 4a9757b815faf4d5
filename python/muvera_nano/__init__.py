"""muvera-nano: late-interaction (ColBERT) retrieval on CPUs.

Kernels (MaxSim, MUVERA FDE) run in a C++ core with runtime CPU dispatch and a
persistent thread pool; numpy arrays are read in place.
"""

from ._core import cpu_info, get_num_threads, isa, set_num_threads, supported_isas
from .fde import FDEConfig  # MUVERA fixed dimensional encodings
from .kernels import (
    PQ4Luts,
    PQCodebook,
    Ragged,
    dot_scores,
    dot_topk,
    maxsim,
    pq4_block,
    pq4_lut,
    pq4_topk,
    pq4_unblock,
    pq_decode,
    pq_encode,
    pylate_rerank,
    quantize_int8,
    rerank,
)

__version__ = "0.1.0"

__all__ = [
    "FDEConfig",
    "PQ4Luts",
    "PQCodebook",
    "Ragged",
    "cpu_info",
    "dot_scores",
    "dot_topk",
    "get_num_threads",
    "isa",
    "maxsim",
    "pq4_block",
    "pq4_lut",
    "pq4_topk",
    "pq4_unblock",
    "pq_decode",
    "pq_encode",
    "pylate_rerank",
    "quantize_int8",
    "rerank",
    "set_num_threads",
    "supported_isas",
]
