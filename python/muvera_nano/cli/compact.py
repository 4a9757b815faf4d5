"""`muvera-nano compact INDEX_DIR`: rewrite an index's segments as one, without removed documents."""

from __future__ import annotations

import argparse
import time

from . import positive_int

EXAMPLES = """examples:
  muvera-nano compact ./my-index
  muvera-nano compact ./my-index --threads 2
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compact",
        help="merge an index's segments into one, dropping removed documents",
        description="Rewrite every segment of an index as one segment without its removed "
        "documents (search then makes one pass per query). Segments also merge by "
        "themselves as documents are added; this merges everything now. Readers "
        "keep searching meanwhile; the index changes in one commit at the end.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("index", metavar="INDEX_DIR")
    p.add_argument("--threads", type=positive_int, default=None)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..index import Index

    idx = Index.open(args.index, merge="off")
    before = idx.info()
    start = time.perf_counter()
    idx.compact(threads=args.threads)
    after = idx.info()
    print(
        f"compacted {args.index} in {time.perf_counter() - start:.1f} s: {before['segments']} segments "
        f"({before['deleted']} removed documents) -> {after['segments']} segment(s), {after['documents']} documents, "
        f"{sum(before['bytes'].values()) / 1e6:.1f} -> {sum(after['bytes'].values()) / 1e6:.1f} MB"
    )
    return 0
