"""Micro-batched search on one worker thread, off the event loop, within a latency deadline.

Requests put a query (text or token vectors) on a bounded queue and await a future. The worker
takes what has arrived (waiting up to `wait` for more while it holds fewer than a batch),
encodes the batch's texts in one call, and searches the queries that share (mode, k, candidates)
in one ``Index.search`` call, so throughput rises with load while the encoder and kernels release
the GIL.

Overload is refused, never queued without bound, and the searches that are accepted are
predicted to finish within `deadline` (a prediction, not a guarantee): the worker measures what a query costs it (a moving average of batch time
per query), a query is admitted only when the work ahead of it, its own batch included, is
predicted to finish within the deadline (or when nothing is ahead of it: a slow machine answers
late rather than not at all), and batches are cut to at most half the deadline's worth of
queries so that the queries of one batch do not wait long for each other. A query that still
waited past its deadline while a backlog lasts (the prediction was wrong: a slow batch) is
answered with an error instead of being searched. The caller answers QueueFull with 503.
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import math
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
    COST_WEIGHT = 0.2  # of the newest batch in the moving average of the cost per query

    def __init__(
        self, index, *, max_queue: int, max_batch: int, wait_seconds: float, deadline_seconds: float, observe_batch=None
    ):
        self._index = index
        self._max_queue, self._max_batch, self._wait = max_queue, max_batch, wait_seconds
        self._deadline = deadline_seconds
        self._observe_batch = observe_batch or (lambda n: None)
        self._queue: collections.deque[Query] = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self._cost: float | None = None  # seconds of worker time per query; None until a batch was timed
        self._running, self._running_since = 0, 0.0  # the batch being searched
        self._thread = threading.Thread(target=self._run, name="muvera-nano-search", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ the event loop's side
    def submit(
        self, *, text: str | None = None, vectors: np.ndarray | None = None, mode: str, k: int, candidates: int
    ) -> concurrent.futures.Future:
        """A future of the query's SearchResult; QueueFull when the queue is at its maximum or the
        query would not be answered within the deadline, RuntimeError once closing."""
        fut: concurrent.futures.Future = concurrent.futures.Future()
        now = time.perf_counter()
        with self._cond:
            if self._closing:
                raise RuntimeError("the search worker is shutting down")
            if len(self._queue) >= self._max_queue or self._predicted_seconds(now) > self._deadline:
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

    # ------------------------------------------------------------------ the cost model (under the lock)
    def _batch_size(self, cost: float | None) -> int:
        """Queries per batch: at most half the deadline's worth, so a batch's first query does
        not wait long for its last."""
        if not cost:
            return self._max_batch
        return max(1, min(self._max_batch, int(self._deadline / 2 / cost)))

    def _cost_now(self, now: float) -> float | None:
        """The cost per query, raised to what the running batch has taken so far when it runs
        longer than that (a first batch, or a slow one, is evidence too)."""
        if not self._running:
            return self._cost
        so_far = (now - self._running_since) / self._running
        return so_far if self._cost is None else max(self._cost, so_far)

    def _predicted_seconds(self, now: float) -> float:
        """When a query queued now would be answered: what is left of the running batch, then
        the batches ahead of it and its own. 0 when nothing is ahead (always admitted)."""
        cost = self._cost_now(now)
        if not cost or (not self._queue and not self._running):
            return 0.0
        running_left = max(0.0, self._running * cost - (now - self._running_since))
        size = self._batch_size(cost)
        return running_left + math.ceil((len(self._queue) + 1) / size) * size * cost

    def _timed(self, n: int, seconds: float) -> None:
        per_query = seconds / n
        self._cost = per_query if self._cost is None else self._cost + self.COST_WEIGHT * (per_query - self._cost)

    # ------------------------------------------------------------------ the worker's side
    def _next_batch(self) -> list[Query] | None:
        with self._cond:
            while not self._queue:
                if self._closing:
                    return None
                self._cond.wait()
            size = self._batch_size(self._cost)
            deadline = time.perf_counter() + self._wait
            while len(self._queue) < size and not self._closing:
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                self._cond.wait(left)
            late = time.perf_counter() - self._deadline
            while len(self._queue) > size and self._queue[0].queued_at < late:
                q = self._queue.popleft()  # shed: it would be answered too late
                if q.future.set_running_or_notify_cancel():
                    q.future.set_exception(QueueFull())
            batch = [self._queue.popleft() for _ in range(min(size, len(self._queue)))]
            self._running, self._running_since = len(batch), time.perf_counter()
            return batch

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            started = time.perf_counter()
            # a request whose client went away cancelled its future: skip it
            searched = [q for q in batch if q.future.set_running_or_notify_cancel()]
            answers: list[Any] = []
            if searched:
                self._observe_batch(len(searched))
                try:
                    answers = self._search(searched)
                except BaseException as e:  # answer every waiting request, keep serving
                    log.exception("search batch failed")
                    answers = [e] * len(searched)
            with self._cond:  # book the batch before answering: an answered client may ask again at once
                if searched:
                    self._timed(len(searched), time.perf_counter() - started)
                self._running = 0
            for q, answer in zip(searched, answers):
                if isinstance(answer, BaseException):
                    q.future.set_exception(answer)
                else:
                    q.future.set_result(answer)

    def _search(self, batch: list[Query]) -> list[Any]:
        """Each query's SearchResult, or the exception that failed it."""
        answers: list[Any] = [None] * len(batch)
        vectors = self._encode(batch, answers)
        groups: dict[tuple, list[int]] = {}
        for i, q in enumerate(batch):
            if answers[i] is None:
                groups.setdefault(q.key, []).append(i)
        for (mode, k, candidates), members in groups.items():
            try:
                results = self._index.search([vectors[i] for i in members], k=k, mode=mode, n_candidates=candidates)
            except Exception as e:  # fail this group only
                log.exception("search failed")
                results = [e] * len(members)
            for i, r in zip(members, results):
                answers[i] = r
        return answers

    def _encode(self, batch: list[Query], answers: list[Any]) -> list[Any]:
        """Each query's token vectors: the batch's texts encoded in one call (one at a time if
        that fails, so one bad text fails alone: its exception goes to `answers`)."""
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
                    answers[i] = e
        return vectors
