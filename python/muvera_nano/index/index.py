"""The index: a folder (or, until saved, memory) of immutable segments plus a manifest.

Every change (add, remove, compact) is committed when the call returns: new files are written
atomically, then a new manifest is published with an atomic rename, then files no longer named
are deleted. A crash at any point leaves the last committed state; files are memory-mapped, so
opening is fast and memory stays bounded; writers in several processes serialise on a lock file;
readers never block and see a consistent snapshot (``refresh()`` picks up newer commits).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import threading
from typing import Any, Iterable, Sequence

import numpy as np

from ..fde import FDEConfig
from ..kernels import Ragged
from . import search as _search
from .files import IndexFormatError, sha256_file
from .ids import SegmentIds, encode_ids
from .ids import id_kind as _id_kind
from .manifest import FORMAT, LOCK, MANIFEST, VERSION, read_manifest, referenced_files, write_manifest
from .search import MODES, SearchResult
from .graph import BACKENDS, GraphConfig, _usearch, build_graph
from .segment import (FDE_DTYPES, TOKEN_DTYPES, Segment, build_segment, open_segment, write_deleted, write_graph,
                      write_segment)

__all__ = ["Index", "SearchResult", "IndexFormatError", "MODES"]


def _version() -> str:
    from .. import __version__

    return __version__


class Index:
    """Documents as ColBERT token vectors and MUVERA FDEs, searchable in three modes.

    Create with :meth:`create`, reopen with :meth:`open`. Texts need an encoder
    (``muvera_nano.model.ColBERT`` or an exported model folder); token vectors can always be
    given directly.
    """

    def __init__(self, *, _folder, _manifest, _segments, _encoder):
        self._folder = _folder
        self._manifest = _manifest
        self._segments: tuple[Segment, ...] = tuple(_segments)
        self._encoder = _encoder
        self._fde = FDEConfig.from_dict(_manifest["fde"])
        self._graph = _graph_config(_manifest)
        self._lock = threading.RLock()
        self._id_map: dict | None = None

    # ------------------------------------------------------------------ creation / opening
    @classmethod
    def create(cls, path: str | os.PathLike | None, *, dim: int | None = None, encoder: Any = None,
               fde: FDEConfig | None = None, token_dtype: str = "float16", fde_dtype: str = "float16",
               backend: str = "exact", graph: GraphConfig | None = None, overwrite: bool = False) -> "Index":
        """A new, empty index in folder `path` (None: in memory until :meth:`save`).

        dim: token dimension (taken from the encoder when one is given). fde: the FDE
        configuration (default ``FDEConfig.recommended(dim)``). token_dtype: how token vectors
        are stored ('float32', 'float16', 'bfloat16', 'int8'; see the README for the error each
        adds). fde_dtype: how FDE rows are stored ('float32', 'float16', 'int8'). backend: how
        FDE candidates are found: 'exact' (every row scanned) or 'hnsw' (an approximate graph per
        segment, for large collections; settings in `graph`; needs usearch).
        """
        enc, enc_info = _resolve_encoder(encoder)
        if enc is not None:
            if dim is not None and dim != enc.dim:
                raise ValueError(f"dim={dim} but the encoder produces {enc.dim}-dimensional vectors")
            dim = enc.dim
        if dim is None:
            raise ValueError("dim is required when no encoder is given")
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        if token_dtype not in TOKEN_DTYPES:
            raise ValueError(f"token_dtype must be one of {TOKEN_DTYPES}, got {token_dtype!r}")
        if fde_dtype not in FDE_DTYPES:
            raise ValueError(f"fde_dtype must be one of {FDE_DTYPES}, got {fde_dtype!r}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if graph is not None and backend != "hnsw":
            raise ValueError("graph settings only apply to backend='hnsw'")
        if backend == "hnsw":
            graph = graph or GraphConfig()
            _usearch()  # fail now, not at the first add, when usearch is missing
        fde = FDEConfig.recommended(dim) if fde is None else fde
        if not isinstance(fde, FDEConfig):
            raise TypeError(f"fde must be a muvera_nano.fde.FDEConfig, got {type(fde).__name__}")
        if fde.dimension != dim:
            raise ValueError(f"the FDE config is for {fde.dimension}-dimensional tokens, the index for {dim}")
        manifest = {"format": FORMAT, "version": VERSION, "created_by": f"muvera-nano {_version()}", "generation": 0,
                    "dim": dim, "token_dtype": token_dtype, "fde_dtype": fde_dtype, "fde": fde.to_dict(),
                    "encoder": enc_info, "id_kind": None, "next_segment": 0, "segments": [],
                    "backend": {"kind": backend, "graph": None if graph is None else graph.to_dict()}}
        folder = None
        if path is not None:
            folder = os.path.abspath(os.fspath(path))
            if os.path.exists(folder) and (not os.path.isdir(folder) or os.listdir(folder)):
                if not overwrite:
                    raise FileExistsError(f"{folder} exists and is not an empty folder; pass overwrite=True to replace it")
                if os.path.isdir(folder) and not os.path.isfile(os.path.join(folder, MANIFEST)) and os.listdir(folder):
                    raise FileExistsError(f"{folder} is not a muvera-nano index; refusing to delete it")
                shutil.rmtree(folder) if os.path.isdir(folder) else os.unlink(folder)
            os.makedirs(folder, exist_ok=True)
            write_manifest(folder, manifest)
        return cls(_folder=folder, _manifest=manifest, _segments=[], _encoder=enc)

    @classmethod
    def open(cls, path: str | os.PathLike, *, encoder: Any = None, verify: bool = False) -> "Index":
        """Opens an index folder, memory-mapping its arrays. Files that do not match the
        manifest (missing, truncated, foreign, another dtype or shape) are refused; small files
        are always checksummed, the large ones too with ``verify=True``."""
        folder = os.path.abspath(os.fspath(path))
        manifest, segments = _load(folder, verify)
        enc, enc_info = _resolve_encoder(encoder)
        if enc is not None:
            _check_encoder(manifest, enc_info, enc, folder)
        return cls(_folder=folder, _manifest=manifest, _segments=segments, _encoder=enc)

    def refresh(self) -> bool:
        """Picks up changes another process committed; returns whether there were any."""
        if self._folder is None:
            return False
        with self._lock:
            on_disk = read_manifest(self._folder)
            if on_disk["generation"] == self._manifest["generation"]:
                return False
            self._manifest, segments = _load(self._folder, False)
            self._segments = tuple(segments)
            self._id_map = None
            return True

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Writes an in-memory index to folder `path`; the index then lives there."""
        if self._folder is not None:
            raise ValueError(f"this index already lives in {self._folder}; changes are committed as they happen")
        target = Index.create(path, dim=self.dim, fde=self._fde, token_dtype=self.token_dtype, fde_dtype=self.fde_dtype,
                              backend=self._manifest["backend"]["kind"], graph=self._graph, overwrite=overwrite)
        with self._lock:
            self._folder = target._folder
            manifest = dict(self._manifest)
            with _writer_lock(self._folder):
                manifest["segments"] = [self._commit_segment(seg, manifest["generation"] + 1) for seg in self._segments]
                self._publish(manifest)

    # ------------------------------------------------------------------ properties
    @property
    def path(self) -> str | None:
        return self._folder

    @property
    def dim(self) -> int:
        return self._manifest["dim"]

    @property
    def fde(self) -> FDEConfig:
        return self._fde

    @property
    def token_dtype(self) -> str:
        return self._manifest["token_dtype"]

    @property
    def fde_dtype(self) -> str:
        return self._manifest["fde_dtype"]

    @property
    def id_kind(self) -> str | None:
        return self._manifest["id_kind"]

    @property
    def encoder(self):
        """The text encoder, loaded on first use from the model folder the index was built with."""
        if self._encoder is None:
            info = self._manifest.get("encoder")
            if not info:
                raise ValueError("this index has no encoder: pass token vectors, or create/open it with encoder=")
            folder = info.get("model_folder")
            if not folder or not os.path.isdir(folder):
                raise FileNotFoundError(f"the index was built with the model folder {folder!r}, which is not there; "
                                        "open the index with encoder=<model folder or ColBERT>")
            enc, enc_info = _resolve_encoder(folder)
            _check_encoder(self._manifest, enc_info, enc, self._folder or "<memory>")
            self._encoder = enc
        return self._encoder

    def __len__(self) -> int:
        return sum(s.n_live for s in self._segments)

    def __repr__(self) -> str:
        return (f"Index({len(self)} documents, {len(self._segments)} segments, dim {self.dim}, tokens {self.token_dtype}, "
                f"FDE {self._fde.output_dim} x {self.fde_dtype}, {self._folder or 'in memory'})")

    def info(self) -> dict:
        """What the index holds: counts, types, FDE settings, encoder, bytes on disk per part."""
        segs = self._segments
        parts: dict[str, int] = {}
        for seg in segs:
            for part, rec in seg.files.items():
                parts[part] = parts.get(part, 0) + rec["bytes"]
        m = self._manifest
        return {"path": self._folder, "documents": len(self), "stored_documents": sum(s.n for s in segs),
                "deleted": sum(s.n - s.n_live for s in segs), "tokens": sum(s.tokens.n_tokens for s in segs),
                "segments": len(segs), "generation": m["generation"], "dim": m["dim"], "token_dtype": m["token_dtype"],
                "fde_dtype": m["fde_dtype"], "fde": m["fde"], "fde_dim": self._fde.output_dim, "id_kind": m["id_kind"],
                "encoder": m.get("encoder"), "bytes": parts, "created_by": m.get("created_by")}

    def ids(self) -> list:
        """Every live document id, in index order."""
        out = []
        for seg in self._segments:
            out.extend(seg.ids.get(seg.live_rows()))
        return out

    # ------------------------------------------------------------------ changes
    def add(self, texts: Sequence[str] | None = None, *, ids: Sequence[Any] | None = None,
            token_vectors: Ragged | Sequence[np.ndarray] | None = None, threads: int | None = None) -> list:
        """Adds documents (texts through the encoder, or their token vectors) as one segment and
        commits. ids: ints or strings, unique in the index (default: consecutive ints after the
        largest int id). Returns the ids added."""
        if (texts is None) == (token_vectors is None):
            raise ValueError("pass exactly one of texts or token_vectors")
        if texts is not None:
            texts = _as_texts(texts, "texts")
            tokens = self.encoder.encode_ragged(texts, is_query=False)
        else:
            tokens = _as_ragged(token_vectors, "token_vectors", self.dim)
        n = len(tokens)
        if tokens.dim != self.dim:
            raise ValueError(f"token_vectors have dimension {tokens.dim}, the index {self.dim}")
        if n == 0:
            return []
        fde_rows = self._fde.encode_documents(tokens, threads=threads)
        with self._lock, self._writing() as manifest:
            new_ids = self._check_new_ids(ids, n, manifest)
            kind = manifest["id_kind"] or _id_kind(new_ids)
            seg = build_segment(f"seg-{manifest['next_segment']:06d}", tokens, fde_rows, new_ids, kind,
                                self.token_dtype, self.fde_dtype, self._graph, threads)
            manifest["next_segment"] += 1
            manifest["id_kind"] = kind
            if kind == "int":
                manifest["next_int_id"] = max(manifest.get("next_int_id", 0), max(new_ids) + 1)
            manifest["segments"] = manifest["segments"] + [self._commit_segment(seg, manifest["generation"] + 1)]
            self._segments = self._segments + (seg,)
            if self._id_map is not None:
                s_new = len(self._segments) - 1
                self._id_map.update((i, (s_new, r)) for r, i in enumerate(new_ids))
        return new_ids

    def remove(self, ids: Iterable[Any]) -> int:
        """Removes documents by id and commits; unknown ids raise KeyError (nothing removed)."""
        ids = list(ids)
        with self._lock, self._writing() as manifest:
            where = self._locate(ids)
            by_seg: dict[int, list[int]] = {}
            for s, r in where:
                by_seg.setdefault(s, []).append(r)
            segments = list(self._segments)
            entries = [dict(e) for e in manifest["segments"]]
            for s, rows in by_seg.items():
                seg = segments[s]
                deleted = np.zeros(seg.n, bool) if seg.deleted is None else np.array(seg.deleted)
                deleted[rows] = True
                rec = write_deleted(self._folder, seg.with_deleted(deleted, None), manifest["generation"] + 1) \
                    if self._folder is not None else None
                segments[s] = seg.with_deleted(deleted, rec)
                entries[s]["deleted"] = rec
            manifest["segments"] = entries
            self._segments = tuple(segments)
            for i in ids:
                self._id_map.pop(i, None)
        return len(where)

    def compact(self, *, threads: int | None = None) -> None:
        """Rewrites all segments as one without removed documents (search then makes one pass).
        Stored values are copied as they are, so scores do not change."""
        with self._lock, self._writing() as manifest:
            if len(self._segments) <= 1 and all(seg.deleted is None for seg in self._segments):
                return
            live = [(seg, seg.live_rows()) for seg in self._segments if seg.n_live]
            seg = _concatenate(f"seg-{manifest['next_segment']:06d}", live, self.dim, self.token_dtype,
                               manifest["id_kind"]) if live else None
            if seg is not None and self._graph is not None:
                seg.graph = build_graph(seg.fde_float32(), self._graph, threads)
            manifest["next_segment"] += 1
            manifest["segments"] = [self._commit_segment(seg, manifest["generation"] + 1)] if seg else []
            self._segments = (seg,) if seg else ()
            self._id_map = None

    # ------------------------------------------------------------------ search
    def search(self, queries: Any, *, k: int = 10, mode: str = "rerank", n_candidates: int = 100,
               threads: int | None = None):
        """Searches with one query (a string, or its token vectors as a 2-D float32 array) or many
        (a list of strings, a float32 Ragged, or a list of 2-D arrays).

        mode: 'rerank' (FDE top `n_candidates` re-scored with exact MaxSim; at least k candidates),
        'maxsim' (exact MaxSim over every document) or 'muvera' (FDE dot product only).
        Returns a SearchResult(ids, scores) per query, best first: one, or a list for many.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        for name, v, lo in (("k", k, 1), ("n_candidates", n_candidates, 1)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
        single, q = self._queries(queries)
        segments = self._segments
        q_fde = None if mode == "maxsim" else self._fde.encode_queries(q, threads=threads)
        hits = _search.search(segments, q, q_fde, mode, int(k), int(n_candidates), threads)
        results = [SearchResult(_ids_of(segments, h), h.score) for h in hits]
        return results[0] if single else results

    def encode_queries(self, texts: Sequence[str]) -> Ragged:
        """Query token vectors from the encoder (what search does with strings)."""
        return self.encoder.encode_ragged(_as_texts(texts, "queries"), is_query=True)

    # ------------------------------------------------------------------ integrity
    def verify(self) -> None:
        """Checksums every file against the manifest (IndexFormatError on a mismatch)."""
        if self._folder is None:
            return
        for seg in self._segments:
            for rec in list(seg.files.values()) + [r for r in (seg.deleted_file, seg.graph_file) if r]:
                path = os.path.join(self._folder, rec["file"])
                if sha256_file(path) != rec["sha256"]:
                    raise IndexFormatError(f"{path}: contents differ from what was written (checksum mismatch)")

    # ------------------------------------------------------------------ internals
    def _queries(self, queries: Any) -> tuple[bool, Ragged]:
        if isinstance(queries, str):
            return True, self.encode_queries([queries])
        if isinstance(queries, np.ndarray):
            if queries.ndim != 2:
                raise ValueError(f"a query given as an array must be 2-D (tokens, dim), got shape {queries.shape}")
            return True, Ragged.from_list([queries])
        if isinstance(queries, Ragged):
            return False, queries
        if isinstance(queries, (list, tuple)):
            if queries and all(isinstance(x, str) for x in queries):
                return False, self.encode_queries(queries)
            return False, _as_ragged(queries, "queries", self.dim)
        raise TypeError(f"queries must be a string, a list of strings, a 2-D float32 array, a Ragged or a list of "
                        f"arrays, got {type(queries).__name__}")

    def _check_new_ids(self, ids, n, manifest) -> list:
        if ids is None:
            if manifest["id_kind"] == "str":
                raise ValueError("this index uses string ids: pass ids=")
            start = manifest.get("next_int_id", 0)
            return list(range(start, start + n))
        ids = list(ids)
        if len(ids) != n:
            raise ValueError(f"ids has {len(ids)} entries for {n} documents")
        kind = _id_kind(ids)
        if manifest["id_kind"] not in (None, kind):
            raise TypeError(f"this index uses {manifest['id_kind']} ids, got {kind} ids")
        ids = [int(i) for i in ids] if kind == "int" else ids
        if len(set(ids)) != n:
            seen, dup = set(), None
            for i in ids:
                if i in seen:
                    dup = i
                    break
                seen.add(i)
            raise ValueError(f"ids contains {dup!r} more than once")
        existing = self._ids()
        clash = next((i for i in ids if i in existing), None)
        if clash is not None:
            raise ValueError(f"id {clash!r} is already in the index (remove it first)")
        return ids

    def _ids(self) -> dict:
        if self._id_map is None:
            m = {}
            for s, seg in enumerate(self._segments):
                rows = seg.live_rows()
                m.update(zip(seg.ids.get(rows), ((s, int(r)) for r in rows)))
            self._id_map = m
        return self._id_map

    def _locate(self, ids: list) -> list[tuple[int, int]]:
        m = self._ids()
        missing = [i for i in ids if i not in m]
        if missing:
            raise KeyError(f"not in the index: {missing[:5]!r}" + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
        return sorted({m[i] for i in ids})

    def _commit_segment(self, seg: Segment, generation: int) -> dict:
        """The segment's manifest entry, its files written first when the index has a folder."""
        if self._folder is not None:
            seg.files = write_segment(self._folder, seg)
            seg.deleted_file = write_deleted(self._folder, seg, generation)
            seg.graph_file = write_graph(self._folder, seg)
        return {"name": seg.name, "documents": seg.n, "tokens": seg.tokens.n_tokens, "files": seg.files,
                "deleted": seg.deleted_file, "graph": seg.graph_file}

    @contextlib.contextmanager
    def _writing(self):
        """Yields a copy of the manifest to change; publishes it (and cleans up) on success.
        Under the folder's writer lock, after picking up other writers' commits."""
        if self._folder is None:
            manifest = dict(self._manifest)
            yield manifest
            manifest["generation"] += 1
            self._manifest = manifest
            return
        with _writer_lock(self._folder):
            self.refresh()
            manifest = dict(self._manifest)
            yield manifest
            self._publish(manifest)

    def _publish(self, manifest: dict) -> None:
        manifest["generation"] = self._manifest["generation"] + 1
        write_manifest(self._folder, manifest)
        self._manifest = manifest
        keep = referenced_files(manifest)
        for name in os.listdir(self._folder):
            if name not in keep and (name.startswith("seg-") or name.startswith(".tmp-")):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(self._folder, name))


# ---------------------------------------------------------------------- helpers
@contextlib.contextmanager
def _writer_lock(folder: str):
    fd = os.open(os.path.join(folder, LOCK), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _load(folder: str, verify: bool, attempts: int = 5) -> tuple[dict, list[Segment]]:
    """Reads the manifest and opens its segments; retries if a writer replaced files meanwhile."""
    for attempt in range(attempts):
        manifest = read_manifest(folder)
        try:
            graph = _graph_config(manifest)
            segments = [open_segment(folder, e, manifest["token_dtype"], manifest["id_kind"], graph, mmap=True,
                                     verify=verify) for e in manifest["segments"]]
            return manifest, segments
        except IndexFormatError:
            if attempt == attempts - 1 or read_manifest(folder)["generation"] == manifest["generation"]:
                raise
    raise AssertionError("unreachable")


def _graph_config(manifest: dict) -> GraphConfig | None:
    backend = manifest.get("backend") or {"kind": "exact"}
    if backend.get("kind") not in BACKENDS:
        raise IndexFormatError(f"unknown candidate backend {backend.get('kind')!r} in the manifest")
    return GraphConfig.from_dict(backend["graph"]) if backend["kind"] == "hnsw" else None


def _resolve_encoder(encoder: Any):
    """(encoder object or None, identity record for the manifest or None)."""
    if encoder is None:
        return None, None
    if isinstance(encoder, (str, os.PathLike)):
        from ..model import ColBERT

        encoder = ColBERT(encoder)
    if not hasattr(encoder, "encode_ragged") or not hasattr(encoder, "dim"):
        raise TypeError(f"encoder must be a muvera_nano.model.ColBERT or a model folder, got {type(encoder).__name__}")
    folder = getattr(encoder, "folder", None)
    info = {"model_folder": os.path.abspath(os.fspath(folder)) if folder else None, "dim": encoder.dim}
    settings = getattr(encoder, "settings", None)
    if settings is not None and hasattr(settings, "to_json"):
        info["settings"] = settings.to_json()
    if folder and os.path.isfile(os.path.join(folder, "model.onnx")):
        info["model_sha256"] = sha256_file(os.path.join(folder, "model.onnx"))
    return encoder, info


def _check_encoder(manifest: dict, info: dict, encoder, where: str) -> None:
    have = manifest.get("encoder")
    if encoder.dim != manifest["dim"]:
        raise ValueError(f"the encoder produces {encoder.dim}-dimensional vectors, the index at {where} holds {manifest['dim']}")
    if have and have.get("model_sha256") and info.get("model_sha256") and have["model_sha256"] != info["model_sha256"]:
        raise ValueError(f"the index at {where} was built with another model ({have.get('model_folder')}); "
                         "its vectors would not be comparable")


def _as_texts(texts: Any, name: str) -> list[str]:
    if isinstance(texts, str):
        raise TypeError(f"{name} must be a list of strings, not one string")
    texts = list(texts)
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise TypeError(f"{name}[{bad}] must be a string, got {type(texts[bad]).__name__}")
    return texts


def _as_ragged(vectors: Any, name: str, dim: int) -> Ragged:
    if isinstance(vectors, Ragged):
        if vectors.dtype != "float32":
            raise TypeError(f"{name} must hold float32 vectors, got {vectors.dtype}")
        return vectors
    if isinstance(vectors, np.ndarray):
        raise TypeError(f"{name} must be a Ragged or a list of 2-D arrays (one per item), got one array")
    items = list(vectors)
    for i, a in enumerate(items):
        if not isinstance(a, np.ndarray) or a.ndim != 2 or a.dtype != np.float32:
            got = f"{a.dtype} array of shape {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
            raise TypeError(f"{name}[{i}] must be a 2-D float32 array (tokens, dim), got {got}")
    return Ragged.from_list(items, dim=dim)


def _ids_of(segments: Sequence[Segment], hits) -> list:
    out = [None] * len(hits.seg)
    for s in np.unique(hits.seg).tolist():
        pos = np.nonzero(hits.seg == s)[0]
        for p, v in zip(pos.tolist(), segments[s].ids.get(hits.row[pos])):
            out[p] = v
    return out


def _concatenate(name: str, live, dim: int, token_dtype: str, kind: str) -> Segment:
    """The live documents of several segments as one segment, stored values copied as they are."""
    token_parts, scale_parts, lengths, fde_parts, fde_scale_parts, ids = [], [], [], [], [], []
    for seg, rows in live:
        t = seg.tokens
        starts, ends = t.offsets[rows], t.offsets[rows + 1]
        take = np.concatenate([np.arange(a, b) for a, b in zip(starts.tolist(), ends.tolist())]) if len(rows) else \
            np.zeros(0, np.int64)
        token_parts.append(np.asarray(t.tokens[take]))
        if t.scales is not None:
            scale_parts.append(np.asarray(t.scales[take]))
        lengths.append(ends - starts)
        fde_parts.append(np.asarray(seg.fde[rows]))
        if seg.fde_scales is not None:
            fde_scale_parts.append(np.asarray(seg.fde_scales[rows]))
        ids.extend(seg.ids.get(rows))
    offsets = np.zeros(sum(len(x) for x in lengths) + 1, np.int64)
    np.cumsum(np.concatenate(lengths), out=offsets[1:])
    tokens = Ragged(np.concatenate(token_parts), offsets, np.concatenate(scale_parts) if scale_parts else None,
                    dtype=token_dtype)
    return Segment(name, tokens, np.concatenate(fde_parts), np.concatenate(fde_scale_parts) if fde_scale_parts else None,
                   SegmentIds(kind, encode_ids(ids, kind)))
