"""Which ASGI stack to serve with: requests/s of a trivial GET and of a text search (through the
service's micro-batcher, rerank over a small index) on Starlette and FastAPI under uvicorn
(uvloop + httptools, and its pure-Python asyncio + h11 fallback) and Starlette under granian.
Each server is its own process, the load generator another (bench/loadgen.py, closed loop);
the variants alternate over several rounds in one run and the medians are reported.

    python bench/bench_serve_stack.py --rounds 3 --seconds 8
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import serve_corpus  # noqa: E402

VARIANTS = {
    "starlette+uvicorn": [
        "uvicorn",
        "--factory",
        "stack_apps:starlette_app",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
    ],
    "fastapi+uvicorn": ["uvicorn", "--factory", "stack_apps:fastapi_app", "--loop", "uvloop", "--http", "httptools"],
    "starlette+uvicorn(asyncio,h11)": [
        "uvicorn",
        "--factory",
        "stack_apps:starlette_app",
        "--loop",
        "asyncio",
        "--http",
        "h11",
    ],
    "starlette+granian": [
        "granian",
        "--interface",
        "asgi",
        "--workers",
        "1",
        "--loop",
        "uvloop",
        "--factory",
        "stack_apps:starlette_app",
    ],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(variant: str, index: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    args = VARIANTS[variant]
    where = ["--host", "127.0.0.1", "--port", str(port)]
    if args[0] == "uvicorn":
        where += ["--no-access-log", "--log-level", "warning"]
    else:
        where += ["--no-access-log", "--log-level", "warning"]
    env = dict(os.environ, MUVERA_AB_INDEX=str(index), PYTHONPATH=str(HERE))
    proc = subprocess.Popen(
        [sys.executable, "-m", args[0], *args[1:], *where],
        env=env,
        cwd=HERE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1).read()
            return proc, port
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"{variant} exited: {proc.stderr.read().decode()[-2000:]}") from None
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{variant} did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.stderr.close()


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its descendants (granian serves from a child process)."""
    parent_of, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent_of[int(entry)] = int(fields[1])
            cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def descends(p: int) -> bool:
        while p > 1:
            if p == pid:
                return True
            p = parent_of.get(p, 0)
        return False

    return sum(c for p, c in cpu.items() if descends(p))


def load(port: int, path: str, bodies: str | None, clients: int, seconds: float, server_pid: int) -> dict:
    cmd = [
        sys.executable,
        str(HERE / "loadgen.py"),
        "--url",
        f"http://127.0.0.1:{port}{path}",
        "--clients",
        str(clients),
        "--seconds",
        str(seconds),
    ]
    if bodies:
        cmd += ["--bodies", bodies]
    cpu = tree_cpu_seconds(server_pid)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["per_cpu_s"] = result["ok"] / max(1e-9, tree_cpu_seconds(server_pid) - cpu)
    return result


def _median(values) -> str:
    values = [v for v in values if v is not None]
    return f"{statistics.median(values):.2f}" if values else "-"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "muvera-serve-bench")
    p.add_argument("--documents", type=int, default=10_000)
    p.add_argument("--backend", default="exact")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--variants", nargs="*", default=list(VARIANTS))
    args = p.parse_args()

    index = serve_corpus.build_index(args.workdir, args.documents, backend=args.backend)
    bodies = args.workdir / "stack-bodies.jsonl"
    bodies.write_text("".join(json.dumps({"query": q, "k": 10}) + "\n" for q in serve_corpus.queries(2000)))
    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor(),
    )
    print(
        f"# ASGI stack A/B: {cpu}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {args.clients} closed-loop clients, "
        f"{args.rounds} rounds x {args.seconds:.0f} s, search = rerank@100 over {args.documents} documents "
        f"({args.backend}), nano-shaped model, encoding included"
    )
    runs: dict[tuple[str, str], list[dict]] = {}
    for r in range(args.rounds):
        order = args.variants if r % 2 == 0 else list(reversed(args.variants))
        for variant in order:
            proc, port = start(variant, index)
            try:
                pid = proc.pid
                load(port, "/ping", None, args.clients, 2, pid)  # warm-up
                runs.setdefault((variant, "trivial GET"), []).append(
                    load(port, "/ping", None, args.clients, args.seconds, pid)
                )
                load(port, "/search", str(bodies), args.clients, 2, pid)
                runs.setdefault((variant, "search"), []).append(
                    load(port, "/search", str(bodies), args.clients, args.seconds, pid)
                )
                print(
                    f"  round {r + 1} {variant}: "
                    + ", ".join(f"{e} {runs[(variant, e)][-1]['ok_per_s']:.0f}/s" for e in ("trivial GET", "search")),
                    flush=True,
                )
            finally:
                stop(proc)
    print(
        f"\nload average at the end {os.getloadavg()[0]:.1f} (the machine is shared: requests per CPU-second "
        "of the server's processes is the steadier measure)"
    )
    print(
        "\n| stack | endpoint | requests/s (median, min-max) | requests per server CPU-s (median, min-max) | "
        "p50 ms | p99 ms | errors |"
    )
    print("|---|---|---|---|---|---|---|")
    for (variant, endpoint), rs in runs.items():
        rates = [x["ok_per_s"] for x in rs]
        errors = sum(x["requests"] - x["ok"] for x in rs)
        eff = [x["per_cpu_s"] for x in rs]
        print(
            f"| {variant} | {endpoint} | {statistics.median(rates):,.0f} ({min(rates):,.0f}-{max(rates):,.0f}) | "
            f"{statistics.median(eff):,.0f} ({min(eff):,.0f}-{max(eff):,.0f}) | "
            f"{_median(x['p50_ms'] for x in rs)} | {_median(x['p99_ms'] for x in rs)} "
            f"| {errors} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
