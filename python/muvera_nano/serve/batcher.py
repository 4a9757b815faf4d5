"""Micro-batched search on one worker thread, off the event loop.

Requests put a query (text or token vectors) on a bounded queue and await a future. The worker
takes what has arrived (waiting up to `wait` for more while it holds fewer than `max_batch`),
encodes the batch's texts in one call, and searches the queries that share (mode, k, candidates)
in one ``Index.search`` call, so throughput rises with load while the encoder and kernels release
the GIL. Overload is refused, never queued without bound: a query arriving at a full queue, or at
a backlog (more than a batch waiting) whose oldest query has waited `max_wait`, fails at once,
and while a backlog lasts the worker answers the queries that waited longer than `max_wait` with
an error instead of searching them (the caller answers 503). So under overload the queries that
are searched waited about `max_wait` at most, plus one batch; without a backlog nothing is shed
(a slow machine answers late rather than not at all).
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import threading
import time
from typing import Any, NamedTuple

import numpy as np

log = logging.getLogger("muvera_nano.serve")


class QueueFull(Exception):
    """The search queue is full, or its queries wait too long; retry later."""


class Query(NamedTuple):
    text: str | None
    vectors: np.ndarray | None
    mode: str
    k: int
    candidates: int
    future: concurrent.futures.Future
    queued_at: float

    @property
    def key(self) -> tuple:
        return self.mode, self.k, self.candidates


class SearchBatcher:
    def __init__(
        self, index, *, max_queue: int, max_batch: int, wait_seconds: float, max_wait_seconds: float, observe_batch=None
    ):
        self._index = index
        self._max_queue, self._max_batch, self._wait = max_queue, max_batch, wait_seconds
        self._max_wait = max_wait_seconds
        self._observe_batch = observe_batch or (lambda n: None)
        self._queue: collections.deque[Query] = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="muvera-nano-search", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ the event loop's side
    def submit(
        self, *, text: str | None = None, vectors: np.ndarray | None = None, mode: str, k: int, candidates: int
    ) -> concurrent.futures.Future:
        """A future of the query's SearchResult; QueueFull when the queue is at its maximum,
        RuntimeError once closing."""
        fut: concurrent.futures.Future = concurrent.futures.Future()
        now = time.perf_counter()
        with self._cond:
            if self._closing:
                raise RuntimeError("the search worker is shutting down")
            if len(self._queue) >= self._max_queue or (
                len(self._queue) >= self._max_batch and now - self._queue[0].queued_at > self._max_wait
            ):
                raise QueueFull
            self._queue.append(Query(text, vectors, mode, k, candidates, fut, now))
            self._cond.notify()
        return fut

    def depth(self) -> int:
        return len(self._queue)

    def alive(self) -> bool:
        return self._thread.is_alive() and not self._closing

    def close(self, timeout: float | None = None) -> None:
        """Searches what is queued, then stops the worker."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)

    # ------------------------------------------------------------------ the worker's side
    def _next_batch(self) -> list[Query] | None:
        with self._cond:
            while not self._queue:
                if self._closing:
                    return None
                self._cond.wait()
            deadline = time.perf_counter() + self._wait
            while len(self._queue) < self._max_batch and not self._closing:
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                self._cond.wait(left)
            stale = time.perf_counter() - self._max_wait
            while len(self._queue) > self._max_batch and self._queue[0].queued_at < stale:
                q = self._queue.popleft()  # shed: it would be answered too late
                if q.future.set_running_or_notify_cancel():
                    q.future.set_exception(QueueFull())
            n = min(self._max_batch, len(self._queue))
            return [self._queue.popleft() for _ in range(n)]

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            # a request whose client went away cancelled its future: skip it
            batch = [q for q in batch if q.future.set_running_or_notify_cancel()]
            if not batch:
                continue
            self._observe_batch(len(batch))
            try:
                self._search(batch)
            except BaseException as e:  # answer every waiting request, keep serving
                log.exception("search batch failed")
                for q in batch:
                    if not q.future.done():
                        q.future.set_exception(e)

    def _search(self, batch: list[Query]) -> None:
        vectors = self._encode(batch)
        groups: dict[tuple, list[int]] = {}
        for i, q in enumerate(batch):
            if vectors[i] is not None:
                groups.setdefault(q.key, []).append(i)
        for (mode, k, candidates), members in groups.items():
            try:
                results = self._index.search([vectors[i] for i in members], k=k, mode=mode, n_candidates=candidates)
            except Exception as e:  # fail this group only
                log.exception("search failed")
                for i in members:
                    batch[i].future.set_exception(e)
                continue
            for i, r in zip(members, results):
                batch[i].future.set_result(r)

    def _encode(self, batch: list[Query]) -> list[Any]:
        """Each query's token vectors: the batch's texts encoded in one call (one at a time if
        that fails, so one bad text fails alone)."""
        vectors: list[Any] = [q.vectors for q in batch]
        todo = [i for i, q in enumerate(batch) if q.text is not None]
        if not todo:
            return vectors
        try:
            encoded = self._index.encode_queries([batch[i].text for i in todo])
            for j, i in enumerate(todo):
                vectors[i] = encoded[j]
        except Exception:  # find the text that fails, fail it alone
            for i in todo:
                try:
                    vectors[i] = self._index.encode_queries([batch[i].text])[0]
                except Exception as e:
                    log.exception("query encoding failed")
                    batch[i].future.set_exception(e)
        return vectors
