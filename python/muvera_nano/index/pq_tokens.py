"""The compressed token kind 'pq': each token vector rotated by a trained orthonormal matrix R
(OPQ) and product-quantized: `subspaces` sub-vectors of dim / subspaces coordinates, each stored
as the one-byte index of its nearest centroid (256 per subspace). With 32 subspaces a 128-d token
takes 32 bytes (float16: 256). MaxSim is computed by the kernels straight from the codes (a block
of rows decoded into an L1 tile at a time, never whole documents), against the query rotated by
the same R: <R q, R x> = <q, x>, so only the quantization changes scores.

Why PQ and not ColBERTv2's residual codes: on real encoder outputs and on the clustered corpus,
PQ kept more of exact MaxSim's top 10 at equal bytes (bench/README.md, section Index)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernels import PQCodebook, Ragged, pq_encode
from . import layout as L
from .files import IndexFormatError
from .kinds import TOKENS, StorageKind, register_kind
from .quantizers import opq_train

CENTROIDS = 256  # one byte per subspace


@dataclass(frozen=True, eq=False)
class PQTokens:
    """PQ-coded token vectors as a Ragged of codes the MaxSim kernels decode on the fly."""

    kind: PQTokenKind
    ragged: Ragged  # codes (T, subspaces) uint8 + offsets, with the codebook attached
    rotation: np.ndarray  # (dim, dim) float32: stored vectors are x @ rotation

    def __len__(self) -> int:
        return len(self.ragged)

    @property
    def n_tokens(self) -> int:
        return self.ragged.n_tokens

    def arrays(self) -> dict[str, np.ndarray]:
        return {"codes": self.ragged.tokens, "offsets": self.ragged.offsets}

    def rerank(self, query: np.ndarray, rows: np.ndarray | None, k: int, threads) -> tuple[np.ndarray, np.ndarray]:
        """The best k of `rows` (all when None) by MaxSim against the decoded tokens."""
        from ..kernels import rerank

        rotated = np.ascontiguousarray(np.asarray(query, dtype=np.float32) @ self.rotation)
        return rerank(rotated, self.ragged, candidates=rows, k=k, threads=threads)

    def to_float32(self, items: np.ndarray | None = None) -> Ragged:
        """The decoded token vectors (rotated back) of the given documents (all when None)."""
        r = self.ragged
        if items is not None:
            taken = L.take(self.kind.layout(r.dim), self.arrays(), items)
            r = Ragged(taken["codes"], taken["offsets"], codebook=r.codebook)
        return Ragged(np.ascontiguousarray(r.to_float32() @ self.rotation.T), r.offsets)


@dataclass(frozen=True)
class PQTokenKind(StorageKind):
    """subspaces: codes per token (a divisor of the dimension; 32 for 128-d tokens = 32 bytes).
    train_after: documents the index holds (staged as float16) before it trains the codebooks
    (default 2,000: ~350,000 tokens at 175 per document, over 1,000 per centroid)."""

    subspaces: int = 32
    train_after: int | None = None
    role = TOKENS
    name = "pq"
    needs_training = True

    def __post_init__(self):
        _positive(self, "subspaces")
        if self.train_after is not None:
            _positive(self, "train_after")

    @property
    def min_training_documents(self) -> int:
        return 2000 if self.train_after is None else self.train_after

    def to_dict(self) -> dict:
        d = {"kind": self.name, "subspaces": self.subspaces}
        return d if self.train_after is None else d | {"train_after": self.train_after}

    def layout(self, width: int) -> L.Layout:
        if width % self.subspaces:
            raise ValueError(f"pq storage: the token dimension {width} is not a multiple of {self.subspaces} subspaces")
        return {"codes": L.Part(L.ROWS, np.uint8, (self.subspaces,), "offsets"), "offsets": L.Part(L.OFFSETS, np.int64)}

    def training_sample(self, available: int) -> int:
        return min(available, 4 * self.min_training_documents)

    def train(self, sample: Ragged, threads) -> dict[str, np.ndarray]:
        tokens = np.ascontiguousarray(sample.tokens, dtype=np.float32)
        if len(tokens) > _TRAINING_TOKENS:  # a fixed-size uniform subset of the sample's tokens
            pick = np.sort(np.random.default_rng(0).choice(len(tokens), _TRAINING_TOKENS, replace=False))
            tokens = tokens[pick]
        rotation, centroids = opq_train(tokens, self.subspaces, CENTROIDS, threads=threads)
        return {"rotation": rotation, "centroids": centroids}

    def check_codebooks(self, books, width: int, where: str) -> None:
        M, dsub = self.subspaces, width // self.subspaces
        r, c = books.get("rotation"), books.get("centroids")
        if r is None or c is None or set(books) != {"rotation", "centroids"}:
            raise IndexFormatError(f"{where}: pq codebooks are 'rotation' and 'centroids', got {sorted(books)}")
        if (
            r.dtype != np.float32
            or r.shape != (width, width)
            or c.dtype != np.float32
            or c.shape != (M, CENTROIDS, dsub)
        ):
            raise IndexFormatError(
                f"{where}: rotation {r.dtype} {r.shape} and centroids {c.dtype} {c.shape}, expected "
                f"float32 ({width}, {width}) and float32 ({M}, {CENTROIDS}, {dsub})"
            )
        if not (np.all(np.isfinite(r)) and np.all(np.isfinite(c))):
            raise IndexFormatError(f"{where}: pq codebooks hold non-finite values")

    def build(self, tokens: Ragged, books, threads) -> PQTokens:
        rotated = np.ascontiguousarray(np.asarray(tokens.tokens, dtype=np.float32) @ books["rotation"])
        codes = pq_encode(rotated, books["centroids"], threads=threads)
        return self.open({"codes": codes, "offsets": tokens.offsets}, books, "new documents")

    def open(self, arrays, books, where: str) -> PQTokens:
        try:
            ragged = Ragged(arrays["codes"], arrays["offsets"], codebook=PQCodebook(books["centroids"]))
        except (TypeError, ValueError) as e:
            raise IndexFormatError(f"{where}: inconsistent pq token store ({e})") from None
        return PQTokens(self, ragged, books["rotation"])


_TRAINING_TOKENS = 1 << 17


def _positive(kind, name: str) -> None:
    v = getattr(kind, name)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{name} must be a positive int, got {v!r}")


def _factory(spec: dict) -> PQTokenKind:
    unknown = set(spec) - {"kind", "subspaces", "train_after"}
    if unknown:
        raise ValueError(f"pq token storage takes subspaces and train_after, got {sorted(unknown)}")
    return PQTokenKind(spec.get("subspaces", 32), spec.get("train_after"))


register_kind(TOKENS, "pq", _factory)
