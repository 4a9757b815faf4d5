"""`muvera-nano index INPUT INDEX_DIR --model MODEL`: texts to a searchable index folder."""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time

from ..index import BACKENDS
from ..index.build import CHUNK_DOCUMENTS
from ..index.storage import FDE, TOKENS, kind_names
from . import CommandError, positive_int
from ._inputs import FORMATS, add_text_options
from ._precision import add_precision_option

EXAMPLES = """examples:
  muvera-nano index corpus.jsonl ./my-index --model ./nano-onnx
  muvera-nano index docs.txt ./my-index --model ./checkpoint --token-dtype int8
  muvera-nano index more.csv ./my-index --append --id-field doc_id --text-field body
  muvera-nano index corpus.jsonl ./my-index --append --skip-existing   (resume a build that stopped)
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "index",
        help="build (or extend) an index folder from texts",
        description="Encode texts with a ColBERT model and write an index folder: token vectors, "
        "MUVERA FDEs and ids. JSON lines, CSV/TSV (with a header) or plain text "
        "(one document per line, ids 0, 1, ...). Documents are committed a segment "
        "at a time (segments then merge); progress is shown per encoded batch.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", metavar="INPUT", help="documents file (.jsonl, .csv, .tsv, other: plain text; - for stdin)")
    p.add_argument("index", metavar="INDEX_DIR", help="index folder to create (or extend with --append)")
    p.add_argument(
        "--model",
        help="exported model folder, PyLate checkpoint folder or hub id "
        "(default with --append: the model the index was built with)",
    )
    p.add_argument("--format", choices=FORMATS, default="auto")
    p.add_argument("--text-field", default="text", help="text column/field (default: text)")
    p.add_argument(
        "--title-field", default="title", help="optional title column prepended to the text (default: title)"
    )
    p.add_argument(
        "--id-field", default=None, help="id column/field (default: _id or id if present, else record number)"
    )
    add_text_options(p, "documents")
    p.add_argument("--token-dtype", choices=kind_names(TOKENS), default="float16")
    p.add_argument("--fde-dtype", choices=kind_names(FDE), default="float16")
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="exact",
        help="FDE candidate search: exact scan, or an HNSW graph for large collections (needs usearch)",
    )
    p.add_argument(
        "--segment-size",
        type=positive_int,
        default=CHUNK_DOCUMENTS,
        help=f"documents per commit (a new segment; memory per step; default {CHUNK_DOCUMENTS})",
    )
    p.add_argument("--append", action="store_true", help="add to an existing index")
    p.add_argument(
        "--skip-existing",
        action="store_true",
        help="with --append: skip documents whose id the index holds (resumes a build that stopped)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing index folder")
    p.add_argument("--threads", type=positive_int, default=None)
    add_precision_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..index import Index, IndexBuildError
    from ..model import load
    from ._inputs import count_records, read_records

    if args.append and args.overwrite:
        raise CommandError("--append and --overwrite exclude each other")
    if args.skip_existing and not args.append:
        raise CommandError("--skip-existing resumes a build: use it with --append")
    if not args.append and not args.overwrite and os.path.isdir(args.index) and os.listdir(args.index):
        raise CommandError(
            f"{args.index} exists and is not empty: pass --overwrite to replace it, or --append to add to it"
        )
    records = read_records(
        args.input,
        args.format,
        text_field=args.text_field,
        id_field=args.id_field,
        title_field=args.title_field,
        encoding=args.encoding,
        empty=args.empty,
    )
    first = list(itertools.islice(records, 64))  # bad input fails before anything is written
    if not args.append and not args.model:
        raise CommandError("--model is required to build a new index")
    if args.precision and not args.model:
        raise CommandError("--precision needs --model (the model the index recorded is loaded in float32)")
    encoder = load(args.model, threads=args.threads, precision=args.precision) if args.model else None
    if args.append:
        idx = Index.open(args.index, encoder=encoder)
    else:
        idx = Index.create(
            args.index,
            encoder=encoder,
            token_dtype=args.token_dtype,
            fde_dtype=args.fde_dtype,
            backend=args.backend,
            overwrite=args.overwrite,
        )
    size = idx.encoder.batch_size if hasattr(idx.encoder, "batch_size") else 32
    batches = (
        {"texts": [t for _, t in chunk], "ids": [i for i, _ in chunk]}
        for chunk in _chunks(itertools.chain(first, records), size)
    )
    before, start = len(idx), time.perf_counter()
    resume = f"muvera-nano index {args.input} {args.index} --append --skip-existing"
    try:
        idx.add_batches(
            batches,
            skip_existing=args.skip_existing,
            segment_documents=args.segment_size,
            total=count_records(args.input, args.format, args.encoding),
            progress=not args.quiet,
            threads=args.threads,
        )
    except IndexBuildError as e:
        kept = (
            (
                f"{e.committed} documents were committed before it and stay in {args.index} (the last id "
                f"{e.last_id!r}); add the rest with: {resume}"
            )
            if e.committed
            else "nothing was committed"
        )
        if "already in the index" in _cause(e) and not args.skip_existing:
            kept += " (--skip-existing skips documents the index holds)"
        raise CommandError(f"{_cause(e)}; {kept}") from e
    except KeyboardInterrupt:
        idx.refresh()
        done = len(idx) - before
        raise CommandError(
            f"interrupted; {done} documents were committed and stay in {args.index}"
            + (f"; add the rest with: {resume}" if done else "")
        ) from None
    took = time.perf_counter() - start
    if warning := records.warning():
        print(f"muvera-nano index: warning: {warning}", file=sys.stderr)
    n = len(idx) - before
    print(
        f"indexed {n} documents in {took:.1f} s ({n / took if took else 0:,.0f} docs/s); "
        f"{args.index} now holds {len(idx)} documents in {len(idx._segments)} segments"
    )
    return 0


def _chunks(iterable, size: int):
    it = iter(iterable)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _cause(e: BaseException) -> str:
    from . import one_line

    cause = e.__cause__ or e
    return one_line(cause)
