"""Evaluates retrieval on a BEIR folder in each search mode: builds an index with an encoder,
encodes the queries, searches, and reports the model card's metrics with index build time,
size, memory and search latency (p50/p99, query encoding excluded and reported apart)."""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..index import MODES, Index
from .beir import BeirDataset, load_beir
from .metrics import retrieval_metrics

TABLE_METRICS = ("ndcg@10", "map@100", "mrr@10", "recall@10", "precision@10", "accuracy@1", "ndcg_cut_10")


def _percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000, q)) if seconds else float("nan")


def evaluate(
    dataset: str | BeirDataset,
    *,
    encoder: Any,
    split: str = "test",
    modes: Sequence[str] = MODES,
    k: int = 100,
    n_candidates: int = 100,
    index_path: str | None = None,
    token_dtype: str = "float16",
    fde_dtype: str = "float16",
    backend: str = "exact",
    ignore_identical_ids: bool = False,
    threads: int | None = None,
    progress=None,
) -> dict:
    """Runs the evaluation; returns a JSON-ready report (see `format_table`)."""
    ds = load_beir(dataset, split) if isinstance(dataset, (str, os.PathLike)) else dataset
    say = progress or (lambda message: None)
    for m in modes:
        if m not in MODES:
            raise ValueError(f"modes must be among {MODES}, got {m!r}")

    say(f"indexing {len(ds.corpus_ids)} documents")
    t0 = time.perf_counter()
    idx = Index.create(
        index_path,
        encoder=encoder,
        token_dtype=token_dtype,
        fde_dtype=fde_dtype,
        backend=backend,
        overwrite=index_path is not None,
    )
    idx.add(ds.corpus_texts, ids=ds.corpus_ids, threads=threads)
    build_s = time.perf_counter() - t0

    say(f"encoding {len(ds.query_ids)} queries")
    t0 = time.perf_counter()
    queries = idx.encode_queries(ds.query_texts)
    encode_s = time.perf_counter() - t0

    report = {
        "dataset": str(dataset) if isinstance(dataset, (str, os.PathLike)) else "<in memory>",
        "split": split,
        "documents": len(ds.corpus_ids),
        "queries": len(ds.query_ids),
        "k": k,
        "n_candidates": n_candidates,
        "token_dtype": token_dtype,
        "fde_dtype": fde_dtype,
        "backend": backend,
        "fde": idx.fde.to_dict(),
        "index_seconds": build_s,
        "index_docs_per_s": len(ds.corpus_ids) / build_s,
        "query_encoding_ms_per_query": 1000 * encode_s / max(1, len(ds.query_ids)),
        "index_bytes": sum(idx.info()["bytes"].values()),
        "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "modes": {},
    }
    for mode in modes:
        say(f"searching: {mode}")
        run, latencies = {}, []
        for i, qid in enumerate(ds.query_ids):
            t = time.perf_counter()
            res = idx.search(
                queries[i],
                k=k + 1 if ignore_identical_ids else k,
                mode=mode,
                n_candidates=n_candidates,
                threads=threads,
            )
            latencies.append(time.perf_counter() - t)
            ranked = [d for d in res.ids if not (ignore_identical_ids and d == qid)][:k]
            run[qid] = ranked
        metrics = retrieval_metrics(run, ds.qrels, map_k=k)
        metrics.update(
            {"latency_p50_ms": _percentile_ms(latencies, 50), "latency_p99_ms": _percentile_ms(latencies, 99)}
        )
        report["modes"][mode] = metrics
    return report


def format_table(report: dict, metrics: Sequence[str] = TABLE_METRICS) -> str:
    """The report as a Markdown table, one row per mode."""
    head = ["mode", *metrics, "p50 ms", "p99 ms"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for mode, m in report["modes"].items():
        cells = [mode] + [f"{m[k]:.4f}" for k in metrics] + [f"{m['latency_p50_ms']:.2f}", f"{m['latency_p99_ms']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(
        f"\n{report['documents']} documents, {report['queries']} queries; index built in "
        f"{report['index_seconds']:.1f} s ({report['index_docs_per_s']:,.0f} docs/s), "
        f"{report['index_bytes'] / 1e6:.1f} MB; query encoding {report['query_encoding_ms_per_query']:.2f} ms "
        f"per query (not in the latencies); tokens {report['token_dtype']}, FDE {report['fde_dtype']}, "
        f"candidates {report['n_candidates']} ({report['backend']})"
    )
    return "\n".join(lines)


def save_report(report: dict, path: str) -> None:
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
