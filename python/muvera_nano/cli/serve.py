"""`muvera-nano serve INDEX_DIR`: the index behind an HTTP/JSON search service."""

from __future__ import annotations

import argparse
import os
import sys

from . import CommandError

TOKEN_ENV = "MUVERA_NANO_SERVE_TOKEN"
EXAMPLES = f"""examples:
  muvera-nano serve ./my-index
  curl -s localhost:8000/search -H 'Content-Type: application/json' -d '{{"query": "sort a list", "k": 5}}'
  {TOKEN_ENV}=$(cat token) muvera-nano serve ./my-index --host 0.0.0.0 --port 8080 --threads 2

endpoints: POST /search, /search/vectors, /documents, /documents/delete; GET /info, /healthz, /readyz,
/metrics (Prometheus), /openapi.json. Writes need 'Authorization: Bearer TOKEN' when a token is set
(${TOKEN_ENV} or --token-file) and are refused on a non-loopback address without one.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "serve",
        help="serve an index over HTTP (JSON search, add/remove, metrics)",
        description="Serve an index over HTTP: the model and index are loaded once, concurrent "
        "searches are micro-batched, the queue is bounded (503 + Retry-After past "
        "it), and SIGTERM stops gracefully. Needs: pip install 'muvera-nano[serve]'.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("index", metavar="INDEX_DIR")
    p.add_argument(
        "--model", help="model folder, PyLate checkpoint folder or hub id (default: the model the index was built with)"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (0: a free one, printed at start)")
    p.add_argument("--threads", type=int, default=None, help="threads for the encoder and kernels (default: cores)")
    p.add_argument("--token-file", help=f"file holding the bearer token for writes (or set {TOKEN_ENV})")
    p.add_argument("--max-queue", type=int, default=64, help="searches waiting at most; past it 503 (default 64)")
    p.add_argument(
        "--deadline-ms",
        type=float,
        default=100.0,
        help="the latency accepted searches are held to: a search predicted to finish later gets 503 at once "
        "unless nothing is ahead of it (default 100)",
    )
    p.add_argument("--max-batch", type=int, default=32, help="queries searched together at most (default 32)")
    p.add_argument(
        "--batch-wait-ms",
        type=float,
        default=1.0,
        help="how long a batch waits for more queries before it starts (default 1 ms)",
    )
    p.add_argument("--max-body-mb", type=float, default=8.0, help="largest request body (default 8 MB)")
    p.set_defaults(func=run)


def _token(args) -> str | None:
    if args.token_file:
        try:
            with open(args.token_file, encoding="utf-8") as f:
                return f.read().strip()
        except OSError as e:
            raise CommandError(f"--token-file {args.token_file}: {e.strerror}") from None
    return os.environ.get(TOKEN_ENV) or None


def run(args) -> int:
    from .. import serve

    try:
        serve.require()
    except ImportError as e:
        raise CommandError(str(e)) from None
    if args.threads is not None:
        if args.threads < 1:
            raise CommandError(f"--threads must be >= 1, got {args.threads}")
        import muvera_nano

        muvera_nano.set_num_threads(args.threads)  # the kernels' and the encoder's default
    settings = serve.ServeSettings(
        host=args.host,
        port=args.port,
        token=_token(args),
        max_queue=args.max_queue,
        deadline_ms=args.deadline_ms,
        max_batch=args.max_batch,
        batch_wait_ms=args.batch_wait_ms,
        max_body_bytes=max(1, int(args.max_body_mb * (1 << 20))),
    )
    from ..serve import server

    server.log_to_stderr()
    index, has_encoder = server.open_index(args.index, args.model, threads=args.threads)
    server.warm_up(index, has_encoder)
    if not settings.writes_allowed:
        print(
            f"muvera-nano serve: {settings.host} is not a loopback address and no token is set: writes are refused",
            file=sys.stderr,
        )

    def listening(url: str) -> None:
        print(
            f"muvera-nano serve: {len(index)} documents ({index.backend}), listening on {url}",
            file=sys.stderr,
            flush=True,
        )

    server.run(index, settings, has_encoder=has_encoder, on_listening=listening)
    return 0
