"""The public index: a folder (or, until saved, memory) of immutable segments plus a manifest.

This module is the facade: the public methods check their arguments and delegate to the parts
beside it: writer (this object's snapshot, id map and commits), additions (new documents into
prepared segments, and committing them), maintenance (when and how segments merge), codebooks
(when a storage kind's codebooks are due, and committing them), settings (what results depend
on), manifest (the committed state, checksummed), commit (lock, publish, clean up), jobs (work
in progress outside the lock), build (new segments, a chunk at a time), storage/kinds/dense (how
tokens and FDE rows are stored and scored), training (codebooks from a sample), policy and merge
(which segments merge, and writing a merge in bounded memory), background (merges in a thread),
stream (builds from batches), search (the three modes), encoder (the model the vectors came
from), vectors (caller input -> Ragged), ids.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..fde import FDEConfig
from ..kernels import Ragged
from ..model.encoder import check_texts
from . import additions, codebooks
from . import build as _build
from . import search as _search
from .build import PreparedSegment, chunks, items
from .commit import Snapshot, Store
from .encoder import as_encoder, check_encoder, encoder_record, find_model, model_location
from .files import check_file
from .graph import GraphConfig
from .ids import new_ids
from .jobs import Job, live_job_folder
from .maintenance import Maintenance
from .manifest import MANIFEST, Manifest
from .policy import TieredMergePolicy
from .search import SearchResult
from .segment import Segment, SegmentInfo
from .settings import IndexSettings
from .storage import FDE, TOKENS
from .vectors import as_ragged
from .writer import Writer

__all__ = ["MERGE_MODES", "Index"]

MERGE_MODES = ("commit", "background", "off")


class Index:
    """Documents as ColBERT token vectors and MUVERA FDEs, searchable in three modes.

    Create with :meth:`create`, reopen with :meth:`open`. Texts need an encoder (a
    ``muvera_nano.model.ColBERT``, or what ``muvera_nano.model.load`` takes: a model folder, a
    PyLate checkpoint folder or a hub id); token vectors can always be given directly.

    Every change (add, remove, compact) is committed when the call returns; a crash leaves the
    last committed state. Readers never block and see a consistent snapshot (:meth:`refresh`
    picks up newer commits from other processes). Segments merge themselves by a tiered policy
    (:class:`TieredMergePolicy`), after each commit (``merge="commit"``, the default), in a
    background thread (``merge="background"``) or when :meth:`merge` is called (``merge="off"``).
    """

    def __init__(
        self,
        store: Store,
        state: Snapshot,
        encoder: Any,
        merge: str = "commit",
        merge_policy: TieredMergePolicy | None = None,
    ):
        if merge not in MERGE_MODES:
            raise ValueError(f"merge must be one of {MERGE_MODES}, got {merge!r}")
        if merge_policy is not None and not isinstance(merge_policy, TieredMergePolicy):
            raise TypeError(
                f"merge_policy must be a muvera_nano.index.TieredMergePolicy, got {type(merge_policy).__name__}"
            )
        self._writer = Writer(store, state, encoder)
        self._maintenance = Maintenance(self._writer, merge, merge_policy or TieredMergePolicy())

    # ------------------------------------------------------------------ creation / opening
    @classmethod
    def create(
        cls,
        path: str | os.PathLike | None,
        *,
        dim: int | None = None,
        encoder: Any = None,
        fde: FDEConfig | None = None,
        token_dtype: Any = "float16",
        fde_dtype: Any = "float16",
        backend: str = "exact",
        graph: GraphConfig | None = None,
        overwrite: bool = False,
        merge: str = "commit",
        merge_policy: TieredMergePolicy | None = None,
    ) -> Index:
        """A new, empty index in folder `path` (None: in memory until :meth:`save`).

        dim: token dimension (taken from the encoder when one is given). encoder: a ColBERT, or
        a model folder, PyLate checkpoint folder or hub id (``muvera_nano.model.load``). fde: the
        FDE configuration (default ``FDEConfig.recommended(dim)``). token_dtype: how token
        vectors are stored ('float32', 'float16', 'bfloat16', 'int8', or another registered
        storage kind, by name or as a kind object; see the README for the error each adds).
        fde_dtype: how FDE rows are stored ('float32', 'float16', 'int8', or another kind).
        backend: how FDE candidates are found: 'exact' (every row scanned) or 'hnsw' (an
        approximate graph per segment, for large collections; settings in `graph`; needs usearch).
        merge: when segments merge ('commit': after every commit; 'background': in a thread;
        'off': on :meth:`merge`), by `merge_policy` (default ``TieredMergePolicy()``).
        """
        enc = as_encoder(encoder)
        if enc is not None:
            if dim is not None and dim != enc.dim:
                raise ValueError(f"dim={dim} but the encoder produces {enc.dim}-dimensional vectors")
            dim = enc.dim
        if dim is None:
            raise ValueError("dim is required when no encoder is given")
        settings = IndexSettings.create(
            dim=dim,
            fde=fde,
            token_dtype=token_dtype,
            fde_dtype=fde_dtype,
            backend=backend,
            graph=graph,
            encoder=None if enc is None else encoder_record(enc),
        )
        folder = None if path is None else os.path.abspath(os.fspath(path))
        location = model_location(enc, folder)
        if overwrite and location and folder and os.path.commonpath([location["path"], folder]) == folder:
            raise ValueError(f"the model folder {location['path']} is inside {folder}, which overwrite would delete")
        manifest = Manifest(settings, f"muvera-nano {_version()}", model=location)
        store = Store.create(folder, manifest, overwrite=overwrite)
        return cls(store, Snapshot(manifest, (), {}), enc, merge, merge_policy)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike,
        *,
        encoder: Any = None,
        verify: bool = False,
        merge: str = "commit",
        merge_policy: TieredMergePolicy | None = None,
    ) -> Index:
        """Opens an index folder, memory-mapping its arrays. A manifest that does not match its
        checksum, and files that do not match the manifest (missing, truncated, foreign, another
        dtype or shape), are refused; small files are always checksummed, the large ones too
        with ``verify=True``. encoder: as for :meth:`create` (default: the model the index was
        built with, loaded on first use from where the manifest says it is). merge,
        merge_policy: as for :meth:`create`."""
        store = Store(os.path.abspath(os.fspath(path)))
        state = store.load(verify=verify)
        enc = as_encoder(encoder)
        if enc is not None:
            check_encoder(state.manifest.settings.encoder, state.manifest.settings.dim, enc, store.folder)
        return cls(store, state, enc, merge, merge_policy)

    def refresh(self) -> bool:
        """Picks up changes another process committed; returns whether there were any."""
        return self._writer.refresh()

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Writes an in-memory index to folder `path`; the index then lives there."""
        if self.path is not None:
            raise ValueError(f"this index already lives in {self.path}; changes are committed as they happen")
        self._writer.save(path, overwrite)

    def close(self) -> None:
        """Stops background merges (one in progress is abandoned: nothing of it is published).
        The index stays searchable; further commits merge as with merge='off'."""
        self._maintenance.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ properties
    @property
    def _manifest(self) -> Manifest:
        return self._writer.state.manifest

    @property
    def _segments(self) -> tuple[Segment, ...]:
        return self._writer.state.segments

    @property
    def path(self) -> str | None:
        return self._writer.store.folder

    @property
    def dim(self) -> int:
        return self._manifest.settings.dim

    @property
    def fde(self) -> FDEConfig:
        return self._manifest.settings.fde

    @property
    def token_dtype(self) -> str:
        """The storage kind new token vectors end up in (its name)."""
        return self._manifest.settings.tokens.name

    @property
    def fde_dtype(self) -> str:
        """The storage kind new FDE rows end up in (its name)."""
        return self._manifest.settings.fde_rows.name

    @property
    def backend(self) -> str:
        return self._manifest.settings.backend

    @property
    def id_kind(self) -> str | None:
        return self._manifest.id_kind

    @property
    def merge_policy(self) -> TieredMergePolicy:
        return self._maintenance.policy

    @property
    def encoder(self):
        """The text encoder: the one given, else the model the index was built with, loaded on
        first use from where the manifest says it is (checked by its content hash)."""
        if self._writer.encoder is None:
            identity = self._manifest.settings.encoder
            if identity is None:
                raise ValueError("this index has no encoder: pass token vectors, or create/open it with encoder=")
            self._writer.encoder = find_model(identity, self._manifest.model, self.path)
        return self._writer.encoder

    def __len__(self) -> int:
        return sum(s.n_live for s in self._segments)

    def __repr__(self) -> str:
        return (
            f"Index({len(self)} documents, {len(self._segments)} segments, dim {self.dim}, tokens {self.token_dtype}, "
            f"FDE {self.fde.output_dim} x {self.fde_dtype}, {self.backend}, {self.path or 'in memory'})"
        )

    def info(self) -> dict:
        """What the index holds: counts, settings, encoder and model location, the storage kinds
        its segments are in, its codebooks, and the bytes of each part (on disk: every file,
        manifest, codebooks and graphs included; in memory: the arrays)."""
        state = self._writer.state
        m, segs = state.manifest, state.segments
        parts: dict[str, int] = {}
        sizes = (
            ((part, rec.bytes) for part, rec in m.records())
            if self.path
            else (
                (part, a.nbytes)
                for seg in segs
                for part, a in [*seg.arrays().items(), ("deleted", seg.deleted)]
                if a is not None
            )
        )
        for part, size in sizes:
            parts[part] = parts.get(part, 0) + size
        if self.path:
            parts["manifest"] = os.path.getsize(os.path.join(self.path, MANIFEST))
        storage: dict[tuple, dict] = {}
        for seg in segs:
            key = (seg.kind(TOKENS).name, seg.kind(FDE).name)
            row = storage.setdefault(key, {"tokens": key[0], "fde": key[1], "segments": 0, "documents": 0})
            row["segments"] += 1
            row["documents"] += seg.n_live
        s = m.settings.to_dict()
        return {
            "path": self.path,
            "documents": len(self),
            "stored_documents": sum(x.n for x in segs),
            "deleted": sum(x.n - x.n_live for x in segs),
            "tokens": sum(x.tokens.n_tokens for x in segs),
            "segments": len(segs),
            "generation": m.generation,
            "dim": self.dim,
            "token_dtype": self.token_dtype,
            "fde_dtype": self.fde_dtype,
            "fde": s["fde"],
            "fde_dim": self.fde.output_dim,
            "backend": s["backend"],
            "storage": list(storage.values()),
            "codebooks": {role: {"kind": b.kind, "documents": b.documents} for role, b in m.codebooks.items()},
            "id_kind": m.id_kind,
            "encoder": s["encoder"],
            "model": m.model,
            "bytes": parts,
            "created_by": m.created_by,
        }

    def ids(self) -> list:
        """Every live document id, in index order."""
        return [i for seg in self._segments for i in seg.ids.get(seg.live_rows)]

    # ------------------------------------------------------------------ changes
    def add(
        self,
        texts: Sequence[str] | None = None,
        *,
        ids: Sequence[Any] | None = None,
        token_vectors: Any = None,
        threads: int | None = None,
    ) -> list:
        """Adds documents (texts through the encoder, or their token vectors: a float32 Ragged, a
        list of 2-D float32 arrays or a 3-D float32 array) and commits them, all or none. ids:
        ints or strings, unique in the index (default: consecutive ints after the largest int id).
        Large inputs are encoded, converted and written a chunk (a new segment) at a time, so
        memory beyond the input is that of one chunk. Returns the ids added."""
        n, ranges, source = self._input(texts, token_vectors)
        if n == 0:
            return []
        w = self._writer
        with w.lock:  # fail before any work: the ids are checked again at commit
            m = self._manifest
            ids = None if ids is None else new_ids(ids, n, m.id_kind, m.next_int_id, w.ids())[0]
        with w.job() as job:
            added = additions.commit(w, job, additions.prepare(w, job, ranges, source, threads), ids)
            self._maintenance.after_commit()
            return added

    def add_batches(
        self,
        batches: Iterable[Any],
        *,
        skip_existing: bool = False,
        segment_documents: int = _build.CHUNK_DOCUMENTS,
        total: int | None = None,
        progress: bool | Callable = False,
        threads: int | None = None,
    ) -> int:
        """Adds documents from an iterable of batches, committing a segment (`segment_documents`
        documents) at a time, with memory bounded by one segment whatever the stream's length.

        A batch is a list of texts, token vectors (as for :meth:`add`), or a dict with the
        keyword arguments of :meth:`add` (``{"texts": [...], "ids": [...]}``). progress: True
        for a progress bar (documents, rate and, given `total`, ETA) updated per batch, or a
        function called per batch with a ``BuildProgress``. skip_existing: documents whose id
        is already in the index are skipped (resuming a build that failed). When a batch fails,
        ``IndexBuildError`` says what was committed before it (it stays). Returns the number of
        documents added."""
        from .stream import add_batches

        return add_batches(
            self,
            self._writer,
            batches,
            skip_existing=skip_existing,
            segment_documents=segment_documents,
            total=total,
            progress=progress,
            threads=threads,
        )

    def remove(self, ids: Iterable[Any]) -> int:
        """Removes documents by id and commits; unknown ids raise KeyError (nothing removed)."""
        ids = list(ids)
        if not ids:
            return 0

        w = self._writer

        def change(state: Snapshot, generation: int):
            where = w.ids().locate(ids, state.segments)
            rows_of: dict[int, list[int]] = {}
            for s, r in where:
                rows_of.setdefault(s, []).append(r)
            segments = list(state.segments)
            for s, rows in rows_of.items():
                deleted = (
                    np.zeros(segments[s].n, bool) if segments[s].deleted is None else np.array(segments[s].deleted)
                )
                deleted[rows] = True
                segments[s] = w.store.write_deleted(segments[s], deleted, generation)
            return state.replace(segments=tuple(segments)), len(where)

        removed = w.commit(change, lambda id_map, _: id_map.discard(ids))
        self._maintenance.after_commit()
        return removed

    def compact(self, *, threads: int | None = None) -> None:
        """Rewrites the segments as one, without removed documents, every part in the index's
        target storage kinds (search then makes one pass). Stored values are copied as they are
        (scores do not change) unless a segment is re-encoded into the target kind; a graph is
        built as for a new segment, from the stored rows. The merged segment is written outside
        the writer lock: documents added meanwhile stay in segments of their own."""
        self._maintenance.compact(threads)

    def merge(self, *, threads: int | None = None) -> int:
        """Trains codebooks when due, then merges segments by the merge policy until it has
        nothing left to merge (what happens after every commit with merge='commit'). Returns the
        number of merges committed."""
        return self._maintenance.run(threads, None)

    def wait_for_merges(self, timeout: float | None = None) -> bool:
        """With merge='background': waits until the merges due after the commits so far are done
        (False on timeout). Returns at once otherwise."""
        return self._maintenance.wait(timeout)

    # ------------------------------------------------------------------ distributed builds
    def start_job(self) -> Job:
        """A job for building segments in several processes and committing them at once: workers
        call :meth:`prepare` with its ``id``, the driver :meth:`commit_prepared` with what they
        return. Close the job (or use it as a context manager) when done: whatever was not
        committed is removed. If the process holding it dies, the job's files are removed by
        the next commit of any process."""
        if self.path is None:
            raise ValueError("jobs need an index folder; save() the index first")
        return self._writer.job()

    def prepare(
        self,
        job: str | Job,
        texts: Sequence[str] | None = None,
        *,
        ids: Sequence[Any] | None = None,
        token_vectors: Any = None,
        threads: int | None = None,
    ) -> list[PreparedSegment]:
        """Writes documents into a live job (started by any process) as segments waiting to be
        committed, a chunk at a time; returns their records, to pass to :meth:`commit_prepared`
        (they hold no arrays and pickle small). ids: as for :meth:`add` (None: consecutive ints
        given at commit). Nothing is visible until the commit."""
        job_id = job.id if isinstance(job, Job) else job
        if self.path is None:
            raise ValueError("jobs need an index folder; save() the index first")
        folder = live_job_folder(self.path, job_id)
        n, ranges, source = self._input(texts, token_vectors)
        m = self._manifest
        ids = None if ids is None else tuple(new_ids(ids, n, m.id_kind, m.next_int_id, ())[0])
        prepared = additions.prepare(self._writer, additions.JobRef(folder, job_id), ranges, source, threads)
        if ids is None:
            return prepared
        out, at = [], 0
        for p in prepared:
            out.append(
                PreparedSegment(p.job, p.documents, p.tokens, p.storage, p.files, ids[at : at + p.documents], p.graph)
            )
            at += p.documents
        return out

    def training_documents(self) -> int:
        """How many documents the codebooks its storage kinds still lack are trained on, from a
        large collection (the largest such sample; 0: no kind lacks codebooks). A distributed
        build prepares that many first, so the codebooks are trained once, before its workers."""
        return codebooks.documents_wanted(self._writer.state)

    def commit_prepared(self, records: Sequence[PreparedSegment]) -> list:
        """Commits segments prepared by :meth:`prepare` (in any processes) in one atomic commit,
        in the order given; their jobs must be live. Ids are checked then (unique, not in the
        index). Returns the ids added."""
        records = list(records)
        if not all(isinstance(r, PreparedSegment) for r in records):
            raise TypeError("records must be what Index.prepare returned")
        if not records:
            return []
        given = {r.ids is None for r in records}
        if len(given) > 1:
            raise ValueError("records mix documents with ids and without; give ids to all or none")
        ids = None if True in given else [i for r in records for i in r.ids]
        folders = {r.job: live_job_folder(self.path, r.job) for r in records}
        added = additions.commit(self._writer, None, records, ids, folders)
        self._maintenance.after_commit()
        return added

    # ------------------------------------------------------------------ search
    def search(
        self,
        queries: Any,
        *,
        k: int = 10,
        mode: str = "rerank",
        n_candidates: int = 100,
        probe: int | None = None,
        threads: int | None = None,
        segments: Iterable[str] | None = None,
    ):
        """Searches with one query (a string, or its token vectors as a 2-D float32 array) or many
        (a list of strings, a float32 Ragged, a list of 2-D arrays or a 3-D array).

        mode: 'rerank' (the FDE's top `n_candidates` re-scored with MaxSim; at least k),
        'maxsim' (MaxSim over every document) or 'muvera' (FDE dot product only). probe: with
        'pq' FDE storage with lists > 1, how many of them a query scans (default: its kind's
        default_probe(), a sixteenth of them); ignored otherwise.
        segments: names of segments (see :meth:`segments`) to search as if the index held only
        those, in index order (how a shard of a sharded search answers); None: all.
        Returns a SearchResult(ids, scores) per query, best first: one, or a list for many.
        """
        _search.check_search_args(mode, k, n_candidates, probe)
        segments = self._segments if segments is None else self._named_segments(segments)
        single, q = self._queries(queries)
        q_fde = None if mode == "maxsim" else self.fde.encode_queries(q, threads=threads)
        hits = _search.search(
            segments, q, q_fde, mode, int(k), int(n_candidates), threads, None if probe is None else int(probe)
        )
        results = [SearchResult(_search.ids_of(segments, h), h.score) for h in hits]
        return results[0] if single else results

    def segments(self) -> list[SegmentInfo]:
        """The committed segments in index order (name, documents stored, live documents)."""
        return [SegmentInfo(s.name, s.n, s.n_live) for s in self._segments]

    def _named_segments(self, names: Iterable[str]) -> list[Segment]:
        try:
            names = None if isinstance(names, str) else list(names)
        except TypeError:
            names = None
        if names is None or not all(isinstance(n, str) for n in names):
            raise TypeError("segments must be a list of segment names (strings), as Index.segments() gives them")
        state = self._writer.state
        unknown = sorted(set(names) - {s.name for s in state.segments})
        if unknown:
            raise ValueError(
                f"segments {unknown} are not in this index (generation {state.manifest.generation}); "
                "Index.segments() lists those it has"
            )
        wanted = set(names)
        return [s for s in state.segments if s.name in wanted]

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

    # ------------------------------------------------------------------ internals: input
    def _input(self, texts, token_vectors) -> tuple[int, list[tuple[int, int]], Callable[[int, int], Ragged]]:
        """(documents, chunk ranges, chunk -> float32 token vectors) of add's input: texts are
        encoded a chunk at a time."""
        if (texts is None) == (token_vectors is None):
            raise ValueError("pass exactly one of texts or token_vectors")
        if texts is not None:
            texts = check_texts(texts, "texts")
            n = len(texts)
            size = _build.CHUNK_DOCUMENTS
            ranges = [(s, min(s + size, n)) for s in range(0, n, size)]
            return n, ranges, lambda s, e: self.encoder.encode_ragged(texts[s:e], is_query=False)
        tokens = as_ragged(token_vectors, "token_vectors", self.dim)
        ranges = list(chunks(tokens.lengths, _build.CHUNK_DOCUMENTS, _build.CHUNK_TOKENS))
        return len(tokens), ranges, lambda s, e: items(tokens, s, e)

    def _queries(self, queries: Any) -> tuple[bool, Ragged]:
        """(one query?, the queries' float32 token vectors)."""
        if isinstance(queries, str):
            return True, self.encode_queries([queries])
        if isinstance(queries, np.ndarray) and queries.ndim == 2:
            return True, as_ragged(queries[None], "queries", self.dim)
        if isinstance(queries, (list, tuple)) and queries and all(isinstance(x, str) for x in queries):
            return False, self.encode_queries(queries)
        if not isinstance(queries, (Ragged, np.ndarray, list, tuple)):
            raise TypeError(
                f"queries must be a string, a list of strings, a 2-D float32 array, a Ragged, a list of "
                f"arrays or a 3-D array, got {type(queries).__name__}"
            )
        return False, as_ragged(queries, "queries", self.dim)


def _version() -> str:
    from .. import __version__

    return __version__
