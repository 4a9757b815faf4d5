"""The benchmark scripts run end to end at a tiny size (speed is measured in bench/, not here)."""

import os
import subprocess
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")

# script: (what its output starts with (None: anything), its table headings, implementations it names)
QUICK_RUNS = {
    "bench_maxsim.py": (
        None,
        ("## 1x10k", "## 16x1k", "## rerank 16x100", "## fixed cost of one call"),
        (
            "muvera-nano float32",
            "muvera-nano int8",
            "numpy loop",
            "numpy padded batch",
            "maxsim-cpu",
            "torch einsum",
        ),
    ),
    "bench_pq.py": (
        "CPU: ",
        ("## MaxSim", "## pq_encode", "## 4-bit fast scan"),
        (
            "muvera-nano pq8",
            "muvera-nano float16",
            "muvera-nano pq4_topk, 1 query",
            "numpy float16 matvec + argpartition",
        ),
    ),
}


@pytest.mark.parametrize("script", sorted(QUICK_RUNS))
def test_benchmark_runs_and_prints_its_tables(script):
    prefix, headings, impls = QUICK_RUNS[script]
    out = subprocess.run(
        [sys.executable, os.path.join(BENCH, script), "--quick", "--docs", "40", "--repeats", "1", "--threads", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr + out.stdout
    if prefix is not None:
        assert out.stdout.startswith(prefix)
    for heading in headings:
        assert heading in out.stdout
    for impl in impls:
        assert impl in out.stdout, impl
