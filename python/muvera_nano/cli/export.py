"""`muvera-nano export SOURCE OUT_DIR`: a PyLate checkpoint to a model folder the encoder loads."""

from __future__ import annotations

import argparse
import sys
import time

EXAMPLES = """examples:
  muvera-nano export ./colbert-muvera-nano ./nano-onnx
  muvera-nano export neuml/colbert-muvera-nano ./nano-onnx     (needs huggingface_hub and network)
  muvera-nano export ./checkpoint ./model-int8 --quantize
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a PyLate checkpoint to ONNX (model.onnx, tokenizer.json, encoding.json)",
        description="Export a PyLate ColBERT checkpoint (BERT or BertHash) to a model folder: model.onnx, a clean "
        "tokenizer.json and encoding.json (prefixes, lengths, expansion, skiplist). No torch needed.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", metavar="SOURCE", help="checkpoint folder, or a hub id such as owner/name")
    p.add_argument("out_dir", metavar="OUT_DIR", help="model folder to write (created if missing)")
    p.add_argument(
        "--quantize",
        action="store_true",
        help="store matrix weights as int8 (dynamic quantization). Lossy: outputs differ from PyLate's "
        "(on all-MiniLM-L6-v2, median token cosine to float32 0.987); measure before use",
    )
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..model import export

    start = time.perf_counter()
    progress = None if args.quiet else (lambda message: print(f"... {message}", file=sys.stderr, flush=True))
    summary = export(args.source, args.out_dir, quantize=args.quantize, progress=progress)
    print(f"exported in {time.perf_counter() - start:.1f} s")
    for line in summary.lines():
        print(line)
    if summary.ignored_modules:
        print(f"ignored:      {', '.join(summary.ignored_modules)} (PyLate does not use them)")
    return 0
