"""The driver of a distributed build (see the package's description).

The driver opens (or creates) the index, starts a job, and runs the source through a pool of
SegmentWriter actors with Ray Data (map_batches). The actors write segment files into the job's
folder, which must be one every node reaches (a shared file system). The records they return
arrive at the driver in the source's order; when every batch is done the driver commits them
all at once (Index.commit_prepared), so documents keep the source's order and ties are broken
as a single-process build of the same documents breaks them.

An index whose storage kinds need codebooks it lacks has them trained once, by the driver, on
the source's first documents, and committed before the workers start (a commit of codebooks
only, which stays if the build then fails: the next build or add uses them); the workers read
them from the index folder.

Failure handling is the job's: a worker process that dies mid-batch is restarted by Ray and the
batch retried, and the files it left half written are in the job but in no record, so they go
with the job; a build that fails or is cancelled commits nothing and removes its job (a driver
that is killed leaves its job to the next commit of any process, which removes it).
"""

from __future__ import annotations

import os
import pickle
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from ..index import Index
from ..model import load
from ._ray import require_ray_data
from .progress import DistributedProgress, Reporter, check_progress
from .sources import as_dataset, check_columns
from .workers import SegmentWriter


class BuildReport(NamedTuple):
    index_dir: str
    documents: int  # added by this build
    segments: int  # segments it committed (before any merge)
    seconds: float  # the whole call, the commit included
    rate: float  # documents per second over the whole call
    generation: int  # the index's generation after the commit (and merges)


class DistributedBuildError(RuntimeError):
    """A distributed build failed; nothing of it was committed (``__cause__`` says why)."""


class BuildCancelled(DistributedBuildError):
    """The build was cancelled (its `cancel` event was set); nothing of it was committed."""


_CREATE_SETTINGS = ("fde", "token_dtype", "fde_dtype", "backend", "graph")


def build_index(
    source: Any,
    index_dir: str | os.PathLike,
    *,
    model: str | os.PathLike,
    workers: int = 1,
    threads_per_worker: int = 1,
    batch_size: int = 1024,
    id_column: str | None = "id",
    text_column: str = "text",
    read_format: str | None = None,
    encoder_options: dict[str, Any] | None = None,
    merge: str = "commit",
    progress: bool | Callable[[DistributedProgress], None] = False,
    total: int | None = None,
    cancel: threading.Event | None = None,
    **settings: Any,
) -> BuildReport:
    """Adds the documents of `source` to the index at `index_dir` (created if there is none) with
    a pool of Ray actors, in one commit.

    source: a ray.data.Dataset, or a path or list of paths of JSONL, Parquet or CSV files
    (`read_format` 'json', 'parquet' or 'csv' when the extension does not say). id_column: the
    ids (ints or strings, unique; None: consecutive ints); text_column: the texts.
    model: an exported model folder (muvera-nano export), PyLate checkpoint folder or hub id; it
    is resolved once on the driver, and the exported folder it resolves to must be reachable from
    every node, as `index_dir` must. encoder_options: the encoder's other arguments
    (muvera_nano.model.load: batch_size, graph_optimization, spin, ...).
    workers: actors in the pool (each loads the model once); threads_per_worker: the CPUs each
    asks Ray for and the threads it encodes and computes with. Ray Data also runs the reads as
    tasks needing a CPU: leave the cluster a CPU beyond workers × threads_per_worker.
    batch_size: documents per task (at most 2,048 per segment written).
    settings: for a new index, Index.create's fde, token_dtype, fde_dtype, backend, graph; an
    existing index keeps its own (passing one is an error).
    merge: the index's merge mode for the commit ('commit': the driver merges segments by the
    index's policy right after the commit; 'off': later, on Index.merge()).
    progress: True for a progress bar, or a function called with a DistributedProgress per
    segment written; total: the number of documents, for the ETA (default: counted with
    source.count() when progress is asked for). cancel: an event; once set, the build stops
    at the next segment that arrives and raises BuildCancelled.

    Returns a BuildReport. Raises DistributedBuildError (BuildCancelled) when nothing was
    committed; KeyboardInterrupt is cleaned up after the same way and re-raised.
    """
    unknown = set(settings) - set(_CREATE_SETTINGS)
    if unknown:
        raise TypeError(f"build_index got unexpected keyword arguments {sorted(unknown)}")
    _check_int("workers", workers)
    _check_int("threads_per_worker", threads_per_worker)
    _check_int("batch_size", batch_size)
    if cancel is not None and not (hasattr(cancel, "is_set") and callable(cancel.is_set)):
        raise TypeError(f"cancel must be a threading.Event (or have is_set()), got {type(cancel).__name__}")
    if encoder_options is None:
        encoder_options = {}
    if not isinstance(encoder_options, dict) or "threads" in encoder_options:
        raise TypeError(
            "encoder_options must be a dict of muvera_nano.model.load's arguments other than threads "
            "(threads_per_worker sets them)"
        )
    check_progress(progress)  # before the index is created
    if total is not None:
        _check_int("total", total, minimum=0)
    require_ray_data()
    from ray.data import ActorPoolStrategy

    started = time.perf_counter()
    dataset = as_dataset(source, read_format)
    check_columns(dataset, id_column, text_column)
    encoder = load(model, threads=threads_per_worker, **encoder_options)
    index = _open_or_create(os.path.abspath(os.fspath(index_dir)), encoder, merge, settings)
    if progress is not False and total is None:
        total = dataset.count()
    reporter = Reporter(progress, total)
    job = index.start_job()
    try:
        _train_codebooks(index, job, dataset, text_column, threads_per_worker)
        writers = dataset.map_batches(
            SegmentWriter,
            fn_constructor_kwargs={
                "index_dir": index.path,
                "job_id": job.id,
                "model_folder": str(encoder.folder),
                "encoder_options": encoder_options,
                "threads": threads_per_worker,
                "id_column": id_column,
                "text_column": text_column,
            },
            batch_size=batch_size,
            batch_format="pyarrow",
            compute=ActorPoolStrategy(size=workers),
            num_cpus=threads_per_worker,
            zero_copy_batch=True,
        )
        records = _collect(writers, reporter, cancel)
        try:
            index.commit_prepared(records)
        except Exception as e:
            raise DistributedBuildError(
                f"the commit of the build's {len(records)} segments failed, nothing was committed: {e}"
            ) from e
    finally:
        reporter.close()
        job.close()
    seconds = time.perf_counter() - started
    documents = sum(r.documents for r in records)
    return BuildReport(
        index.path,
        documents,
        len(records),
        seconds,
        documents / seconds if seconds else 0.0,
        index.info()["generation"],
    )


def _train_codebooks(index: Index, job, dataset, text_column: str, threads: int) -> None:
    """When the index's storage kinds lack codebooks, the driver prepares the source's first
    documents (as many as the kinds train on) into the job: the index trains the codebooks on
    them and commits them (codebooks only: the documents prepared here are never committed, the
    workers encode them again). Every worker then writes in the trained kinds, as it sees the
    committed codebooks. A source too small to train on is staged, as a single-process build
    stages it."""
    n = index.training_documents()
    if n:
        index.prepare(job, [row[text_column] for row in dataset.limit(n).take_all()], threads=threads)


def _collect(writers, reporter: Reporter, cancel) -> list:
    """The workers' records in the source's order, reporting progress as they arrive; raises
    BuildCancelled once `cancel` is set, DistributedBuildError when the pipeline fails."""
    options = writers.context.execution_options
    preserve = options.preserve_order
    options.preserve_order = True  # records arrive in the source's order (the commit keeps it)
    rows = None
    try:
        rows = iter(writers.iter_rows())
        records = []
        for row in rows:
            if cancel is not None and cancel.is_set():
                raise BuildCancelled("the build was cancelled; nothing was committed")
            records.append(pickle.loads(row["record"]))
            reporter.add(int(row["documents"]))
        if cancel is not None and cancel.is_set():
            raise BuildCancelled("the build was cancelled; nothing was committed")
        return records
    except DistributedBuildError:
        raise
    except Exception as e:
        raise DistributedBuildError(f"the distributed build failed, nothing was committed: {e}") from e
    finally:
        options.preserve_order = preserve
        close = getattr(rows, "close", None)
        if close is not None:
            close()  # stops the pipeline: its actors end


def _open_or_create(path: str, encoder, merge: str, settings: dict) -> Index:
    if os.path.isfile(os.path.join(path, "manifest.json")):
        if settings:
            raise ValueError(
                f"{path} holds an index already; its settings ({', '.join(sorted(settings))}) are its own "
                "and cannot be passed"
            )
        return Index.open(path, encoder=encoder, merge=merge)
    return Index.create(path, encoder=encoder, merge=merge, **settings)


def _check_int(name: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
