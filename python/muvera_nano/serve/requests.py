"""Request bodies: each a table of fields that both checks a parsed JSON object (400 naming the
argument and what was expected) and describes itself as JSON Schema for the OpenAPI document, so
the two cannot drift apart."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..index import MODES
from .errors import invalid
from .settings import ServeSettings

_MISSING = object()


class Field:
    def __init__(
        self, name: str, schema: dict, parse: Callable[[Any], Any], *, default: Any = _MISSING, description: str = ""
    ):
        self.name, self.parse, self.default = name, parse, default
        self.schema = {**schema, "description": description} if description else schema
        if default is not _MISSING and default is not None:
            self.schema = {**self.schema, "default": default}

    @property
    def required(self) -> bool:
        return self.default is _MISSING


class Body:
    """A JSON object with these fields; `one_of`: groups of fields of which exactly one is given."""

    def __init__(self, name: str, fields: list[Field], one_of: tuple[str, ...] = ()):
        self.name, self.fields, self.one_of = name, {f.name: f for f in fields}, one_of

    def parse(self, obj: Any) -> dict:
        if not isinstance(obj, dict):
            raise invalid("body", f"must be a JSON object, got {_json_type(obj)}")
        unknown = sorted(set(obj) - set(self.fields))
        if unknown:
            raise invalid(unknown[0], f"unknown field; expected {', '.join(self.fields)}")
        if self.one_of and sum(obj.get(n) is not None for n in self.one_of) != 1:
            raise invalid(self.one_of[0], f"give exactly one of {' or '.join(self.one_of)}")
        out = {}
        for name, f in self.fields.items():
            value = obj.get(name)
            if value is None:
                if f.required and name not in self.one_of:
                    raise invalid(name, "is required")
                out[name] = None if f.default is _MISSING else f.default
            else:
                out[name] = f.parse(value)
        return out

    def schema(self) -> dict:
        s = {
            "type": "object",
            "additionalProperties": False,
            "properties": {n: f.schema for n, f in self.fields.items()},
            "required": [n for n, f in self.fields.items() if f.required and n not in self.one_of],
        }
        if self.one_of:
            s["oneOf"] = [{"required": [n]} for n in self.one_of]
        return s


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
    }.get(type(v), type(v).__name__)


# ---------------------------------------------------------------------------- field kinds
def integer(name: str, lo: int, hi: int, default: int, description: str) -> Field:
    def parse(v):
        if isinstance(v, bool) or not isinstance(v, int):
            raise invalid(name, f"must be an integer, got {_json_type(v)}")
        if not lo <= v <= hi:
            raise invalid(name, f"must be between {lo} and {hi}, got {v}")
        return v

    return Field(
        name, {"type": "integer", "minimum": lo, "maximum": hi}, parse, default=default, description=description
    )


def choice(name: str, options: tuple[str, ...], default: str, description: str) -> Field:
    def parse(v):
        if v not in options or not isinstance(v, str):
            raise invalid(name, f"must be one of {', '.join(options)}; got {v!r}")
        return v

    return Field(name, {"type": "string", "enum": list(options)}, parse, default=default, description=description)


def _text(name: str, v: Any, max_chars: int) -> str:
    if not isinstance(v, str):
        raise invalid(name, f"must be a string, got {_json_type(v)}")
    if not v.strip():
        raise invalid(name, "must not be empty")
    if len(v) > max_chars:
        raise invalid(name, f"must be at most {max_chars} characters, got {len(v)}")
    return v


def text(name: str, max_chars: int, description: str) -> Field:
    return Field(
        name,
        {"type": "string", "minLength": 1, "maxLength": max_chars},
        lambda v: _text(name, v, max_chars),
        description=description,
    )


def _array(name: str, v: Any, max_items: int) -> list:
    if not isinstance(v, list):
        raise invalid(name, f"must be an array, got {_json_type(v)}")
    if not 1 <= len(v) <= max_items:
        raise invalid(name, f"must hold 1 to {max_items} items, got {len(v)}")
    return v


def texts(name: str, max_items: int, max_chars: int, description: str) -> Field:
    def parse(v):
        return [_text(f"{name}[{i}]", t, max_chars) for i, t in enumerate(_array(name, v, max_items))]

    item = {"type": "string", "minLength": 1, "maxLength": max_chars}
    return Field(
        name, {"type": "array", "items": item, "minItems": 1, "maxItems": max_items}, parse, description=description
    )


def _matrix(name: str, v: Any, max_rows: int, dim: int) -> np.ndarray:
    """A (rows, dim) float32 array from nested JSON arrays of finite numbers."""
    rows = _array(name, v, max_rows)
    try:
        a = np.asarray(rows)
    except ValueError:  # ragged nesting
        a = None
    if a is None or a.ndim != 2 or a.shape[1] != dim:
        raise invalid(name, f"must be an array of up to {max_rows} rows of {dim} numbers (a token vector each)")
    if a.dtype.kind not in "iuf":  # booleans, strings, nulls or objects somewhere
        raise invalid(name, "must hold numbers only")
    a = a.astype(np.float32)
    if not np.isfinite(a).all():
        raise invalid(name, "must hold finite numbers (float32 range)")
    return a


def _matrix_schema(max_rows: int, dim: int) -> dict:
    row = {"type": "array", "items": {"type": "number"}, "minItems": dim, "maxItems": dim}
    return {"type": "array", "items": row, "minItems": 1, "maxItems": max_rows}


def matrix(name: str, max_rows: int, dim: int, description: str) -> Field:
    return Field(
        name, _matrix_schema(max_rows, dim), lambda v: _matrix(name, v, max_rows, dim), description=description
    )


def matrices(name: str, max_items: int, max_rows: int, dim: int, description: str) -> Field:
    def parse(v):
        return [_matrix(f"{name}[{i}]", m, max_rows, dim) for i, m in enumerate(_array(name, v, max_items))]

    return Field(
        name,
        {"type": "array", "items": _matrix_schema(max_rows, dim), "minItems": 1, "maxItems": max_items},
        parse,
        description=description,
    )


def ids(name: str, max_items: int, max_chars: int, description: str, *, optional: bool = False) -> Field:
    def one(i, x):
        if isinstance(x, str):
            if not 1 <= len(x) <= max_chars:
                raise invalid(f"{name}[{i}]", f"must be a string of 1 to {max_chars} characters")
            return x
        if isinstance(x, int) and not isinstance(x, bool):
            if not -(2**63) <= x < 2**63:
                raise invalid(f"{name}[{i}]", "must fit in a signed 64-bit integer")
            return x
        raise invalid(f"{name}[{i}]", f"must be an integer or a string, got {_json_type(x)}")

    def parse(v):
        return [one(i, x) for i, x in enumerate(_array(name, v, max_items))]

    item = {"oneOf": [{"type": "integer"}, {"type": "string", "minLength": 1, "maxLength": max_chars}]}
    return Field(
        name,
        {"type": "array", "items": item, "minItems": 1, "maxItems": max_items},
        parse,
        description=description,
        default=None if optional else _MISSING,
    )


# ---------------------------------------------------------------------------- the bodies
def bodies(s: ServeSettings, dim: int) -> dict[str, Body]:
    """Every request body of the API, with the limits of `s` and the index's dimension."""

    def search_options():
        return [
            integer("k", 1, s.max_k, 10, "results to return"),
            choice(
                "mode",
                MODES,
                "rerank",
                "rerank: the FDE's top `candidates` re-scored with exact MaxSim; "
                "maxsim: exact MaxSim over every document; muvera: FDE only",
            ),
            integer("candidates", 1, s.max_candidates, 100, "FDE candidates re-scored in rerank mode"),
        ]

    return {
        "SearchText": Body("SearchText", [text("query", s.max_query_chars, "the query text"), *search_options()]),
        "SearchVectors": Body(
            "SearchVectors",
            [
                matrix("vectors", s.max_query_tokens, dim, "the query's token vectors (rows of the index's dimension)"),
                *search_options(),
            ],
        ),
        "AddDocuments": Body(
            "AddDocuments",
            [
                texts("texts", s.max_documents, s.max_document_chars, "document texts (encoded by the served model)"),
                matrices("vectors", s.max_documents, s.max_document_tokens, dim, "token vectors per document"),
                ids(
                    "ids",
                    s.max_documents,
                    s.max_id_chars,
                    "ids of the documents (default: consecutive integers after the largest)",
                    optional=True,
                ),
            ],
            one_of=("texts", "vectors"),
        ),
        "RemoveDocuments": Body("RemoveDocuments", [ids("ids", s.max_documents, s.max_id_chars, "ids to remove")]),
    }


def finite_or_none(x: float) -> float | None:
    """A score for JSON (which has no NaN)."""
    return x if math.isfinite(x) else None
