"""Scale benchmark (issue 10): an index of up to a million documents on one machine, per storage
setting: bytes per document on disk, build rate and peak memory, open time, search latency per
mode at 1 and 2 threads, and agreement of the top 10 with exact float32 MaxSim.

Corpus: the clustered scale corpus (bench/clustered.py), generated in chunks; queries are 32
noisy tokens of known documents. The exact float32 MaxSim top 10 (the ground truth) is computed
by generating the chunks again, and cached in the work folder. With --real, the same settings on
real encoder outputs (bench/realdata.py: docstrings, all-MiniLM-L6-v2 as a PyLate ColBERT; a
stand-in for the nano model's outputs, not its quality): agreement and nDCG@10 of the known item.

    python bench/bench_scale.py --quick
    python bench/bench_scale.py --docs 1000000 --folder /data/scale --settings compressed
    python bench/bench_scale.py --docs 100000 --settings compressed float16 --real 20000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clustered
import common

import muvera_nano as mn
from muvera_nano.index import Index, PQTokenKind

# Storage settings: (token storage, FDE storage).
SETTINGS = {
    "compressed": ("pq", "pq"),
    "float16": ("float16", "float16"),
    "pq-tokens": ("pq", "float16"),
    "compressed-64": (PQTokenKind(subspaces=64), "pq"),
}  # 64 B per token: more agreement, more bytes
CANDIDATES = (100, 300, 1000)


def peak_memory_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _named(kind) -> str:
    return kind if isinstance(kind, str) else f"{kind.name} {kind.to_dict()}"


# ---------------------------------------------------------------------------------- building
def build(folder: Path, corpus: clustered.Corpus, n_docs: int, setting: str, threads: int) -> dict:
    """Builds the index in this process (run as a worker, so peak memory is the build's own, plus
    the corpus generator's: the chunk it holds is measured and reported beside the peak)."""
    tokens_kind, fde_kind = SETTINGS[setting]
    mn.set_num_threads(threads)
    index = Index.create(folder, dim=corpus.dim, token_dtype=tokens_kind, fde_dtype=fde_kind, overwrite=True)

    generating = [0.0]  # seconds spent making the corpus, taken out of the build's time
    chunk_bytes = [0]  # the largest chunk the generator held (it keeps one in memory throughout)

    def batches():
        for start, stop in corpus.chunk_bounds(n_docs):
            t0 = time.perf_counter()
            whole = sum(a.nbytes for a in corpus.documents(start, stop))  # generates the chunk, cached for the batches
            generating[0] += time.perf_counter() - t0
            chunk_bytes[0] = max(chunk_bytes[0], whole)
            for s in range(start, stop, 2000):
                t0 = time.perf_counter()
                tokens, offsets = corpus.documents(s, min(stop, s + 2000))
                generating[0] += time.perf_counter() - t0
                yield {"token_vectors": mn.Ragged(tokens, offsets), "ids": list(range(s, min(stop, s + 2000)))}

    t = time.perf_counter()
    index.add_batches(batches(), progress=False)
    index.wait_for_merges()
    seconds = time.perf_counter() - t - generating[0]
    info = index.info()
    return {
        "seconds": seconds,
        "generating_s": generating[0],
        "docs_per_s": n_docs / seconds,
        "peak_mb": peak_memory_mb(),
        "generator_chunk_mb": chunk_bytes[0] / 2**20,
        "bytes": sum(info["bytes"].values()),
        "segments": info["segments"],
        "documents": info["documents"],
        "tokens": info["tokens"],
    }


def generation_rate(corpus: clustered.Corpus, n_docs: int) -> float:
    """Documents per second the corpus generator alone produces (part of every build's time)."""
    n = min(n_docs, corpus.chunk)
    t = time.perf_counter()
    corpus.documents(0, n)
    return n / (time.perf_counter() - t)


# ---------------------------------------------------------------------------------- ground truth
def ground_truth(folder: Path, corpus: clustered.Corpus, n_docs: int, queries: mn.Ragged, k: int = 10) -> np.ndarray:
    """Exact float32 MaxSim top k (document numbers) per query, over every generated chunk; cached."""
    path = folder / f"truth-{n_docs}-{len(queries)}.npy"
    if path.exists():
        return np.load(path)
    best_ids = np.full((len(queries), 0), -1, np.int64)
    best_scores = np.zeros((len(queries), 0), np.float32)
    for start, stop in corpus.chunk_bounds(n_docs):
        tokens, offsets = corpus.documents(start, stop)
        scores = mn.maxsim(queries, mn.Ragged(tokens, offsets))
        ids = np.concatenate([best_ids, np.broadcast_to(np.arange(start, stop), scores.shape)], axis=1)
        sc = np.concatenate([best_scores, scores], axis=1)
        order = np.lexsort((ids, -sc), axis=1)[:, :k]
        best_ids, best_scores = np.take_along_axis(ids, order, 1), np.take_along_axis(sc, order, 1)
    np.save(path, best_ids)
    return best_ids


def agreement(found: list[list], truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[:10]) & set(t.tolist())) / 10 for f, t in zip(found, truth)]))


# ---------------------------------------------------------------------------------- searching
def latency(index: Index, queries: list[np.ndarray], threads: int, **kw) -> dict:
    """p50/p99 (ms) of one query at a time after an untimed pass over the same queries (warm page
    cache and mappings, as in a running service); also the results."""
    mn.set_num_threads(threads)
    found = [index.search(q, threads=threads, **kw).ids for q in queries]
    times = []
    for q in queries:
        t = time.perf_counter()
        index.search(q, threads=threads, **kw)
        times.append(time.perf_counter() - t)
    ms = np.asarray(times) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99)), "found": found}


def open_time(folder: Path, repeats: int = 5) -> float:
    """Median seconds of Index.open in a fresh process (nothing of the index cached in Python)."""
    code = (
        "import sys, time; from muvera_nano.index import Index; t = time.perf_counter(); "
        "Index.open(sys.argv[1]); print(time.perf_counter() - t)"
    )
    times = [
        float(
            subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, check=True).stdout
        )
        for _ in range(repeats)
    ]
    return statistics.median(times)


def search_rows(
    index: Index, queries: list[np.ndarray], truth: np.ndarray, threads_list: list[int], candidates: tuple[int, ...]
) -> list[dict]:
    rows = []
    for threads in threads_list:
        for mode, cands in [("muvera", (None,)), ("rerank", candidates)]:
            for c in cands:
                kw = {"mode": mode, "k": 10} | ({} if c is None else {"n_candidates": c})
                r = latency(index, queries, threads, **kw)
                rows.append(
                    {
                        "threads": threads,
                        "mode": mode,
                        "candidates": c,
                        "p50_ms": r["p50"],
                        "p99_ms": r["p99"],
                        "agreement": agreement(r["found"], truth),
                    }
                )
                print(
                    f"  {threads} thread(s) {mode:6s} {'' if c is None else c:>5} p50 {r['p50']:8.2f} ms  "
                    f"p99 {r['p99']:8.2f} ms  agreement {rows[-1]['agreement']:.3f}",
                    flush=True,
                )
    return rows


# ---------------------------------------------------------------------------------- real text
def real_rows(folder: Path, n_docs: int, n_queries: int, settings: list[str], threads: int) -> list[dict]:
    """Known-item nDCG@10 and agreement with exact MaxSim on real encoder outputs, per setting."""
    import realdata

    cache = folder / f"real-{n_docs}-{n_queries}.npz"
    if not cache.exists():
        enc, docs, queries, known = realdata.real_corpus(n_docs, n_queries, threads, folder / "model")
        d = enc.encode_ragged(docs, is_query=False)
        q = enc.encode_ragged(queries, is_query=True)
        np.savez(cache, dt=d.tokens, do=d.offsets, qt=q.tokens, qo=q.offsets, known=np.asarray(known))
    z = np.load(cache)
    docs, queries, known = mn.Ragged(z["dt"], z["do"]), mn.Ragged(z["qt"], z["qo"]), z["known"]
    truth, _ = mn.rerank(queries, docs, k=10)
    out = []
    for setting in settings:
        index = Index.create(
            folder / f"real-{setting}",
            dim=docs.dim,
            token_dtype=SETTINGS[setting][0],
            fde_dtype=SETTINGS[setting][1],
            overwrite=True,
        )
        index.add(token_vectors=docs, ids=list(range(len(docs))))
        index.wait_for_merges()
        for mode, c in [("maxsim", None), ("rerank", 100), ("rerank", 1000)]:
            kw = {"mode": mode, "k": 10} | ({} if c is None else {"n_candidates": c})
            found = [index.search(queries[i], **kw).ids for i in range(len(queries))]
            ndcg = float(np.mean([1 / np.log2(f.index(t) + 2) if t in f else 0.0 for f, t in zip(found, known)]))
            out.append(
                {
                    "setting": setting,
                    "mode": mode,
                    "candidates": c,
                    "ndcg10": ndcg,
                    "agreement": agreement(found, truth),
                    "documents": len(docs),
                    "queries": len(queries),
                }
            )
            print(
                f"  real {setting:10s} {mode:6s} {'' if c is None else c:>5} nDCG@10 {ndcg:.4f}  "
                f"agreement {out[-1]['agreement']:.3f}",
                flush=True,
            )
    return out


# ---------------------------------------------------------------------------------- main
def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--settings", nargs="+", default=["compressed"], choices=sorted(SETTINGS))
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--candidates", type=int, nargs="+", default=list(CANDIDATES))
    p.add_argument("--folder", type=Path, default=Path("bench/results/scale"))
    p.add_argument("--real", type=int, default=0, help="documents of the real-text set (0: skip)")
    p.add_argument("--real-queries", type=int, default=500)
    p.add_argument("--keep", action="store_true", help="keep the indexes built (default: deleted at the end)")
    p.add_argument("--quick", action="store_true", help="a tiny run that checks the script works")
    p.add_argument("--worker", choices=["build"], help=argparse.SUPPRESS)
    p.add_argument("--setting", help=argparse.SUPPRESS)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    corpus = clustered.Corpus(chunk=min(10_000, args.docs))
    if args.quick:
        args.docs, args.queries, args.candidates = 3000, 10, [100]
        corpus = clustered.Corpus(chunk=1000, min_rows=10, max_rows=40)
    if args.worker == "build":
        print(json.dumps(build(args.folder, corpus, args.docs, args.setting, args.threads[0])))
        return

    args.folder.mkdir(parents=True, exist_ok=True)
    machine = common.machine()
    print(
        f"# scale benchmark: {args.docs:,} documents, {args.queries} queries; CPU {machine.get('cpu')} "
        f"({machine.get('isa')}), {machine['cpus']} cores, load average {machine.get('load_average')}"
    )
    bw = common.memory_bandwidth(2, 3)
    print(f"# memory bandwidth (same run): read {bw['read']:.1f} GB/s, copy {bw['copy']:.1f} GB/s (2 threads)")
    print(f"# generator: {generation_rate(corpus, args.docs):,.0f} documents/s (not in the build rates)", flush=True)
    qs, known = corpus.queries(args.docs, args.queries)
    truth = ground_truth(args.folder, corpus, args.docs, mn.Ragged.from_list(qs))
    print(
        f"# ground truth cached; the known document is exact MaxSim's first for "
        f"{np.mean(truth[:, 0] == known):.2f} of the queries",
        flush=True,
    )
    results = {"machine": machine, "bandwidth": bw, "docs": args.docs, "settings": {}}
    for setting in args.settings:
        folder = args.folder / f"index-{setting}-{args.docs}"
        print(
            f"## {setting} (tokens {_named(SETTINGS[setting][0])}, FDE rows {_named(SETTINGS[setting][1])})", flush=True
        )
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            "build",
            "--setting",
            setting,
            "--folder",
            str(folder),
            "--docs",
            str(args.docs),
            "--threads",
            str(max(args.threads)),
        ] + (["--quick"] if args.quick else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, env=common.worker_env(max(args.threads)))
        if proc.returncode:
            sys.stderr.write(proc.stdout + proc.stderr)
            raise SystemExit(f"building the {setting} index failed")
        b = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"  build at {max(args.threads)} threads: {b['docs_per_s']:,.0f} documents/s (generating the corpus: "
            f"{b['generating_s']:.0f} s more), peak RSS {b['peak_mb']:,.0f} MB "
            f"(of which generator chunk {b['generator_chunk_mb']:,.0f} MB), "
            f"{b['bytes'] / b['documents']:,.0f} bytes per document on disk "
            f"({b['tokens'] / b['documents']:.0f} tokens per document), {b['segments']} segments",
            flush=True,
        )
        opened = open_time(folder)
        print(f"  Index.open: {opened * 1000:.1f} ms (median of 5 fresh processes)", flush=True)
        index = Index.open(folder)
        rows = search_rows(index, qs, truth, args.threads, tuple(args.candidates))
        results["settings"][setting] = {"build": b, "open_s": opened, "search": rows}
        if not args.keep:
            shutil.rmtree(folder)
    if args.real:
        print(f"## real text ({args.real} passages, {args.real_queries} queries)", flush=True)
        results["real"] = real_rows(args.folder, args.real, args.real_queries, args.settings, max(args.threads))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
