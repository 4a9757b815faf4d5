"""Type stubs for the compiled core (use the muvera_nano package, not this module directly)."""

from enum import Enum
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

_Threads = int | None
_DTypeName = Literal["float32", "float16", "bfloat16", "int8", "pq8"]

# -- system -----------------------------------------------------------------------------
def isa() -> str: ...
def supported_isas() -> list[str]: ...
def cpu_info() -> dict[str, Any]: ...
def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...

# -- stores -----------------------------------------------------------------------------
class DType(Enum):
    float32 = 0
    float16 = 1
    bfloat16 = 2
    int8 = 3
    pq8 = 4

class PQCodebook:
    """The codebook of pq8 tokens: centroids (M, 256, dsub) float32, copied."""

    def __init__(self, centroids: npt.NDArray[np.float32]) -> None: ...
    @property
    def centroids(self) -> npt.NDArray[np.float32]: ...
    @property
    def n_subspaces(self) -> int: ...
    @property
    def dsub(self) -> int: ...
    @property
    def dim(self) -> int: ...

class Rows:
    """A typed row matrix: (n, dim) values, a float32 scale per row for int8."""

    def __init__(
        self,
        rows: npt.NDArray[Any],
        scales: npt.NDArray[np.float32] | None = None,
        *,
        dtype: _DTypeName | DType | None = None,
    ) -> None: ...
    @property
    def array(self) -> npt.NDArray[Any]: ...
    @property
    def scales(self) -> npt.NDArray[np.float32] | None: ...
    @property
    def dtype(self) -> _DTypeName: ...
    @property
    def shape(self) -> tuple[int, int]: ...

class RaggedStore:
    """A set of multi-vectors: item i is tokens[offsets[i]:offsets[i + 1]]."""

    def __init__(
        self,
        tokens: npt.NDArray[Any],
        offsets: npt.NDArray[np.int64],
        scales: npt.NDArray[np.float32] | None = None,
        *,
        dtype: _DTypeName | DType | None = None,
        codebook: PQCodebook | None = None,
    ) -> None: ...
    @property
    def tokens(self) -> npt.NDArray[Any]: ...
    @property
    def offsets(self) -> npt.NDArray[np.int64]: ...
    @property
    def scales(self) -> npt.NDArray[np.float32] | None: ...
    @property
    def codebook(self) -> PQCodebook | None: ...
    @property
    def dtype(self) -> _DTypeName: ...
    @property
    def dim(self) -> int: ...
    @property
    def n_tokens(self) -> int: ...
    def __len__(self) -> int: ...

# -- MaxSim, rerank, conversions ----------------------------------------------------------
def maxsim(
    queries: npt.NDArray[np.float32] | RaggedStore, docs: RaggedStore, threads: _Threads = None
) -> npt.NDArray[np.float32]: ...
def rerank(
    queries: npt.NDArray[np.float32] | RaggedStore,
    docs: RaggedStore,
    candidates: npt.NDArray[np.int64] | None = None,
    k: int | None = None,
    threads: _Threads = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...
def quantize_int8(
    rows: npt.NDArray[np.float32], threads: _Threads = None
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]: ...
def convert_rows(rows: npt.NDArray[np.float32], to: DType, threads: _Threads = None) -> npt.NDArray[np.uint16]: ...

# -- dense scan -------------------------------------------------------------------------
def dot_scores(queries: npt.NDArray[np.float32], rows: Rows, threads: _Threads = None) -> npt.NDArray[np.float32]: ...
def dot_topk(
    queries: npt.NDArray[np.float32],
    rows: Rows,
    k: int,
    exclude: npt.NDArray[np.bool_] | None = None,
    threads: _Threads = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...

# -- FDE --------------------------------------------------------------------------------
class FdeKind(Enum):
    query = 0
    document = 1

class FdePlan:
    @property
    def input_dim(self) -> int: ...
    @property
    def output_dim(self) -> int: ...

def fde_plan(
    dim: int,
    repetitions: int,
    simhash_bits: int,
    projection_dim: int,
    simhash: npt.NDArray[np.float32],
    ams_column: npt.NDArray[np.int32] | None,
    ams_sign: npt.NDArray[np.float32] | None,
    final_dim: int,
    final_index: npt.NDArray[np.int32] | None,
    final_sign: npt.NDArray[np.float32] | None,
) -> FdePlan: ...
def fde_encode(
    plan: FdePlan,
    items: RaggedStore,
    kind: FdeKind,
    fill: bool = False,
    out: npt.NDArray[np.float32] | None = None,
    threads: _Threads = None,
) -> npt.NDArray[np.float32]: ...
def fde_google_state(
    dim: int, repetitions: int, simhash_bits: int, projection_dim: int, final_dim: int, seed: int
) -> dict[str, npt.NDArray[Any] | None]: ...

# -- product quantization ---------------------------------------------------------------
def pq_encode(
    rows: npt.NDArray[np.float32], centroids: npt.NDArray[np.float32], threads: _Threads = None
) -> npt.NDArray[np.uint8]: ...
def pq_decode(
    codes: npt.NDArray[np.uint8], centroids: npt.NDArray[np.float32], threads: _Threads = None
) -> npt.NDArray[np.float32]: ...

class PQ4Luts:
    """Quantized lookup tables of queries for pq4_topk."""

    @property
    def table(self) -> npt.NDArray[np.uint8]: ...
    @property
    def scale(self) -> npt.NDArray[np.float32]: ...
    @property
    def bias(self) -> npt.NDArray[np.float32]: ...
    @property
    def n_subspaces(self) -> int: ...
    @property
    def single(self) -> bool: ...
    def __len__(self) -> int: ...

def pq4_lut(queries: npt.NDArray[np.float32], centroids: npt.NDArray[np.float32]) -> PQ4Luts: ...
def pq4_topk(
    luts: PQ4Luts,
    codes_blocked: npt.NDArray[np.uint8],
    ranges: npt.NDArray[np.int64],
    range_offsets: npt.NDArray[np.float32],
    k: int,
    threads: _Threads = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...
def pq4_block(codes: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]: ...
def pq4_unblock(codes_blocked: npt.NDArray[np.uint8], n: int) -> npt.NDArray[np.uint8]: ...

# -- test hooks (muvera_nano._testing) ------------------------------------------------------
class _Testing:
    @staticmethod
    def set_isa(name: str) -> None: ...
    @staticmethod
    def set_extensions(enabled: bool) -> None: ...
    @staticmethod
    def fde_random_stream(kind: str, seed: int, count: int, n: int = 1) -> npt.NDArray[Any]: ...
    @staticmethod
    def fde_log_float(x: npt.ArrayLike) -> npt.NDArray[np.float32]: ...

_testing: _Testing
