"""Load benchmark of `muvera-nano serve`: a real server process over an index of real-text
documents encoded by the nano-shaped model (bench/serve_corpus.py), driven over loopback by a
closed-loop load generator in its own process (bench/loadgen.py). Encoding is included: every
request is a query text.

Phases (each bounded in time):
  1. where a query's time goes, in-process: encoding, candidate search, rerank (per query, in
     batches of --max-batch), so the served figures can be read against what the index costs;
  2. throughput and p50 / p99 / p99.9 latency at 1, 8, 32 and 128 closed-loop clients per mode,
     with the server's CPU use;
  3. overload: an open loop (Poisson arrivals) at --overload times the throughput measured at 32
     clients: latency of the accepted requests, share answered 503;
  4. one writer adding a document per second while 32 clients search;
  5. the soak: 32 clients for --soak-minutes, sampling RSS, open files, refusals (503) and errors
     (any other status) over time.
The server serves a hard-linked copy of the cached index (files are immutable, so the writes of
phases 4-5 leave the cache as it was).

    python bench/bench_serve.py --documents 100000 --backend hnsw --json serve.json
    python bench/bench_serve.py --quick        (a tiny index, seconds per phase; what the tests run)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import serve_corpus  # noqa: E402


# ---------------------------------------------------------------------------- the server process
class ServerProcess:
    def __init__(self, index: Path, args):
        cmd = [
            sys.executable,
            "-m",
            "muvera_nano.cli",
            "serve",
            str(index),
            "--port",
            "0",
            "--threads",
            str(args.threads),
            "--max-queue",
            str(args.max_queue),
            "--deadline-ms",
            str(args.deadline_ms),
            "--max-batch",
            str(args.max_batch),
            "--batch-wait-ms",
            str(args.batch_wait_ms),
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log: list[str] = []
        self.url = None
        ready = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.log.append(line)
                m = re.search(r"listening on (http://\S+)", line)
                if m:
                    self.url = m.group(1)
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(600) or self.url is None:
            self.proc.kill()
            raise SystemExit("the server did not start:\n" + "".join(self.log[-30:]))
        deadline = time.time() + 600
        while True:
            try:
                urllib.request.urlopen(self.url + "/readyz", timeout=5).read()
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise SystemExit("the server did not become ready:\n" + "".join(self.log[-30:])) from None
                time.sleep(0.2)

    def cpu_seconds(self) -> float:
        fields = open(f"/proc/{self.proc.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self, kind: str = "VmRSS") -> float:
        """Resident memory: VmRSS (all), RssAnon (the heap: where a leak would show) or RssFile
        (pages of the memory-mapped index, which grow as searches touch them)."""
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith(kind + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def open_files(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def statuses(self) -> dict:
        """Requests answered so far per (endpoint, status), from the server's own metrics."""
        text = urllib.request.urlopen(self.url + "/metrics", timeout=30).read().decode()
        out = {}
        for m in re.finditer(r'^muvera_nano_requests_total\{endpoint="([^"]+)",status="(\d+)"\} (\S+)$', text, re.M):
            out[f"{m.group(1)} {m.group(2)}"] = int(float(m.group(3)))
        return out

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def loadgen(url: str, bodies: Path, *, clients: int = 1, rate: float | None = None, seconds: float) -> dict:
    cmd = [
        sys.executable,
        str(HERE / "loadgen.py"),
        "--url",
        url,
        "--bodies",
        str(bodies),
        "--seconds",
        str(seconds),
        "--clients",
        str(clients),
    ]
    if rate is not None:
        cmd += ["--rate", str(rate)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit("load generator failed:\n" + out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_bodies(path: Path, queries: list[str], mode: str, candidates: int) -> Path:
    path.write_text(
        "".join(json.dumps({"query": q, "k": 10, "mode": mode, "candidates": candidates}) + "\n" for q in queries)
    )
    return path


# ---------------------------------------------------------------------------- phases
def breakdown(index_path: Path, queries: list[str], args) -> dict:
    """Per query (ms), in batches of max_batch, in this process: encoding, the candidate stage
    (mode muvera with k = candidates) and the whole rerank search, medians of a few rounds."""
    import muvera_nano
    from muvera_nano.index import Index

    muvera_nano.set_num_threads(args.threads)
    idx = Index.open(index_path)
    b = args.max_batch
    batches = [queries[i : i + b] for i in range(0, min(len(queries), 5 * b), b)]
    idx.search(batches[0][:2], k=10)  # warm-up
    times: dict[str, list[float]] = {"encode": [], "candidates": [], "rerank search": []}
    for batch in batches:
        t = time.perf_counter()
        vectors = idx.encode_queries(batch)
        times["encode"].append((time.perf_counter() - t) / len(batch))
        t = time.perf_counter()
        idx.search(vectors, k=args.candidates, mode="muvera")
        times["candidates"].append((time.perf_counter() - t) / len(batch))
        t = time.perf_counter()
        idx.search(vectors, k=10, mode="rerank", n_candidates=args.candidates)
        times["rerank search"].append((time.perf_counter() - t) / len(batch))
    out = {k: 1000 * statistics.median(v) for k, v in times.items()}
    out["rerank (search - candidates)"] = out["rerank search"] - out["candidates"]
    out["bound queries/s (encode + rerank search)"] = 1000 / (out["encode"] + out["rerank search"])
    return out


def sweep(server: ServerProcess, workdir: Path, queries: list[str], args) -> list[dict]:
    rows = []
    for mode in args.modes:
        bodies = write_bodies(workdir / f"bodies-{mode}.jsonl", queries, mode, args.candidates)
        loadgen(server.url + "/search", bodies, clients=8, seconds=min(3.0, args.seconds))  # warm-up
        for clients in args.clients:
            cpu = server.cpu_seconds()
            r = loadgen(server.url + "/search", bodies, clients=clients, seconds=args.seconds)
            r["server_cores"] = (server.cpu_seconds() - cpu) / r["seconds"]
            r["mode"] = mode
            rows.append(r)
            print(
                f"  {mode:7s} {clients:4d} clients: {r['ok_per_s']:8.1f} ok/s  p50 {_ms(r['p50_ms'])}  "
                f"p99 {_ms(r['p99_ms'])}  statuses {r['status']}",
                flush=True,
            )
    return rows


STAGES = (  # (stage, a frame that marks it), first match from the leaf up
    ("encode queries (onnxruntime)", "encode_ragged"),
    ("query FDEs", "FDEConfig.encode_queries"),
    ("graph candidates (usearch)", "graph_candidates"),
    ("candidates: FDE scan / scoring", "fde_candidates"),
    ("rerank: MaxSim of candidates", "rescore"),
    ("exact MaxSim (maxsim mode)", "exact ("),
    ("ids of results", "ids_of"),
)


def profile(server: ServerProcess, bodies: Path, seconds: float) -> dict | None:
    """py-spy samples of the server while 32 clients search: each thread's busy share, and the
    search worker's time by stage. None without py-spy."""
    spy = shutil.which("py-spy")
    if spy is None:
        return None
    raw = bodies.with_suffix(".pyspy.txt")
    gen = threading.Thread(
        target=loadgen,
        args=(server.url + "/search", bodies),
        kwargs={"clients": 32, "seconds": seconds + 2},
        daemon=True,
    )
    gen.start()
    time.sleep(1)
    rate = 100
    subprocess.run(
        [
            spy,
            "record",
            "--pid",
            str(server.proc.pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--threads",
            "--nonblocking",
            "-o",
            str(raw),
        ],
        capture_output=True,
        check=True,
    )
    gen.join()
    threads: dict[str, int] = {}
    stages: dict[str, int] = {}
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        name = frames[0].split(": ", 1)[-1] if frames[0].startswith("thread") else frames[0]
        name = "event loop (HTTP, JSON, validation)" if name == "MainThread" else name
        threads[name] = threads.get(name, 0) + int(count)
        if "muvera-nano-search" in frames[0]:
            stage = next((label for label, mark in STAGES if any(mark in f for f in frames)), "other")
            stages[stage] = stages.get(stage, 0) + int(count)
    expected = rate * int(seconds)
    search_samples = max(1, sum(stages.values()))
    return {
        "busy_share_by_thread": {k: round(v / expected, 3) for k, v in sorted(threads.items(), key=lambda kv: -kv[1])},
        "search_worker_by_stage": {
            k: round(v / search_samples, 3) for k, v in sorted(stages.items(), key=lambda kv: -kv[1])
        },
    }


def overload(server: ServerProcess, workdir: Path, queries: list[str], capacity: float, args) -> dict:
    bodies = write_bodies(workdir / "bodies-overload.jsonl", queries, "rerank", args.candidates)
    rate = args.overload * capacity
    r = loadgen(server.url + "/search", bodies, rate=rate, seconds=args.seconds)
    r["capacity_per_s"] = capacity
    r["share_503"] = r["status"].get("503", 0) / max(1, r["requests"])
    print(
        f"  overload at {rate:.0f}/s: {r['ok_per_s']:.1f} ok/s, p99 {_ms(r['p99_ms'])}, "
        f"503 share {r['share_503']:.2f}, statuses {r['status']}",
        flush=True,
    )
    return r


class Writer(threading.Thread):
    """Adds one document per `every` seconds through the API; records latency and status."""

    def __init__(self, url: str, texts: list[str], every: float, seconds: float):
        super().__init__(daemon=True)
        self.url, self.texts, self.every, self.seconds = url, texts, every, seconds
        self.latency, self.status = [], []

    def run(self) -> None:
        start = time.perf_counter()
        i = 0
        while time.perf_counter() - start < self.seconds:
            body = json.dumps({"texts": [self.texts[i % len(self.texts)]]}).encode()
            req = urllib.request.Request(
                self.url + "/documents", data=body, headers={"Content-Type": "application/json"}
            )
            t = time.perf_counter()
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    r.read()
                    self.status.append(r.status)
            except urllib.error.HTTPError as e:
                self.status.append(e.code)
            except OSError:
                self.status.append(0)
            self.latency.append(time.perf_counter() - t)
            i += 1
            time.sleep(max(0.0, start + i * self.every - time.perf_counter()))


def with_writer(server: ServerProcess, workdir: Path, queries: list[str], args) -> dict:
    bodies = write_bodies(workdir / "bodies-writer.jsonl", queries, "rerank", args.candidates)
    writer = Writer(server.url, serve_corpus.documents(1000, seed=7), 1.0, args.seconds)
    writer.start()
    r = loadgen(server.url + "/search", bodies, clients=32, seconds=args.seconds)
    writer.join()
    ms = [1000 * x for x in writer.latency]
    r["writes"] = {"count": len(ms), "ok": writer.status.count(200), "p50_ms": statistics.median(ms), "max_ms": max(ms)}
    print(f"  with a writer: {r['ok_per_s']:.1f} ok/s, p99 {_ms(r['p99_ms'])}; writes {r['writes']}", flush=True)
    return r


def soak(server: ServerProcess, workdir: Path, queries: list[str], args) -> dict:
    bodies = write_bodies(workdir / "bodies-soak.jsonl", queries, "rerank", args.candidates)
    seconds = 60 * args.soak_minutes
    samples = []
    result = {}
    before = server.statuses()
    gen = threading.Thread(
        target=lambda: result.update(loadgen(server.url + "/search", bodies, clients=32, seconds=seconds)), daemon=True
    )
    start = time.perf_counter()
    gen.start()
    while gen.is_alive():
        gen.join(args.soak_every)
        s = {k: v - before.get(k, 0) for k, v in server.statuses().items()}
        samples.append(
            {
                "t_s": round(time.perf_counter() - start, 1),
                "rss_mb": round(server.rss_mb(), 1),
                "rss_anon_mb": round(server.rss_mb("RssAnon"), 1),
                "open_files": server.open_files(),
                "search_ok": s.get("/search 200", 0),
                "search_refused": s.get("/search 503", 0),  # overload answered with Retry-After: by design
                "search_errors": sum(
                    v for k, v in s.items() if k.startswith("/search") and not k.endswith((" 200", " 503"))
                ),
            }
        )
        print(f"  soak {samples[-1]}", flush=True)
    first = samples[min(1, len(samples) - 1)]  # after the first interval: warm
    last = samples[-1]
    result["samples"] = samples
    result["rss_growth"] = last["rss_mb"] / first["rss_mb"] - 1
    result["rss_anon_growth"] = last["rss_anon_mb"] / first["rss_anon_mb"] - 1
    return result


# ---------------------------------------------------------------------------- output
def _ms(v) -> str:
    return "-" if v is None else f"{v:.1f}"


def report(out: dict) -> None:
    print(
        f"\n# muvera-nano serve under load: {out['cpu']}, {out['cores']} cores, load average before "
        f"{out['load_before']}, after {out['load_after']}"
    )
    s = out["settings"]
    print(
        f"index: {s['documents']:,} documents ({s['backend']}, tokens {s['token_dtype']}, FDE {s['fde_dtype']}), "
        f"nano-shaped model (random weights), real-text queries, k=10, {s['candidates']} candidates; server "
        f"--threads {s['threads']} --max-queue {s['max_queue']} --deadline-ms {s['deadline_ms']} --max-batch "
        f"{s['max_batch']} --batch-wait-ms {s['batch_wait_ms']}"
    )
    if "breakdown" in out:
        print("\n## where a query's time goes (in-process, per query in batches of max-batch, ms)\n")
        for k, v in out["breakdown"].items():
            print(f"- {k}: {v:.2f}")
    print("\n## closed loop\n")
    print(
        "| mode | clients | requests/s | p50 ms | p99 ms | p99.9 ms | 503 | other errors | server cores | "
        "requests per server CPU-s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in out.get("sweep", []):
        errors = sum(n for st, n in r["status"].items() if st not in ("200", "503"))
        print(
            f"| {r['mode']} | {r['clients']} | {r['ok_per_s']:.1f} | {_ms(r['p50_ms'])} | {_ms(r['p99_ms'])} | "
            f"{_ms(r['p999_ms'])} | {r['status'].get('503', 0)} | {errors} | {r['server_cores']:.2f} | "
            f"{r['ok_per_s'] / max(r['server_cores'], 1e-9):.0f} |"
        )
    if out.get("profile"):
        print("\n## where the server's time goes (py-spy, 32 clients, rerank)\n")
        print(
            "busy share of each thread (1.0 = one core all the time): "
            + ", ".join(f"{k} {v:.2f}" for k, v in out["profile"]["busy_share_by_thread"].items())
        )
        print(
            "\nsearch worker by stage: "
            + ", ".join(f"{k} {100 * v:.0f}%" for k, v in out["profile"]["search_worker_by_stage"].items())
        )
    if "overload" in out:
        o = out["overload"]
        print(
            f"\n## overload: open loop at {out['settings']['overload']}x the 32-client throughput "
            f"({o['capacity_per_s']:.0f}/s -> {o['rate']:.0f}/s)\n"
        )
        print(
            f"accepted {o['ok_per_s']:.1f}/s, p50 {_ms(o['p50_ms'])} ms, p99 {_ms(o['p99_ms'])} ms, p99.9 "
            f"{_ms(o['p999_ms'])} ms; 503 share {o['share_503']:.2f}; statuses {o['status']}"
        )
    if "writer" in out:
        w = out["writer"]
        print(
            f"\n## 32 clients + one writer adding a document per second\n\nsearch {w['ok_per_s']:.1f}/s, p50 "
            f"{_ms(w['p50_ms'])} ms, p99 {_ms(w['p99_ms'])} ms, statuses {w['status']}; writes {w['writes']}"
        )
    if "soak" in out:
        k = out["soak"]
        print(
            f"\n## soak: 32 clients, {out['settings']['soak_minutes']} min\n\nsearch {k['ok_per_s']:.1f}/s, p99 "
            f"{_ms(k['p99_ms'])} ms, statuses {k['status']}; growth after the first interval: RSS "
            f"{100 * k['rss_growth']:.1f}%, of which the heap (RssAnon) {100 * k['rss_anon_growth']:.1f}%\n"
        )
        print(
            "| t s | RSS MB | heap (RssAnon) MB | open files | search ok | refused (503) | search errors |\n"
            "|---|---|---|---|---|---|---|"
        )
        for x in k["samples"]:
            print(
                f"| {x['t_s']} | {x['rss_mb']} | {x['rss_anon_mb']} | {x['open_files']} | {x['search_ok']} | "
                f"{x['search_refused']} | {x['search_errors']} |"
            )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "muvera-serve-bench")
    p.add_argument("--documents", type=int, default=100_000)
    p.add_argument("--backend", default="hnsw")
    p.add_argument("--token-dtype", default="float16")
    p.add_argument("--fde-dtype", default="float16")
    p.add_argument("--candidates", type=int, default=100)
    p.add_argument("--modes", nargs="+", default=["rerank", "muvera"])
    p.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32, 128])
    p.add_argument("--seconds", type=float, default=20.0, help="per load point")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-queue", type=int, default=64)
    p.add_argument("--deadline-ms", type=float, default=100.0)
    p.add_argument("--max-batch", type=int, default=32)
    p.add_argument("--batch-wait-ms", type=float, default=1.0)
    p.add_argument("--overload", type=float, default=4.0)
    p.add_argument("--soak-minutes", type=float, default=20.0)
    p.add_argument("--soak-every", type=float, default=30.0, help="seconds between soak samples")
    p.add_argument("--skip", nargs="*", default=[], choices=["breakdown", "sweep", "overload", "writer", "soak"])
    p.add_argument(
        "--no-profile",
        dest="profile",
        action="store_false",
        help="skip the py-spy profile of the server (taken when py-spy is installed)",
    )
    p.add_argument("--quick", action="store_true", help="a tiny index and a few seconds per phase")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    if args.quick:
        args.documents, args.backend, args.seconds, args.clients = 200, "exact", 1.5, [1, 8]
        args.soak_minutes, args.soak_every, args.modes, args.profile = 0.05, 1.0, ["rerank"], False

    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor(),
    )
    out = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_before": os.getloadavg()[0],
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    cached = serve_corpus.build_index(
        args.workdir,
        args.documents,
        backend=args.backend,
        token_dtype=args.token_dtype,
        fde_dtype=args.fde_dtype,
        threads=args.threads,
    )
    queries = serve_corpus.queries(5000)
    if "breakdown" not in args.skip:
        out["breakdown"] = breakdown(cached, queries, args)
        print(f"  breakdown {out['breakdown']}", flush=True)
    copy = args.workdir / "serving-copy"
    shutil.rmtree(copy, ignore_errors=True)
    subprocess.run(["cp", "-al", str(cached), str(copy)], check=True)  # immutable files: links suffice
    server = ServerProcess(copy, args)
    try:
        if "sweep" not in args.skip:
            out["sweep"] = sweep(server, args.workdir, queries, args)
        if args.profile:
            bodies = write_bodies(args.workdir / "bodies-profile.jsonl", queries, "rerank", args.candidates)
            out["profile"] = profile(server, bodies, min(10.0, args.seconds))
            print(f"  profile {out['profile']}", flush=True)
        if "overload" not in args.skip:
            base = [
                r
                for r in out.get("sweep", [])
                if r["mode"] == "rerank" and r["clients"] == max(c for c in args.clients if c <= 32)
            ]
            capacity = (
                base[0]["ok_per_s"]
                if base
                else loadgen(
                    server.url + "/search",
                    write_bodies(args.workdir / "b.jsonl", queries, "rerank", args.candidates),
                    clients=32,
                    seconds=args.seconds,
                )["ok_per_s"]
            )
            out["overload"] = overload(server, args.workdir, queries, capacity, args)
        if "writer" not in args.skip:
            out["writer"] = with_writer(server, args.workdir, queries, args)
        if "soak" not in args.skip:
            out["soak"] = soak(server, args.workdir, queries, args)
    finally:
        code = server.stop()
        shutil.rmtree(copy, ignore_errors=True)
    out["server_exit_code"] = code
    out["server_log_tracebacks"] = sum("Traceback" in line for line in server.log)
    out["load_after"] = os.getloadavg()[0]
    report(out)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0 if code == 0 and out["server_log_tracebacks"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
