"""The settings an index's results depend on, fixed when it is created: token dimension, FDE
configuration (with its seed), the storage kinds its tokens and FDE rows end up in (each segment
records the kinds it is stored in; see kinds.py), the candidate backend, and the identity of the
encoder its vectors came from. The manifest checksums them with the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..fde import FDEConfig
from .files import IndexFormatError
from .graph import BACKENDS, GraphConfig, _usearch
from .storage import FDE, TOKENS, StorageKind, as_kind, check_kind_layout, kind_from_spec


@dataclass(frozen=True)
class IndexSettings:
    dim: int
    fde: FDEConfig
    tokens: StorageKind  # the target kinds: new documents end up in them
    fde_rows: StorageKind
    graph: GraphConfig | None  # None: the exact backend
    encoder: dict[str, Any] | None  # muvera_nano.model.ModelIdentity.to_dict(), when built from texts

    @classmethod
    def create(
        cls, *, dim: Any, fde: Any, token_dtype: Any, fde_dtype: Any, backend: Any, graph: Any, encoder: dict | None
    ) -> IndexSettings:
        """Checks Index.create's arguments (ValueError/TypeError naming the argument)."""
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        tokens = as_kind(TOKENS, token_dtype, "token_dtype")
        fde_rows = as_kind(FDE, fde_dtype, "fde_dtype")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if graph is not None and backend != "hnsw":
            raise ValueError("graph settings only apply to backend='hnsw'")
        if graph is not None and not isinstance(graph, GraphConfig):
            raise TypeError(f"graph must be a muvera_nano.index.GraphConfig, got {type(graph).__name__}")
        if backend == "hnsw" and fde_rows.custom_merge:
            raise ValueError(f"{fde_rows.name} FDE storage finds its own candidates: use backend='exact' with it")
        if backend == "hnsw":
            graph = graph or GraphConfig()
            _usearch()  # fail now, not at the first add, when usearch is missing
        fde = FDEConfig.recommended(dim) if fde is None else fde
        if not isinstance(fde, FDEConfig):
            raise TypeError(f"fde must be a muvera_nano.fde.FDEConfig, got {type(fde).__name__}")
        if fde.dimension != dim:
            raise ValueError(f"the FDE config is for {fde.dimension}-dimensional tokens, the index for {dim}")
        check_kind_layout(tokens, dim)
        check_kind_layout(fde_rows, fde.output_dim)
        return cls(dim, fde, tokens, fde_rows, graph, encoder)

    def kind(self, role: str) -> StorageKind:
        return self.tokens if role == TOKENS else self.fde_rows

    def width(self, role: str) -> int:
        """The row width of a role's input: the token dimension or the FDE width."""
        return self.dim if role == TOKENS else self.fde.output_dim

    @property
    def backend(self) -> str:
        return "exact" if self.graph is None else "hnsw"

    def to_dict(self) -> dict[str, Any]:
        return {
            "dim": self.dim,
            "fde": self.fde.to_dict(),
            "token_storage": self.tokens.to_dict(),
            "fde_storage": self.fde_rows.to_dict(),
            "encoder": self.encoder,
            "backend": {"kind": self.backend, "graph": None if self.graph is None else self.graph.to_dict()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str) -> IndexSettings:
        try:
            backend = d["backend"]
            if not isinstance(backend, dict) or backend.get("kind") not in BACKENDS:
                raise IndexFormatError(f"{where}: unknown candidate backend {backend!r}")
            graph = GraphConfig.from_dict(backend["graph"]) if backend["kind"] == "hnsw" else None
            fde = FDEConfig.from_dict(d["fde"])
            dim = d["dim"]
            if not isinstance(dim, int) or fde.dimension != dim:
                raise IndexFormatError(f"{where}: dim {dim!r} and an FDE config for {fde.dimension} dimensions")
            return cls(
                dim,
                fde,
                kind_from_spec(TOKENS, d["token_storage"], where),
                kind_from_spec(FDE, d["fde_storage"], where),
                graph,
                d["encoder"],
            )
        except IndexFormatError:
            raise
        except KeyError as e:
            raise IndexFormatError(f"{where}: the manifest has no {e.args[0]!r}") from None
        except (TypeError, ValueError) as e:  # FDEConfig and GraphConfig check their fields
            raise IndexFormatError(f"{where}: invalid settings ({e})") from None
