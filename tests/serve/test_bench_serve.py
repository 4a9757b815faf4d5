"""The serving benchmark runs end to end at a tiny size (speed is measured in bench/, not here)."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_serve_benchmark_runs_every_phase_and_reports_it(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            str(BENCH / "bench_serve.py"),
            "--quick",
            "--workdir",
            str(tmp_path),
            "--json",
            str(tmp_path / "serve.json"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-5000:] + out.stdout[-5000:]
    for heading in (
        "## where a query's time goes",
        "## closed loop",
        "## overload",
        "## 32 clients + one writer",
        "## soak",
    ):
        assert heading in out.stdout, heading
    result = json.loads((tmp_path / "serve.json").read_text())
    assert result["server_exit_code"] == 0 and result["server_log_tracebacks"] == 0
    assert [(r["mode"], r["clients"]) for r in result["sweep"]] == [("rerank", 1), ("rerank", 8)]
    assert all(r["ok"] > 0 and set(r["status"]) <= {"200", "503"} for r in result["sweep"])
    assert result["writer"]["writes"]["ok"] == result["writer"]["writes"]["count"] > 0
    assert result["soak"]["samples"] and all(
        s["rss_mb"] > s["rss_anon_mb"] > 0 and s["open_files"] > 0 for s in result["soak"]["samples"]
    )
