"""The approximate candidate backend: an HNSW graph over each segment's FDE rows (usearch),
searched for candidates whose FDE dot products are then computed exactly from the stored rows.
For large collections, where scanning every FDE row costs more than the rerank itself.
Needs the optional dependency usearch (`pip install 'muvera-nano[graph]'`)."""

from __future__ import annotations

import dataclasses

import numpy as np

from .files import FileRecord, IndexFormatError, check_file, save_file

BACKENDS = ("exact", "hnsw")
GRAPH_DTYPES = ("bf16", "f16", "f32", "i8")
_CHUNK = 8192  # rows converted to float32 and added to a graph at a time


@dataclasses.dataclass(frozen=True)
class GraphConfig:
    """HNSW settings: links per node, candidate-list sizes while building and searching (a
    search explores at least as many as it is asked for), and the precision the graph keeps its
    vectors in: 'bf16' (the default: faster than 'f16' at the same recall where usearch has an
    AVX512_BF16 kernel), 'f16', 'f32', or 'i8' (unsuited to normalised FDEs: usearch quantizes
    with a fixed scale made for entries near ±1). Measurements: bench/README.md, section Index.
    Candidates are always re-scored from the stored FDE rows, so the graph's precision only
    affects which rows it proposes."""

    connectivity: int = 16
    expansion_add: int = 128
    expansion_search: int = 128
    dtype: str = "bf16"

    def __post_init__(self):
        for name in ("connectivity", "expansion_add", "expansion_search"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 2:
                raise ValueError(f"{name} must be an int >= 2, got {v!r}")
        if self.dtype not in GRAPH_DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(map(repr, GRAPH_DTYPES))}, got {self.dtype!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> GraphConfig:
        return cls(**d)


def _usearch():
    # usearch loads its NumKong extension with RTLD_GLOBAL, and onnxruntime imported after it
    # binds C++ runtime symbols to that library and crashes on import (usearch 2.26, onnxruntime
    # 1.32). Loading onnxruntime first keeps both working.
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        pass
    try:
        from usearch.index import Index as UIndex
    except ImportError as e:
        raise ImportError("the 'hnsw' candidate backend needs usearch: pip install 'muvera-nano[graph]'") from e
    return UIndex


def build_graph(fde, cfg: GraphConfig, threads: int | None):
    """A graph over a segment's stored FDE rows (storage.DenseFde), keyed by row index
    (inner-product metric). Built the same way for new and compacted segments, so a compacted
    index proposes the candidates the original did. Rows go in as float32 a chunk at a time,
    in row order, so the float32 copy stays small."""
    UIndex = _usearch()
    g = UIndex(
        ndim=fde.width,
        metric="ip",
        dtype=cfg.dtype,
        connectivity=cfg.connectivity,
        expansion_add=cfg.expansion_add,
        expansion_search=cfg.expansion_search,
    )
    for start in range(0, len(fde), _CHUNK):
        rows = slice(start, min(start + _CHUNK, len(fde)))
        g.add(np.arange(rows.start, rows.stop, dtype=np.uint64), fde.to_float32(rows), threads=threads or 0)
    return g


def save_graph(folder: str, name: str, graph, *, sync_folder: bool = True) -> FileRecord:
    """Writes the graph atomically as folder/name; returns its record."""
    return save_file(folder, name, graph.save, sync_folder=sync_folder)


def open_graph(folder: str, record: FileRecord, n: int, ndim: int, cfg: GraphConfig, verify: bool):
    """Memory-maps a recorded graph, refusing one that does not match its record or its segment."""
    path = check_file(folder, record, verify=verify)
    UIndex = _usearch()
    try:
        g = UIndex.restore(path, view=True)
    except Exception as e:  # usearch raises plain RuntimeError/ValueError on foreign files
        raise IndexFormatError(f"{path}: not a usearch index ({e})") from None
    if g is None or g.ndim != ndim or len(g) != n:
        raise IndexFormatError(
            f"{path}: holds {None if g is None else len(g)} vectors of dimension "
            f"{None if g is None else g.ndim}, expected {n} of {ndim}"
        )
    g.expansion_search = cfg.expansion_search
    return g


def graph_candidates(
    graph, query_fdes: np.ndarray, count: int, deleted: np.ndarray | None, threads: int | None
) -> list[np.ndarray]:
    """Per query, up to `count` live row indices the graph finds closest (unordered)."""
    n_deleted = 0 if deleted is None else int(deleted.sum())
    want = min(len(graph), count + n_deleted)
    matches = graph.search(np.ascontiguousarray(query_fdes, dtype=np.float32), want, threads=threads or 0)
    if hasattr(matches, "counts"):  # BatchMatches
        keys, counts = matches.keys, matches.counts
    else:  # one query gives a plain Matches
        keys, counts = matches.keys[None], np.array([len(matches.keys)])
    out = []
    for i in range(len(query_fdes)):
        rows = keys[i, : counts[i]].astype(np.int64)
        if deleted is not None:
            rows = rows[~deleted[rows]]
        out.append(rows[:count])
    return out
