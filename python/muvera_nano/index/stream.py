"""Builds from a stream of batches (Index.add_batches): texts are encoded a batch at a time,
token vectors collected until they make a segment, which is committed (and merged, as after any
commit) before the next one starts. Memory is bounded by one segment whatever the stream's
length; progress is reported per batch; a failure says what was committed before it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np

from ..kernels import Ragged
from ..model.encoder import check_texts
from .build import CHUNK_TOKENS, items
from .ids import new_ids
from .vectors import as_ragged


class BuildProgress(NamedTuple):
    documents: int  # read from the stream so far (skipped ones included)
    committed: int  # added and committed so far
    skipped: int  # already in the index (skip_existing)
    seconds: float  # since the stream started


class IndexBuildError(RuntimeError):
    """A batch of add_batches failed. What was committed before it stays in the index; the
    message says how much, and `committed`, `last_id` and ``__cause__`` hold the details."""

    def __init__(self, message: str, committed: int, last_id: Any):
        super().__init__(message)
        self.committed = committed
        self.last_id = last_id


def _batch(index, batch: Any, number: int) -> tuple[Ragged, list | None]:
    """(float32 token vectors, ids or None) of one batch."""
    if isinstance(batch, dict):
        unknown = set(batch) - {"texts", "token_vectors", "ids"}
        if unknown:
            raise ValueError(
                f"batch {number} has unknown keys {sorted(unknown)}; expected texts or token_vectors, and ids"
            )
        texts, vectors, ids = batch.get("texts"), batch.get("token_vectors"), batch.get("ids")
    elif isinstance(batch, (list, tuple)) and batch and all(isinstance(x, str) for x in batch):
        texts, vectors, ids = batch, None, None
    else:
        texts, vectors, ids = None, batch, None
    if (texts is None) == (vectors is None):
        raise ValueError(f"batch {number} must hold texts or token_vectors (not both)")
    if texts is not None:
        tokens = index.encoder.encode_ragged(check_texts(texts, f"batch {number} texts"), is_query=False)
    else:
        tokens = as_ragged(vectors, f"batch {number} token_vectors", index.dim)
    ids = None if ids is None else list(ids)
    if ids is not None and len(ids) != len(tokens):
        raise ValueError(f"batch {number} has {len(ids)} ids for {len(tokens)} documents")
    return tokens, ids


def _join(parts: list[Ragged], dim: int) -> Ragged:
    if len(parts) == 1:
        return parts[0]
    offsets = [np.zeros(1, np.int64)]
    for p in parts:
        offsets.append(p.offsets[1:] + offsets[-1][-1])
    tokens = np.concatenate([p.tokens for p in parts]) if parts else np.zeros((0, dim), np.float32)
    return Ragged(tokens, np.concatenate(offsets))


def add_batches(
    index,
    writer,
    batches: Iterable[Any],
    *,
    skip_existing: bool,
    segment_documents: int,
    total: int | None,
    progress: bool | Callable,
    threads,
) -> int:
    if isinstance(segment_documents, bool) or not isinstance(segment_documents, int) or segment_documents < 1:
        raise ValueError(f"segment_documents must be an int >= 1, got {segment_documents!r}")
    if total is not None and (isinstance(total, bool) or not isinstance(total, int) or total < 0):
        raise ValueError(f"total must be an int >= 0 or None, got {total!r}")
    bar = None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="doc", desc="indexing", smoothing=0.1)
    elif progress is not False and not callable(progress):
        raise TypeError(f"progress must be a bool or a function, got {type(progress).__name__}")
    start = time.perf_counter()
    state = {"read": 0, "committed": 0, "skipped": 0, "last_id": None, "commits": 0}
    pending: list[Ragged] = []
    pending_ids: list | None = []

    def commit(limit: int | None = None):
        """Commits the pending documents, or their first `limit` (the rest stays pending)."""
        nonlocal pending, pending_ids
        if not pending:
            return
        tokens = _join(pending, index.dim)
        n = len(tokens) if limit is None else min(limit, len(tokens))
        ids = None if pending_ids is None else pending_ids[:n]
        added = index.add(token_vectors=items(tokens, 0, n), ids=ids, threads=threads)
        state["committed"] += len(added)
        state["commits"] += 1
        state["last_id"] = added[-1]
        pending = [items(tokens, n, len(tokens))] if n < len(tokens) else []
        pending_ids = None if pending_ids is None else pending_ids[n:]

    number = -1
    try:
        for number, batch in enumerate(batches):
            tokens, ids = _batch(index, batch, number)
            state["read"] += len(tokens)
            if skip_existing and ids is None:
                raise ValueError("skip_existing needs ids: give each batch as {'texts' or 'token_vectors', 'ids'}")
            if ids is not None:
                with writer.lock:
                    known = writer.ids()
                    keep = np.array([i not in known for i in ids], dtype=bool)
                if skip_existing and not keep.all():
                    state["skipped"] += int((~keep).sum())
                    tokens = Ragged.from_list([tokens[i] for i in np.flatnonzero(keep)], dim=index.dim)
                    ids = [i for i, k in zip(ids, keep) if k]
                # checked now, so the error names this batch (add checks again when it commits)
                if ids:
                    m = writer.state.manifest
                    new_ids(ids, len(tokens), m.id_kind, m.next_int_id, _Either(known, pending_ids or ()))
            if len(tokens):
                if (ids is None) != (pending_ids is None) and pending:
                    raise ValueError(
                        f"batch {number} has {'no ' if ids is None else ''}ids, earlier batches "
                        f"{'do' if ids is None else 'do not'}; give ids to all batches or none"
                    )
                pending.append(tokens)
                pending_ids = None if ids is None else [*(pending_ids or []), *ids]
                while sum(len(p) for p in pending) >= segment_documents:  # segments of exactly that size
                    commit(segment_documents)
                if sum(p.n_tokens for p in pending) >= CHUNK_TOKENS:
                    commit()
            _report(bar, progress, state, start)
        commit()
        _report(bar, progress, state, start)
    except Exception as e:
        if bar is not None:
            bar.close()
        where = f"batch {number}" if number >= 0 else "the stream"
        done = state["committed"]
        kept = (
            (
                f"{done} documents in {state['commits']} commits (the last id {state['last_id']!r}) were committed "
                f"before it and stay in the index; add the rest with skip_existing=True"
            )
            if done
            else "nothing was committed"
        )
        raise IndexBuildError(
            f"{where} failed: {type(e).__name__}: {_first_line(e)}; {kept}", done, state["last_id"]
        ) from e
    if bar is not None:
        bar.close()
    return state["committed"]


def _report(bar, progress, state: dict, start: float) -> None:
    if bar is not None:
        bar.update(state["read"] - bar.n)
        bar.set_postfix(committed=state["committed"], refresh=False)
    elif callable(progress):
        progress(BuildProgress(state["read"], state["committed"], state["skipped"], time.perf_counter() - start))


class _Either:
    """Membership in either of two containers (the index's ids, the pending segment's)."""

    def __init__(self, a, b):
        self.a, self.b = a, set(b)

    def __contains__(self, i) -> bool:
        return i in self.a or i in self.b


def _first_line(e: BaseException) -> str:
    text = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
    return str(text).splitlines()[0] if str(text) else type(e).__name__
