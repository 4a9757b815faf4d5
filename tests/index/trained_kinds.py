"""Storage kinds with codebooks, for testing the training mechanism before the real compressed
kinds exist: int8 codes whose scale per dimension is "trained" (the sample's largest magnitude per
dimension / 127). Scores are the float32 kernels' over the reconstruction (codes × scale), made
when a segment is opened: a test kind, exact to float32 so tests can compare with float64."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

import muvera_nano as mn
from muvera_nano.index import StorageKind, register_kind
from muvera_nano.index import layout as L
from muvera_nano.index.files import IndexFormatError

MIN_DOCUMENTS = 40


def train_scale(rows: np.ndarray) -> np.ndarray:
    scale = (np.abs(rows).max(axis=0) / 127).astype(np.float32)
    scale[scale == 0] = 1
    return scale


def encode(rows: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(rows.astype(np.float32) / scale), -127, 127).astype(np.int8)


def _check(books, width, where):
    s = books.get("scale")
    if set(books) != {"scale"} or s.dtype != np.float32 or s.shape != (width,) or not (s > 0).all():
        raise IndexFormatError(f"{where}: not a scale table for {width} dimensions")


@dataclass(frozen=True, eq=False)
class TableTokens:
    kind: TableTokenKind
    codes: np.ndarray
    offsets: np.ndarray
    scale: np.ndarray

    def __len__(self):
        return len(self.offsets) - 1

    @property
    def n_tokens(self):
        return len(self.codes)

    @functools.cached_property
    def _decoded(self):
        return mn.Ragged(np.asarray(self.codes, np.float32) * self.scale, self.offsets)

    def arrays(self):
        return {"codes": self.codes, "offsets": self.offsets}

    def rerank(self, query, rows, k, threads):
        return mn.rerank(query, self._decoded, candidates=rows, k=k, threads=threads)

    def to_float32(self, items=None):
        if items is None:
            return self._decoded
        taken = L.take(self.kind.layout(self.codes.shape[1]), self.arrays(), items)
        return mn.Ragged(taken["codes"].astype(np.float32) * self.scale, taken["offsets"])


@dataclass(frozen=True)
class TableTokenKind(StorageKind):
    role = "tokens"
    name = "test-table-int8"
    needs_training = True
    min_training_documents = MIN_DOCUMENTS

    def layout(self, width):
        return {"codes": L.Part(L.ROWS, np.int8, (width,), "offsets"), "offsets": L.Part(L.OFFSETS, np.int64)}

    def train(self, sample, threads):
        assert isinstance(sample, mn.Ragged) and sample.dtype == "float32"
        return {"scale": train_scale(sample.tokens)}

    def check_codebooks(self, books, width, where):
        _check(books, width, where)

    def build(self, tokens, books, threads):
        return TableTokens(self, encode(tokens.tokens, books["scale"]), tokens.offsets, books["scale"])

    def open(self, arrays, books, where):
        return TableTokens(self, arrays["codes"], arrays["offsets"], books["scale"])


@dataclass(frozen=True, eq=False)
class TableFde:
    kind: TableFdeKind
    codes: np.ndarray
    scale: np.ndarray

    def __len__(self):
        return len(self.codes)

    @property
    def width(self):
        return self.codes.shape[1]

    @functools.cached_property
    def _decoded(self):
        return np.asarray(self.codes, np.float32) * self.scale

    def arrays(self):
        return {"table_fde": self.codes}

    def topk(self, query_fdes, k, exclude, threads):
        return mn.dot_topk(query_fdes, self._decoded, k, exclude=exclude, threads=threads)

    def scores(self, query_fde, rows, threads):
        return mn.dot_scores(query_fde, np.ascontiguousarray(self._decoded[rows]), threads=threads)

    def to_float32(self, rows=None):
        rows = slice(None) if rows is None else rows
        return self.codes[rows].astype(np.float32) * self.scale


@dataclass(frozen=True)
class TableFdeKind(StorageKind):
    role = "fde"
    name = "test-table-int8"
    needs_training = True
    min_training_documents = MIN_DOCUMENTS

    def layout(self, width):
        return {"table_fde": L.Part(L.ITEM, np.int8, (width,))}

    def train(self, sample, threads):
        assert isinstance(sample, np.ndarray) and sample.dtype == np.float32 and sample.ndim == 2
        return {"scale": train_scale(sample)}

    def check_codebooks(self, books, width, where):
        _check(books, width, where)

    def build(self, rows, books, threads):
        return TableFde(self, encode(rows, books["scale"]), books["scale"])

    def open(self, arrays, books, where):
        return TableFde(self, arrays["table_fde"], books["scale"])


register_kind("tokens", TableTokenKind.name, lambda spec: TableTokenKind())
register_kind("fde", TableFdeKind.name, lambda spec: TableFdeKind())
