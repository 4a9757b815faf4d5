"""bench/bench_ray.py runs end to end at a tiny size (its figures mean nothing here)."""

import os
import subprocess
import sys

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bench")


def test_the_ray_benchmark_runs_and_prints_its_tables(tmp_path):
    out = subprocess.run(
        [sys.executable, os.path.join(BENCH, "bench_ray.py"), "--quick", "--json", str(tmp_path / "out.json")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr + out.stdout
    for line in (
        "| single process, 1 thread |",
        "| Ray, 2 workers |",
        "2-worker efficiency:",
        "| 2 shard(s), rerank |",
    ):
        assert line in out.stdout, line
    assert (tmp_path / "out.json").is_file()
