"""The public index: a folder (or, until saved, memory) of immutable segments plus a manifest.

This module is the facade; the parts live beside it: settings (what results depend on),
manifest (the committed state, checksummed), commit (lock, publish, clean up), build (new and
compacted segments), storage (how tokens and FDE rows are stored and scored), search (the three
modes), encoder (the model the vectors came from), vectors (caller input -> Ragged), ids.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ..fde import FDEConfig
from ..kernels import Ragged
from ..model.encoder import check_texts
from . import search as _search
from .build import build_segment, concatenate
from .commit import Store
from .encoder import as_encoder, check_encoder, find_model, model_location
from .files import check_file
from .graph import GraphConfig
from .ids import IdMap, new_ids
from .manifest import MANIFEST, Manifest
from .search import MODES, SearchResult
from .segment import Segment
from .settings import IndexSettings
from .vectors import as_ragged

__all__ = ["Index"]


class Index:
    """Documents as ColBERT token vectors and MUVERA FDEs, searchable in three modes.

    Create with :meth:`create`, reopen with :meth:`open`. Texts need an encoder (a
    ``muvera_nano.model.ColBERT``, or what ``muvera_nano.model.load`` takes: a model folder, a
    PyLate checkpoint folder or a hub id); token vectors can always be given directly.

    Every change (add, remove, compact) is committed when the call returns; a crash leaves the
    last committed state. Readers never block and see a consistent snapshot (:meth:`refresh`
    picks up newer commits from other processes).
    """

    def __init__(self, store: Store, manifest: Manifest, segments: Sequence[Segment], encoder: Any):
        self._store = store
        self._manifest = manifest
        self._segments: tuple[Segment, ...] = tuple(segments)
        self._encoder = encoder
        self._lock = threading.RLock()
        self._id_map: IdMap | None = None  # built on first use

    # ------------------------------------------------------------------ creation / opening
    @classmethod
    def create(cls, path: str | os.PathLike | None, *, dim: int | None = None, encoder: Any = None,
               fde: FDEConfig | None = None, token_dtype: str = "float16", fde_dtype: str = "float16",
               backend: str = "exact", graph: GraphConfig | None = None, overwrite: bool = False) -> "Index":
        """A new, empty index in folder `path` (None: in memory until :meth:`save`).

        dim: token dimension (taken from the encoder when one is given). encoder: a ColBERT, or
        a model folder, PyLate checkpoint folder or hub id (``muvera_nano.model.load``). fde: the
        FDE configuration (default ``FDEConfig.recommended(dim)``). token_dtype: how token
        vectors are stored ('float32', 'float16', 'bfloat16', 'int8'; see the README for the
        error each adds). fde_dtype: how FDE rows are stored ('float32', 'float16', 'int8').
        backend: how FDE candidates are found: 'exact' (every row scanned) or 'hnsw' (an
        approximate graph per segment, for large collections; settings in `graph`; needs usearch).
        """
        enc = as_encoder(encoder)
        if enc is not None:
            if dim is not None and dim != enc.dim:
                raise ValueError(f"dim={dim} but the encoder produces {enc.dim}-dimensional vectors")
            dim = enc.dim
        if dim is None:
            raise ValueError("dim is required when no encoder is given")
        settings = IndexSettings.create(dim=dim, fde=fde, token_dtype=token_dtype, fde_dtype=fde_dtype,
                                        backend=backend, graph=graph,
                                        encoder=None if enc is None else enc.identity.to_dict())
        folder = None if path is None else os.path.abspath(os.fspath(path))
        location = model_location(enc, folder)
        if overwrite and location and folder and os.path.commonpath([location["path"], folder]) == folder:
            raise ValueError(f"the model folder {location['path']} is inside {folder}, which overwrite would delete")
        manifest = Manifest(settings, f"muvera-nano {_version()}", model=location)
        return cls(Store.create(folder, manifest, overwrite=overwrite), manifest, (), enc)

    @classmethod
    def open(cls, path: str | os.PathLike, *, encoder: Any = None, verify: bool = False) -> "Index":
        """Opens an index folder, memory-mapping its arrays. A manifest that does not match its
        checksum, and files that do not match the manifest (missing, truncated, foreign, another
        dtype or shape), are refused; small files are always checksummed, the large ones too
        with ``verify=True``. encoder: as for :meth:`create` (default: the model the index was
        built with, loaded on first use from where the manifest says it is)."""
        store = Store(os.path.abspath(os.fspath(path)))
        manifest, segments = store.load(verify=verify)
        enc = as_encoder(encoder)
        if enc is not None:
            check_encoder(manifest.settings.encoder, manifest.settings.dim, enc, store.folder)
        return cls(store, manifest, segments, enc)

    def refresh(self) -> bool:
        """Picks up changes another process committed; returns whether there were any."""
        with self._lock:
            if self._store.folder is None or self._store.generation() == self._manifest.generation:
                return False
            self._manifest, self._segments = self._store.load(verify=False)
            self._id_map = None
            return True

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Writes an in-memory index to folder `path`; the index then lives there."""
        if self._store.folder is not None:
            raise ValueError(f"this index already lives in {self._store.folder}; changes are committed as they happen")
        with self._lock:
            folder = os.path.abspath(os.fspath(path))
            empty = self._manifest.replace(segments=(), model=model_location(self._encoder, folder))
            store = Store.create(folder, empty, overwrite=overwrite)
            generation = empty.generation + 1
            with store.writer_lock():
                segments = tuple(store.write_segment(seg, generation) for seg in self._segments)
                manifest = empty.replace(generation=generation, segments=tuple(s.record for s in segments))
                store.publish(manifest)
            self._store, self._manifest, self._segments = store, manifest, segments

    # ------------------------------------------------------------------ properties
    @property
    def path(self) -> str | None:
        return self._store.folder

    @property
    def dim(self) -> int:
        return self._manifest.settings.dim

    @property
    def fde(self) -> FDEConfig:
        return self._manifest.settings.fde

    @property
    def token_dtype(self) -> str:
        return self._manifest.settings.tokens.dtype

    @property
    def fde_dtype(self) -> str:
        return self._manifest.settings.fde_rows.dtype

    @property
    def backend(self) -> str:
        return self._manifest.settings.backend

    @property
    def id_kind(self) -> str | None:
        return self._manifest.id_kind

    @property
    def encoder(self):
        """The text encoder: the one given, else the model the index was built with, loaded on
        first use from where the manifest says it is (checked by its content hash)."""
        if self._encoder is None:
            identity = self._manifest.settings.encoder
            if identity is None:
                raise ValueError("this index has no encoder: pass token vectors, or create/open it with encoder=")
            self._encoder = find_model(identity, self._manifest.model, self._store.folder)
        return self._encoder

    def __len__(self) -> int:
        return sum(s.n_live for s in self._segments)

    def __repr__(self) -> str:
        return (f"Index({len(self)} documents, {len(self._segments)} segments, dim {self.dim}, tokens {self.token_dtype}, "
                f"FDE {self.fde.output_dim} x {self.fde_dtype}, {self.backend}, {self.path or 'in memory'})")

    def info(self) -> dict:
        """What the index holds: counts, settings, encoder and model location, and the bytes of
        each part (on disk: every file, manifest and graphs included; in memory: the arrays)."""
        m, segs = self._manifest, self._segments
        parts: dict[str, int] = {}
        sizes = ((part, rec.bytes) for part, rec in m.records()) if self.path else \
            ((part, a.nbytes) for seg in segs for part, a in [*seg.arrays().items(), ("deleted", seg.deleted)]
             if a is not None)
        for part, size in sizes:
            parts[part] = parts.get(part, 0) + size
        if self.path:
            parts["manifest"] = os.path.getsize(os.path.join(self.path, MANIFEST))
        s = m.settings.to_dict()
        return {"path": self.path, "documents": len(self), "stored_documents": sum(x.n for x in segs),
                "deleted": sum(x.n - x.n_live for x in segs), "tokens": sum(x.tokens.n_tokens for x in segs),
                "segments": len(segs), "generation": m.generation, "dim": self.dim, "token_dtype": self.token_dtype,
                "fde_dtype": self.fde_dtype, "fde": s["fde"], "fde_dim": self.fde.output_dim, "backend": s["backend"],
                "id_kind": m.id_kind, "encoder": s["encoder"], "model": m.model, "bytes": parts,
                "created_by": m.created_by}

    def ids(self) -> list:
        """Every live document id, in index order."""
        return [i for seg in self._segments for i in seg.ids.get(seg.live_rows)]

    # ------------------------------------------------------------------ changes
    def add(self, texts: Sequence[str] | None = None, *, ids: Sequence[Any] | None = None,
            token_vectors: Any = None, threads: int | None = None) -> list:
        """Adds documents (texts through the encoder, or their token vectors: a float32 Ragged, a
        list of 2-D float32 arrays or a 3-D float32 array) as one segment and commits. ids: ints
        or strings, unique in the index (default: consecutive ints after the largest int id).
        Returns the ids added."""
        if (texts is None) == (token_vectors is None):
            raise ValueError("pass exactly one of texts or token_vectors")
        if texts is not None:
            texts = check_texts(texts, "texts")
            tokens = self.encoder.encode_ragged(texts, is_query=False)
        else:
            tokens = as_ragged(token_vectors, "token_vectors", self.dim)
        n = len(tokens)
        if n == 0:
            return []
        fde_rows = self.fde.encode_documents(tokens, threads=threads)

        def change(m: Manifest, segments, generation):
            added, kind = new_ids(ids, n, m.id_kind, m.next_int_id, self._ids())
            seg = build_segment(f"seg-{m.next_segment:06d}", tokens, fde_rows, added, kind, m.settings, threads)
            next_int = max(m.next_int_id, max(added) + 1) if kind == "int" else m.next_int_id
            m = m.replace(next_segment=m.next_segment + 1, id_kind=kind, next_int_id=next_int)
            return m, segments + (self._store.write_segment(seg, generation),), added

        with self._lock:
            added = self._commit(change)
            if self._id_map is not None:
                self._id_map.add(len(self._segments) - 1, added)
        return added

    def remove(self, ids: Iterable[Any]) -> int:
        """Removes documents by id and commits; unknown ids raise KeyError (nothing removed)."""
        ids = list(ids)
        if not ids:
            return 0

        def change(m: Manifest, segments, generation):
            where = self._ids().locate(ids)
            rows_of: dict[int, list[int]] = {}
            for s, r in where:
                rows_of.setdefault(s, []).append(r)
            segments = list(segments)
            for s, rows in rows_of.items():
                deleted = np.zeros(segments[s].n, bool) if segments[s].deleted is None else np.array(segments[s].deleted)
                deleted[rows] = True
                segments[s] = self._store.write_deleted(segments[s], deleted, generation)
            return m, tuple(segments), len(where)

        with self._lock:
            removed = self._commit(change)
            self._id_map.discard(ids)
        return removed

    def compact(self, *, threads: int | None = None) -> None:
        """Rewrites all segments as one without removed documents (search then makes one pass).
        Stored values are copied as they are, so scores do not change; a graph is built as for a
        new segment, from the stored rows."""

        def change(m: Manifest, segments, generation):
            if len(segments) <= 1 and all(seg.deleted is None for seg in segments):
                return None
            seg = concatenate(f"seg-{m.next_segment:06d}", segments, m.settings, m.id_kind, threads)
            merged = () if seg is None else (self._store.write_segment(seg, generation),)
            return m.replace(next_segment=m.next_segment + 1), merged, None

        with self._lock:
            self._commit(change)
            self._id_map = None

    # ------------------------------------------------------------------ search
    def search(self, queries: Any, *, k: int = 10, mode: str = "rerank", n_candidates: int = 100,
               threads: int | None = None):
        """Searches with one query (a string, or its token vectors as a 2-D float32 array) or many
        (a list of strings, a float32 Ragged, a list of 2-D arrays or a 3-D array).

        mode: 'rerank' (the FDE's top `n_candidates` re-scored with exact MaxSim; at least k),
        'maxsim' (exact MaxSim over every document) or 'muvera' (FDE dot product only).
        Returns a SearchResult(ids, scores) per query, best first: one, or a list for many.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        for name, v in (("k", k), ("n_candidates", n_candidates)):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {type(v).__name__}")
            if v < 1:
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        single, q = self._queries(queries)
        segments = self._segments
        q_fde = None if mode == "maxsim" else self.fde.encode_queries(q, threads=threads)
        hits = _search.search(segments, q, q_fde, mode, int(k), int(n_candidates), threads)
        results = [SearchResult(_search.ids_of(segments, h), h.score) for h in hits]
        return results[0] if single else results

    def encode_queries(self, texts: Sequence[str]) -> Ragged:
        """Query token vectors from the encoder (what search does with strings)."""
        texts = check_texts(texts, "queries")
        return self.encoder.encode_ragged(texts, is_query=True)

    # ------------------------------------------------------------------ integrity
    def verify(self) -> None:
        """Checksums every file against the manifest (IndexFormatError on a mismatch)."""
        if self.path is not None:
            for _, rec in self._manifest.records():
                check_file(self.path, rec, verify=True)

    # ------------------------------------------------------------------ internals
    def _commit(self, change: Callable[[Manifest, tuple, int], tuple | None]) -> Any:
        """Applies change(manifest, segments, generation) -> (manifest, segments, result) to the
        latest committed state under the writer lock, then publishes it; returns the result
        (None when change returns None: nothing to commit)."""
        with self._lock, self._store.writer_lock():
            self.refresh()
            generation = self._manifest.generation + 1
            changed = change(self._manifest, self._segments, generation)
            if changed is None:
                return None
            manifest, segments, result = changed
            model = manifest.model
            if self._encoder is not None and manifest.settings.encoder is not None:
                model = model_location(self._encoder, self._store.folder) or model  # where it was found last
            manifest = manifest.replace(generation=generation, segments=tuple(s.record for s in segments), model=model)
            self._store.publish(manifest)
            self._manifest, self._segments = manifest, tuple(segments)
            return result

    def _queries(self, queries: Any) -> tuple[bool, Ragged]:
        """(one query?, the queries' float32 token vectors)."""
        if isinstance(queries, str):
            return True, self.encode_queries([queries])
        if isinstance(queries, np.ndarray) and queries.ndim == 2:
            return True, as_ragged(queries[None], "queries", self.dim)
        if isinstance(queries, (list, tuple)) and queries and all(isinstance(x, str) for x in queries):
            return False, self.encode_queries(queries)
        if not isinstance(queries, (Ragged, np.ndarray, list, tuple)):
            raise TypeError(f"queries must be a string, a list of strings, a 2-D float32 array, a Ragged, a list of "
                            f"arrays or a 3-D array, got {type(queries).__name__}")
        return False, as_ragged(queries, "queries", self.dim)

    def _ids(self) -> IdMap:
        if self._id_map is None:
            self._id_map = IdMap(self._segments)
        return self._id_map


def _version() -> str:
    from .. import __version__

    return __version__
