"""Running the app: the index and model loaded once (and warmed up) before the socket opens,
uvicorn on uvloop + httptools when present, and a graceful stop on SIGTERM or SIGINT (stop
accepting, answer the requests in flight, search what is queued, finish accepted changes, exit 0)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from collections.abc import Callable

from .settings import ServeSettings


def open_index(index_dir: str | os.PathLike, model: str | os.PathLike | None = None, *, threads: int | None = None):
    """(index, has_encoder): the index with its model loaded now (the given one, else the one it
    was built with), so that a missing model fails at start rather than on the first query."""
    from ..index import Index
    from ..model import load

    encoder = load(model, threads=threads) if model is not None else None
    # Merges run in the background: a write answers once committed, not after the merges its
    # commit triggers (which may rewrite large segments).
    index = Index.open(index_dir, encoder=encoder, merge="background")
    try:
        index.encoder  # noqa: B018 - loads the index's own model when none was given
    except ValueError:  # an index of token vectors only: text endpoints answer 422
        return index, False
    return index, True


def warm_up(index, has_encoder: bool) -> None:
    """One search per mode, so the first clients do not pay for page faults and lazy setup."""
    import numpy as np

    query = "warm up" if has_encoder else np.zeros((1, index.dim), np.float32)
    if len(index):
        for mode in ("rerank", "muvera"):
            index.search(query, k=1, mode=mode)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: a free one)."""
    where = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = where[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(2048)
    return sock


def run(
    index,
    settings: ServeSettings,
    *,
    has_encoder: bool = True,
    on_listening: Callable[[str], None] | None = None,
    sock: socket.socket | None = None,
) -> None:
    """Serves `index` until SIGTERM/SIGINT; returns after a graceful shutdown. sock: a listening
    socket to serve on instead of binding settings.host and settings.port."""
    import uvicorn

    from .app import create_app

    app = create_app(index, settings, has_encoder=has_encoder)
    sock = sock or bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"

    config = uvicorn.Config(
        app,
        loop=_have("uvloop", "uvloop", "asyncio"),
        http=_have("httptools", "httptools", "h11"),
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=settings.shutdown_seconds,
        limit_concurrency=settings.max_connections,
    )
    service = app.state.service

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame):
            service.draining = True  # readiness answers 503 from now on
            if sig == signal.SIGTERM:
                self.should_exit = True  # a graceful stop, then a normal exit
            else:
                super().handle_exit(sig, frame)

    if on_listening is not None:
        on_listening(url)
    try:
        Server(config).run(sockets=[sock])
    finally:
        index.close()  # stops a background merge (nothing half-written is ever published)


def _have(module: str, yes: str, no: str) -> str:
    try:
        __import__(module)
    except ImportError:
        return no
    return yes


def log_to_stderr(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("muvera_nano.serve")
    logger.addHandler(handler)
    logger.setLevel(level)
