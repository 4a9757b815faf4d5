"""A load generator for the HTTP benchmarks, run as its own process (so its CPU use and event loop
are not the server's): N closed-loop clients (each sends its next request when the last answer
arrives, or after the Retry-After of a 503) or an open loop (Poisson arrivals at a fixed rate, whatever the answers do), over
keep-alive connections, with aiohttp. Bounded in time and in count; loopback addresses only.

    python bench/loadgen.py --url http://127.0.0.1:8000/search --bodies bodies.jsonl --clients 32 --seconds 20

Prints one JSON object: per request (sent at, latency, status) summarised as throughput, p50 /
p99 / p99.9 latency of the successful ones, and counts per status (0: the connection failed).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import sys
import time
import urllib.parse

import numpy as np


def _loopback_only(url: str) -> None:
    host = urllib.parse.urlsplit(url).hostname or ""
    ok = host == "localhost"
    try:
        ok = ok or ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if not ok:
        raise SystemExit(f"loadgen: {url} is not a loopback address; this generator only loads this machine")


class Recorder:
    def __init__(self):
        self.sent, self.latency, self.status = [], [], []
        self.failures: dict[str, int] = {}  # connection-level failures (status 0) by exception

    def add(self, sent: float, latency: float, status: int) -> None:
        self.sent.append(sent)
        self.latency.append(latency)
        self.status.append(status)


async def _one(
    session, method: str, url: str, body: bytes | None, headers: dict, rec: Recorder, t0: float, timeout
) -> tuple[int, str | None]:
    import aiohttp

    start = time.perf_counter()
    retry_after = None
    try:
        async with session.request(method, url, data=body, headers=headers, timeout=timeout) as r:
            await r.read()
            status = r.status
            retry_after = r.headers.get("Retry-After")
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
        status = 0
        rec.failures[type(e).__name__] = rec.failures.get(type(e).__name__, 0) + 1
    rec.add(start - t0, time.perf_counter() - start, status)
    return status, retry_after


async def run(args) -> dict:
    import aiohttp

    bodies = [line.encode() for line in open(args.bodies, encoding="utf-8") if line.strip()] if args.bodies else [None]
    headers = {"Content-Type": "application/json"} if args.bodies else {}
    if args.token:
        headers["Authorization"] = f"Bearer {args.token}"
    method = "POST" if args.bodies else "GET"
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    rec = Recorder()
    conns = args.clients if args.rate is None else args.max_in_flight
    connector = aiohttp.TCPConnector(limit=conns, force_close=False, enable_cleanup_closed=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        t0 = time.perf_counter()
        deadline = t0 + args.seconds
        counter = iter(range(args.max_requests))

        async def client(c: int) -> None:
            i = c
            while time.perf_counter() < deadline and next(counter, None) is not None:
                status, retry_after = await _one(
                    session, method, args.url, bodies[i % len(bodies)], headers, rec, t0, timeout
                )
                i += args.clients
                if status == 503 and retry_after:  # a well-behaved client waits as told
                    await asyncio.sleep(min(float(retry_after), max(0.0, deadline - time.perf_counter())))

        if args.rate is None:
            await asyncio.gather(*(client(c) for c in range(args.clients)))
        else:  # open loop: Poisson arrivals, at most max_in_flight outstanding (the rest count as dropped)
            rng = np.random.default_rng(args.seed)
            tasks, dropped, i, next_at = set(), 0, 0, t0
            while next_at < deadline and next(counter, None) is not None:
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                if len(tasks) >= args.max_in_flight:
                    dropped += 1
                else:
                    task = asyncio.create_task(
                        _one(session, method, args.url, bodies[i % len(bodies)], headers, rec, t0, timeout)
                    )
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                i += 1
                next_at += rng.exponential(1.0 / args.rate)
            if tasks:
                await asyncio.gather(*tasks)
            rec.dropped = dropped
        elapsed = time.perf_counter() - t0
    return summarise(rec, elapsed, args)


def summarise(rec: Recorder, elapsed: float, args) -> dict:
    status = np.asarray(rec.status, np.int64)
    lat = np.asarray(rec.latency) * 1000
    ok = lat[status == 200]
    counts = {str(s): int(n) for s, n in zip(*np.unique(status, return_counts=True))}

    def pct(q):
        return float(np.percentile(ok, q)) if len(ok) else None

    return {
        "clients": args.clients,
        "rate": args.rate,
        "seconds": elapsed,
        "requests": len(status),
        "ok": len(ok),
        "ok_per_s": len(ok) / elapsed,
        "status": counts,
        "p50_ms": pct(50),
        "p99_ms": pct(99),
        "p999_ms": pct(99.9),
        "max_ms": float(ok.max()) if len(ok) else None,
        "failures": rec.failures,
        "dropped_by_generator": getattr(rec, "dropped", 0),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--bodies", help="JSON lines, one request body each, sent in turn (POST); without: GET")
    p.add_argument("--clients", type=int, default=1, help="closed-loop clients")
    p.add_argument("--rate", type=float, default=None, help="open loop: requests per second (Poisson arrivals)")
    p.add_argument("--max-in-flight", type=int, default=1024, help="open loop: outstanding requests at most")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--max-requests", type=int, default=1_000_000)
    p.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    p.add_argument("--token", default=None)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    _loopback_only(args.url)
    try:
        import uvloop
    except ImportError:
        print(json.dumps(asyncio.run(run(args))))
    else:
        print(json.dumps(uvloop.run(run(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
