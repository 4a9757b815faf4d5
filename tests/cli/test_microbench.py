"""The microbenchmarks (`muvera-nano bench`, and the demo without a model) never show this package
slower than numpy without a note that says why, from what the run measured, or that it cannot say.
Slowness is injected (a wrapped kernel that also sleeps), so the notes are tested whatever the
machine's speed; no speed is asserted."""

import time

import pytest

from muvera_nano import microbench
from muvera_nano.cli import main


def run(**kw) -> tuple[list[dict], list[str]]:
    lines = []
    rows = microbench.run(docs=64, repeats=1, out=lines.append, **kw)
    return rows, lines


def slowed(fn, seconds, when=lambda threads: True):
    def wrapper(*args, threads=None, **kw):
        if when(threads):
            time.sleep(seconds)
        return fn(*args, threads=threads, **kw)

    return wrapper


def check_every_loss_is_explained(rows: list[dict], lines: list[str]) -> list[str]:
    notes = [line for line in lines if line.startswith("  note: ")]
    for r in rows:
        if r.get("speedup", 1.0) >= 1.0:
            continue
        shown = next(line for line in lines if line.startswith(f"  {r['benchmark']} "))
        assert shown.endswith("(see the notes)"), shown
        if "scan" in r and r["scan"][1] > 1:
            expected = f"  note: the {r['scan'][0]} FDE scan ("
        elif "scan" in r:
            expected = f"  note: on 1 thread the {r['scan'][0]} FDE scan took "
        else:
            expected = f"  note: {r['benchmark']} ran slower than numpy in this run, for no reason this benchmark"
        assert any(n.startswith(expected) for n in notes), (expected, notes)
    return notes


def test_a_scan_slower_on_several_threads_is_explained(monkeypatch):
    # as when the pool's threads must be woken for each call: slow on 2 threads only
    monkeypatch.setattr(microbench, "dot_topk", slowed(microbench.dot_topk, 0.02, lambda threads: threads > 1))
    rows, lines = run(threads=2)
    losing = [r for r in rows if r.get("speedup", 1.0) < 1.0 and "scan" in r]
    assert {r["scan"] for r in losing} >= {("float32", 2), ("float16", 2)}
    notes = check_every_loss_is_explained(rows, lines)
    note = next(n for n in notes if n.startswith("  note: the float32 FDE scan (64 documents, "))
    assert (
        "On 1 thread this package scans at " in note
        and "threads sleep between calls and each call wakes them: a 64-row scan takes " in note
        and "numpy's BLAS threads spin between calls" in note
    )
    # measured: the 20 ms the wrapper adds on 2 threads shows as the cost of waking them
    wake_us = int(note.split("a 64-row scan takes ")[1].split(" us longer")[0])
    assert wake_us >= 15_000


def test_a_scan_slower_on_one_thread_is_said_to_be_unexplained(monkeypatch):
    monkeypatch.setattr(microbench, "dot_topk", slowed(microbench.dot_topk, 0.02))
    rows, lines = run(threads=1)
    assert [r["benchmark"] for r in rows].count("FDE scan top-64, muvera-nano float32, 1 thread") == 1
    notes = check_every_loss_is_explained(rows, lines)
    note = next(n for n in notes if n.startswith("  note: on 1 thread the float32 FDE scan took "))
    assert note.endswith(
        "this package's scan is slower here, for no reason this benchmark can name "
        "(bench/bench_index.py measures the scan against the memory's read rate)."
    )


def test_any_other_loss_gets_a_note(monkeypatch):
    monkeypatch.setattr(microbench, "maxsim", slowed(microbench.maxsim, 0.05))
    rows, lines = run(threads=1)
    assert any(r["benchmark"] == "MaxSim, muvera-nano int8" and r["speedup"] < 1.0 for r in rows)
    check_every_loss_is_explained(rows, lines)


@pytest.mark.parametrize("threads", ["1", "2"])
def test_bench_command_prints_rows_at_its_thread_count_and_at_one(threads, capsys):
    assert main(["bench", "--docs", "40", "--repeats", "1", "--threads", threads]) == 0
    scans = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  FDE scan")]
    assert len(scans) == (3 if threads == "1" else 6)
    assert sum(", 1 thread " in line for line in scans) == 3
