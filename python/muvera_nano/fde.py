"""MUVERA fixed dimensional encodings (FDE): one vector per multi-vector whose dot products
approximate MaxSim.

An :class:`FDEConfig` is an immutable description of an encoding; its random state is built
once per configuration (and cached), then one C++ kernel encodes whole ragged batches in
parallel. Two presets reproduce the reference implementations exactly:

- ``FDEConfig.google(...)``: Google graph-mining's C++ (libstdc++'s mt19937, normal, uniform
  and Bernoulli streams, implemented portably in the core).
- ``FDEConfig.txtai(...)``: txtai 9.x ``Muvera`` (numpy ``default_rng`` matrices, no fill),
  optionally L2-normalised as txtai's index does.

``FDEConfig.recommended(dim)`` is the setting this project's index uses (the measurement
behind it: bench/README.md, section FDE).

What is computed (both presets): for each repetition r, a token's partition is the Gray-code
fold of its SimHash sign bits (decided on the exact dot product), its projected vector (AMS
count sketch, or the token itself for the identity projection) is summed per partition in
token order; queries keep the sums, documents divide by the count and optionally fill empty
partitions with the projected token of nearest sign pattern (ties: lowest token index). An
optional final count sketch maps the result to ``final_dimension`` values.

Edge cases: an empty query or document encodes to a zero vector (also after
normalisation). Non-finite tokens (NaN, inf) raise ValueError naming the item and row.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _core
from .kernels import Ragged

__all__ = ["PRESETS", "FDEConfig"]

PRESETS = ("google", "txtai")
_FORMAT = "muvera_nano.fde.FDEConfig"
_VERSION = 1
_MAX_OUTPUT = 2**31 - 1


def _check_int(name: str, value: Any, lo: int, hi: int | None = None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        kind = "an int" + (" or None" if allow_none else "")
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__}")
    if value < lo or (hi is not None and value > hi):
        rng = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be {rng}, got {value}")


@dataclasses.dataclass(frozen=True)
class FDEConfig:
    """An FDE configuration.

    Attributes:
        dimension: token dimension d.
        repetitions: R, independent partitionings.
        simhash_bits: k in [0, 30]; each repetition has 2**k partitions (k = 0: one).
        projection_dimension: None for the identity projection (p = d), else the AMS
            count-sketch dimension p >= 1.
        fill_empty: documents only: an empty partition takes the projected token whose
            sign pattern is nearest (Google's fill_empty_partitions). Queries never fill.
        final_dimension: None, or the dimension of a final count sketch (Google preset only).
        seed: base seed; repetition r uses seed + r (Google: modulo 2**32).
        preset: which reference's random streams: "google" or "txtai".
        normalize: L2-normalise every output vector (what txtai's index does); zero
            vectors stay zero.

    The output has ``output_dim`` = R * 2**k * p values, or ``final_dimension``.
    """

    dimension: int
    repetitions: int = 20
    simhash_bits: int = 5
    projection_dimension: int | None = 16
    fill_empty: bool = True
    final_dimension: int | None = None
    seed: int = 1
    preset: str = "google"
    normalize: bool = False

    def __post_init__(self) -> None:
        _check_int("dimension", self.dimension, 1, 1 << 22)
        _check_int("repetitions", self.repetitions, 1)
        _check_int("simhash_bits", self.simhash_bits, 0, 30)
        _check_int("projection_dimension", self.projection_dimension, 1, _MAX_OUTPUT, allow_none=True)
        _check_int("final_dimension", self.final_dimension, 1, _MAX_OUTPUT, allow_none=True)
        for name in ("fill_empty", "normalize"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {type(getattr(self, name)).__name__}")
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {PRESETS}, got {self.preset!r}")
        if self.preset == "google":
            _check_int("seed", self.seed, 0, 2**32 - 1)
        else:
            _check_int("seed", self.seed, 0)
            if self.final_dimension is not None:
                raise ValueError(
                    "final_dimension is only defined for the google preset (txtai has no final projection)"
                )
        p = self.dimension if self.projection_dimension is None else self.projection_dimension
        total = self.repetitions * (1 << self.simhash_bits) * p
        if total > _MAX_OUTPUT:
            raise ValueError(
                f"repetitions * 2**simhash_bits * projection = {total} values; at most {_MAX_OUTPUT} are supported"
            )
        # Normalise numpy scalars to plain Python values so equality and hashing are stable.
        for name in ("dimension", "repetitions", "simhash_bits", "projection_dimension", "final_dimension", "seed"):
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, int(v))
        for name in ("fill_empty", "normalize"):
            object.__setattr__(self, name, bool(getattr(self, name)))

    # -- presets ----------------------------------------------------------------------
    @classmethod
    def google(
        cls,
        dimension: int,
        repetitions: int = 20,
        simhash_bits: int = 5,
        projection_dimension: int | None = 16,
        *,
        fill_empty: bool = True,
        final_dimension: int | None = None,
        seed: int = 1,
    ) -> FDEConfig:
        """Google graph-mining's FixedDimensionalEncodingConfig (its default seed is 1;
        ``projection_dimension=None`` is DEFAULT_IDENTITY, an int AMS_SKETCH)."""
        return cls(
            dimension, repetitions, simhash_bits, projection_dimension, fill_empty, final_dimension, seed, "google"
        )

    @classmethod
    def txtai(
        cls,
        dimension: int = 128,
        repetitions: int = 20,
        hashes: int = 5,
        projection: int | None = 16,
        seed: int = 42,
        *,
        normalize: bool = False,
    ) -> FDEConfig:
        """txtai 9.x ``Muvera(repetitions, hashes, projection, seed)``: no fill, no final
        projection. ``projection`` None or 0 is the identity. ``normalize=True`` gives the
        vectors txtai's index stores (L2-normalised)."""
        return cls(dimension, repetitions, hashes, projection or None, False, None, seed, "txtai", normalize)

    @classmethod
    def recommended(cls, dimension: int = 128) -> FDEConfig:
        """The default of this project's index: Google's streams, (R, k, p) = (20, 5, 16), no
        fill, outputs L2-normalised (10,240 values for any d).

        Chosen by measurement (bench/bench_fde.py; the table is in bench/README.md, section
        FDE): no fill wins on real token vectors (filling an empty partition with a token that
        is not there adds noise to short documents), and normalising removes the length bias
        that makes raw FDEs fail on random tokens, at a small cost on real ones. This setting
        is within 0.04 of the best recall on every corpus measured.
        """
        return cls(dimension, 20, 5, 16, False, None, 1, "google", True)

    # -- derived ----------------------------------------------------------------------
    @property
    def output_dim(self) -> int:
        if self.final_dimension is not None:
            return self.final_dimension
        p = self.dimension if self.projection_dimension is None else self.projection_dimension
        return self.repetitions * (1 << self.simhash_bits) * p

    def random_state(self) -> dict[str, np.ndarray | None]:
        """The random state (read-only arrays): ``simhash`` (d, R*k), column r*k + j is
        hyperplane j of repetition r; ``ams_column``/``ams_sign`` (R, d) for AMS;
        ``final_index``/``final_sign`` for a final projection."""
        return _state(_state_key(self))

    # -- serialization ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = {"format": _FORMAT, "version": _VERSION}
        d.update(dataclasses.asdict(self))
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FDEConfig:
        if not isinstance(data, dict):
            raise TypeError(f"data must be a dict, got {type(data).__name__}")
        data = dict(data)
        fmt, version = data.pop("format", None), data.pop("version", None)
        if fmt != _FORMAT:
            raise ValueError(f"data is not an FDEConfig dict (format {fmt!r}, expected {_FORMAT!r})")
        if version != _VERSION:
            raise ValueError(f"unsupported FDEConfig version {version!r} (this library reads {_VERSION})")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown FDEConfig fields {unknown}")
        if "dimension" not in data:
            raise ValueError("FDEConfig dict has no 'dimension'")
        return cls(**data)

    # -- encoding ---------------------------------------------------------------------
    def encode_queries(
        self,
        queries: Ragged | Sequence[np.ndarray] | np.ndarray,
        *,
        lengths: Any = None,
        threads: int | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Encodes queries (sums per partition) into an (n, output_dim) float32 array.

        ``queries``: a float32 :class:`Ragged` (read in place), a list of (rows, d) float32
        arrays (concatenated: a copy), or a (n, rows, d) float32 array with optional
        ``lengths`` (rows used per item; without it every row counts). ``out``: an
        (n, output_dim) float32 array to write into.
        """
        return self._encode(queries, lengths, _core.FdeKind.query, threads, out, "queries")

    def encode_documents(
        self,
        documents: Ragged | Sequence[np.ndarray] | np.ndarray,
        *,
        lengths: Any = None,
        threads: int | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Encodes documents (averages per partition, ``fill_empty`` as configured); the
        arguments are as for :meth:`encode_queries`."""
        return self._encode(documents, lengths, _core.FdeKind.document, threads, out, "documents")

    def encode_query(self, tokens: np.ndarray, *, threads: int | None = None) -> np.ndarray:
        """One query, (rows, d) float32 -> (output_dim,)."""
        return self._encode(_single(tokens, "tokens"), None, _core.FdeKind.query, threads, None, "tokens")[0]

    def encode_document(self, tokens: np.ndarray, *, threads: int | None = None) -> np.ndarray:
        """One document, (rows, d) float32 -> (output_dim,)."""
        return self._encode(_single(tokens, "tokens"), None, _core.FdeKind.document, threads, None, "tokens")[0]

    def _encode(
        self, items: Any, lengths: Any, kind: _core.FdeKind, threads: int | None, out: np.ndarray | None, name: str
    ) -> np.ndarray:
        ragged = _as_ragged(items, lengths, name, self.dimension)
        if ragged.dim != self.dimension:
            raise ValueError(f"{name} have dimension {ragged.dim} but the FDE configuration has {self.dimension}")
        plan = _plan(_state_key(self))
        fill = bool(self.fill_empty and kind == _core.FdeKind.document)
        result = _core.fde_encode(plan, ragged, kind, fill, out, threads)
        if self.normalize:
            norms = np.linalg.norm(result, axis=1)[:, np.newaxis]
            np.divide(result, norms, out=result, where=norms > 0)
        return result


def _state_key(cfg: FDEConfig) -> tuple:
    return (
        cfg.preset,
        cfg.dimension,
        cfg.repetitions,
        cfg.simhash_bits,
        cfg.projection_dimension or 0,
        cfg.final_dimension or 0,
        cfg.seed,
    )


@functools.lru_cache(maxsize=32)
def _state(key: tuple) -> dict[str, np.ndarray | None]:
    preset, dim, reps, bits, proj, final, seed = key
    if preset == "google":
        state = _core.fde_google_state(dim, reps, bits, proj, final, seed)
    else:
        state = _txtai_state(dim, reps, bits, proj, seed)
    for v in state.values():
        if v is not None:
            v.setflags(write=False)
    return state


@functools.lru_cache(maxsize=32)
def _plan(key: tuple) -> Any:
    _, dim, reps, bits, proj, final, _ = key
    s = _state(key)
    return _core.fde_plan(
        dim, reps, bits, proj, s["simhash"], s["ams_column"], s["ams_sign"], final, s["final_index"], s["final_sign"]
    )


def _txtai_state(dim: int, reps: int, bits: int, proj: int, seed: int) -> dict[str, np.ndarray | None]:
    """The matrices txtai 9.x's Muvera draws: per repetition r, a fresh default_rng(seed + r)
    draws the (d, k) Gaussian SimHash matrix (row-major, float64 cast to float32); another
    fresh default_rng(seed + r) draws the AMS columns (integers) and then the signs (choice)."""
    simhash = np.empty((dim, reps * bits), np.float32)
    ams_column = np.empty((reps, dim), np.int32) if proj else None
    ams_sign = np.empty((reps, dim), np.float32) if proj else None
    for r in range(reps):
        rng = np.random.default_rng(seed + r)
        simhash[:, r * bits : (r + 1) * bits] = rng.normal(loc=0.0, scale=1.0, size=(dim, bits)).astype(np.float32)
        if proj:
            rng = np.random.default_rng(seed + r)
            ams_column[r] = rng.integers(0, proj, size=dim)
            ams_sign[r] = rng.choice([-1.0, 1.0], size=dim)
    return {"simhash": simhash, "ams_column": ams_column, "ams_sign": ams_sign, "final_index": None, "final_sign": None}


def _single(tokens: Any, name: str) -> Ragged:
    if not isinstance(tokens, np.ndarray) or tokens.ndim != 2:
        got = f"array of shape {tokens.shape}" if isinstance(tokens, np.ndarray) else type(tokens).__name__
        raise ValueError(f"{name} must be a 2-D float32 numpy array (rows, dim), got {got}")
    if tokens.dtype != np.float32:
        raise TypeError(f"{name} must be float32, got {tokens.dtype}; convert with .astype(numpy.float32)")
    return Ragged(tokens, np.array([0, tokens.shape[0]], np.int64))


def _as_ragged(items: Any, lengths: Any, name: str, dim: int) -> Ragged:
    if isinstance(items, Ragged):
        if lengths is not None:
            raise ValueError("lengths= is only used with a 3-D array")
        if items.dtype != "float32":
            raise TypeError(f"{name} must hold float32 tokens, got {items.dtype}; use {name}.astype('float32')")
        return items
    if isinstance(items, np.ndarray):
        if items.ndim != 3:
            raise ValueError(
                f"{name} must be a Ragged, a list of 2-D arrays or a 3-D array (items, rows, dim), "
                f"got an array of shape {items.shape}"
            )
        if items.dtype != np.float32:
            raise TypeError(f"{name} must be float32, got {items.dtype}; convert with .astype(numpy.float32)")
        if lengths is not None:
            return Ragged.from_padded(items, lengths)
        n, rows, d = items.shape
        if n * rows == 0:
            return Ragged(np.zeros((0, d), np.float32), np.zeros(n + 1, np.int64))
        flat = items.reshape(n * rows, d)  # a view when the array is contiguous
        return Ragged(np.ascontiguousarray(flat), np.arange(n + 1, dtype=np.int64) * rows)
    if isinstance(items, (list, tuple)):
        if lengths is not None:
            raise ValueError("lengths= is only used with a 3-D array")
        for i, a in enumerate(items):
            if not isinstance(a, np.ndarray) or a.ndim != 2:
                got = f"shape {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
                raise ValueError(f"{name}[{i}] must be a 2-D float32 numpy array (rows, dim), got {got}")
            if a.dtype != np.float32:
                raise TypeError(f"{name}[{i}] must be float32, got {a.dtype}; convert with .astype(numpy.float32)")
            if a.shape[1] != dim:
                raise ValueError(f"{name}[{i}] has dimension {a.shape[1]} but the FDE configuration has {dim}")
        offsets = np.zeros(len(items) + 1, np.int64)
        np.cumsum([a.shape[0] for a in items], out=offsets[1:])
        tokens = np.concatenate(items, axis=0) if offsets[-1] > 0 else np.zeros((0, dim), np.float32)
        return Ragged(tokens, offsets)
    raise TypeError(
        f"{name} must be a muvera_nano.Ragged, a list of 2-D float32 arrays or a 3-D float32 array, "
        f"got {type(items).__name__}"
    )
