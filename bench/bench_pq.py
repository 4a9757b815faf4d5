"""Product quantization side by side, in one process with every implementation alternated
round by round (the machine is shared: medians of alternated runs, load average printed):

1. MaxSim over pq8 tokens (32 subspaces x 256 centroids x 4 dims, 32 B per 128-d token) vs
   float32 / float16 / bfloat16 storage: one 32x128 query against the corpus of
   bench_maxsim.py, documents/s.
2. pq_encode: 128-d float32 tokens to 32 x 8-bit codes, tokens/s (and the time 175M would take).
3. The 4-bit fast scan of FDE rows (2,560 subspaces of 4 dims: 1,280 B per 10,240-d row), top
   100 over all rows, 1 and 4 queries per call: rows/s and GB/s of codes, against faiss-cpu's
   IndexPQFastScan on the same codes and centroids (if installed: a peer, never a dependency)
   and numpy's float16 matrix-vector product + argpartition (its rows are 16x larger: it runs
   only where they fit in memory).

    python bench/bench_pq.py            # full size (minutes; 1M rows need ~1.3 GB of codes)
    python bench/bench_pq.py --quick    # seconds
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common
from bench_maxsim import DIM, standard_corpus

FDE_DIM, FDE_M, TOPK = 10240, 2560, 100


def alternate(fns: dict, repeats: int) -> dict:
    """Each callable once per round (after one warm-up round), rounds alternating between them;
    median / min / max seconds per callable."""
    times = {name: [] for name in fns}
    for r in range(repeats + 1):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            if r:
                times[name].append(time.perf_counter() - t)
    return {n: {"median": statistics.median(v), "min": min(v), "max": max(v)} for n, v in times.items()}


def token_codebook(tokens, rng):
    """A pq8 codebook from token samples (256 per subspace): realistic magnitudes, no training."""
    import numpy as np

    M, dsub = 32, DIM // 32
    pick = rng.choice(len(tokens), 256, replace=False)
    return np.ascontiguousarray(tokens[pick].reshape(256, M, dsub).transpose(1, 0, 2))


def bench_maxsim(a, rng, out):
    import numpy as np

    import muvera_nano as mn
    from muvera_nano import _testing

    tokens, offsets, queries = standard_corpus(a.docs)
    q = queries[0]
    cb = mn.PQCodebook(token_codebook(tokens, rng))
    base = mn.Ragged(tokens, offsets)
    stores = {s: base.astype(s) for s in ("float32", "float16", "bfloat16")}
    stores["pq8"] = base.astype("pq8", codebook=cb)
    # Check pq8 against float64 MaxSim over the decoded rows (bfloat16 decoding's bound).
    decoded = stores["pq8"].to_float32()
    check = min(50, a.docs)
    q64, d64 = q.astype(np.float64), decoded.astype(np.float64)
    want = np.array([(q64 @ d64[offsets[j] : offsets[j + 1]].T).max(1).sum() for j in range(check)])
    # bfloat16 decoding's bound (README): sum_i max_t (2^-7 + 2^-16) sum_k |q_ik c_tk|, plus float32's.
    bound = np.array([(np.abs(q64) @ np.abs(d64[offsets[j] : offsets[j + 1]]).T).max(1).sum() for j in range(check)])
    bound *= 2**-7 + 2**-16 + 1e-5
    got = mn.maxsim(q, stores["pq8"], threads=a.threads)[:check]
    err = np.abs(got - want).max()
    if not (np.abs(got - want) <= bound).all():
        raise SystemExit(f"pq8 MaxSim error {err:.3g} is outside its bound")
    fns = {f"muvera-nano {s}": (lambda st=st: mn.maxsim(q, st, threads=a.threads)) for s, st in stores.items()}
    pq8 = stores["pq8"]

    def pq8_float32_decode():  # the avx512 level without AVX512_BF16: float32 decoding
        with _testing.forced_isa(mn.isa(), extensions=False):
            mn.maxsim(q, pq8, threads=a.threads)

    fns["muvera-nano pq8, float32 decoding (no AVX512_BF16)"] = pq8_float32_decode
    res = alternate(fns, a.repeats)
    bytes_per_token = {"float32": 512, "float16": 256, "bfloat16": 256, "pq8": 32}
    rows = []
    for name, t in res.items():
        kind = name.split()[1].rstrip(",")
        rows.append(
            [
                name,
                str(bytes_per_token[kind]),
                common.fmt_rate(a.docs / t["median"]),
                f"{a.docs / t['max']:,.0f}–{a.docs / t['min']:,.0f}",
                f"{res['muvera-nano float32']['median'] / t['median']:.2f}x",
            ]
        )
        out["maxsim"].append({"impl": name, **t, "docs_per_s": a.docs / t["median"]})
    print(
        f"\n## MaxSim: one 32x128 query x {a.docs:,} documents (mean {np.diff(offsets).mean():.0f} rows), "
        f"{a.threads} thread(s); pq8 error vs float64 over decoded rows: {err:.2g}"
    )
    common.print_table(["storage", "B/token", "docs/s (median)", "min–max", "vs float32"], rows)


def bench_encode(a, rng, out):

    import muvera_nano as mn

    tokens, _, _ = standard_corpus(max(50, a.encode_tokens // 175))
    tokens = tokens[: a.encode_tokens]
    cent = token_codebook(tokens, rng)
    res = alternate({"pq_encode": lambda: mn.pq_encode(tokens, cent, threads=a.threads)}, a.repeats)["pq_encode"]
    rate = len(tokens) / res["median"]
    out["encode"] = {**res, "tokens_per_s": rate}
    print(f"\n## pq_encode: {len(tokens):,} tokens of 128 dims -> 32 x 8-bit codes, {a.threads} thread(s)")
    common.print_table(
        ["tokens/s (median)", "min–max", "175M tokens"],
        [
            [
                common.fmt_rate(rate),
                f"{len(tokens) / res['max']:,.0f}–{len(tokens) / res['min']:,.0f}",
                f"{175e6 / rate:.0f} s",
            ]
        ],
    )


def scan_size(a, rng, out, n, cent, queries, faiss, table):
    """One row count of the fast-scan table: every implementation alternated."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    import muvera_nano as mn

    codes = rng.integers(0, 256, (n, FDE_M // 2), dtype=np.uint8)
    blocked = mn.pq4_block(codes)
    ranges = np.array([[0, n]], np.int64)
    offsets = np.zeros(1, np.float32)
    k = min(TOPK, n)
    luts1, luts4 = mn.pq4_lut(queries[0], cent), mn.pq4_lut(queries, cent)
    fns = {
        "muvera-nano pq4_topk, 1 query": lambda: mn.pq4_topk(luts1, blocked, ranges, offsets, k, threads=a.threads),
        "muvera-nano pq4_topk, 4 queries per call": lambda: mn.pq4_topk(
            luts4, blocked, ranges, offsets, k, threads=a.threads
        ),
    }
    nq = {"muvera-nano pq4_topk, 1 query": 1, "muvera-nano pq4_topk, 4 queries per call": 4}
    # Recall of the fast scan's top k against exact ADC scores (float64 LUT) for query 0.
    lut = np.einsum("mkd,md->mk", cent.astype(np.float64), queries[0].reshape(FDE_M, -1).astype(np.float64))
    exact = np.zeros(n)
    for p in range(FDE_M // 2):
        exact += lut[2 * p][codes[:, p] & 15] + lut[2 * p + 1][codes[:, p] >> 4]
    ids, _ = fns["muvera-nano pq4_topk, 1 query"]()
    recall = len(set(ids.tolist()) & set(np.argsort(-exact)[:k].tolist())) / k
    if faiss is not None:
        faiss.omp_set_num_threads(a.threads)
        ipq = faiss.IndexPQ(FDE_DIM, FDE_M, 4, faiss.METRIC_INNER_PRODUCT)
        faiss.copy_array_to_vector(cent.ravel(), ipq.pq.centroids)
        ipq.is_trained = True
        ipq.add_sa_codes(codes)
        fast = faiss.IndexPQFastScan(ipq)
        del ipq
        fns["faiss IndexPQFastScan, 1 query"] = lambda: fast.search(queries[:1], k)
        fns["faiss IndexPQFastScan, 4 queries"] = lambda: fast.search(queries, k)
        nq["faiss IndexPQFastScan, 1 query"], nq["faiss IndexPQFastScan, 4 queries"] = 1, 4
    if n * FDE_DIM * 2 <= a.numpy_bytes:
        # float16 rows as the codes stand for (decoded centroids), then matvec + argpartition.
        dense = np.empty((n, FDE_DIM), np.float16)
        for c in range(0, n, 10000):
            dense[c : c + 10000] = mn.pq_decode(codes[c : c + 10000], cent)
        q16 = queries[0].astype(np.float16)

        def np_scan():
            with threadpool_limits(a.threads):
                s = dense @ q16
                return np.argpartition(-s, k - 1)[:k] if k < n else np.arange(n)

        fns["numpy float16 matvec + argpartition, 1 query"] = np_scan
        nq["numpy float16 matvec + argpartition, 1 query"] = 1
    res = alternate(fns, a.repeats)
    ref = res["muvera-nano pq4_topk, 1 query"]["median"]
    for name, t in res.items():
        row_bytes = FDE_DIM * 2 if name.startswith("numpy") else FDE_M // 2
        rate = n * nq[name] / t["median"]
        table.append(
            [
                f"{n:,}",
                name,
                common.fmt_rate(rate),
                f"{n * row_bytes / t['median'] / 1e9:.2f}",
                f"{t['median'] * 1e3:.2f}",
                f"{ref / (t['median'] / nq[name]):.2f}x",
            ]
        )
        out["scan"].append({"rows": n, "impl": name, **t, "rows_per_s": rate, "recall_vs_exact_adc": recall})
    table.append([f"{n:,}", f"(pq4_topk top-{k} recall vs exact ADC: {recall:.2f})", "", "", "", ""])


def bench_scan(a, rng, out):
    import numpy as np

    try:
        import faiss
    except ImportError:
        faiss = None
        out.setdefault("missing", []).append("faiss-cpu")
    cent = rng.standard_normal((FDE_M, 16, FDE_DIM // FDE_M)).astype(np.float32)
    queries = rng.standard_normal((4, FDE_DIM)).astype(np.float32)
    print(
        f"\n## 4-bit fast scan: {FDE_M} subspaces x 16 centroids x 4 dims ({FDE_M // 2} B per {FDE_DIM}-d row), "
        f"top {TOPK} of all rows, {a.threads} thread(s)"
    )
    table = []
    for n in a.scan_rows:
        scan_size(a, rng, out, n, cent, queries, faiss, table)
    headers = ["rows", "implementation", "rows x queries / s", "GB/s read", "ms per call (median)"]
    common.print_table([*headers, "per-query time: pq4 1-query / this"], table)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--docs", type=int, default=None)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    a.repeats = a.repeats or (2 if a.quick else 7)
    a.docs = a.docs or (200 if a.quick else 10000)
    a.encode_tokens = 20000 if a.quick else 1_000_000
    a.scan_rows = [1000, 10000] if a.quick else [1000, 100_000, 1_000_000]
    a.numpy_bytes = 4 << 30  # float16 rows up to 4 GB (the 1M-row set would be 20 GB)
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    import numpy as np

    out = {"machine": common.machine(), "threads": a.threads, "maxsim": [], "scan": []}
    print(
        f"CPU: {out['machine'].get('cpu')} ({out['machine'].get('isa')}), {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f} at start"
    )
    rng = np.random.default_rng(0)
    bench_maxsim(a, rng, out)
    bench_encode(a, rng, out)
    bench_scan(a, rng, out)
    out["load_average_end"] = os.getloadavg()
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end (other processes share the CPUs)")
    if out.get("missing"):
        print("missing peers: " + ", ".join(out["missing"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
