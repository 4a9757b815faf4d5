"""Kernel microbenchmarks that need nothing but this package and numpy: MaxSim per storage type,
MUVERA FDE encoding, and the dense FDE scan, each next to a plain numpy version measured in the
same run, with the machine's float32 matmul rate as the ceiling. `muvera-nano bench` runs it;
bench/ has the side-by-side comparisons with other libraries."""

from __future__ import annotations

import statistics
import time
from typing import Callable

import numpy as np

from . import get_num_threads, isa
from .kernels import Ragged, dot_topk, maxsim


def timings(fn: Callable[[], object], repeats: int, warmup: int = 1) -> list[float]:
    """Wall times (seconds) of fn over `repeats` runs after `warmup` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def _median(fn: Callable[[], object], repeats: int) -> float:
    return statistics.median(timings(fn, repeats))


def _corpus(n_docs: int, dim: int = 128, seed: int = 0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(50, 301, n_docs)
    tokens = rng.standard_normal((int(lengths.sum()), dim)).astype(np.float32)
    tokens /= np.linalg.norm(tokens, axis=1, keepdims=True)
    offsets = np.zeros(n_docs + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    q = rng.standard_normal((32, dim)).astype(np.float32)
    return Ragged(tokens, offsets), q / np.linalg.norm(q, axis=1, keepdims=True)


def run(*, docs: int = 2000, threads: int | None = None, repeats: int = 5, out=print) -> list[dict]:
    """Runs the microbenchmarks and prints a table; returns the rows."""
    from threadpoolctl import threadpool_limits

    threads = threads or get_num_threads()
    with threadpool_limits(threads):  # numpy's BLAS gets the same number of threads
        return _run(docs, threads, repeats, out)


def _run(docs: int, threads: int, repeats: int, out) -> list[dict]:
    from .fde import FDEConfig

    store, q = _corpus(docs)
    mean_rows = float(np.diff(store.offsets).mean())
    flops_per_doc = 2 * q.shape[0] * q.shape[1] * mean_rows
    cfg = FDEConfig.recommended(128)
    queries = Ragged.from_list([q] * 256)
    fdes = cfg.encode_documents(store, threads=threads)
    qf = cfg.encode_queries(Ragged.from_list([q]))[0]
    k = min(100, docs)
    dtypes = ("float32", "float16", "bfloat16", "int8")

    # This package's kernels first: after a numpy call, BLAS worker threads keep spinning for a
    # while and would take the cores from whatever is timed next.
    t = {}
    for dtype in dtypes:
        stored = store.astype(dtype)  # one copy at a time
        t[dtype] = _median(lambda: maxsim(q, stored, threads=threads), repeats)
    del stored
    t["fde docs"] = _median(lambda: cfg.encode_documents(store, threads=threads), repeats)
    t["fde queries"] = _median(lambda: cfg.encode_queries(queries, threads=threads), repeats)
    scan_dtypes = ("float32", "float16")
    for dtype in scan_dtypes:
        rows_ = fdes.astype(dtype)
        t[f"scan {dtype}"] = _median(lambda: dot_topk(qf, rows_, k, threads=threads), repeats)
    docs_list = [store[i] for i in range(docs)]
    t["numpy loop"] = _median(lambda: [(q @ d.T).max(1).sum() for d in docs_list], repeats)
    t["numpy scan"] = _median(lambda: np.argpartition(-(fdes @ qf), k - 1)[:k], repeats)
    a = np.random.default_rng(1).standard_normal((1024, 1024)).astype(np.float32)
    gflops = 2 * 1024**3 / _median(lambda: a @ a, repeats) / 1e9

    rows = []

    def row(name, unit, amount, seconds, baseline=None):
        r = {"benchmark": name, "unit": unit, "rate": amount / seconds}
        if baseline is not None:
            r["speedup"] = r["rate"] / baseline
        rows.append(r)
        return r["rate"]

    np_rate = row("MaxSim, numpy loop (float32)", "docs/s", docs, t["numpy loop"])
    for dtype in dtypes:
        row(f"MaxSim, muvera-nano {dtype}", "docs/s", docs, t[dtype], np_rate)
    row("FDE documents (20,5,16), recommended config", "docs/s", docs, t["fde docs"])
    row("FDE queries (20,5,16), recommended config", "queries/s", 256, t["fde queries"])
    np_scan = row(f"FDE scan top-{k}, numpy float32 (matvec + argpartition)", "docs/s", docs, t["numpy scan"])
    for dtype in scan_dtypes:
        row(f"FDE scan top-{k}, muvera-nano {dtype}", "docs/s", docs, t[f"scan {dtype}"], np_scan)

    out(f"muvera-nano microbenchmarks: {docs} documents (mean {mean_rows:.0f} rows, dim 128), 32-row queries, "
        f"{threads} thread(s), ISA {isa()}; numpy float32 matmul {gflops:.0f} GFLOP/s "
        f"(= {gflops * 1e9 / flops_per_doc:,.0f} MaxSim docs/s)")
    width = max(len(r["benchmark"]) for r in rows)
    for r in rows:
        extra = f"  {r['speedup']:5.1f}x numpy" if "speedup" in r else ""
        out(f"  {r['benchmark']:<{width}}  {r['rate']:>12,.0f} {r['unit']}{extra}")
    return rows
