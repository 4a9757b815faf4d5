"""One shard of a sharded search: a Ray actor that opens the index folder and answers queries over
the segments it is told, from the generation it is told (so every shard of one search answers
from the same committed state)."""

from __future__ import annotations

import os

import numpy as np


class Shard:
    def __init__(self, index_dir: str, threads: int):
        from ..index import Index

        self.index = Index.open(index_dir, merge="off")
        self.threads = threads
        self.generation = self.index.info()["generation"]

    def where(self) -> tuple[str, int]:
        """(Ray node id, process id) of this actor."""
        import ray

        return ray.get_runtime_context().get_node_id(), os.getpid()

    def load(self, generation: int) -> int:
        """Moves to a newer committed state when `generation` is newer than this one; returns the
        generation it holds (another than asked: the index has moved on, plan again)."""
        if self.generation < generation and self.index.refresh():
            self.generation = self.index.info()["generation"]
        return self.generation

    def search(
        self,
        generation: int,
        segments: list[str],
        tokens: np.ndarray,
        offsets: np.ndarray,
        mode: str,
        k: int,
        n_candidates: int,
        probe: int | None,
    ) -> dict:
        """Per query, the shard's ranked lists (ids, scores): 'ranked' for maxsim and muvera;
        for rerank 'candidates' (FDE top c) and 'rescored' (the MaxSim scores of the same
        documents), c = max(n_candidates, k). 'generation' says which state answered."""
        from ..kernels import Ragged

        held = self.load(generation)
        if held != generation:
            return {"generation": held}
        queries = Ragged(tokens, offsets)
        common = {"segments": segments, "threads": self.threads, "probe": probe}
        if mode != "rerank":
            found = self.index.search(queries, k=k, mode=mode, **common)
            return {"generation": held, "ranked": [(r.ids, r.scores) for r in found]}
        c = max(n_candidates, k)
        candidates = self.index.search(queries, k=c, mode="muvera", **common)
        rescored = self.index.search(queries, k=c, mode="rerank", n_candidates=c, **common)
        return {
            "generation": held,
            "candidates": [(r.ids, r.scores) for r in candidates],
            "rescored": [(r.ids, r.scores) for r in rescored],
        }
