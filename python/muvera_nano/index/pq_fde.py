"""The compressed FDE kind 'pq': each FDE row's residual from its coarse centroid is
product-quantized with 4-bit codes (16 centroids per subspace of 4 values: 1,280 bytes for a
10,240-value row instead of 20,480 in float16), scored by the kernels' 4-bit fast scan with the
top-k fused in: approximate dot product = <q, coarse centroid> + the sum over subspaces of a
16-entry lookup table. With lists = 1 (the default) the one coarse centroid is the mean row and
every row is scanned; with lists > 1 the rows are partitioned (an inverted file, IVF) and a query
scans only the `probe` lists whose centroids it scores highest. On FDEs that partition costs
recall quickly (bench/README.md, section Index: 0.9 of the exact top 10 needed more than half of
the rows scanned), which is why it is not the default.

Within a segment the rows of each list lie together ("grouped order": the documents sorted by
list, stably), in blocks of 32 rows the fast scan reads at once; `fde_list` keeps each
document's list in document order, from which the grouping is derived when a segment opens.
Merges write the grouped blocks list by list (write_merged), in bounded memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..kernels import pq4_lut, pq4_topk, pq_encode
from . import layout as L
from .files import IndexFormatError
from .kinds import FDE, StorageKind, register_kind
from .quantizers import kmeans, nearest, pq_decode, pq_train, unpack_nibbles

BLOCK = 32  # rows per fast-scan block
SUB_DIM = 4  # values per subspace
CENTROIDS = 16  # 4-bit codes
_ASSIGN_CHUNK = 1024


@dataclass(frozen=True)
class Probe:
    """A batch of query FDEs prepared for the fast scan of one pq codebook: the lists each
    query probes, its dot product with their centroids, and its lookup tables (one kernels'
    PQ4Luts for the batch when every query scans every list, else one per query)."""

    lists: np.ndarray  # (nq, probe) int64, best first
    offsets: np.ndarray  # (nq, probe) float32: <q, centroid of the list>
    luts: Any


@dataclass(frozen=True, eq=False)
class PQFde:
    kind: PQFdeKind
    lists: np.ndarray  # (n,) int32, document order
    blocks: np.ndarray  # (ceil(n / 32), M / 2, 32) uint8, grouped order
    books: Mapping[str, np.ndarray]
    order: np.ndarray = field(init=False)  # grouped position -> document row
    starts: np.ndarray = field(init=False)  # list l's rows are positions starts[l]:starts[l + 1]

    def __post_init__(self):
        lists = np.asarray(self.lists)
        object.__setattr__(self, "order", np.argsort(lists, kind="stable"))
        object.__setattr__(self, "starts", np.searchsorted(lists[self.order], np.arange(self.kind.lists + 1)))

    def __len__(self) -> int:
        return len(self.lists)

    @property
    def width(self) -> int:
        return self.books["coarse"].shape[1]

    def arrays(self) -> dict[str, np.ndarray]:
        return {"fde_list": self.lists, "fde_blocks": self.blocks}

    def topk(self, probe: Probe, k: int, exclude: np.ndarray | None, threads):
        """Per query the k best rows of the probed lists by approximate dot product: (rows, scores),
        (nq, k) arrays padded with row -1 when fewer rows are eligible; excluded rows skipped."""
        nq = len(probe.lists)
        ids = np.full((nq, k), -1, np.int64)
        scores = np.full((nq, k), np.nan, np.float32)
        if probe.lists.shape[1] == self.kind.lists:  # every list: one scan for the whole batch
            ranges = np.stack([self.starts[:-1], self.starts[1:]], axis=1)
            nonempty = ranges[:, 1] > ranges[:, 0]
            offsets = np.empty((nq, self.kind.lists), np.float32)
            np.put_along_axis(offsets, probe.lists, probe.offsets, axis=1)
            extra = 0 if exclude is None else int(exclude.sum())
            pos, sc = pq4_topk(
                probe.luts,
                self.blocks,
                ranges[nonempty],
                np.ascontiguousarray(offsets[:, nonempty]),
                k + extra,
                threads=threads,
            )
            for i in range(nq):
                self._place(pos[i], sc[i], exclude, k, ids[i], scores[i])
            return ids, scores
        for i in range(nq):
            lists = probe.lists[i]
            ranges = np.stack([self.starts[lists], self.starts[lists + 1]], axis=1)
            nonempty = ranges[:, 1] > ranges[:, 0]
            ranges, offsets = ranges[nonempty], probe.offsets[i][nonempty]
            if not len(ranges):
                continue
            order = np.argsort(ranges[:, 0])  # the kernel takes ranges in any order; sorted reads better
            extra = 0
            if exclude is not None:  # fetch enough to still have k once excluded rows are dropped
                extra = sum(int(exclude[self.order[b:e]].sum()) for b, e in ranges.tolist())
            pos, sc = pq4_topk(
                probe.luts[i],
                self.blocks,
                np.ascontiguousarray(ranges[order]),
                np.ascontiguousarray(offsets[order]),
                k + extra,
                threads=threads,
            )
            self._place(pos, sc, exclude, k, ids[i], scores[i])
        return ids, scores

    def _place(self, positions, scores, exclude, k, out_ids, out_scores) -> None:
        rows = self.order[positions]
        if exclude is not None:
            keep = ~exclude[rows]
            rows, scores = rows[keep], scores[keep]
        n = min(k, len(rows))
        out_ids[:n] = rows[:n]
        out_scores[:n] = scores[:n]

    def scores(self, query_fde: np.ndarray, rows: np.ndarray, threads) -> np.ndarray:
        raise TypeError("pq FDE storage finds its own candidates; it cannot score rows a graph proposes")

    def codes(self, rows: np.ndarray) -> np.ndarray:
        """The packed codes (len(rows), M/2) of documents `rows`."""
        position = np.empty(len(self.order), np.int64)
        position[self.order] = np.arange(len(self.order))
        pos = position[np.asarray(rows, dtype=np.int64)]
        return np.asarray(self.blocks[pos // BLOCK, :, pos % BLOCK])

    def to_float32(self, rows: slice | np.ndarray | None = None) -> np.ndarray:
        """The rows as the codes stand for them: centroid of the list + decoded residual."""
        rows = np.arange(len(self))[slice(None) if rows is None else rows]
        codes = unpack_nibbles(self.codes(rows))
        return self.books["coarse"][np.asarray(self.lists)[rows]] + pq_decode(codes, self.books["centroids"])


@dataclass(frozen=True)
class PQFdeKind(StorageKind):
    """lists: coarse partitions (1: none, every row scanned). train_after: documents the index
    holds (staged as float16) before it trains (default: 1,000 for the 16 centroids per subspace,
    and 16 per list; FAISS advises 39 per list for its k-means, the sample takes up to 64)."""

    lists: int = 1
    train_after: int | None = None
    role = FDE
    name = "pq"
    needs_training = True
    custom_merge = True

    def __post_init__(self):
        if isinstance(self.lists, bool) or not isinstance(self.lists, int) or not 1 <= self.lists <= 1 << 16:
            raise ValueError(f"lists must be an int in [1, 65536], got {self.lists!r}")
        if self.train_after is not None and (
            isinstance(self.train_after, bool) or not isinstance(self.train_after, int) or self.train_after < self.lists
        ):
            raise ValueError(f"train_after must be an int >= lists ({self.lists}), got {self.train_after!r}")

    @property
    def min_training_documents(self) -> int:
        return max(1000, 16 * self.lists) if self.train_after is None else self.train_after

    def training_sample(self, available: int) -> int:
        return min(available, max(4000, 64 * self.lists, self.min_training_documents))

    def to_dict(self) -> dict:
        d = {"kind": self.name, "lists": self.lists}
        return d if self.train_after is None else d | {"train_after": self.train_after}

    def layout(self, width: int) -> L.Layout:
        if width % (2 * SUB_DIM):
            raise ValueError(f"pq FDE storage: the FDE width {width} is not a multiple of {2 * SUB_DIM}")
        return {
            "fde_list": L.Part(L.ITEM, np.int32),
            "fde_blocks": L.Part(L.BLOCKS, np.uint8, (width // SUB_DIM // 2, BLOCK)),
        }

    # -- training and encoding ------------------------------------------------------
    def train(self, sample: np.ndarray, threads) -> dict[str, np.ndarray]:
        x = np.ascontiguousarray(sample, dtype=np.float32)
        coarse = (
            x.mean(axis=0, keepdims=True) if self.lists == 1 else kmeans(x, self.lists, iterations=12, spherical=True)
        )
        residual = x - coarse[nearest(x, coarse)]
        centroids = pq_train(residual, x.shape[1] // SUB_DIM, CENTROIDS, iterations=16, threads=threads)
        return {"coarse": coarse, "centroids": centroids}

    def check_codebooks(self, books, width: int, where: str) -> None:
        c, p = books.get("coarse"), books.get("centroids")
        if c is None or p is None or set(books) != {"coarse", "centroids"}:
            raise IndexFormatError(f"{where}: pq FDE codebooks are 'coarse' and 'centroids', got {sorted(books)}")
        want_p = (width // SUB_DIM, CENTROIDS, SUB_DIM)
        if c.dtype != np.float32 or c.shape != (self.lists, width) or p.dtype != np.float32 or p.shape != want_p:
            raise IndexFormatError(
                f"{where}: coarse {c.dtype} {c.shape} and centroids {p.dtype} {p.shape}, expected "
                f"float32 {(self.lists, width)} and float32 {want_p}"
            )
        if not (np.all(np.isfinite(c)) and np.all(np.isfinite(p))):
            raise IndexFormatError(f"{where}: pq FDE codebooks hold non-finite values")

    def encode(self, rows: np.ndarray, books, threads) -> tuple[np.ndarray, np.ndarray]:
        """(list per row int32, packed residual codes (n, M/2) uint8) of float32 FDE rows."""
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        lists = np.empty(len(rows), np.int32)
        codes = np.empty((len(rows), rows.shape[1] // SUB_DIM // 2), np.uint8)
        coarse = books["coarse"]
        for s in range(0, len(rows), _ASSIGN_CHUNK):
            part = rows[s : s + _ASSIGN_CHUNK]
            assigned = nearest(part, coarse)
            lists[s : s + len(part)] = assigned
            codes[s : s + len(part)] = pq_encode(
                np.ascontiguousarray(part - coarse[assigned]), books["centroids"], threads=threads
            )
        return lists, codes

    def build(self, fde_rows: np.ndarray, books, threads) -> PQFde:
        lists, codes = self.encode(fde_rows, books, threads)
        order = np.argsort(lists, kind="stable")
        return PQFde(self, lists, L.to_blocks(codes[order]), books)

    def open(self, arrays, books, where: str) -> PQFde:
        lists, blocks = arrays["fde_list"], arrays["fde_blocks"]
        if len(lists) and (int(np.min(lists)) < 0 or int(np.max(lists)) >= self.lists):
            raise IndexFormatError(f"{where}: fde_list holds lists outside [0, {self.lists})")
        return PQFde(self, lists, blocks, books)

    # -- search ---------------------------------------------------------------------
    def default_probe(self) -> int:
        return max(1, min(self.lists, math.ceil(self.lists / 16)))

    def prepare(self, query_fdes: np.ndarray, books, probe: int | None) -> Probe:
        """The lists each query probes (the `probe` whose centroids score highest) and its table."""
        probe = self.default_probe() if probe is None else min(int(probe), self.lists)
        q = np.ascontiguousarray(query_fdes, dtype=np.float32)
        scores = q @ books["coarse"].T
        best = (
            np.argpartition(-scores, probe - 1, axis=1)[:, :probe]
            if probe < self.lists
            else np.tile(np.arange(self.lists), (len(q), 1))
        )
        picked = np.take_along_axis(scores, best, axis=1)
        order = np.lexsort((best, -picked), axis=1)  # best first, ties to the lower list
        best, picked = np.take_along_axis(best, order, axis=1), np.take_along_axis(picked, order, axis=1)
        luts = (
            pq4_lut(q, books["centroids"]) if probe == self.lists else [pq4_lut(row, books["centroids"]) for row in q]
        )
        return Probe(best.astype(np.int64), picked.astype(np.float32), luts)

    # -- merging --------------------------------------------------------------------
    def write_merged(
        self, sources: Sequence[tuple[Any, np.ndarray, Callable]], books, sinks: Mapping[str, Callable], threads
    ) -> None:
        """Writes a merged segment's arrays from `sources`: per source, its stored FDE part (of any
        kind), its live rows (ascending) and read(name, start, stop), which reads rows of one of
        its stored arrays (a file a slice at a time: memory stays that of one list of one source).
        fde_list goes to its sink in document order; the codes go to sinks["fde_blocks"] as rows,
        list by list (grouped order; the caller cuts them into blocks)."""
        parts = []  # per source: (lists of its live rows, codes or None, live, read)
        for stored, live, read in sources:
            if isinstance(stored, PQFde) and stored.kind == self:
                parts.append((np.asarray(read("fde_list", 0, len(stored)))[live], None, stored, live, read))
            else:  # another kind (staged rows): encoded here, a window at a time
                lists, codes = [], []
                for s in range(0, len(live), _ASSIGN_CHUNK):
                    li, co = self.encode(stored.to_float32(live[s : s + _ASSIGN_CHUNK]), books, threads)
                    lists.append(li)
                    codes.append(co)
                lists = np.concatenate(lists) if lists else np.zeros(0, np.int32)
                codes = np.concatenate(codes) if codes else np.zeros((0, books["centroids"].shape[0] // 2), np.uint8)
                parts.append((lists, codes, None, live, read))
        for lists, *_ in parts:
            sinks["fde_list"](lists.astype(np.int32))
        grouped = [np.argsort(lists, kind="stable") for lists, *_ in parts]
        bounds = [np.searchsorted(lists[g], np.arange(self.lists + 1)) for (lists, *_), g in zip(parts, grouped)]
        for li in range(self.lists):
            for (_lists, codes, stored, live, read), g, b in zip(parts, grouped, bounds):
                lo, hi = int(b[li]), int(b[li + 1])
                if hi == lo:
                    continue
                if codes is not None:
                    sinks["fde_blocks"](codes[g[lo:hi]])
                    continue
                # the source's own grouped positions of list li; keep the live ones
                p0, p1 = int(stored.starts[li]), int(stored.starts[li + 1])
                rows = stored.order[p0:p1]
                keep = np.isin(rows, live[g[lo:hi]], assume_unique=True)
                blocks = np.asarray(read("fde_blocks", p0 // BLOCK, -(-p1 // BLOCK)))
                codes_here = L.from_blocks(blocks, (p1 - p0) + p0 % BLOCK)[p0 % BLOCK :]
                sinks["fde_blocks"](np.ascontiguousarray(codes_here[keep]))


def _factory(spec: dict) -> PQFdeKind:
    unknown = set(spec) - {"kind", "lists", "train_after"}
    if unknown:
        raise ValueError(f"pq FDE storage takes lists and train_after, got {sorted(unknown)}")
    return PQFdeKind(spec.get("lists", 1), spec.get("train_after"))


register_kind(FDE, "pq", _factory)
