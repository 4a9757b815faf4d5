"""The ASGI application (Starlette): routes, request reading and limits, auth on writes, metrics,
and errors as JSON (a failure inside a handler is logged and answered with a generic 500, never a
traceback). Searches go through the micro-batcher, changes through the writer thread; the event
loop only reads, checks and answers."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .batcher import QueueFull, SearchBatcher
from .errors import ApiError
from .metrics import Metrics
from .openapi import document
from .requests import bodies, finite_or_none
from .settings import ServeSettings, is_loopback
from .writer import Writer

ENDPOINTS = (
    "/search",
    "/search/vectors",
    "/documents",
    "/documents/delete",
    "/info",
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
)
RETRY_AFTER = {"Retry-After": "1"}


class Service:
    """What the handlers share: the index, its batcher and writer, the limits, the metrics."""

    def __init__(self, index, settings: ServeSettings, has_encoder: bool):
        from .. import __version__

        self.index, self.settings, self.has_encoder = index, settings, has_encoder
        self.batcher: SearchBatcher | None = None
        self.writer: Writer | None = None
        self.draining = False
        self.bodies = bodies(settings, index.dim)
        self.openapi = document(self.bodies, __version__)
        self.metrics = Metrics(
            queue_depth=lambda: self.batcher.depth() if self.batcher else 0,
            documents=lambda: len(self.index),
            segments=lambda: self.index.info()["segments"],
            index_bytes=lambda: sum(self.index.info()["bytes"].values()),
            generation=lambda: self.index.info()["generation"],
        )

    def start(self) -> None:
        s = self.settings
        self.batcher = SearchBatcher(
            self.index,
            max_queue=s.max_queue,
            max_batch=s.max_batch,
            wait_seconds=s.batch_wait_ms / 1000,
            deadline_seconds=s.deadline_ms / 1000,
            observe_batch=self.metrics.batch.observe,
        )
        self.writer = Writer(self.index, max_pending=s.max_writes)

    def stop(self) -> None:
        self.draining = True
        if self.batcher is not None:
            self.batcher.close(self.settings.shutdown_seconds)
        if self.writer is not None:
            self.writer.close()

    @property
    def ready(self) -> bool:
        return not self.draining and self.batcher is not None and self.batcher.alive()


# ---------------------------------------------------------------------------- reading requests
OFF_LOOP_BYTES = 64 << 10  # larger bodies are parsed on a thread: the event loop keeps answering


async def read_body(request: Request, body: str) -> dict:
    """The request's JSON body, checked against the body table `body` (see requests.py)."""
    svc = _service(request)
    data = await _read(request, svc.settings.max_body_bytes)
    parse = svc.bodies[body].parse
    if len(data) > OFF_LOOP_BYTES:
        return await asyncio.get_running_loop().run_in_executor(None, lambda: parse(_json(data)))
    return parse(_json(data))


async def _read(request: Request, max_bytes: int) -> bytes:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise ApiError(415, "unsupported_media_type", "the body must be JSON sent as Content-Type: application/json")
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > max_bytes):
        raise ApiError(413, "body_too_large", f"the body must be at most {max_bytes} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, "body_too_large", f"the body must be at most {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _json(data: bytes):
    try:
        return json.loads(data, parse_constant=_no_constants)
    except (ValueError, RecursionError) as e:
        message = (
            e.msg
            if isinstance(e, json.JSONDecodeError)
            else str(e)
            if isinstance(e, ValueError)
            else "nested too deeply"
        )
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {message}") from None


def _no_constants(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _service(request: Request) -> Service:
    return request.app.state.service


def _check_write(request: Request, s: ServeSettings) -> None:
    if s.token is None:
        if not s.writes_allowed:
            raise ApiError(
                403,
                "writes_disabled",
                "writes are disabled: the server listens on a non-loopback "
                "address without a token (set MUVERA_NANO_SERVE_TOKEN)",
            )
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), s.token.encode()):
        raise ApiError(
            401,
            "unauthorized",
            "this endpoint needs the header Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )


# ---------------------------------------------------------------------------- handlers
async def _search(request: Request, body: str) -> Response:
    svc = _service(request)
    req = await read_body(request, body)
    request.state.mode = req["mode"]
    if "query" in req and not svc.has_encoder:
        raise ApiError(
            422,
            "no_model",
            "this index has no model to encode text: search with /search/vectors, or start the server with --model",
        )
    t = time.perf_counter()
    try:
        fut = svc.batcher.submit(
            text=req.get("query"),
            vectors=req.get("vectors"),
            mode=req["mode"],
            k=req["k"],
            candidates=req["candidates"],
        )
    except QueueFull:
        raise _overloaded(svc.settings) from None
    except RuntimeError:
        raise ApiError(503, "shutting_down", "the server is shutting down", headers=RETRY_AFTER) from None
    try:
        result = await asyncio.wrap_future(fut)
    except QueueFull:  # a backlog held it past its deadline
        raise _overloaded(svc.settings) from None
    results = [{"id": i, "score": finite_or_none(s)} for i, s in zip(result.ids, result.scores.tolist())]
    return JSONResponse(
        {
            "results": results,
            "mode": req["mode"],
            "k": req["k"],
            "candidates": req["candidates"],
            "ms": round(1000 * (time.perf_counter() - t), 3),
        }
    )


def _overloaded(s: ServeSettings) -> ApiError:
    return ApiError(
        503,
        "overloaded",
        f"more searches than the server answers within {s.deadline_ms:g} ms (or {s.max_queue} queued); retry later",
        headers=RETRY_AFTER,
    )


async def search_text(request: Request) -> Response:
    return await _search(request, "SearchText")


async def search_vectors(request: Request) -> Response:
    return await _search(request, "SearchVectors")


async def _change(request: Request, body: str, change) -> Response:
    svc = _service(request)
    _check_write(request, svc.settings)
    req = await read_body(request, body)
    if req.get("texts") is not None and not svc.has_encoder:
        raise ApiError(
            422,
            "no_model",
            "this index has no model to encode text: add token vectors, or start the server with --model",
        )

    def apply(index):
        out = change(index, req)
        return out, len(index), index.info()["generation"]

    try:
        out, documents, generation = await svc.writer.run(apply)
    except QueueFull:
        raise ApiError(
            503, "overloaded", f"{svc.settings.max_writes} changes are waiting; retry later", headers=RETRY_AFTER
        ) from None
    except KeyError as e:
        raise ApiError(404, "not_found", str(e.args[0]) if e.args else "unknown id", field="ids") from None
    except (ValueError, TypeError) as e:
        raise ApiError(422, "rejected", str(e).splitlines()[0] if str(e) else type(e).__name__) from None
    return JSONResponse({**out, "documents": documents, "generation": generation})


async def add_documents(request: Request) -> Response:
    def change(index, req):
        if req["texts"] is not None:
            return {"ids": index.add(req["texts"], ids=req["ids"])}
        return {"ids": index.add(ids=req["ids"], token_vectors=req["vectors"])}

    return await _change(request, "AddDocuments", change)


async def remove_documents(request: Request) -> Response:
    return await _change(request, "RemoveDocuments", lambda index, req: {"removed": index.remove(req["ids"])})


async def info(request: Request) -> Response:
    svc = _service(request)
    data = {k: v for k, v in svc.index.info().items() if k not in ("path", "model")}  # no server paths
    s = svc.settings
    data["server"] = {
        "text_search": svc.has_encoder,
        "writes": "token" if s.token else "open" if s.writes_allowed else "disabled",
        "limits": {
            k: getattr(s, k)
            for k in (
                "max_queue",
                "deadline_ms",
                "max_batch",
                "batch_wait_ms",
                "max_writes",
                "max_body_bytes",
                "max_query_chars",
                "max_document_chars",
                "max_documents",
                "max_query_tokens",
                "max_document_tokens",
                "max_k",
                "max_candidates",
                "max_id_chars",
            )
        },
    }
    return JSONResponse(data)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    svc = _service(request)
    if not svc.ready:
        raise ApiError(503, "not_ready", "shutting down" if svc.draining else "not started")
    return JSONResponse({"status": "ready", "queue_depth": svc.batcher.depth()})


async def metrics(request: Request) -> Response:
    svc = _service(request)
    return Response(svc.metrics.render(), media_type=svc.metrics.content_type)


async def openapi(request: Request) -> Response:
    return JSONResponse(_service(request).openapi)


# ---------------------------------------------------------------------------- errors
async def _api_error(request: Request, exc: ApiError) -> Response:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    codes = {404: "not_found", 405: "method_not_allowed"}
    message = {
        404: f"no endpoint {request.url.path}; see /openapi.json",
        405: f"{request.method} is not allowed on {request.url.path}",
    }.get(exc.status_code, str(exc.detail))
    return JSONResponse(
        {"error": {"code": codes.get(exc.status_code, "http_error"), "message": message}},
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _internal_error(request: Request, exc: Exception) -> Response:
    # the traceback goes to the server's log (the server logs the exception), never to the client
    return JSONResponse({"error": {"code": "internal", "message": "internal server error"}}, status_code=500)


# ---------------------------------------------------------------------------- middleware
class Guard:
    """Outermost: refuses Host headers that are not this machine's when listening on loopback (a
    web page cannot reach the service through DNS rebinding), and records every request's status
    and latency per endpoint (and search mode)."""

    def __init__(self, app, service: Service):
        self.app, self.svc = app, service
        self.loopback = service.settings.loopback

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = 500

        async def send_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if self.loopback and not _local_host(scope):
                err = ApiError(
                    400,
                    "invalid_host",
                    "the Host header must name this machine (localhost, 127.0.0.1 "
                    "or [::1]) while the server listens on loopback",
                )
                await JSONResponse(err.body(), status_code=400)(scope, receive, send_status)
            else:
                await self.app(scope, receive, send_status)
        finally:
            path = scope["path"]
            endpoint = path if path in ENDPOINTS else "other"
            self.svc.metrics.observe(
                endpoint, scope.get("state", {}).get("mode", ""), status, time.perf_counter() - start
            )


def _local_host(scope) -> bool:
    host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
    if host.startswith("["):
        name = host[1:].split("]", 1)[0]
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return is_loopback(name)


# ---------------------------------------------------------------------------- the app
def create_app(index, settings: ServeSettings | None = None, *, has_encoder: bool = True) -> Starlette:
    """The ASGI app serving `index` (a muvera_nano.index.Index, its encoder loaded when
    `has_encoder`). The batcher and writer threads start with the app's lifespan and stop
    after the last request (searches queued by then are answered)."""
    service = Service(index, settings or ServeSettings(), has_encoder)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        service.start()
        refresher = asyncio.create_task(service.writer.refresh_forever(service.settings.refresh_seconds))
        try:
            yield
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
            await asyncio.get_running_loop().run_in_executor(None, service.stop)

    routes = [
        Route("/search", search_text, methods=["POST"]),
        Route("/search/vectors", search_vectors, methods=["POST"]),
        Route("/documents", add_documents, methods=["POST"]),
        Route("/documents/delete", remove_documents, methods=["POST"]),
        Route("/info", info),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/openapi.json", openapi),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _internal_error},
    )
    app.state.service = service
    app.add_middleware(Guard, service=service)
    return app
