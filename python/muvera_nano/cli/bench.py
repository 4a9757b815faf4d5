"""`muvera-nano bench`: the kernel microbenchmarks (MaxSim, FDE, FDE scan) against numpy."""

from __future__ import annotations

import argparse

from . import positive_int

EXAMPLES = """examples:
  muvera-nano bench
  muvera-nano bench --docs 10000 --threads 1
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "bench",
        help="kernel microbenchmarks (this machine, vs numpy)",
        description="Time MaxSim (each storage type), FDE encoding and the FDE scan on random "
        "unit vectors, each beside a plain numpy version, with the float32 matmul "
        "rate as the ceiling; the scan also on 1 thread. A row where this "
        "package is slower than numpy gets a note saying why, from what the run "
        "measured (or that it cannot say). bench/ in the source tree compares "
        "with other libraries.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--docs", type=positive_int, default=2000, help="documents in the corpus (default 2000)")
    p.add_argument("--threads", type=positive_int, default=None)
    p.add_argument("--repeats", type=positive_int, default=5)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..microbench import run as run_bench

    run_bench(docs=args.docs, threads=args.threads, repeats=args.repeats)
    return 0
