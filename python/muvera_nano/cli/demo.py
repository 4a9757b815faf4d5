"""`muvera-nano demo`: index a small real collection and answer a few questions in each mode."""

from __future__ import annotations

import argparse
import sys
import time

from . import positive_int
from ._precision import add_precision_option

DEFAULT_MODEL = "neuml/colbert-muvera-nano"
QUESTIONS = [
    "how do I leave a loop early?",
    "what does the with statement do?",
    "how are default argument values evaluated?",
    "difference between is and ==",
]
EXAMPLES = f"""examples:
  muvera-nano demo                      (the model {DEFAULT_MODEL}, downloaded and exported when the hub is reachable)
  muvera-nano demo --model ./nano-onnx  (an exported model folder, or a PyLate checkpoint folder)
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="index the Python docs and answer a few questions in each mode",
                              description="Index the Python documentation's topics and standard-library docstrings "
                                          "(shipped with Python, no download) and answer a few questions in each "
                                          "search mode with timings. Without a model it says so in one line and runs "
                                          "the kernel microbenchmarks instead.",
                              epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model folder, checkpoint folder or hub id (default {DEFAULT_MODEL})")
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
    for name, text in sorted(topics.items()):
        ids.append(f"topic:{name}")
        texts.append(text.strip())
    for mod_name in ("builtins", "os", "os.path", "re", "json", "itertools", "functools", "collections", "pathlib",
                     "subprocess", "threading", "datetime", "random", "math", "statistics", "string", "textwrap",
                     "shutil", "tempfile", "csv", "heapq", "bisect", "contextlib", "dataclasses"):
        mod = importlib.import_module(mod_name)
        for attr in sorted(dir(mod)):
            obj = getattr(mod, attr, None)
            doc = inspect.getdoc(obj) if (inspect.isfunction(obj) or inspect.isbuiltin(obj) or inspect.isclass(obj)) else None
            if not attr.startswith("_") and doc and len(doc) > 40:
                ids.append(f"{mod_name}.{attr}")
                texts.append(doc.split("\n\n")[0])
            if len(ids) >= limit:
                return ids, texts
    return ids, texts


def run(args) -> int:
    from ..index import Index
    from ..model import load

    try:
        encoder = load(args.model, threads=args.threads, precision=args.precision,
                       progress=lambda m: print(f"... {m}", file=sys.stderr, flush=True))
    except (RuntimeError, FileNotFoundError, ValueError) as e:
        reason = str(e).splitlines()[0].split(" (")[0].split(";")[0]
        print(f"no model available ({reason}); running the kernel microbenchmarks instead")
        from ..microbench import run as run_bench

        run_bench(docs=1000, threads=args.threads, repeats=3)
        return 0
    ids, texts = python_docs()
    t0 = time.perf_counter()
    idx = Index.create(None, encoder=encoder)
    idx.add(texts, ids=ids, threads=args.threads)
    took = time.perf_counter() - t0
    print(f"indexed {len(ids)} passages of the Python docs in {took:.1f} s ({len(ids) / took:,.0f} docs/s) with {encoder.folder}")
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
    return 0
