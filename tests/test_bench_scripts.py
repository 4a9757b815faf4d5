"""The benchmark scripts run end to end at a tiny size (speed is measured in bench/, not here)."""

import os
import subprocess
import sys

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")


def test_maxsim_benchmark_runs_and_prints_its_tables():
    out = subprocess.run(
        [
            sys.executable,
            os.path.join(BENCH, "bench_maxsim.py"),
            "--quick",
            "--docs",
            "40",
            "--repeats",
            "1",
            "--threads",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr + out.stdout
    for heading in ("## 1x10k", "## 16x1k", "## rerank 16x100", "## fixed cost of one call"):
        assert heading in out.stdout
    for impl in (
        "muvera-nano float32",
        "muvera-nano int8",
        "numpy loop",
        "numpy padded batch",
        "maxsim-cpu",
        "torch einsum",
    ):
        assert impl in out.stdout, impl


def test_pq_benchmark_runs_and_prints_its_tables():
    out = subprocess.run(
        [
            sys.executable,
            os.path.join(BENCH, "bench_pq.py"),
            "--quick",
            "--docs",
            "40",
            "--repeats",
            "1",
            "--threads",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr + out.stdout
    assert out.stdout.startswith("CPU: ")
    for heading in ("## MaxSim", "## pq_encode", "## 4-bit fast scan"):
        assert heading in out.stdout
    for impl in (
        "muvera-nano pq8",
        "muvera-nano float16",
        "muvera-nano pq4_topk, 1 query",
        "numpy float16 matvec + argpartition",
    ):
        assert impl in out.stdout, impl
