"""The precision benchmark runs (tiny sizes); its figures are not asserted, only that it completes
and prints every table with a row per precision."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_encoder_precision_quick(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_encoder_precision.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for heading in ("# CPU: ", "matmul ceilings", "| precision | runtime | tokens/s", "nDCG@10"):
        assert heading in result.stdout
    data = json.loads(out.read_text())
    assert [row["precision"] for row in data["nano"]] == ["float32", "int8", "bfloat16"]
    assert all(row["tokens_per_s"] > 0 and row["inference_docs_per_s"] > 0 for row in data["nano"])
    assert data["nano"][0]["max_abs"] == 0.0 and data["real_text"]["float32"]["top10_agreement"] == 1.0
