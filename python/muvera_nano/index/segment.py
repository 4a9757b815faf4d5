"""A segment: an immutable batch of documents as written by one `add` (or a compaction):
token vectors (ragged), their FDE rows, and ids. Only its deletion mask changes, and that is
written as a new file on each change."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..kernels import Ragged, quantize_int8
from .files import IndexFormatError, load_array, save_array
from .graph import GraphConfig, build_graph, open_graph, save_graph
from .ids import SegmentIds, encode_ids

TOKEN_DTYPES = ("float32", "float16", "bfloat16", "int8")
FDE_DTYPES = ("float32", "float16", "int8")


@dataclass
class Segment:
    name: str
    tokens: Ragged
    fde: np.ndarray  # (n, D): float32, float16 or int8
    fde_scales: np.ndarray | None  # int8 FDE rows
    ids: SegmentIds
    deleted: np.ndarray | None = None  # bool (n,), None when nothing is deleted
    files: dict = field(default_factory=dict)  # manifest records once written
    deleted_file: dict | None = None
    graph: Any = None  # usearch HNSW over the FDE rows (the 'hnsw' candidate backend)
    graph_file: dict | None = None
    _live: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.tokens)

    @property
    def n_live(self) -> int:
        return self.n - (0 if self.deleted is None else int(self.deleted.sum()))

    def live_rows(self) -> np.ndarray:
        """Row indices not deleted (int64, ascending), cached."""
        if self._live is None:
            rows = np.arange(self.n, dtype=np.int64)
            self._live = rows if self.deleted is None else rows[~self.deleted]
        return self._live

    def with_deleted(self, deleted: np.ndarray | None, deleted_file: dict | None) -> "Segment":
        return dataclasses.replace(self, deleted=deleted, deleted_file=deleted_file, _live=None)

    def fde_float32(self, rows: np.ndarray | None = None) -> np.ndarray:
        """FDE rows as float32 (dequantized for int8), all or the given ones."""
        f = np.asarray(self.fde if rows is None else self.fde[rows], dtype=np.float32)
        if self.fde_scales is not None:
            f = f * (self.fde_scales if rows is None else self.fde_scales[rows])[:, None]
        return f


def build_segment(name: str, tokens: Ragged, fde: np.ndarray, ids: Sequence[Any], id_kind: str,
                  token_dtype: str, fde_dtype: str, graph: GraphConfig | None, threads: int | None) -> Segment:
    """An in-memory segment in the index's storage types (converts, i.e. copies), with its
    HNSW graph when the index uses that backend."""
    stored = tokens.astype(token_dtype, threads=threads)
    g = build_graph(fde, graph, threads) if graph is not None else None
    fde_scales = None
    if fde_dtype == "int8":
        fde, fde_scales = quantize_int8(np.ascontiguousarray(fde, dtype=np.float32), threads=threads)
    else:
        fde = np.ascontiguousarray(fde, dtype=np.dtype(fde_dtype))
    return Segment(name, stored, fde, fde_scales, SegmentIds(id_kind, encode_ids(ids, id_kind)), graph=g)


def _parts(seg: Segment) -> dict[str, np.ndarray]:
    t = seg.tokens
    tokens = t.tokens.view(np.uint16) if t.dtype == "bfloat16" else t.tokens
    parts = {"tokens": tokens, "offsets": t.offsets, "fde": seg.fde}
    if t.scales is not None:
        parts["scales"] = t.scales
    if seg.fde_scales is not None:
        parts["fde_scales"] = seg.fde_scales
    ids = seg.ids
    parts.update({"ids": ids._ints} if ids.kind == "int" else {"id_bytes": ids._bytes, "id_offsets": ids._offsets})
    return parts


def write_segment(folder: str, seg: Segment) -> dict:
    """Writes the segment's arrays (each atomically); returns their manifest records."""
    return {part: save_array(os.path.join(folder, f"{seg.name}.{part}.npy"), arr) for part, arr in _parts(seg).items()}


def write_graph(folder: str, seg: Segment) -> dict | None:
    return None if seg.graph is None else save_graph(folder, seg.name, seg.graph)


def write_deleted(folder: str, seg: Segment, generation: int) -> dict | None:
    if seg.deleted is None:
        return None
    return save_array(os.path.join(folder, f"{seg.name}.deleted-{generation:08d}.npy"), seg.deleted)


def open_segment(folder: str, entry: dict, token_dtype: str, id_kind: str, graph: GraphConfig | None, *,
                 mmap: bool, verify: bool) -> Segment:
    files = entry["files"]
    need = {"tokens", "offsets", "fde"} | ({"ids"} if id_kind == "int" else {"id_bytes", "id_offsets"})
    if token_dtype == "int8":
        need.add("scales")
    missing = need - set(files)
    if missing:
        raise IndexFormatError(f"segment {entry['name']}: the manifest lists no {sorted(missing)} file")
    # Small files are always checksummed; the large ones (tokens, FDE rows) on `verify`.
    arr = {part: load_array(folder, rec, mmap=mmap, verify=verify or part not in ("tokens", "fde"))
           for part, rec in files.items()}
    try:
        tokens = Ragged(arr["tokens"], arr["offsets"], arr.get("scales"), dtype=token_dtype)
    except (TypeError, ValueError) as e:
        raise IndexFormatError(f"segment {entry['name']}: inconsistent token store ({e})") from None
    ids = SegmentIds(id_kind, arr)
    n = len(tokens)
    if arr["fde"].ndim != 2 or arr["fde"].shape[0] != n or len(ids) != n or n != entry["documents"]:
        raise IndexFormatError(f"segment {entry['name']}: {n} token items, {arr['fde'].shape[0]} FDE rows, "
                               f"{len(ids)} ids; the manifest says {entry['documents']} documents")
    deleted = None
    if entry.get("deleted"):
        deleted = load_array(folder, entry["deleted"], mmap=False, verify=True)
        if deleted.dtype != np.bool_ or deleted.shape != (n,):
            raise IndexFormatError(f"segment {entry['name']}: deletion mask has shape {deleted.shape}, expected ({n},)")
    g = None
    if graph is not None:
        if not entry.get("graph"):
            raise IndexFormatError(f"segment {entry['name']}: the index uses the hnsw backend but the manifest names no graph")
        g = open_graph(folder, entry["graph"], n, arr["fde"].shape[1], graph, verify)
    return Segment(entry["name"], tokens, arr["fde"], arr.get("fde_scales"), ids, deleted, files, entry.get("deleted"),
                   g, entry.get("graph"))
