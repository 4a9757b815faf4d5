"""Shared benchmark plumbing: per-thread-count worker processes (so every library's thread
pool is sized before it starts), timing with warm-up, machine ceilings, and table output."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable

from muvera_nano.microbench import timings

THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "RAYON_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


def worker_env(threads: int) -> dict:
    env = dict(os.environ)
    for k in THREAD_ENV:
        env[k] = str(threads)
    return env


def run_workers(script: str, threads_list: list[int], args: list[str]) -> list[dict]:
    """Runs `script --worker --threads N args...` once per N; each prints one JSON line last."""
    results = []
    for t in threads_list:
        cmd = [sys.executable, script, "--worker", "--threads", str(t), *args]
        proc = subprocess.run(cmd, env=worker_env(t), capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
            raise SystemExit(f"benchmark worker for {t} thread(s) failed")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return results


def measure(fn: Callable[[], object], repeats: int, warmup: int = 1) -> dict:
    """Median, min and max wall time (seconds) of fn over `repeats` runs after `warmup` runs."""
    times = timings(fn, repeats, warmup)
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "runs": repeats}


def matmul_gflops(threads: int, repeats: int, n: int = 2048) -> float:
    """The float32 matmul ceiling: numpy n^3 at `threads` threads (threadpoolctl-limited)."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    with threadpool_limits(threads):
        t = measure(lambda: a @ a, repeats)
    return 2 * n**3 / t["median"] / 1e9


def memory_bandwidth(threads: int, repeats: int, nbytes: int = 1 << 30) -> dict:
    """Memory bandwidth (GB/s) two ways, on 1 GiB: a numpy copy (bytes read + written), and a
    read-only stream (numpy max-reductions over `threads` slices in as many threads; numpy
    releases the GIL in them). `read` is the larger of the two, the yardstick for a scan that
    only reads."""
    import threading

    import numpy as np

    a = np.ones(nbytes // 4, np.float32)
    b = np.empty_like(a)
    copy = 2 * nbytes / measure(lambda: np.copyto(b, a), repeats)["median"] / 1e9
    b = None  # frees the copy's target (the lambda read the name)
    parts = np.array_split(a, threads)

    def read_all():
        workers = [threading.Thread(target=np.max, args=(p,)) for p in parts]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    read = nbytes / measure(read_all, repeats)["median"] / 1e9
    return {"copy": copy, "read": max(copy, read)}


def machine() -> dict:
    import platform

    info = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    try:
        import muvera_nano

        info["cpu"] = muvera_nano.cpu_info()["brand"]
        info["isa"] = muvera_nano.isa()
    except ImportError:
        pass
    try:
        info["load_average"] = os.getloadavg()
    except OSError:
        pass
    return info


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
