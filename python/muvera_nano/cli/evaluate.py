"""`muvera-nano eval BEIR_DIR --model MODEL`: the model card's metrics for each search mode."""

from __future__ import annotations

import argparse
import sys

from ..index import BACKENDS, MODES
from ..index.storage import FDE, TOKENS, kind_names
from . import positive_int
from ._precision import add_precision_option

EXAMPLES = """examples:
  muvera-nano eval ./scifact --model ./nano-onnx
  muvera-nano eval ./nfcorpus --model ./nano-onnx --split test --modes rerank muvera --json report.json
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval",
        help="evaluate retrieval on a BEIR folder (table + JSON)",
        description="Index a BEIR folder (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv), run "
        "its queries in each search mode and print nDCG@10, MAP@100, MRR@10, "
        "recall, precision and accuracy (PyLate's definitions; ndcg_cut_10 as "
        "trec_eval), with index time, size and search latency.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dataset", metavar="BEIR_DIR")
    p.add_argument("--model", required=True, help="exported model folder, PyLate checkpoint folder or hub id")
    p.add_argument("--split", default="test")
    p.add_argument("--modes", nargs="+", choices=MODES, default=["maxsim", "rerank", "muvera"])
    p.add_argument("--k", type=positive_int, default=100, help="results per query (MAP@k uses it)")
    p.add_argument(
        "--candidates",
        dest="n_candidates",
        type=positive_int,
        default=100,
        help="FDE candidates re-scored in rerank mode",
    )
    p.add_argument("--token-dtype", choices=kind_names(TOKENS), default="float16")
    p.add_argument("--fde-dtype", choices=kind_names(FDE), default="float16")
    p.add_argument("--backend", choices=BACKENDS, default="exact")
    p.add_argument("--index-dir", help="keep the index in this folder (default: in memory)")
    p.add_argument(
        "--ignore-identical-ids",
        action="store_true",
        help="drop results whose id equals the query id (BEIR's convention for some datasets)",
    )
    p.add_argument("--json", help="also write the report as JSON here")
    p.add_argument("--threads", type=positive_int, default=None)
    add_precision_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..evaluate.run import evaluate, format_table, save_report
    from ..model import load

    encoder = load(args.model, threads=args.threads, precision=args.precision)
    report = evaluate(
        args.dataset,
        encoder=encoder,
        split=args.split,
        modes=args.modes,
        k=args.k,
        n_candidates=args.n_candidates,
        index_path=args.index_dir,
        token_dtype=args.token_dtype,
        fde_dtype=args.fde_dtype,
        backend=args.backend,
        ignore_identical_ids=args.ignore_identical_ids,
        threads=args.threads,
        progress=lambda m: print(f"... {m}", file=sys.stderr, flush=True),
    )
    print(format_table(report))
    if args.json:
        save_report(report, args.json)
    return 0
