"""Thread-count independence, concurrent callers, worker errors and fork safety."""

import multiprocessing as mp
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import muvera_nano as mn


def make_store(rng, n=400, dim=64):
    lengths = rng.integers(0, 120, n)
    tokens = rng.standard_normal((lengths.sum(), dim)).astype(np.float32)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return mn.Ragged(tokens, offsets)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "int8"])
def test_results_are_bitwise_identical_for_any_thread_count(isa, rng, dtype):
    store = make_store(rng).astype(dtype)
    q = rng.standard_normal((3, 40, 64)).astype(np.float32)
    one = mn.maxsim(q, store, threads=1)
    for threads in (2, 3, 8):
        np.testing.assert_array_equal(mn.maxsim(q, store, threads=threads), one)
    np.testing.assert_array_equal(mn.maxsim(q, store, threads=2), one)  # and across calls
    cand = np.stack([rng.permutation(len(store))[:50] for _ in range(3)]).astype(np.int64)
    r1 = mn.rerank(q, store, candidates=cand, k=10, threads=1)
    r2 = mn.rerank(q, store, candidates=cand, k=10, threads=2)
    np.testing.assert_array_equal(r1[0], r2[0])
    np.testing.assert_array_equal(r1[1], r2[1])


def test_concurrent_calls_from_python_threads(rng):
    stores = [make_store(np.random.default_rng(s), n=300) for s in range(4)]
    queries = [np.random.default_rng(10 + s).standard_normal((32, 64)).astype(np.float32) for s in range(4)]
    serial = [mn.maxsim(queries[i], stores[i], threads=1) for i in range(4)]

    def work(i):
        return mn.maxsim(queries[i % 4], stores[i % 4], threads=2)

    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(work, range(64)))
    for i, got in enumerate(results):
        np.testing.assert_array_equal(got, serial[i % 4])


def _child(conn):
    rng = np.random.default_rng(3)
    store = make_store(rng, n=200)
    q = rng.standard_normal((32, 64)).astype(np.float32)
    conn.send(mn.maxsim(q, store, threads=2).tolist())
    conn.close()


def test_pool_survives_fork():
    # Use the pool in the parent, then fork: the child must get working threads, not a hang.
    rng3 = np.random.default_rng(3)
    store = make_store(rng3, n=200)
    q = rng3.standard_normal((32, 64)).astype(np.float32)
    want = mn.maxsim(q, store, threads=2)
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_child, args=(child,))
    p.start()
    assert parent.poll(60), "child did not answer within 60 s (pool deadlock after fork?)"
    got = np.array(parent.recv(), np.float32)
    p.join(10)
    np.testing.assert_array_equal(got, want)
