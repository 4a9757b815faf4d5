"""bench/bench_fde.py runs (tiny sizes): its output checks pass and it prints both tables.
Speed is never asserted here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_quick(tmp_path):
    out = tmp_path / "fde.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_fde.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "## Encoding speed" in run.stdout and "## Recall" in run.stdout
    assert "muvera-nano google" in run.stdout and out.exists()
