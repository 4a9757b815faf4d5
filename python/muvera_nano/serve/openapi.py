"""The OpenAPI 3.1 document, built from the request bodies' own field tables (requests.py)."""

from __future__ import annotations

from .errors import ERROR_SCHEMA

_ID = {"oneOf": [{"type": "integer"}, {"type": "string"}]}
_RESULTS = {
    "type": "object",
    "required": ["results", "mode", "k", "candidates", "ms"],
    "properties": {
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "score"],
                "properties": {"id": _ID, "score": {"type": ["number", "null"], "description": "null for a NaN score"}},
            },
        },
        "mode": {"type": "string"},
        "k": {"type": "integer"},
        "candidates": {"type": "integer"},
        "ms": {"type": "number", "description": "time in the server: queue, encoding and search"},
    },
}
_CHANGE = {
    "type": "object",
    "required": ["documents", "generation"],
    "properties": {
        "ids": {"type": "array", "items": _ID, "description": "ids added"},
        "removed": {"type": "integer"},
        "documents": {"type": "integer", "description": "live documents after the change"},
        "generation": {"type": "integer", "description": "the committed generation holding the change"},
    },
}
_STATUS = {"type": "object", "properties": {"status": {"type": "string"}}}


def _errors(*statuses: int) -> dict:
    text = {
        400: "invalid request (the field at fault is named)",
        401: "missing or wrong bearer token",
        403: "writes are disabled on a non-loopback address without a token",
        404: "unknown ids",
        413: "body too large",
        415: "the body must be application/json",
        422: "the index refused the change (e.g. an id it already holds)",
        503: "overloaded (retry after the Retry-After header's seconds) or shutting down",
    }
    return {
        str(s): {
            "description": text[s],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for s in statuses
    }


def _json(schema: dict, description: str = "OK") -> dict:
    return {"200": {"description": description, "content": {"application/json": {"schema": schema}}}}


def _post(summary: str, body: str, response: dict, errors: tuple[int, ...], write: bool = False) -> dict:
    op = {
        "summary": summary,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        },
        "responses": {**_json(response), **_errors(*errors)},
    }
    if write:
        op["security"] = [{"bearer": []}]
    return {"post": op}


def document(bodies: dict, version: str) -> dict:
    search_errors = (400, 413, 415, 503)
    write_errors = (400, 401, 403, 413, 415, 422, 503)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "muvera-nano",
            "version": version,
            "description": "Late-interaction (ColBERT) search over one index with one encoder.",
        },
        "paths": {
            "/search": _post(
                "Search by query text (encoded by the served model)", "SearchText", _RESULTS, search_errors
            ),
            "/search/vectors": _post("Search by the query's token vectors", "SearchVectors", _RESULTS, search_errors),
            "/documents": _post(
                "Add documents (committed before the answer)", "AddDocuments", _CHANGE, write_errors, write=True
            ),
            "/documents/delete": _post(
                "Remove documents by id (committed before the answer)",
                "RemoveDocuments",
                _CHANGE,
                (*write_errors, 404),
                write=True,
            ),
            "/info": {
                "get": {
                    "summary": "The index's counts, settings and sizes, and the server's limits",
                    "responses": _json({"type": "object"}),
                }
            },
            "/healthz": {"get": {"summary": "Liveness", "responses": _json(_STATUS)}},
            "/readyz": {
                "get": {
                    "summary": "Readiness: 503 while starting or shutting down",
                    "responses": {**_json(_STATUS), **_errors(503)},
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": {"description": "OK", "content": {"text/plain": {}}}},
                }
            },
            "/openapi.json": {"get": {"summary": "This document", "responses": _json({"type": "object"})}},
        },
        "components": {
            "schemas": {"Error": ERROR_SCHEMA, **{name: b.schema() for name, b in bodies.items()}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
