"""The encoder benchmark runs (tiny sizes); its figures are not asserted, only that it completes,
checks its outputs against the float64 reference and prints every table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_encoder_quick(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_encoder.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    text = result.stdout
    assert "checked against float64 reference" in text
    for heading in ("documents/s", "p50 ms", "tokenization", "int8 export vs float32"):
        assert heading in text
    data = json.loads(out.read_text())
    assert {row["encoder"] for row in data["documents"]} == {"onnx (this)", "torch eager (PyLate)", "onnx int8"}
    assert all(row["docs_per_s"] > 0 for row in data["documents"])


def test_bench_encoder_long_document(tmp_path):
    out = tmp_path / "long.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_encoder.py"), "--long-document", "0.5", "--whole-up-to", "0.5"]
        + ["--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "prefix cut (this)" in result.stdout and "whole text (before)" in result.stdout
    rows = json.loads(out.read_text())["long_document"]
    assert [r["mode"] for r in rows] == ["prefix", "whole"]
    assert rows[0]["rows"] == rows[1]["rows"] > 0  # the same kept tokens either way
