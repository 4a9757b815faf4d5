"""The search batcher's admission by deadline, in-process with a fake index whose searches take
as long as the test says: every assertion rests on lower bounds of time (a sleep or a blocked
search lasts at least as long as asked), so a slow machine cannot flip it."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from muvera_nano.serve.batcher import QueueFull, SearchBatcher


class FakeIndex:
    """Searches that take `seconds` per query, or block until `gate` is set; records batch sizes."""

    def __init__(self):
        self.seconds = 0.0
        self.gate: threading.Event | None = None
        self.started = threading.Event()
        self.batches: list[int] = []

    def search(self, queries, *, k, mode, n_candidates):
        self.batches.append(len(queries))
        self.started.set()
        if self.gate is not None:
            self.gate.wait(30)
        time.sleep(self.seconds * len(queries))
        return [f"result of {q.shape[0]} tokens" for q in queries]


def vectors(n_tokens: int = 3) -> np.ndarray:
    return np.ones((n_tokens, 4), np.float32)


def submit(batcher: SearchBatcher, n_tokens: int = 3):
    return batcher.submit(vectors=vectors(n_tokens), mode="rerank", k=10, candidates=100)


@pytest.fixture
def make():
    made = []

    def make_batcher(index, *, deadline: float, max_batch: int = 32, max_queue: int = 64) -> SearchBatcher:
        b = SearchBatcher(index, max_queue=max_queue, max_batch=max_batch, wait_seconds=0.0, deadline_seconds=deadline)
        made.append((b, index))
        return b

    yield make_batcher
    for b, index in made:
        if index.gate is not None:
            index.gate.set()
        b.close(30)


def test_a_query_behind_a_search_that_outlasted_the_deadline_is_refused(make):
    index = FakeIndex()
    index.gate = threading.Event()
    b = make(index, deadline=0.2)
    first = submit(b)
    assert index.started.wait(30)
    time.sleep(0.3)  # the running search has now taken longer than the deadline
    with pytest.raises(QueueFull):
        submit(b)
    index.gate.set()
    assert first.result(30) == "result of 3 tokens"
    assert index.batches == [1]


def test_a_query_with_nothing_ahead_is_searched_even_when_queries_cost_more_than_the_deadline(make):
    index = FakeIndex()
    index.seconds = 0.15
    b = make(index, deadline=0.1)
    for n in (2, 3):  # the second comes after the first was timed at >= 0.15 s per query
        assert submit(b, n).result(30) == f"result of {n} tokens"
    assert index.batches == [1, 1]


def test_batches_hold_at_most_half_a_deadline_of_queries(make):
    index = FakeIndex()
    index.seconds = 0.2  # per query: a deadline of 1 s holds 2 queries per half
    b = make(index, deadline=1.0)
    submit(b).result(30)
    index.gate = threading.Event()
    index.started.clear()
    blocker = submit(b)
    assert index.started.wait(30)
    queued = []
    for _ in range(8):  # admitted until the work ahead reaches the deadline
        try:
            queued.append(submit(b))
        except QueueFull:
            break
    index.gate.set()
    blocker.result(30)
    for f in queued:
        f.result(30)
    assert 1 <= len(queued) < 8
    assert max(index.batches[2:]) <= 2, index.batches  # cost >= 0.2 s per query: 0.5 s / 0.2 s


def test_a_backlog_sheds_a_query_that_waited_past_its_deadline(make):
    # A fast first search teaches the batcher that queries are cheap; the next search blocks far
    # longer, so the two queries admitted behind it wait past the deadline: the older one is
    # answered QueueFull without being searched, the last (no backlog behind it) is searched.
    index = FakeIndex()
    b = make(index, deadline=2.0, max_batch=1)
    submit(b).result(30)
    index.gate = threading.Event()
    index.started.clear()
    blocked = submit(b)
    assert index.started.wait(30)
    second, third = submit(b), submit(b)
    time.sleep(2.2)
    index.gate.set()
    assert blocked.result(30) == "result of 3 tokens"
    with pytest.raises(QueueFull):
        second.result(30)
    assert third.result(30) == "result of 3 tokens"
    assert index.batches == [1, 1, 1]


def test_a_full_queue_refuses_before_any_batch_was_timed(make):
    index = FakeIndex()
    index.gate = threading.Event()
    b = make(index, deadline=60.0, max_queue=2)
    running = submit(b)
    assert index.started.wait(30)
    waiting = [submit(b), submit(b)]
    with pytest.raises(QueueFull):
        submit(b)
    index.gate.set()
    assert [f.result(30) for f in [running, *waiting]] == ["result of 3 tokens"] * 3
