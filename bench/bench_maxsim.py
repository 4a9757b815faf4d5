"""MaxSim side by side: muvera-nano (each storage type) vs a numpy loop, a padded numpy
batch, maxsim-cpu and torch einsum (PyLate's colbert_scores), at 1 and 2 threads, with the
float32 matmul ceiling measured in the same run. Standard workloads from
shared/spec/benchmarks.md: one 32x128 query x 10,000 documents of 50-300 rows, 16 queries x
1,000 documents, reranking 100 candidates per query, and the fixed cost of a tiny call.

    python bench/bench_maxsim.py            # full size (a few minutes)
    python bench/bench_maxsim.py --quick    # seconds
Peers that are not installed are reported as such and skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import timeit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common

DIM, QROWS = 128, 32
STORAGE = ["float32", "float16", "bfloat16", "int8"]
# Documented bounds on |stored score - exact score| per query row for unit-norm rows
# (README, "Storage types and their error bounds"), used to check outputs before timing.
PER_ROW_BOUND = {
    "float32": 1e-4,
    "float16": 2**-11 + 1e-4,
    "bfloat16": 2**-7 + 1e-4,
    "int8": 2 * DIM**0.5 / 254 + DIM / (4 * 127**2) + 1e-4,
}


def standard_corpus(n_docs: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = rng.integers(50, 301, n_docs)
    tokens = rng.standard_normal((int(lengths.sum()), DIM)).astype(np.float32)
    tokens /= np.linalg.norm(tokens, axis=1, keepdims=True)
    offsets = np.zeros(n_docs + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    queries = rng.standard_normal((16, QROWS, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=2, keepdims=True)
    return tokens, offsets, queries


def worker(a) -> dict:
    import numpy as np
    from threadpoolctl import threadpool_limits

    import muvera_nano as mn

    threads, reps = a.threads, a.repeats
    tokens, offsets, queries = standard_corpus(a.docs)
    docs = [tokens[offsets[i] : offsets[i + 1]] for i in range(a.docs)]
    n2 = min(a.docs, 1000)
    out = {
        "threads": threads,
        "docs": a.docs,
        "mean_rows": float(np.diff(offsets).mean()),
        "ceiling_gflops": common.matmul_gflops(threads, reps),
        "machine": common.machine(),
        "rows": [],
    }
    flops_per_pair = 2 * QROWS * DIM * out["mean_rows"]
    q1 = queries[0]

    def reference(qs, n):
        return np.array(
            [[(q.astype(np.float64) @ docs[j].astype(np.float64).T).max(1).sum() for j in range(n)] for q in qs]
        )

    check_n = min(200, n2)
    ref1 = reference([q1], check_n)[0]
    ref16 = reference(queries, check_n)

    def record(impl, workload, pairs, fn, storage="float32", check=None):
        if check is not None:
            got = np.asarray(check(), np.float64)
            want = ref1 if workload == "1x10k" else ref16
            got = got[..., :check_n]
            err = np.abs(got - want).max()
            bound = QROWS * PER_ROW_BOUND[storage]
            if not err <= bound:
                raise SystemExit(f"{impl} {workload}: max error {err:.3g} exceeds {bound:.3g}")
        t = common.measure(fn, reps)
        out["rows"].append(
            {
                "impl": impl,
                "workload": workload,
                "pairs": pairs,
                **t,
                "rate": pairs / t["median"],
                "rate_min": pairs / t["max"],
                "rate_max": pairs / t["min"],
            }
        )

    # --- muvera-nano, each storage type ---
    base = mn.Ragged(tokens, offsets)
    for storage in STORAGE:
        store = base.astype(storage)
        store2 = mn.Ragged(
            store.tokens[: offsets[n2]],
            offsets[: n2 + 1],
            None if store.scales is None else store.scales[: offsets[n2]],
            dtype=storage,
        )
        record(
            f"muvera-nano {storage}",
            "1x10k",
            a.docs,
            lambda: mn.maxsim(q1, store, threads=threads),
            storage,
            check=lambda: mn.maxsim(q1, store, threads=threads),
        )
        record(
            f"muvera-nano {storage}",
            "16x1k",
            16 * n2,
            lambda: mn.maxsim(queries, store2, threads=threads),
            storage,
            check=lambda: mn.maxsim(queries, store2, threads=threads),
        )

    # --- numpy: a loop of matmul + max per document, and a padded batch ---
    with threadpool_limits(threads):

        def np_loop(qs, n):
            flat = qs.reshape(-1, DIM)
            return np.array([(flat @ docs[j].T).reshape(len(qs), QROWS, -1).max(2).sum(1) for j in range(n)]).T

        record(
            "numpy loop", "1x10k", a.docs, lambda: np_loop(q1[None], a.docs), check=lambda: np_loop(q1[None], a.docs)[0]
        )
        record("numpy loop", "16x1k", 16 * n2, lambda: np_loop(queries, n2), check=lambda: np_loop(queries, n2))

        maxlen = int(np.diff(offsets).max())

        def padded(n, chunk=500):
            # zero-padded (n, maxlen, DIM) plus a mask, built once outside the timing
            p = np.zeros((n, maxlen, DIM), np.float32)
            mask = np.zeros((n, maxlen), bool)
            for j in range(n):
                p[j, : len(docs[j])] = docs[j]
                mask[j, : len(docs[j])] = True
            return p, mask

        pad, mask = padded(a.docs)

        def np_padded(qs, n, chunk=250):
            res = []
            for s in range(0, n, chunk):
                sim = np.einsum("qrd,ntd->qnrt", qs, pad[s : s + n if n < chunk else s + chunk], optimize=True)
                sim = np.where(mask[None, s : s + sim.shape[1], None, :], sim, -np.inf)
                res.append(sim.max(3).sum(2))
            return np.concatenate(res, axis=1)

        record(
            "numpy padded batch",
            "1x10k",
            a.docs,
            lambda: np_padded(q1[None], a.docs),
            check=lambda: np_padded(q1[None], a.docs)[0],
        )
        record(
            "numpy padded batch", "16x1k", 16 * n2, lambda: np_padded(queries, n2), check=lambda: np_padded(queries, n2)
        )

    # --- maxsim-cpu (variable-length API; OpenMP threads from OMP_NUM_THREADS) ---
    try:
        import maxsim_cpu
    except ImportError:
        out["missing"] = out.get("missing", []) + ["maxsim-cpu"]
    else:
        docs2 = docs[:n2]
        record(
            "maxsim-cpu",
            "1x10k",
            a.docs,
            lambda: maxsim_cpu.maxsim_scores_variable(q1, docs),
            check=lambda: maxsim_cpu.maxsim_scores_variable(q1, docs),
        )
        record(
            "maxsim-cpu",
            "16x1k",
            16 * n2,
            lambda: [maxsim_cpu.maxsim_scores_variable(q, docs2) for q in queries],
            check=lambda: [maxsim_cpu.maxsim_scores_variable(q, docs2) for q in queries],
        )

    # --- torch einsum as PyLate's colbert_scores (zero-padded documents) ---
    try:
        import torch
        from pylate.scores import colbert_scores
    except ImportError:
        out["missing"] = out.get("missing", []) + ["torch/pylate"]
    else:
        torch.set_num_threads(threads)
        tpad = torch.from_numpy(pad)
        tq1 = torch.from_numpy(q1[None].copy())
        tqs = torch.from_numpy(queries)

        def torch_scores(tq, n, chunk=1000):
            with torch.inference_mode():
                return torch.cat([colbert_scores(tq, tpad[s : min(n, s + chunk)]) for s in range(0, n, chunk)], dim=1)

        record(
            "torch einsum (PyLate colbert_scores)",
            "1x10k",
            a.docs,
            lambda: torch_scores(tq1, a.docs),
            check=lambda: torch_scores(tq1, a.docs)[0].numpy(),
        )
        record(
            "torch einsum (PyLate colbert_scores)",
            "16x1k",
            16 * n2,
            lambda: torch_scores(tqs, n2),
            check=lambda: torch_scores(tqs, n2).numpy(),
        )

    # --- rerank: 16 queries x 100 candidates each, top 10 ---
    rng = np.random.default_rng(1)
    cand = np.stack([rng.choice(a.docs, min(100, a.docs), replace=False) for _ in range(16)]).astype(np.int64)
    for storage in ("float32", "int8"):
        store = base.astype(storage)
        t = common.measure(lambda: mn.rerank(queries, store, candidates=cand, k=10, threads=threads), reps)
        out["rows"].append(
            {
                "impl": f"muvera-nano {storage}",
                "workload": "rerank 16x100",
                "pairs": 1600,
                **t,
                "rate": 16 / t["median"],
                "rate_min": 16 / t["max"],
                "rate_max": 16 / t["min"],
            }
        )
        lat = timeit.repeat(
            lambda: mn.rerank(q1, store, candidates=cand[0], k=10, threads=threads), number=20, repeat=reps
        )
        out.setdefault("rerank_single_us", {})[storage] = sorted(x / 20 * 1e6 for x in lat)[len(lat) // 2]
    with threadpool_limits(threads):

        def np_rerank():
            for i in range(16):
                s = np.array([(queries[i] @ docs[j].T).max(1).sum() for j in cand[i]])
                np.argsort(-s)[:10]

        t = common.measure(np_rerank, reps)
        out["rows"].append(
            {
                "impl": "numpy loop",
                "workload": "rerank 16x100",
                "pairs": 1600,
                **t,
                "rate": 16 / t["median"],
                "rate_min": 16 / t["max"],
                "rate_max": 16 / t["min"],
            }
        )

    # --- fixed cost of a call: one query against one 10-row document ---
    tiny = mn.Ragged.from_list([tokens[:10]])
    for name, fn in (
        ("maxsim", lambda: mn.maxsim(q1, tiny, threads=threads)),
        ("rerank", lambda: mn.rerank(q1, tiny, k=1, threads=threads)),
    ):
        ts = timeit.repeat(fn, number=2000, repeat=max(reps, 5))
        out.setdefault("tiny_call_us", {})[name] = sorted(x / 2000 * 1e6 for x in ts)[len(ts) // 2]
    out["flops_per_pair"] = flops_per_pair
    return out


def report(results: list[dict]) -> None:
    r0 = results[0]
    print(
        f"# MaxSim benchmark — {r0['docs']:,} documents (mean {r0['mean_rows']:.0f} rows), dim {DIM}, "
        f"queries {QROWS}x{DIM}; machine: {r0['machine']}"
    )
    for r in results:
        print(
            f"float32 matmul ceiling (numpy 2048^3), {r['threads']} thread(s): {r['ceiling_gflops']:.1f} GFLOP/s "
            f"= {r['ceiling_gflops'] * 1e9 / r['flops_per_pair']:,.0f} docs/s"
        )
        if r.get("missing"):
            print(f"  not installed, skipped: {', '.join(r['missing'])}")
    for workload, unit in (("1x10k", "docs/s"), ("16x1k", "query-doc pairs/s"), ("rerank 16x100", "queries/s")):
        print(f"\n## {workload} ({unit}: median, min-max of runs)")
        headers = ["implementation"]
        for r in results:
            t = r["threads"]
            headers += [f"{t} thread(s)"] + (
                [f"% ceiling ({t}t)", f"x maxsim-cpu ({t}t)"]
                if workload != "rerank 16x100"
                else [f"x numpy loop ({t}t)"]
            )
        impls = [row["impl"] for row in results[0]["rows"] if row["workload"] == workload]
        rows = []
        for impl in impls:
            line = [impl]
            for r in results:
                by = {x["impl"]: x for x in r["rows"] if x["workload"] == workload}
                x = by[impl]
                line.append(
                    f"{common.fmt_rate(x['rate'])} ({common.fmt_rate(x['rate_min'])}-{common.fmt_rate(x['rate_max'])})"
                )
                if workload != "rerank 16x100":
                    line.append(f"{100 * x['rate'] * r['flops_per_pair'] / (r['ceiling_gflops'] * 1e9):.0f}%")
                    peer = by.get("maxsim-cpu")
                    line.append(f"{x['rate'] / peer['rate']:.2f}" if peer else "n/a")
                else:
                    line.append(f"{x['rate'] / by['numpy loop']['rate']:.1f}")
            rows.append(line)
        common.print_table(headers, rows)
    print("\n## fixed cost of one call (one 32x128 query, one 10-row document), median µs")
    common.print_table(
        ["call"] + [f"{r['threads']} thread(s)" for r in results],
        [[name] + [f"{r['tiny_call_us'][name]:.2f}" for r in results] for name in ("maxsim", "rerank")],
    )
    print("\n## single-query rerank latency (100 candidates, top 10), median µs")
    common.print_table(
        ["storage"] + [f"{r['threads']} thread(s)" for r in results],
        [[s] + [f"{r['rerank_single_us'][s]:.1f}" for r in results] for s in ("float32", "int8")],
    )


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes, few repeats (seconds)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--docs", type=int, default=None, help="documents in the corpus (default 10,000; 500 with --quick)")
    p.add_argument("--repeats", type=int, default=None, help="timed runs per measurement (default 7; 3 with --quick)")
    p.add_argument("--json", help="also write the raw results here")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    a.docs = a.docs or (500 if a.quick else 10_000)
    a.repeats = a.repeats or (3 if a.quick else 7)
    if a.worker:
        (a.threads,) = a.threads
        print(json.dumps(worker(a)))
        return
    results = common.run_workers(
        os.path.abspath(__file__), a.threads, ["--docs", str(a.docs), "--repeats", str(a.repeats)]
    )
    report(results)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
