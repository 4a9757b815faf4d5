"""Encoder precisions side by side: float32 (onnxruntime, exact), int8 (onnxruntime, weights
quantized at load) and bfloat16 (OpenVINO, INFERENCE_PRECISION_HINT=bf16), same graph, same run.

Speed: the nano model's exact shapes (BertHash, hidden 128, 2 layers, random weights, seed 0),
documents of real text (pydoc topics) cut at 180 tokens, batches of 32: tokens/s and documents/s
end to end (tokenization included) and inference only (pre-padded batches), each precision's
ratio to float32; the precisions are timed in alternation, round after round, and the medians
reported (the CPU is shared); PyLate on torch in float32 and bfloat16 are timed in the same rounds
as peers when installed. Single 32-token queries: p50 / p99 latency, interleaved likewise.
Ceilings: 2048^3 matmul GFLOP/s, float32 (numpy) and bfloat16 (torch/oneDNN, when installed).

Error against float32: on the nano documents (max abs, per-token cosine min/median), and on the
real-text stand-in (bench/realdata.py: all-MiniLM-L6-v2 weights, docstring first lines as
queries, each finding its docstring's body): MaxSim top-10 agreement with float32 and nDCG@10.

Run:  python bench/bench_encoder_precision.py           (several minutes)
      python bench/bench_encoder_precision.py --quick   (seconds; what the test suite runs)
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
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import common  # noqa: E402
import numpy as np  # noqa: E402

PRECISIONS = ("float32", "int8", "bfloat16")


def cpu_model() -> str:
    """The CPU's model name, family and model numbers (/proc/cpuinfo), and its matrix features."""
    import muvera_nano

    fields = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    flags = set(fields.get("flags", "").split())
    matrix = [f for f in ("avx512_bf16", "avx512_vnni", "avx512_fp16", "amx_bf16", "amx_int8") if f in flags]
    name = fields.get("model name") or platform.processor() or platform.machine()
    return (
        f"{name} (family {fields.get('cpu family', '?')}, model {fields.get('model', '?')}; "
        f"{', '.join(matrix) or 'no bf16/int8 matrix features'}; isa {muvera_nano.cpu_info()['isa']}; "
        f"{'AMX' if 'amx_bf16' in flags else 'no AMX'})"
    )


def bf16_matmul_gflops(repeats: int, n: int = 2048) -> float | None:
    """The bfloat16 matmul ceiling at 1 thread (torch, i.e. oneDNN), None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    a = torch.randn(n, n).to(torch.bfloat16)
    return 2 * n**3 / common.measure(lambda: a @ a, repeats)["median"] / 1e9


def pylate_peers(checkpoint: Path, threads: int) -> dict:
    """PyLate on torch in float32 and in bfloat16 (the whole model cast with .to, as a PyLate user
    would), as callables encoding a list of documents; empty without PyLate."""
    try:
        import torch
        from pylate import models
    except ImportError:
        return {}
    torch.set_num_threads(threads)
    peers = {}
    for name, dtype in (("PyLate float32", torch.float32), ("PyLate bfloat16", torch.bfloat16)):
        m = models.ColBERT(model_name_or_path=str(checkpoint), device="cpu", trust_remote_code=True).to(dtype)
        peers[name] = lambda docs, m=m: m.encode(docs, is_query=False, batch_size=32, show_progress_bar=False)
    return peers


def padded_batches(enc, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (input_ids, attention_mask) arrays encode() feeds the runtime for these documents."""
    prepared = enc._prepare(texts, False)
    out = []
    for batch in enc._batches(prepared):
        rows = [prepared.ids[i] for i in batch]
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), enc.settings.mask_id, np.int64)
        mask = np.zeros((len(rows), width), np.int64)
        for j, r in enumerate(rows):
            ids[j, : len(r)], mask[j, : len(r)] = r, 1
        out.append((ids, mask))
    return out


def alternate(fns: dict, rounds: int) -> dict:
    """Seconds per call of each fn: one warm-up each, then `rounds` rounds calling each in turn."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return times


def token_errors(ref: np.ndarray, got: np.ndarray) -> dict:
    cos = np.sum(ref * got, axis=1)
    return {
        "max_abs": float(np.abs(ref - got).max()),
        "min_cosine": float(cos.min()),
        "median_cosine": float(np.median(cos)),
    }


def retrieval(encoders: dict, docs: list[str], queries: list[str], relevant: list[int]) -> dict:
    """Per precision: MaxSim top-10 agreement with float32, nDCG@10 (one relevant document) and
    the document token vectors' error against float32."""
    import muvera_nano

    tops, tokens = {}, {}
    for name, enc in encoders.items():
        d = enc.encode_ragged(docs, is_query=False)
        tokens[name] = d.tokens
        scores = np.stack([muvera_nano.maxsim(q, d) for q in enc.encode(queries, is_query=True)])
        tops[name] = np.argsort(-scores, axis=1, kind="stable")[:, :10]
    out = {}
    for name, top in tops.items():
        gains = [1 / np.log2(np.flatnonzero(t == rel)[0] + 2) if rel in t else 0.0 for t, rel in zip(top, relevant)]
        agree = [len(set(a) & set(b)) / 10 for a, b in zip(top, tops["float32"])]
        out[name] = {
            "ndcg_at_10": float(np.mean(gains)),
            "top10_agreement": float(np.mean(agree)),
            "top10_agreement_min": float(np.min(agree)),
            **token_errors(tokens["float32"], tokens[name]),
        }
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, runs in seconds (smoke test)")
    ap.add_argument("--threads", type=int, default=1, help="encoder threads for the timed workloads (default 1)")
    ap.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = ap.parse_args(argv)

    import onnxruntime
    import openvino
    from bench_encoder import documents, queries
    from fixtures.checkpoints import write_nano_checkpoint
    from realdata import docstring_pairs, minilm_encoder, other_passages
    from tokenizers import Tokenizer

    from muvera_nano.model import ColBERT, export

    n_docs, rounds, n_queries = (32, 2, 10) if args.quick else (512, 7, 300)
    n_real_docs, n_real_queries = (32, 8) if args.quick else (1000, 200)
    t = args.threads
    setup = {
        "quick": args.quick,
        "threads": t,
        "documents": n_docs,
        "rounds": rounds,
        "queries": n_queries,
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "onnxruntime": onnxruntime.__version__,
        "openvino": openvino.__version__,
        "python": platform.python_version(),
        "load_before": os.getloadavg()[0],
    }
    print(f"# encoder precisions ({'quick' if args.quick else 'full'}), {t} thread(s)")
    print(f"# CPU: {setup['cpu']}, {setup['cores']} cores, load {setup['load_before']:.2f}")
    print(f"# onnxruntime {setup['onnxruntime']}, OpenVINO {setup['openvino']}")
    setup["matmul_gflops_float32"] = common.matmul_gflops(1, 3 if args.quick else 5)
    setup["matmul_gflops_bfloat16"] = bf16_matmul_gflops(3 if args.quick else 5)
    bf16 = setup["matmul_gflops_bfloat16"]
    print(
        f"# 2048^3 matmul ceilings, 1 thread: float32 {setup['matmul_gflops_float32']:.0f} GFLOP/s (numpy), "
        f"bfloat16 {'n/a (no torch)' if bf16 is None else f'{bf16:.0f} GFLOP/s (torch/oneDNN)'}"
    )

    results: dict = {"setup": setup}
    with tempfile.TemporaryDirectory() as tmp:
        built = write_nano_checkpoint(Path(tmp) / "nano", seed=0)
        export(built.folder, Path(tmp) / "onnx")
        folder = Path(tmp) / "onnx"
        docs = documents(n_docs, Tokenizer.from_file(str(folder / "tokenizer.json")))
        qs = queries(n_queries)
        encs = {p: ColBERT(folder, threads=t, batch_size=32, precision=p) for p in PRECISIONS}
        tokens = sum(len(r) for r in encs["float32"]._prepare(docs, False).ids)
        batches = padded_batches(encs["float32"], docs)

        peers = pylate_peers(built.folder, t)
        end_to_end = alternate(
            {
                **{p: (lambda e=e: e.encode(docs, is_query=False)) for p, e in encs.items()},
                **{name: (lambda f=f: f(docs)) for name, f in peers.items()},
            },
            rounds,
        )
        inference = alternate(
            {p: (lambda e=e: [e._runtime.run(i, m) for i, m in batches]) for p, e in encs.items()}, rounds
        )
        latency = {p: [] for p in PRECISIONS}
        for q in qs[:5]:
            for e in encs.values():
                e.encode([q], is_query=True)
        for q in qs:
            for p, e in encs.items():
                t0 = time.perf_counter()
                e.encode([q], is_query=True)
                latency[p].append(time.perf_counter() - t0)
        ref = encs["float32"].encode_ragged(docs, is_query=False).tokens
        rows = []
        for p, e in encs.items():
            e2e, inf = statistics.median(end_to_end[p]), statistics.median(inference[p])
            rows.append(
                {
                    "precision": p,
                    "runtime": "openvino" if p == "bfloat16" else "onnxruntime",
                    "docs_per_s": n_docs / e2e,
                    "tokens_per_s": tokens / e2e,
                    "vs_float32": statistics.median(end_to_end["float32"]) / e2e,
                    "inference_docs_per_s": n_docs / inf,
                    "inference_vs_float32": statistics.median(inference["float32"]) / inf,
                    "query_p50_ms": 1e3 * float(np.percentile(latency[p], 50)),
                    "query_p99_ms": 1e3 * float(np.percentile(latency[p], 99)),
                    **token_errors(ref, e.encode_ragged(docs, is_query=False).tokens),
                }
            )
        results["nano"] = rows
        f32 = statistics.median(end_to_end["float32"])
        results["peers"] = [
            {
                "encoder": name,
                "docs_per_s": n_docs / statistics.median(end_to_end[name]),
                "tokens_per_s": tokens / statistics.median(end_to_end[name]),
                "vs_float32": f32 / statistics.median(end_to_end[name]),
                **token_errors(ref, np.concatenate(peers[name](docs)).astype(np.float32)),
            }
            for name in peers
        ]

        pairs = docstring_pairs(n_real_docs)
        real_docs = [d for _, d in pairs] + other_passages()[: max(0, n_real_docs - len(pairs))]
        step = max(1, len(pairs) // n_real_queries)
        chosen = list(range(0, len(pairs), step))[:n_real_queries]
        real_folder = minilm_encoder(Path(tmp) / "minilm", t).folder
        real = {p: ColBERT(real_folder, threads=t, precision=p) for p in PRECISIONS}
        results["real_text"] = {
            "documents": len(real_docs),
            "queries": len(chosen),
            **retrieval(real, real_docs, [pairs[i][0] for i in chosen], chosen),
        }
    setup["load_after"] = os.getloadavg()[0]
    print_report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def print_report(r: dict) -> None:
    s = r["setup"]
    print()
    print(
        f"nano shapes, {s['documents']} documents x 180 tokens, batches of 32, {s['threads']} thread(s); "
        f"medians of {s['rounds']} alternating rounds; {s['queries']} single 32-token queries"
    )
    print(
        "| precision | runtime | tokens/s | documents/s | vs float32 | inference documents/s | inference vs float32 "
        "| query p50 / p99 ms | max abs | per-token cosine min / median |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in r["nano"]:
        print(
            f"| {row['precision']} | {row['runtime']} | {row['tokens_per_s']:,.0f} | {row['docs_per_s']:.0f} | "
            f"{row['vs_float32']:.2f}x | {row['inference_docs_per_s']:.0f} | {row['inference_vs_float32']:.2f}x | "
            f"{row['query_p50_ms']:.3f} / {row['query_p99_ms']:.3f} | {row['max_abs']:.1e} | "
            f"{row['min_cosine']:.5f} / {row['median_cosine']:.6f} |"
        )
    if r["peers"]:
        print()
        print("peers, same documents, timed in the same rounds (end to end)")
        print(
            "| encoder | tokens/s | documents/s | this encoder's float32 vs it | per-token dot product with this float32 "
            "min / median |"
        )
        print("|---|---|---|---|---|")
        for row in r["peers"]:
            print(
                f"| {row['encoder']} | {row['tokens_per_s']:,.0f} | {row['docs_per_s']:.0f} | "
                f"{1 / row['vs_float32']:.2f}x | {row['min_cosine']:.5f} / {row['median_cosine']:.6f} |"
            )
    rt = r["real_text"]
    print()
    print(
        f"real-text stand-in (all-MiniLM-L6-v2 weights; {rt['documents']} documents, {rt['queries']} known-item "
        "queries), MaxSim over all documents"
    )
    print(
        "| precision | nDCG@10 | top-10 agreement with float32 (mean / min) | per-token cosine min / median | max abs |"
    )
    print("|---|---|---|---|---|")
    for p in PRECISIONS:
        v = e = rt[p]
        print(
            f"| {p} | {v['ndcg_at_10']:.4f} | {v['top10_agreement']:.3f} / {v['top10_agreement_min']:.1f} | "
            f"{e['min_cosine']:.5f} / {e['median_cosine']:.6f} | {e['max_abs']:.1e} |"
        )
    print(f"# load average before/after: {s['load_before']:.2f} / {s['load_after']:.2f}")


if __name__ == "__main__":
    sys.exit(main())
