"""Index benchmark: build rate, storage per document, open time, search latency per mode and
candidate backend, agreement of each mode's top 10 with exact MaxSim, and the FDE scan's speed
against the measured read bandwidth of memory. Query encoding is excluded (queries are token vectors)
and measured separately on real text. At sizes within the storage sweep, also the hnsw graph in
each precision it can keep (build rate, search latency, recall of the exact FDE top 100).

Corpora: the standard random token sets (documents of 50-300 unit rows, dim 128) at each size,
with queries drawn as 32 noisy tokens of a random document (so every query has a true nearest
document); and, with --real, standard-library docstrings encoded by a real BERT (all-MiniLM-L6-v2
wrapped as a PyLate ColBERT; a stand-in for the nano model's outputs, not its quality), with each
docstring's first line as the query.

    python bench/bench_index.py --quick
    python bench/bench_index.py --sizes 10000 100000 --real 10000 --json results.json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common

import muvera_nano as mn
from muvera_nano.index import GraphConfig, Index
from muvera_nano.index.graph import GRAPH_DTYPES, build_graph, graph_candidates
from muvera_nano.index.storage import DenseFde

DIM = 128
STORAGE = ("float32", "float16", "bfloat16", "int8")
CANDIDATES = (100, 300, 1000)


def random_chunks(n_docs: int, seed: int, chunk: int = 10_000):
    """The standard random corpus, generated in chunks (lists of unit-row arrays)."""
    rng = np.random.default_rng(seed)
    for start in range(0, n_docs, chunk):
        m = min(chunk, n_docs - start)
        lengths = rng.integers(50, 301, m)
        rows = rng.standard_normal((int(lengths.sum()), DIM), dtype=np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        offsets = np.zeros(m + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        yield mn.Ragged(rows, offsets)


def planted_queries(store: mn.Ragged, n: int, seed: int, noise: float = 0.35) -> mn.Ragged:
    """32 tokens of a random document each, plus noise, renormalised."""
    rng = np.random.default_rng(seed)
    out = []
    for d in rng.choice(len(store), n, replace=False):
        doc = np.asarray(store[int(d)], np.float32)
        q = doc[rng.integers(0, len(doc), 32)] + (noise / DIM**0.5) * rng.standard_normal((32, DIM), dtype=np.float32)
        out.append(q / np.linalg.norm(q, axis=1, keepdims=True))
    return mn.Ragged.from_list(out)


def latency(fn, n: int) -> dict:
    """p50/p99 of fn(i) over n queries, after one untimed pass over the same queries: a warm page
    cache and warm mappings, as in a service that has been running for a while."""
    for i in range(n):
        fn(i)
    times = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    ms = np.asarray(times) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def agreement(idx: Index, queries: mn.Ragged, truth: list, mode: str, n_candidates: int, threads: int) -> float:
    res = idx.search(queries, k=10, mode=mode, n_candidates=n_candidates, threads=threads)
    return float(np.mean([len(set(r.ids) & set(t)) / 10 for r, t in zip(res, truth)]))


def dir_bytes(path: str) -> int:
    return sum(f.stat().st_size for f in Path(path).iterdir() if f.is_file())


def bench_size(n_docs: int, args, workdir: str, memory_gbps: dict) -> dict:
    threads = args.threads
    out = {"documents": n_docs, "threads": threads, "storage": {}, "search": {}, "agreement": {}}
    fde = mn.FDEConfig.recommended(DIM)
    storages = STORAGE if n_docs <= args.storage_sweep_max else ("float16",)
    base_path = None
    for storage in storages:
        path = os.path.join(workdir, f"ix-{n_docs}-{storage}")
        idx = Index.create(path, dim=DIM, fde=fde, token_dtype=storage, fde_dtype="float16", overwrite=True)
        build, tokens = 0.0, 0
        for chunk in random_chunks(n_docs, seed=0):  # generating the corpus is not timed
            t = time.perf_counter()
            idx.add(token_vectors=chunk, threads=threads)
            build += time.perf_counter() - t
            tokens += chunk.n_tokens
        info = idx.info()
        out["storage"][storage] = {
            "build_docs_per_s": n_docs / build,
            "tokens": tokens,
            "disk_bytes_per_doc": dir_bytes(path) / n_docs,
            "token_bytes_per_doc": info["bytes"]["tokens"] / n_docs,
            "fde_bytes_per_doc": info["bytes"]["fde"] / n_docs,
        }
        if storage == "float16":
            base_path = path
        del idx
        gc.collect()

    opens = []
    for _ in range(5):
        t = time.perf_counter()
        idx = Index.open(base_path)
        opens.append(time.perf_counter() - t)
    out["open_ms"] = 1000 * statistics.median(opens)

    store = idx._segments[0].tokens.ragged  # the first segment is enough to draw queries from
    queries = planted_queries(store, args.queries, seed=1)
    truth = [r.ids for r in idx.search(queries, k=10, mode="maxsim", threads=threads)]

    # the FDE scan alone, against the memory's read bandwidth
    q_fde = idx.fde.encode_queries(queries)
    fde_bytes = sum(s.fde.rows.nbytes for s in idx._segments)
    scan = latency(
        lambda i: [mn.dot_topk(q_fde[i], s.fde.rows, 100, threads=threads) for s in idx._segments], args.queries
    )
    out["fde_scan"] = {
        "bytes": fde_bytes,
        "p50_ms": scan["p50_ms"],
        "gb_per_s": fde_bytes / scan["p50_ms"] / 1e6,
        "share_of_memory_bandwidth": fde_bytes / scan["p50_ms"] / 1e6 / memory_gbps["read"],
    }

    modes = [("maxsim", None), ("muvera", None)] + [("rerank", c) for c in CANDIDATES]
    for mode, c in modes:
        name = mode if c is None else f"rerank@{c}"
        if mode == "maxsim" and n_docs > args.maxsim_latency_max:
            continue
        lat = latency(
            lambda i: idx.search(queries[i], k=10, mode=mode, n_candidates=c or 100, threads=threads),
            min(args.queries, 30 if mode == "maxsim" else args.queries),
        )
        out["search"][f"exact/{name}"] = lat
        if mode != "maxsim":
            out["agreement"][f"exact/{name}"] = agreement(idx, queries, truth, mode, c or 100, threads)

    if not args.no_graph:
        gpath = os.path.join(workdir, f"ix-{n_docs}-hnsw")
        g = Index.create(
            gpath,
            dim=DIM,
            fde=fde,
            token_dtype="float16",
            fde_dtype="float16",
            backend="hnsw",
            graph=GraphConfig(),
            overwrite=True,
        )
        build = 0.0
        for chunk in random_chunks(n_docs, seed=0):
            t = time.perf_counter()
            g.add(token_vectors=chunk, threads=threads)
            build += time.perf_counter() - t
        t = time.perf_counter()
        g.compact(threads=threads)  # one segment, one graph over every document
        build += time.perf_counter() - t
        out["storage"]["float16+hnsw"] = {
            "build_docs_per_s": n_docs / build,
            "disk_bytes_per_doc": dir_bytes(gpath) / n_docs,
        }
        for mode, c in modes[1:]:
            name = mode if c is None else f"rerank@{c}"
            out["search"][f"hnsw/{name}"] = latency(
                lambda i: g.search(queries[i], k=10, mode=mode, n_candidates=c or 100, threads=threads), args.queries
            )
            out["agreement"][f"hnsw/{name}"] = agreement(g, queries, truth, mode, c or 100, threads)
        if n_docs <= args.storage_sweep_max:
            out["graph_precision"] = graph_precision(idx, q_fde, threads)
        muv_exact = idx.search(queries, k=100, mode="muvera", threads=threads)
        muv_graph = g.search(queries, k=100, mode="muvera", threads=threads)
        out["hnsw_recall_of_exact_fde_top100"] = float(
            np.mean([len(set(a.ids) & set(b.ids)) / 100 for a, b in zip(muv_graph, muv_exact)])
        )
        del g
    return out


def graph_precision(idx: Index, q_fde: np.ndarray, threads: int) -> dict:
    """Per precision the graph can keep its vectors in: build rate, one query's search for 100
    candidates (p50/p99), and the recall of the exact FDE top 100, on the same FDE rows."""
    rows = np.concatenate([s.fde.to_float32() for s in idx._segments])
    exact_top, _ = mn.dot_topk(q_fde, rows, 100, threads=threads)
    out = {}
    for dtype in GRAPH_DTYPES:
        t = time.perf_counter()
        g = build_graph(DenseFde(rows, None), GraphConfig(dtype=dtype), threads)
        build_s = time.perf_counter() - t
        found = [graph_candidates(g, q_fde[i : i + 1], 100, None, threads)[0] for i in range(len(q_fde))]
        lat = latency(lambda i: graph_candidates(g, q_fde[i : i + 1], 100, None, threads), len(q_fde))
        recall = np.mean([len(set(f.tolist()) & set(e.tolist())) / 100 for f, e in zip(found, exact_top)])
        out[dtype] = {"build_docs_per_s": len(rows) / build_s, **lat, "recall_of_exact_fde_top100": float(recall)}
    return out


REAL_CANDIDATES = (100, 200, 300, 500, 1000, 2000)


def bench_real(n_docs: int, args, workdir: str) -> dict:
    """The known-item task on real encoder outputs: agreement with exact MaxSim per candidate
    count, MRR@10 of the known item, latencies, and the smallest candidate count whose top-10
    agreement with exact MaxSim reaches 0.95."""
    from realdata import real_corpus

    threads = args.threads
    enc, docs, query_texts, relevant = real_corpus(n_docs, args.queries, threads, Path(workdir) / "minilm")
    t = time.perf_counter()
    doc_vectors = enc.encode_ragged(docs, is_query=False)
    encode_docs_s = time.perf_counter() - t
    queries = enc.encode_ragged(query_texts, is_query=True)
    one = latency(lambda i: enc.encode_ragged([query_texts[i]], is_query=True), min(50, len(query_texts)))
    idx = Index.create(
        os.path.join(workdir, "ix-real"), dim=enc.dim, token_dtype="float16", fde_dtype="float16", overwrite=True
    )
    t = time.perf_counter()
    idx.add(token_vectors=doc_vectors, ids=list(range(len(docs))), threads=threads)
    build_s = time.perf_counter() - t
    truth = [r.ids for r in idx.search(queries, k=10, mode="maxsim", threads=threads)]
    out = {
        "documents": len(docs),
        "queries": len(query_texts),
        "encoder": "all-MiniLM-L6-v2 as PyLate ColBERT (384->128)",
        "encode_docs_per_s": len(docs) / encode_docs_s,
        "index_docs_per_s": len(docs) / build_s,
        "query_encoding_ms": one["p50_ms"],
        "search": {},
        "agreement": {},
        "mrr": {},
    }

    def mrr(mode, c):
        res = idx.search(queries, k=10, mode=mode, n_candidates=c, threads=threads)
        return float(np.mean([1.0 / (r.ids.index(rel) + 1) if rel in r.ids else 0.0 for r, rel in zip(res, relevant)]))

    plan = [("maxsim", None), ("muvera", None)] + [("rerank", c) for c in REAL_CANDIDATES]
    for mode, c in plan:
        name = mode if c is None else f"rerank@{c}"
        out["search"][name] = latency(
            lambda i: idx.search(queries[i], k=10, mode=mode, n_candidates=c or 100, threads=threads), len(query_texts)
        )
        if mode != "maxsim":
            out["agreement"][name] = agreement(idx, queries, truth, mode, c or 100, threads)
        out["mrr"][name] = mrr(mode, c or 100)
    if not args.no_graph:
        g = Index.create(
            os.path.join(workdir, "ix-real-hnsw"),
            dim=enc.dim,
            token_dtype="float16",
            fde_dtype="float16",
            backend="hnsw",
            overwrite=True,
        )
        g.add(token_vectors=doc_vectors, ids=list(range(len(docs))), threads=threads)
        for c in (100, 300, 1000):
            name = f"hnsw/rerank@{c}"
            out["search"][name] = latency(
                lambda i: g.search(queries[i], k=10, mode="rerank", n_candidates=c, threads=threads), len(query_texts)
            )
            out["agreement"][name] = agreement(g, queries, truth, "rerank", c, threads)
            res = g.search(queries, k=10, mode="rerank", n_candidates=c, threads=threads)
            out["mrr"][name] = float(
                np.mean([1.0 / (r.ids.index(rel) + 1) if rel in r.ids else 0.0 for r, rel in zip(res, relevant)])
            )
    for c in REAL_CANDIDATES:
        if out["agreement"][f"rerank@{c}"] >= 0.95:
            out["recommended"] = {
                "candidates": c,
                "agreement": out["agreement"][f"rerank@{c}"],
                **out["search"][f"rerank@{c}"],
            }
            break
    return out


def report_header(results: dict) -> None:
    bw = results["memory_gbps"]
    print(
        f"# Index benchmark — {results['threads']} threads, memory bandwidth: read {bw['read']:.1f} GB/s, "
        f"copy {bw['copy']:.1f} GB/s (read + written, 1 GiB); machine: {results['machine']}",
        flush=True,
    )


def report(results: dict) -> None:
    """Prints the sections measured so far that have not been printed yet."""
    for r in results["sizes"]:
        if r.get("printed"):
            continue
        r["printed"] = True
        n = r["documents"]
        print(f"\n## {n:,} documents (random standard corpus), {r['threads']} threads")
        print(
            f"open: {r['open_ms']:.1f} ms; FDE scan: {r['fde_scan']['gb_per_s']:.1f} GB/s = "
            f"{100 * r['fde_scan']['share_of_memory_bandwidth']:.0f}% of the read bandwidth "
            f"({r['fde_scan']['bytes'] / 1e6:.0f} MB float16 FDEs, p50 {r['fde_scan']['p50_ms']:.1f} ms)"
        )
        if "hnsw_recall_of_exact_fde_top100" in r:
            print(f"hnsw: recall of the exact FDE top 100 = {r['hnsw_recall_of_exact_fde_top100']:.3f}")
        common.print_table(
            ["storage", "build docs/s", "disk bytes/doc", "token bytes/doc", "FDE bytes/doc"],
            [
                [
                    s,
                    f"{v['build_docs_per_s']:,.0f}",
                    f"{v['disk_bytes_per_doc']:,.0f}",
                    f"{v.get('token_bytes_per_doc', float('nan')):,.0f}",
                    f"{v.get('fde_bytes_per_doc', float('nan')):,.0f}",
                ]
                for s, v in r["storage"].items()
            ],
        )
        if "graph_precision" in r:
            print()
            common.print_table(
                ["hnsw vectors", "build docs/s", "search p50 ms", "search p99 ms", "recall of exact FDE top 100"],
                [
                    [
                        k,
                        f"{v['build_docs_per_s']:,.0f}",
                        f"{v['p50_ms']:.2f}",
                        f"{v['p99_ms']:.2f}",
                        f"{v['recall_of_exact_fde_top100']:.3f}",
                    ]
                    for k, v in r["graph_precision"].items()
                ],
            )
        print()
        common.print_table(
            ["backend/mode", "p50 ms", "p99 ms", "top-10 agreement with exact MaxSim"],
            [
                [
                    k,
                    f"{v['p50_ms']:.2f}",
                    f"{v['p99_ms']:.2f}",
                    f"{r['agreement'][k]:.3f}" if k in r["agreement"] else "1 (exact)",
                ]
                for k, v in r["search"].items()
            ],
        )
    if "real" in results and not results["real"].get("printed"):
        real = results["real"]
        real["printed"] = True
        print(
            f"\n## real encoder outputs: {real['documents']:,} standard-library passages, {real['queries']} "
            f"first-line queries ({real['encoder']}), {results['threads']} threads"
        )
        print(
            f"encoding: {real['encode_docs_per_s']:,.0f} docs/s, one query p50 {real['query_encoding_ms']:.2f} ms "
            f"(not in the latencies below); index build {real['index_docs_per_s']:,.0f} docs/s"
        )
        common.print_table(
            ["mode", "p50 ms", "p99 ms", "top-10 agreement with exact MaxSim", "known-item MRR@10"],
            [
                [
                    k,
                    f"{v['p50_ms']:.2f}",
                    f"{v['p99_ms']:.2f}",
                    f"{real['agreement'].get(k, 1.0):.3f}",
                    f"{real['mrr'][k]:.3f}",
                ]
                for k, v in real["search"].items()
            ],
        )
        rec = real.get("recommended")
        print(f"recommended candidates: {rec}" if rec else "no candidate count reached 0.95 agreement")
    sys.stdout.flush()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument(
        "--real", type=int, default=0, help="documents of the real-text corpus (0: skip; 10000 as in the spec)"
    )
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--storage-sweep-max", type=int, default=10_000, help="largest size that builds every storage type")
    p.add_argument("--maxsim-latency-max", type=int, default=100_000, help="largest size timing exact MaxSim mode")
    p.add_argument("--no-graph", action="store_true", help="skip the hnsw backend")
    p.add_argument("--workdir", default=None, help="where indexes are built (default: a temporary folder)")
    p.add_argument("--json", help="write the raw results here")
    a = p.parse_args(argv)
    if a.quick:
        a.sizes, a.queries, a.real = [2000], 20, min(a.real, 300)
    mn.set_num_threads(a.threads)
    workdir = a.workdir or tempfile.mkdtemp(prefix="muvera-bench-")
    try:
        results = {
            "machine": common.machine(),
            "threads": a.threads,
            "memory_gbps": common.memory_bandwidth(a.threads, 3),
            "sizes": [],
        }
        report_header(results)

        def step(key, value):
            if key == "sizes":
                results["sizes"].append(value)
            else:
                results[key] = value
            report(results)
            if a.json:  # after every step, so a long run keeps what it measured
                with open(a.json, "w") as f:
                    json.dump(results, f, indent=1)

        for n in a.sizes:
            step("sizes", bench_size(n, a, workdir, results["memory_gbps"]))
        if a.real:
            step("real", bench_real(a.real, a, workdir))
    finally:
        if a.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
