"""The two endpoints of the stack A/B (bench_serve_stack.py) written once per framework: a trivial
GET and a text search through the service's micro-batcher, on the index in $MUVERA_AB_INDEX.
Only the framework differs between the apps; the server (uvicorn, granian) is chosen by the caller."""

import asyncio
import os

# (no `from __future__ import annotations`: FastAPI reads the handler's annotations at run time)


def _batcher():
    from muvera_nano.index import Index
    from muvera_nano.serve.batcher import SearchBatcher

    index = Index.open(os.environ["MUVERA_AB_INDEX"])
    index.search("warm up", k=10)
    return SearchBatcher(index, max_queue=1024, max_batch=32, wait_seconds=0.001, deadline_seconds=60.0)


def _results(result) -> dict:
    return {"results": [{"id": i, "score": float(s)} for i, s in zip(result.ids, result.scores.tolist())]}


def starlette_app():
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    batcher = _batcher()

    async def ping(request):
        return JSONResponse({"status": "ok"})

    async def search(request):
        body = await request.json()
        fut = batcher.submit(text=body["query"], mode="rerank", k=int(body.get("k", 10)), candidates=100)
        return JSONResponse(_results(await asyncio.wrap_future(fut)))

    return Starlette(routes=[Route("/ping", ping), Route("/search", search, methods=["POST"])])


def _search_model():
    from pydantic import BaseModel, Field

    class SearchText(BaseModel):
        query: str = Field(min_length=1, max_length=2000)
        k: int = Field(10, ge=1, le=1000)

    return SearchText


def fastapi_app():
    from fastapi import FastAPI

    batcher = _batcher()
    app = FastAPI()
    SearchText = _search_model()

    @app.get("/ping")
    async def ping():
        return {"status": "ok"}

    @app.post("/search")
    async def search(body: SearchText):
        fut = batcher.submit(text=body.query, mode="rerank", k=body.k, candidates=100)
        return _results(await asyncio.wrap_future(fut))

    return app
