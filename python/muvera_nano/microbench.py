"""Kernel microbenchmarks that need nothing but this package and numpy: MaxSim per storage type,
MUVERA FDE encoding, and the dense FDE scan, each next to a plain numpy version measured in the
same run, with the machine's float32 matmul rate as the ceiling. `muvera-nano bench` runs it;
bench/ has the side-by-side comparisons with other libraries."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import numpy as np

from . import cpu_info, get_num_threads, isa
from .kernels import Ragged, dot_topk, maxsim

SETTLE = 0.15  # seconds for OpenBLAS's threads to stop spinning after numpy's turn (they spin ~50 ms)


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
    """Runs the microbenchmarks and prints a table, with notes that explain a row where this
    package is slower than numpy; returns the rows."""
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
        t[dtype] = _maxsim_time(q, store, dtype, threads, repeats)
    t["fde docs"] = _median(lambda: cfg.encode_documents(store, threads=threads), repeats)
    t["fde queries"] = _median(lambda: cfg.encode_queries(queries, threads=threads), repeats)
    scan_rounds = _scan_times(fdes, qf, k, threads, repeats)
    scan = {key: statistics.median(v) for key, v in scan_rounds.items()}
    docs_list = [store[i] for i in range(docs)]
    t["numpy loop"] = _median(lambda: [(q @ d.T).max(1).sum() for d in docs_list], repeats)
    a = np.random.default_rng(1).standard_normal((1024, 1024)).astype(np.float32)
    gflops = 2 * 1024**3 / _median(lambda: a @ a, repeats) / 1e9

    rows = []

    def row(name, unit, amount, seconds, baseline=None, baseline_name="numpy", scan_key=None):
        r = {"benchmark": name, "unit": unit, "rate": amount / seconds}
        if scan_key is not None:
            r["scan"] = scan_key
        if baseline is not None:
            r["speedup"] = r["rate"] / baseline
            r["baseline"] = baseline_name
        rows.append(r)
        return r["rate"]

    np_rate = row("MaxSim, numpy loop (float32)", "docs/s", docs, t["numpy loop"])
    for dtype in dtypes:
        row(f"MaxSim, muvera-nano {dtype}", "docs/s", docs, t[dtype], np_rate)
    row("FDE documents (20,5,16), recommended config", "docs/s", docs, t["fde docs"])
    row("FDE queries (20,5,16), recommended config", "queries/s", 256, t["fde queries"])
    for n in sorted({threads, 1}, reverse=True):
        on = f", {n} thread{'s' if n > 1 else ''}"
        base = row(f"FDE scan top-{k}, numpy float32 (matvec + argpartition){on}", "docs/s", docs, scan["numpy", n])
        for dtype in ("float32", "float16"):
            row(
                f"FDE scan top-{k}, muvera-nano {dtype}{on}",
                "docs/s",
                docs,
                scan[dtype, n],
                base,
                "numpy" if n == threads else "numpy on 1 thread",
                scan_key=(dtype, n),
            )

    out(
        f"muvera-nano microbenchmarks: {docs} documents (mean {mean_rows:.0f} rows, dim 128), 32-row queries, "
        f"{threads} thread(s), ISA {isa()}; numpy float32 matmul {gflops:.0f} GFLOP/s "
        f"(= {gflops * 1e9 / flops_per_doc:,.0f} MaxSim docs/s)"
    )
    width = max(len(r["benchmark"]) for r in rows)
    for r in rows:
        extra = f"  {r['speedup']:5.1f}x {r['baseline']}" if "speedup" in r else ""
        extra += " (see the notes)" if r.get("speedup", 1.0) < 1.0 else ""
        out(f"  {r['benchmark']:<{width}}  {r['rate']:>12,.0f} {r['unit']}{extra}")
    for note in _notes(rows, scan_rounds, fdes, threads, repeats):
        out(note)
    out(storage_advice({d: t[d] for d in dtypes}, cpu_info().get("brand", "this CPU")))
    return rows


def storage_advice(seconds: dict[str, float], cpu: str) -> str:
    """Which token storage scores fastest on this CPU, as ratios to float32 measured in this run
    (the ranking differs between CPU families: bfloat16 is 2x float32 on AMD Zen 4 and slower than
    float32 on Intel Xeons with AVX512_BF16)."""
    ratio = {d: seconds["float32"] / s for d, s in seconds.items()}
    best = max(ratio, key=lambda d: (ratio[d], d == "float32"))
    others = ", ".join(f"{d} {ratio[d]:.2f}x" for d in seconds if d not in ("float32", best))
    lead = (
        "float32 is the fastest storage here"
        if best == "float32"
        else f"{best} is the fastest storage here ({ratio[best]:.2f}x float32)"
    )
    return (
        f"storage advice for MaxSim on {cpu}: {lead}; {others} (this run; error bounds of each storage "
        f"type: README, 'Storage types and their error bounds')"
    )


def _maxsim_time(q: np.ndarray, store: Ragged, dtype: str, threads: int, repeats: int) -> float:
    stored = store.astype(dtype)  # one copy at a time, freed on return
    return _median(lambda: maxsim(q, stored, threads=threads), repeats)


def _scan_times(fdes: np.ndarray, qf: np.ndarray, k: int, threads: int, rounds: int) -> dict:
    """Seconds per FDE scan in each round, keyed (float32 | float16 | numpy, threads), at
    `threads` and at 1 thread. The three take turns in each round, so a slow spell of a shared machine falls on
    all of them; each is the fastest of a few calls in its turn (the least disturbed)."""
    from threadpoolctl import threadpool_limits

    f16 = fdes.astype(np.float16)
    times: dict = {}
    for _ in range(max(rounds, 3)):
        for n in sorted({threads, 1}, reverse=True):
            for name, fn in (
                ("float32", lambda: dot_topk(qf, fdes, k, threads=n)),
                ("float16", lambda: dot_topk(qf, f16, k, threads=n)),
            ):
                times.setdefault((name, n), []).append(min(timings(fn, 3)))
            with threadpool_limits(n):
                fn = lambda: np.argpartition(-(fdes @ qf), k - 1)[:k]  # noqa: E731
                times.setdefault(("numpy", n), []).append(min(timings(fn, 3)))
            time.sleep(SETTLE)
    return times


def _notes(rows: list[dict], scan_rounds: dict, fdes: np.ndarray, threads: int, repeats: int) -> list[str]:
    """A note for each row where this package is slower than numpy: why, from measurements of this
    run, or that it is not explained."""
    notes = []
    load, cores = (os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0), os.cpu_count() or 1
    busy = load > cores
    scan = {key: statistics.median(v) for key, v in scan_rounds.items()}
    slower = [r for r in rows if r.get("speedup", 1.0) < 1.0]
    for dtype in sorted({r["scan"][0] for r in slower if "scan" in r and r["scan"][1] > 1}):
        one = scan["numpy", 1] / scan[dtype, 1]
        ours = scan[dtype, 1] / scan[dtype, threads]
        theirs = scan["numpy", 1] / scan["numpy", threads]
        head = (
            f"  note: the {dtype} FDE scan ({fdes.shape[0]:,} documents, {1e3 * scan[dtype, threads]:.2f} ms on "
            f"{threads} threads). On 1 thread this package scans at {one:.1f}x numpy's rate (both read each FDE once), "
            f"and {threads} threads scan {ours:.1f}x as fast as 1 (numpy's: {theirs:.1f}x)"
        )
        if ours >= theirs:  # it scales as well as numpy: the loss is the 1-thread one, noted below
            notes.append(head + ", so the loss is not in the threading: see the note on 1 thread.")
            continue
        lost = scan[dtype, threads] - scan[dtype, 1] / threads  # against perfect scaling of the same scan
        notes.append(
            head
            + (f": the call takes {1e3 * lost:.2f} ms more than 1/{threads} of its 1-thread time" if lost > 0 else "")
            + ". The likely cause, not measured here: this package's pool threads sleep between calls and each call "
            "wakes them"
            + (
                f" (with the load average at {load:.1f} on {cores} cores, a woken thread waits for a free core)"
                if busy
                else ""
            )
            + ", while numpy's BLAS threads spin between calls, holding their cores."
        )
    for dtype in sorted({r["scan"][0] for r in slower if "scan" in r and r["scan"][1] == 1}):
        ours, theirs = scan_rounds[dtype, 1], scan_rounds["numpy", 1]
        notes.append(
            f"  note: on 1 thread the {dtype} FDE scan took {1e3 * min(ours):.2f}-{1e3 * max(ours):.2f} ms over the "
            f"rounds, numpy's float32 one {1e3 * min(theirs):.2f}-{1e3 * max(theirs):.2f} ms: "
            + (
                "the ranges overlap, so the difference is within this run's noise."
                if min(ours) <= max(theirs)
                else "this package's scan is slower here, for no reason this benchmark can name (bench/bench_index.py "
                "measures the scan against the memory's read rate)."
            )
        )
    for r in slower:
        if "scan" not in r:
            notes.append(
                f"  note: {r['benchmark']} ran slower than numpy in this run, for no reason this benchmark "
                "can name (bench/ measures each kernel in detail)."
            )
    if busy:
        notes.append(
            f"  note: the load average is {load:.1f} on {cores} cores: other processes share them, so timings "
            f"vary from run to run (the FDE scans: {max(repeats, 3)} rounds taken in turn, medians)"
        )
    return notes
