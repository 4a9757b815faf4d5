"""`muvera-nano search INDEX_DIR QUERY`: ranked results as JSON lines."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time

from ..index import MODES
from . import CommandError, positive_int
from ._inputs import FORMATS, add_text_options
from ._precision import add_precision_option

BATCH = 64  # queries encoded at a time

EXAMPLES = """examples:
  muvera-nano search ./my-index "how do I sort a list in place?"
  muvera-nano search ./my-index --queries questions.txt --mode maxsim --k 5 > results.jsonl
  muvera-nano search ./my-index --queries queries.jsonl --text-field text --candidates 300
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "search",
        help="search an index; JSON lines out",
        description="Search an index with one query or a file of queries. Prints one JSON "
        "object per query: {query, id (for files with ids), results: [{id, score}], "
        "ms (search time, query encoding excluded)}.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("index", metavar="INDEX_DIR")
    p.add_argument("query", metavar="QUERY", nargs="?", help="query text (or use --queries)")
    p.add_argument("--queries", help="file of queries (.jsonl, .csv, .tsv, other: one per line; - for stdin)")
    p.add_argument("--format", choices=FORMATS, default="auto")
    p.add_argument("--text-field", default="text")
    p.add_argument("--id-field", default=None)
    add_text_options(p, "queries")
    p.add_argument("--k", type=positive_int, default=10)
    p.add_argument("--mode", choices=MODES, default="rerank")
    p.add_argument(
        "--candidates",
        dest="n_candidates",
        type=positive_int,
        default=100,
        help="FDE candidates re-scored in rerank mode",
    )
    p.add_argument(
        "--model",
        help="model folder, PyLate checkpoint folder or hub id (default: the model the index "
        "was built with, found beside the index or where it was)",
    )
    p.add_argument("--threads", type=positive_int, default=None)
    add_precision_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..index import Index
    from ..model import load
    from ._inputs import decode_argument, read_records

    if (args.query is None) == (args.queries is None):
        raise CommandError("give either a QUERY or --queries FILE")
    if args.query is not None:  # checked before the model and the index load
        query = decode_argument(args.query, args.encoding, "QUERY")
        if not query.strip() and args.empty != "keep":
            raise CommandError("QUERY is empty or only whitespace (--empty keep searches it anyway)")
    if args.precision and not args.model:
        raise CommandError("--precision needs --model (the model the index recorded is loaded in float32)")
    encoder = load(args.model, threads=args.threads, precision=args.precision) if args.model else None
    idx = Index.open(args.index, encoder=encoder)
    if encoder is None and idx.info()["encoder"] is None:
        raise CommandError(
            f"{args.index} was built from token vectors, without a model: pass the model that made them with --model"
        )
    if args.query is not None:
        items = iter([(None, query)])
    else:
        items = read_records(
            args.queries,
            args.format,
            text_field=args.text_field,
            id_field=args.id_field,
            title_field=None,
            encoding=args.encoding,
            empty=args.empty,
        )
    out = sys.stdout
    # a batch of queries at a time: encoded together, written as soon as searched (bounded memory)
    while batch := list(itertools.islice(items, BATCH)):
        queries = idx.encode_queries([t for _, t in batch])
        for i, (qid, text) in enumerate(batch):
            t = time.perf_counter()
            res = idx.search(queries[i], k=args.k, mode=args.mode, n_candidates=args.n_candidates, threads=args.threads)
            ms = 1000 * (time.perf_counter() - t)
            row = {
                "query": text,
                "results": [{"id": d, "score": float(s)} for d, s in zip(res.ids, res.scores)],
                "ms": round(ms, 3),
            }
            if args.queries is not None:
                row = {"id": qid, **row}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        out.flush()
    if args.queries is not None and (warning := items.warning()):
        print(f"muvera-nano search: warning: {warning}", file=sys.stderr)
    return 0
