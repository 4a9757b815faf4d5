"""Encoder benchmark: this ONNX Runtime encoder vs torch eager (PyLate 1.4 on torch), side by side.

Checkpoint: the nano model's exact shapes (BertHash, hidden 128, projections 16, 2 layers,
intermediate 512, BERT-uncased tokenizer, 128->128 Dense), random weights from a fixed seed.
Workloads (spec/benchmarks.md):
  - documents: real text (the standard library's pydoc topics) truncated to 180 tokens, batches of 32;
    documents/s and tokens/s at 1 and 2 threads (torch.set_num_threads / onnxruntime intra-op threads);
  - queries: single 32-token queries (query expansion to 32), one call each, 1 thread: p50 / p99 latency;
  - where the time goes in this encoder (tokenization / inference / post-processing);
  - throughput as a share of the float32 bound (numpy float32 matmul GFLOP/s measured in the same run);
  - the optional int8 export: speed and output error against float32.
Outputs of both encoders are checked against a float64 numpy reference before anything is timed.

  - with --long-document MB: one document of MB megabytes of real text encoded alone, 1 thread, each
    measurement in a fresh process: time and peak extra resident memory, with the prefix cut
    (pretruncate.py) and, for sizes up to --whole-up-to, tokenizing the whole text as before.

Run:  python bench/bench_encoder.py            (a few minutes)
      python bench/bench_encoder.py --quick    (seconds; what the test suite runs)
      python bench/bench_encoder.py --long-document 1,10,100   (the long-document table only)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "model"))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import common  # noqa: E402
import numpy as np  # noqa: E402

SEED = 0


# -- workload ---------------------------------------------------------------------------------------
def documents(n: int, tokenizer) -> list[str]:
    """Passages of real English text (the standard library's pydoc topics), each just long enough
    to fill 180 tokens ([CLS] [D] 177 tokens [SEP] after truncation)."""
    import pydoc_data.topics

    words = " ".join(pydoc_data.topics.topics[k] for k in sorted(pydoc_data.topics.topics)).split()
    rng = np.random.default_rng(SEED)
    out = []
    for s in rng.integers(0, len(words) - 1000, n):
        k = 100
        while len(tokenizer.encode(" ".join(words[s : s + k])).ids) < 182:
            k += 5
        out.append(" ".join(words[s : s + k]))
    return out


def queries(n: int) -> list[str]:
    import pydoc_data.topics

    words = " ".join(pydoc_data.topics.topics[k] for k in sorted(pydoc_data.topics.topics)).split()
    rng = np.random.default_rng(SEED + 1)
    return [" ".join(words[s : s + int(rng.integers(4, 12))]) for s in rng.integers(0, len(words) - 20, n)]


def flops_per_document(config: dict, dim: int, tokens: int) -> float:
    """2 x multiply-adds of one forward pass over `tokens` positions: BertHash projection, per layer
    the Q/K/V/output projections, the feed-forward pair and attention (scores + weighted sum), and
    the Dense layer. Nano shapes: ~1.0 MFLOP per token (the spec's 0.97 leaves out the last two)."""
    h, i, p = config["hidden_size"], config["intermediate_size"], config.get("projections", 0)
    per_layer = 2 * 4 * h * h + 2 * 2 * h * i + 2 * 2 * tokens * h
    return tokens * (2 * p * h + config["num_hidden_layers"] * per_layer + 2 * h * dim)


def summary(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


class TimingSession:
    """Wraps the encoder's runtime and adds up the time spent in run()."""

    def __init__(self, session):
        self.session, self.seconds = session, 0.0

    def run(self, *args, **kwargs):
        t = time.perf_counter()
        try:
            return self.session.run(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t


# -- checks -----------------------------------------------------------------------------------------
def check_against_reference(built, enc, pylate_model, texts: list[str], is_query: bool) -> tuple[float, float]:
    """Max abs difference of this encoder and of PyLate against the float64 reference."""
    from reference_forward import reference_forward

    prepared = enc._prepare(texts, is_query)
    ours = enc.encode(texts, is_query)
    theirs = pylate_model.encode(texts, is_query=is_query, batch_size=32, show_progress_bar=False)
    worst_ours = worst_torch = 0.0
    s = enc.settings
    for ids, o, t in zip(prepared.ids, ours, theirs):
        length = s.query_length if is_query and s.do_query_expansion else len(ids)
        padded = np.full((1, length), s.mask_id, np.int64)
        padded[0, : len(ids)] = ids
        mask = np.zeros((1, length), np.int64)
        mask[0, : len(ids)] = 1
        if is_query and s.attend_to_expansion_tokens:
            mask[:] = 1
        ref = reference_forward(built, padded, mask)[0]
        if not is_query:
            ref = ref[: len(ids)][~np.isin(ids, np.asarray(s.skiplist_ids))]
        elif not s.do_query_expansion:
            ref = ref[: len(ids)]
        assert o.shape == ref.shape == np.asarray(t).shape, (o.shape, ref.shape, np.asarray(t).shape)
        worst_ours = max(worst_ours, float(np.abs(o - ref).max()))
        worst_torch = max(worst_torch, float(np.abs(np.asarray(t) - ref).max()))
    return worst_ours, worst_torch


# -- main -------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, runs in seconds (smoke test)")
    ap.add_argument("--threads", help="thread counts for the document workload (default 1,2; --quick: 1)")
    ap.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    ap.add_argument("--long-document", metavar="MB", help="sizes of the long-document table only, e.g. 1,10,100")
    ap.add_argument("--whole-up-to", type=float, default=10, help="largest MB also tokenized whole (default 10)")
    ap.add_argument("--_long-one", nargs=3, help=argparse.SUPPRESS)  # child process: folder MB prefix|whole
    args = ap.parse_args(argv)
    if args._long_one:
        return _long_one(*args._long_one)
    if args.long_document:
        return long_document([float(x) for x in args.long_document.split(",")], args.whole_up_to, args.json)

    import onnxruntime
    import torch
    from fixtures.checkpoints import write_nano_checkpoint
    from pylate import models

    from muvera_nano.model import ColBERT, export

    n_docs, reps, n_queries = (32, 1, 20) if args.quick else (512, 5, 400)
    threads = [int(t) for t in (args.threads or ("1" if args.quick else "1,2")).split(",")]
    results: dict = {
        "setup": {
            "quick": args.quick,
            "documents": n_docs,
            "repeats": reps,
            "queries": n_queries,
            "batch_size": 32,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__,
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "load_before": os.getloadavg()[0],
        }
    }
    print(f"# encoder benchmark ({'quick' if args.quick else 'full'}): nano shapes, random weights (seed {SEED})")
    print(
        f"# torch {torch.__version__} eager via PyLate, onnxruntime {onnxruntime.__version__}, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        built = write_nano_checkpoint(Path(tmp) / "nano", seed=SEED)
        t = time.perf_counter()
        export(built.folder, Path(tmp) / "onnx")
        export_s = time.perf_counter() - t
        export(built.folder, Path(tmp) / "int8", quantize=True)
        pylate_model = models.ColBERT(model_name_or_path=str(built.folder), device="cpu", trust_remote_code=True)
        from tokenizers import Tokenizer

        docs = documents(n_docs, Tokenizer.from_file(str(Path(tmp) / "onnx" / "tokenizer.json")))
        qs = queries(n_queries)

        torch.set_num_threads(1)
        enc1 = ColBERT(Path(tmp) / "onnx", threads=1, batch_size=32)
        token_counts = [len(ids) for ids in enc1._prepare(docs, False).ids]
        assert min(token_counts) == max(token_counts) == 180, "documents must be truncated to 180 tokens"
        tokens_total = sum(token_counts)
        ours_err, torch_err = check_against_reference(built, enc1, pylate_model, docs[:8], False)
        q_ours_err, q_torch_err = check_against_reference(built, enc1, pylate_model, qs[:8], True)
        assert max(ours_err, q_ours_err) <= 1e-5 and max(torch_err, q_torch_err) <= 1e-5, (
            ours_err,
            q_ours_err,
            torch_err,
            q_torch_err,
        )
        print(
            f"# checked against float64 reference: max abs diff this encoder {max(ours_err, q_ours_err):.1e}, "
            f"torch {max(torch_err, q_torch_err):.1e}; export took {export_s:.2f} s"
        )

        gflops = {t: common.matmul_gflops(t, 3 if args.quick else 5) for t in sorted(set(threads) | {1})}
        per_doc = flops_per_document(built.config, enc1.dim, 180)
        results["setup"].update(matmul_gflops=gflops, mflop_per_document=per_doc / 1e6, export_seconds=export_s)

        rows = []
        for t in threads:
            torch.set_num_threads(t)
            enc = ColBERT(Path(tmp) / "onnx", threads=t, batch_size=32)
            q8 = ColBERT(Path(tmp) / "int8", threads=t, batch_size=32)
            ours = summary(common.timings(lambda: enc.encode(docs, is_query=False), reps))
            theirs = summary(
                common.timings(
                    lambda: pylate_model.encode(docs, is_query=False, batch_size=32, show_progress_bar=False), reps
                )
            )
            int8 = summary(common.timings(lambda: q8.encode(docs, is_query=False), reps))
            # The bound is per-core peak x threads: numpy's own multi-threaded matmul on this shared
            # 2-core machine scales poorly and would make the bound look lower than the hardware's.
            bound = t * gflops[1] * 1e9 / per_doc
            for name, (med, lo, hi) in (("onnx (this)", ours), ("torch eager (PyLate)", theirs), ("onnx int8", int8)):
                rows.append(
                    {
                        "threads": t,
                        "encoder": name,
                        "docs_per_s": n_docs / med,
                        "docs_per_s_min": n_docs / hi,
                        "docs_per_s_max": n_docs / lo,
                        "tokens_per_s": tokens_total / med,
                        "share_of_f32_bound": n_docs / med / bound,
                        "vs_torch": theirs[0] / med,
                    }
                )
        results["documents"] = rows

        # Single queries, 1 thread.
        torch.set_num_threads(1)
        lat = {}
        for name, fn in (
            ("onnx (this)", lambda q: enc1.encode([q], is_query=True)),
            (
                "torch eager (PyLate)",
                lambda q: pylate_model.encode([q], is_query=True, batch_size=1, show_progress_bar=False),
            ),
        ):
            for q in qs[:10]:
                fn(q)
            times = []
            for q in qs:
                t = time.perf_counter()
                fn(q)
                times.append(time.perf_counter() - t)
            lat[name] = {
                "p50_ms": 1e3 * float(np.percentile(times, 50)),
                "p99_ms": 1e3 * float(np.percentile(times, 99)),
            }
        results["query_latency_1_thread"] = lat

        # Where the time goes (this encoder, 1 thread, documents and single queries).
        shares = {}
        for label, texts, is_query, calls in (
            ("documents (batches of 32)", docs, False, 1),
            ("single queries", qs, True, len(qs)),
        ):
            enc = ColBERT(Path(tmp) / "onnx", threads=1, batch_size=32)
            enc.encode(texts[:32], is_query)
            timing = TimingSession(enc._runtime)
            enc._runtime = timing
            prep = total = 0.0
            chunks = [texts] if calls == 1 else [[q] for q in texts]
            for chunk in chunks:
                t0 = time.perf_counter()
                enc._prepare(chunk, is_query)
                t1 = time.perf_counter()
                enc.encode(chunk, is_query)
                t2 = time.perf_counter()
                prep += t1 - t0
                total += t2 - t1
            infer = timing.seconds
            shares[label] = {
                "tokenization": prep / total,
                "inference": infer / total,
                "post_processing": max(0.0, (total - prep - infer) / total),
            }
        results["time_shares"] = shares

        # int8 output error against float32 (documents).
        f32 = enc1.encode(docs[:64], is_query=False)
        i8 = ColBERT(Path(tmp) / "int8", threads=1).encode(docs[:64], is_query=False)
        diffs = np.concatenate([np.abs(a - b).max(axis=1) for a, b in zip(f32, i8)])
        cos = np.concatenate([np.sum(a * b, axis=1) for a, b in zip(f32, i8)])
        results["int8_error"] = {
            "max_abs": float(diffs.max()),
            "median_max_abs_per_token": float(np.median(diffs)),
            "min_cosine": float(cos.min()),
            "median_cosine": float(np.median(cos)),
        }
        results["setup"]["load_after"] = os.getloadavg()[0]

    print_report(results, per_doc, threads)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def print_report(r: dict, per_doc: float, threads: list[int]) -> None:
    s = r["setup"]
    print(
        f"# float32 bound: {per_doc / 1e6:.0f} MFLOP per 180-token document at threads x the 1-thread numpy "
        f"float32 matmul peak (2048^3: "
        + ", ".join(f"{g:.0f} GFLOP/s at {t} thread(s)" for t, g in s["matmul_gflops"].items())
        + ")"
    )
    print()
    print(f"documents: {s['documents']} x 180 tokens, batch 32, median of {s['repeats']} runs after warm-up (min-max)")
    print("| threads | encoder | documents/s (min-max) | tokens/s | vs torch | share of f32 bound |")
    print("|---|---|---|---|---|---|")
    for row in r["documents"]:
        print(
            f"| {row['threads']} | {row['encoder']} | {row['docs_per_s']:.0f} ({row['docs_per_s_min']:.0f}-"
            f"{row['docs_per_s_max']:.0f}) | {row['tokens_per_s']:,.0f} | {row['vs_torch']:.2f}x | "
            f"{100 * row['share_of_f32_bound']:.0f}% |"
        )
    print()
    print(f"single 32-token queries, 1 thread, {s['queries']} calls after warm-up")
    print("| encoder | p50 ms | p99 ms |")
    print("|---|---|---|")
    for name, v in r["query_latency_1_thread"].items():
        print(f"| {name} | {v['p50_ms']:.3f} | {v['p99_ms']:.3f} |")
    print()
    print("time shares in this encoder, 1 thread")
    print("| workload | tokenization | inference | post-processing |")
    print("|---|---|---|---|")
    for name, v in r["time_shares"].items():
        print(
            f"| {name} | {100 * v['tokenization']:.0f}% | {100 * v['inference']:.0f}% | "
            f"{100 * v['post_processing']:.0f}% |"
        )
    e = r["int8_error"]
    print()
    print(
        f"int8 export vs float32 outputs (documents): max abs {e['max_abs']:.3f}, median per-token max abs "
        f"{e['median_max_abs_per_token']:.4f}, cosine min {e['min_cosine']:.4f} / median {e['median_cosine']:.5f}"
    )
    print(f"# load average before/after: {s['load_before']:.2f} / {s['load_after']:.2f}")


# -- one long document ---------------------------------------------------------------------------------
def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _long_one(folder: str, mb: str, mode: str) -> int:
    """Child process: encode one document of `mb` MB; prints a JSON line (seconds, peak extra MiB)."""
    import pydoc_data.topics

    from muvera_nano.model import ColBERT

    enc = ColBERT(folder, threads=1)
    if mode == "whole":
        enc._cutters = {True: None, False: None}
    enc.encode(["warm up " * 500], False)
    base = " ".join(pydoc_data.topics.topics[k] for k in sorted(pydoc_data.topics.topics))
    size = int(float(mb) * 1e6)
    text = (base * (size // len(base) + 1))[:size]
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    before = _rss_kib("VmRSS")
    t = time.perf_counter()
    out = enc.encode([text], False)[0]
    seconds = time.perf_counter() - t
    peak = _rss_kib("VmHWM")
    print(json.dumps({"seconds": seconds, "extra_mib": (peak - before) / 1024, "rows": int(out.shape[0])}))
    return 0


def long_document(sizes: list[float], whole_up_to: float, json_path: str | None) -> int:
    import subprocess

    from fixtures.checkpoints import write_nano_checkpoint

    from muvera_nano.model import export

    cpu = common.machine().get("cpu") or platform.processor()
    print(f"# one long document, nano shapes, 1 thread, each row a fresh process; CPU: {cpu}")
    print("| document | tokenization | seconds | peak extra memory (MiB) | kept rows |")
    print("|---|---|---|---|---|")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        built = write_nano_checkpoint(Path(tmp) / "nano", seed=SEED)
        export(built.folder, Path(tmp) / "onnx")
        for mb in sizes:
            for mode in ("prefix", "whole") if mb <= whole_up_to else ("prefix",):
                cmd = [sys.executable, __file__, "--_long-one", str(Path(tmp) / "onnx"), str(mb), mode]
                r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
                rows.append({"mb": mb, "mode": mode, **r})
                label = "prefix cut (this)" if mode == "prefix" else "whole text (before)"
                print(f"| {mb:g} MB | {label} | {r['seconds']:.3f} | {r['extra_mib']:.1f} | {r['rows']} |")
    if json_path:
        Path(json_path).write_text(json.dumps({"cpu": cpu, "long_document": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
