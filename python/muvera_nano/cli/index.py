"""`muvera-nano index INPUT INDEX_DIR --model MODEL`: texts to a searchable index folder."""

from __future__ import annotations

import argparse
import itertools
import time

from ..index import BACKENDS
from ..index.storage import FDE_DTYPES, TOKEN_DTYPES
from . import CommandError
from ._inputs import FORMATS

EXAMPLES = """examples:
  muvera-nano index corpus.jsonl ./my-index --model ./nano-onnx
  muvera-nano index docs.txt ./my-index --model ./checkpoint --token-dtype int8
  muvera-nano index more.csv ./my-index --append --id-field doc_id --text-field body
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("index", help="build (or extend) an index folder from texts",
                              description="Encode texts with a ColBERT model and write an index folder: token vectors, "
                                          "MUVERA FDEs and ids. JSON lines, CSV/TSV (with a header) or plain text "
                                          "(one document per line, ids 0, 1, ...).",
                              epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="INPUT", help="documents file (.jsonl, .csv, .tsv, other: plain text; - for stdin)")
    p.add_argument("index", metavar="INDEX_DIR", help="index folder to create (or extend with --append)")
    p.add_argument("--model", help="exported model folder, PyLate checkpoint folder or hub id "
                                   "(default with --append: the model the index was built with)")
    p.add_argument("--format", choices=FORMATS, default="auto")
    p.add_argument("--text-field", default="text", help="text column/field (default: text)")
    p.add_argument("--title-field", default="title", help="optional title column prepended to the text (default: title)")
    p.add_argument("--id-field", default=None, help="id column/field (default: _id or id if present, else record number)")
    p.add_argument("--token-dtype", choices=TOKEN_DTYPES, default="float16")
    p.add_argument("--fde-dtype", choices=FDE_DTYPES, default="float16")
    p.add_argument("--backend", choices=BACKENDS, default="exact",
                   help="FDE candidate search: exact scan, or an HNSW graph for large collections (needs usearch)")
    p.add_argument("--segment-size", type=int, default=10_000, help="documents per segment (memory per step)")
    p.add_argument("--append", action="store_true", help="add to an existing index")
    p.add_argument("--overwrite", action="store_true", help="replace an existing index folder")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from tqdm import tqdm

    from ..index import Index
    from ..model import load
    from ._inputs import read_records

    if args.segment_size < 1:
        raise CommandError("--segment-size must be >= 1")
    if args.append and args.overwrite:
        raise CommandError("--append and --overwrite exclude each other")
    records = read_records(args.input, args.format, text_field=args.text_field, id_field=args.id_field,
                           title_field=args.title_field)
    chunk = list(itertools.islice(records, args.segment_size))  # bad input fails before anything is written
    if not args.append and not args.model:
        raise CommandError("--model is required to build a new index")
    encoder = load(args.model, threads=args.threads) if args.model else None
    if args.append:
        idx = Index.open(args.index, encoder=encoder)
    else:
        idx = Index.create(args.index, encoder=encoder, token_dtype=args.token_dtype, fde_dtype=args.fde_dtype,
                           backend=args.backend, overwrite=args.overwrite)
    start, n = time.perf_counter(), 0
    with tqdm(unit="doc", disable=args.quiet, desc="indexing") as bar:
        while chunk:
            ids, texts = zip(*chunk)
            idx.add(list(texts), ids=list(ids), threads=args.threads)
            n += len(chunk)
            bar.update(len(chunk))
            chunk = list(itertools.islice(records, args.segment_size))
    took = time.perf_counter() - start
    print(f"indexed {n} documents in {took:.1f} s ({n / took if took else 0:,.0f} docs/s); "
          f"{args.index} now holds {len(idx)} documents")
    return 0
