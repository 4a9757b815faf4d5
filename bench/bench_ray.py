"""Distributed build and sharded search on Ray (muvera_nano.distributed), against the single-process
path at the same core count, measured in the same run.

Build: the same passages indexed by Index.add in one process (encoder and index at 1 and 2 threads)
and by build_index on a local Ray instance (1 and 2 workers of 1 thread), alternated `--repeats`
times; medians. Reported: documents/s, the 2-worker efficiency (rate(2) / 2 x rate(1)) and the
distributed path's overhead against the single-process build at the same core count. Every build
of the distributed path is checked to hold the single-process build's ids.
Search: per-query latency (p50, p95 over `--queries` single queries, token vectors given) of the
one index and of a ShardedIndex of 1 and 2 shards (actors on this machine), rerank and muvera
modes; the sharded results are checked equal to the one index's first.

Model: the nano model's exact shapes (tests/fixtures: BertHash, hidden 128, 2 layers, random
weights), or --model minilm (all-MiniLM-L6-v2's real weights, hidden 384, 6 layers). Passages: real
text (pydoc topics), windows of 130 words (about 180 tokens).

Run:  python bench/bench_ray.py            (a few minutes)
      python bench/bench_ray.py --quick    (seconds; figures mean nothing)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

SEED = 14


def passages(n: int, words_per_passage: int = 130) -> list[str]:
    import pydoc_data.topics

    words = " ".join(pydoc_data.topics.topics[k] for k in sorted(pydoc_data.topics.topics)).split()
    rng = np.random.default_rng(SEED)
    return [" ".join(words[s : s + words_per_passage]) for s in rng.integers(0, len(words) - words_per_passage, n)]


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def single_process_build(path: Path, model: Path, texts: list[str], ids: list[str], threads: int) -> float:
    from muvera_nano.index import Index
    from muvera_nano.model import load

    shutil.rmtree(path, ignore_errors=True)
    start = time.perf_counter()
    index = Index.create(path, encoder=load(model, threads=threads), merge="off")
    for s in range(0, len(texts), 1024):  # as build_index's batches: a segment per 1,024 documents
        index.add(texts[s : s + 1024], ids=ids[s : s + 1024], threads=threads)
    return time.perf_counter() - start


def ray_build(path: Path, model: Path, dataset, workers: int) -> tuple[float, list]:
    from muvera_nano.distributed import build_index
    from muvera_nano.index import Index

    shutil.rmtree(path, ignore_errors=True)
    start = time.perf_counter()
    build_index(dataset, path, model=model, workers=workers, threads_per_worker=1, batch_size=1024, merge="off")
    return time.perf_counter() - start, Index.open(path).ids()


def percentiles(times: list[float]) -> dict:
    a = np.array(times) * 1e3
    return {"p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95))}


def search_latency(index_dir: Path, n_queries: int, shards_list: list[int]) -> dict:
    from muvera_nano.distributed import ShardedIndex
    from muvera_nano.index import Index

    index = Index.open(index_dir, merge="off")
    qs = index.encode_queries(passages(n_queries, 8))
    queries = [qs[i] for i in range(len(qs))]
    out = {}
    for mode in ("rerank", "muvera"):
        for q in queries[:3]:
            index.search(q, k=10, mode=mode, threads=1)
        out[f"one index, {mode}"] = percentiles(
            [_timed(lambda: index.search(q, k=10, mode=mode, threads=1)) for q in queries]
        )
    for shards in shards_list:
        with ShardedIndex(index_dir, shards=shards) as sharded:
            for mode in ("rerank", "muvera"):
                for q in queries:  # checked equal first (and warm)
                    got, want = sharded.search(q, k=10, mode=mode), index.search(q, k=10, mode=mode)
                    if not (got.complete and got.ids == want.ids and np.array_equal(got.scores, want.scores)):
                        raise SystemExit(f"{shards} shards, {mode}: the sharded result differs from the one index's")
                out[f"{shards} shard(s), {mode}"] = percentiles(
                    [_timed(lambda: sharded.search(q, k=10, mode=mode)) for q in queries]
                )
    return out


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--docs", type=int, default=4096)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--model", choices=("nano", "minilm"), default="nano")
    p.add_argument("--json", help="write the raw results here")
    args = p.parse_args(argv)
    if args.quick:
        args.docs, args.repeats, args.queries = 128, 1, 5

    import ray
    import ray.data
    from fixtures.models import ModelStore

    from muvera_nano.index import Index

    work = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        model = ModelStore(work / "models").model_folder(args.model)
        texts = passages(args.docs)
        ids = [f"p{i}" for i in range(len(texts))]
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        dataset = ray.data.from_items([{"id": i, "text": t} for i, t in zip(ids, texts)]).materialize()
        print(f"# Ray build and sharded search: {args.docs} passages, model {args.model}")
        print(
            f"CPU: {cpu_name()}, {os.cpu_count()} logical CPUs (Ray: {int(ray.cluster_resources()['CPU'])}); "
            f"load average at start {os.getloadavg()[0]:.2f}; Python {platform.python_version()}, "
            f"ray {ray.__version__}\n"
        )

        configs = [
            ("single process, 1 thread", lambda: single_process_build(work / "s1", model, texts, ids, 1)),
            ("Ray, 1 worker", lambda: ray_build(work / "r1", model, dataset, 1)),
            ("single process, 2 threads", lambda: single_process_build(work / "s2", model, texts, ids, 2)),
            ("Ray, 2 workers", lambda: ray_build(work / "r2", model, dataset, 2)),
        ]
        times: dict[str, list[float]] = {name: [] for name, _ in configs}
        for _ in range(args.repeats):  # alternated: the machine's other load falls on every config alike
            for name, run in configs:
                result = run()
                if isinstance(result, tuple):
                    result, built_ids = result
                    if built_ids != ids:
                        raise SystemExit(f"{name}: the index does not hold the passages in order")
                times[name].append(result)
        rate = {name: args.docs / statistics.median(t) for name, t in times.items()}
        one = Index.open(work / "s1")
        info = one.info()
        print("| build | documents/s (median) | min-max s | vs single process, same cores |")
        print("|---|---|---|---|")
        for name, t in times.items():
            base = "single process, 1 thread" if "1 " in name else "single process, 2 threads"
            print(f"| {name} | {rate[name]:,.1f} | {min(t):.2f}-{max(t):.2f} | {rate[name] / rate[base]:.2f}x |")
        efficiency = rate["Ray, 2 workers"] / (2 * rate["Ray, 1 worker"])
        print(
            f"\n2-worker efficiency: {efficiency:.0%} (rate with 2 workers / twice the rate with 1); "
            f"single process 2 threads vs 1: {rate['single process, 2 threads'] / rate['single process, 1 thread']:.2f}x"
        )
        stored = sum(info["bytes"].values())
        print(
            f"Index: {info['tokens'] / info['documents']:.0f} tokens/passage, {stored / info['documents']:,.0f} "
            f"bytes/passage on disk (tokens {info['token_dtype']}, FDE {info['fde_dim']} x {info['fde_dtype']})\n"
        )

        latency = search_latency(work / "s1", args.queries, [1, 2])
        print(f"| search ({args.docs} passages, k=10, 1 query at a time) | p50 ms | p95 ms |")
        print("|---|---|---|")
        for name, v in latency.items():
            print(f"| {name} | {v['p50_ms']:.2f} | {v['p95_ms']:.2f} |")
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {
                        "docs": args.docs,
                        "model": args.model,
                        "cpu": cpu_name(),
                        "times_s": times,
                        "rate": rate,
                        "efficiency": efficiency,
                        "bytes_per_document": stored / info["documents"],
                        "tokens_per_document": info["tokens"] / info["documents"],
                        "search": latency,
                    },
                    indent=1,
                )
            )
    finally:
        if ray.is_initialized():
            ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
