"""The serving benchmarks' workload, offline: a nano-shaped model (random weights, fixed seed;
tests/fixtures) and documents and queries of real English text (windows of the Python standard
library's documentation: pydoc topics), indexed once per setting and reused.

Documents are windows of 20-150 words (the nano model keeps at most 180 tokens), queries windows
of 4-12 words; both drawn from a fixed seed. The text is real, the model's weights are not: the
figures measure speed, not retrieval quality.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def _words() -> tuple[str, ...]:
    """The words of pydoc's topics (about 70,000; the standard library's docstrings would add
    more, but which ones a walk finds depends on what was imported before it)."""
    import pydoc_data.topics

    return tuple(" ".join(pydoc_data.topics.topics[k] for k in sorted(pydoc_data.topics.topics)).split())


def _windows(n: int, shortest: int, longest: int, seed: int) -> list[str]:
    """n windows of shortest..longest consecutive words at random places."""
    words = _words()
    rng = np.random.default_rng(seed)
    lengths = rng.integers(shortest, longest + 1, n)
    starts = rng.integers(0, len(words) - (longest + 1), n)
    return [" ".join(words[s : s + m]) for s, m in zip(starts.tolist(), lengths.tolist())]


def documents(n: int, seed: int = 0) -> list[str]:
    return _windows(n, 20, 150, seed)


def queries(n: int, seed: int = 1) -> list[str]:
    return _windows(n, 4, 12, seed)


def nano_model(workdir: Path) -> Path:
    """The exported nano-shaped model folder (built once in workdir)."""
    from muvera_nano.model import export
    from muvera_nano.model.resolve import is_exported

    out = workdir / "nano-model"
    if not is_exported(out):
        sys.path.insert(0, str(ROOT / "tests"))
        from fixtures.checkpoints import write_nano_checkpoint

        ckpt = write_nano_checkpoint(workdir / "nano-checkpoint")
        export(ckpt.folder, out)
    return out


def index_name(n_docs: int, backend: str, token_dtype: str, fde_dtype: str) -> str:
    return f"index-{n_docs}-{backend}-{token_dtype}-{fde_dtype}"


def build_index(
    workdir: Path,
    n_docs: int,
    *,
    backend: str = "hnsw",
    token_dtype: str = "float16",
    fde_dtype: str = "float16",
    threads: int | None = None,
    chunk: int = 5000,
    log=print,
) -> Path:
    """The index folder for these settings: reused when complete, else built (texts encoded by
    the nano-shaped model in chunks, then compacted into one segment with one graph)."""
    from muvera_nano.index import Index
    from muvera_nano.model import load

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    model = nano_model(workdir)
    path = workdir / index_name(n_docs, backend, token_dtype, fde_dtype)
    if path.exists():
        try:
            idx = Index.open(path, encoder=load(model, threads=threads))
            if len(idx) == n_docs and idx.info()["segments"] == 1:
                return path
        except Exception as e:  # an unfinished build: start again
            log(f"rebuilding {path}: {e}")
    encoder = load(model, threads=threads)
    idx = Index.create(
        path, encoder=encoder, backend=backend, token_dtype=token_dtype, fde_dtype=fde_dtype, overwrite=True
    )
    docs = documents(n_docs)
    t = time.perf_counter()
    for start in range(0, n_docs, chunk):
        idx.add(docs[start : start + chunk], threads=threads)
        log(f"  indexed {min(start + chunk, n_docs)}/{n_docs} documents ({time.perf_counter() - t:.0f} s)")
    idx.compact(threads=threads)
    log(f"  built {path.name} in {time.perf_counter() - t:.0f} s")
    return path


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description="build (or reuse) a serving benchmark index")
    p.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "muvera-serve-bench")
    p.add_argument("--documents", type=int, default=100_000)
    p.add_argument("--backend", default="hnsw")
    p.add_argument("--token-dtype", default="float16")
    p.add_argument("--fde-dtype", default="float16")
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args()
    print(
        build_index(
            a.workdir,
            a.documents,
            backend=a.backend,
            token_dtype=a.token_dtype,
            fde_dtype=a.fde_dtype,
            threads=a.threads,
        )
    )
