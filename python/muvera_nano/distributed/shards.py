"""Sharded search (see the package's description): the driver side.

A ShardedIndex plans which segments each shard holds (contiguous runs of the index's segments,
balanced by live documents, so index order is shard order), starts one Shard actor per shard
spread over the cluster's nodes (the index folder must be reachable from each), and fans every
search out to all of them with the plan's generation. Each shard answers from that committed
state only; the merge (merge.py) then returns exactly what the one index returns. A shard that
does not answer within the timeout, that fails, or whose index has moved to another generation,
is named in the result's `failed`, and the result is then that of the shards that answered.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ..index import Index, SegmentInfo
from ..index.search import check_search_args
from ..kernels import Ragged
from ._ray import require_ray
from .merge import merge_ranked, merge_rerank
from .shard_actor import Shard

# Ray passes task arguments up to 100 KB inline (its max_direct_call_object_size).
INLINE_BYTES = 100 * 1024


class ShardFailure(NamedTuple):
    shard: int
    reason: str


class ShardedResult(NamedTuple):
    ids: list  # best first
    scores: np.ndarray  # float32, same order
    failed: tuple[ShardFailure, ...]  # shards whose documents are not in this result

    @property
    def complete(self) -> bool:
        return not self.failed


class ShardPlan(NamedTuple):
    generation: int
    segments: tuple[tuple[str, ...], ...]  # per shard, in index order
    documents: tuple[int, ...]  # live documents per shard


def plan_shards(segments: Sequence[SegmentInfo], shards: int, generation: int) -> ShardPlan:
    """Contiguous runs of segments, one per shard, each close to an equal share of the live
    documents (a shard may be empty when there are fewer segments than shards)."""
    total = sum(s.live for s in segments)
    groups: list[list[SegmentInfo]] = [[] for _ in range(shards)]
    seen, shard = 0, 0
    for s in segments:
        # move on once this shard has its share, keeping segments left for the shards left
        while shard < shards - 1 and seen >= total * (shard + 1) / shards and groups[shard]:
            shard += 1
        groups[shard].append(s)
        seen += s.live
    return ShardPlan(
        generation, tuple(tuple(s.name for s in g) for g in groups), tuple(sum(s.live for s in g) for g in groups)
    )


class ShardedIndex:
    """An index's segments held by `shards` Ray actors, searched as the one index.

    index_dir: the index folder, reachable from every node. encoder: for text queries, as for
    Index.open (default: the model the index was built with). threads_per_shard: the CPUs each
    shard asks Ray for and searches with. max_restarts: how often Ray restarts a shard whose
    process dies (it reopens the index; searches meanwhile report it as failed).

    The shards answer from the committed state at creation (or at the last :meth:`refresh`);
    commits after that (additions, removals, merges) are seen after refresh(). Close it (or use
    it as a context manager) to end the actors.
    """

    def __init__(
        self,
        index_dir: str | os.PathLike,
        *,
        shards: int = 2,
        encoder: Any = None,
        threads_per_shard: int = 1,
        max_restarts: int = 3,
        load_timeout: float = 120.0,
    ):
        ray = require_ray()
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        for name, value in (("shards", shards), ("threads_per_shard", threads_per_shard)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if isinstance(max_restarts, bool) or not isinstance(max_restarts, int) or max_restarts < -1:
            raise ValueError(f"max_restarts must be an int >= -1 (-1: always), got {max_restarts!r}")
        self.path = os.path.abspath(os.fspath(index_dir))
        self._index = Index.open(self.path, encoder=encoder, merge="off")
        self._load_timeout = load_timeout
        if not ray.is_initialized():
            ray.init()
        nodes = sorted(
            n["NodeID"] for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU", 0) >= threads_per_shard
        )
        if not nodes:
            raise RuntimeError(f"no node of the Ray cluster has {threads_per_shard} CPU(s) for a shard")
        remote = ray.remote(Shard)
        self._actors = [
            remote.options(
                num_cpus=threads_per_shard,
                max_restarts=max_restarts,
                max_task_retries=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(nodes[i % len(nodes)], soft=True),
            ).remote(self.path, threads_per_shard)
            for i in range(shards)
        ]
        self._plan: ShardPlan | None = None
        try:
            self.refresh()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ state
    @property
    def plan(self) -> ShardPlan:
        """The generation searched and each shard's segments and live documents."""
        return self._plan

    def locations(self) -> list[tuple[str, int]]:
        """Where each shard's actor runs: (Ray node id, process id)."""
        import ray

        return ray.get([a.where.remote() for a in self._actors], timeout=self._load_timeout)

    def refresh(self) -> int:
        """Plans the shards on the latest committed state and brings every shard to it; returns
        its generation."""
        import ray

        for _ in range(10):
            self._index.refresh()
            generation = self._index.info()["generation"]
            held = ray.get([a.load.remote(generation) for a in self._actors], timeout=self._load_timeout)
            if all(g == generation for g in held):
                self._plan = plan_shards(self._index.segments(), len(self._actors), generation)
                return generation
        raise RuntimeError(f"{self.path} kept changing while its shards loaded it; try again")

    def close(self) -> None:
        """Ends the shard actors."""
        import ray

        for a in getattr(self, "_actors", ()):
            ray.kill(a, no_restart=True)
        self._actors = []

    def __enter__(self) -> ShardedIndex:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ search
    def search(
        self,
        queries: Any,
        *,
        k: int = 10,
        mode: str = "rerank",
        n_candidates: int = 100,
        probe: int | None = None,
        timeout: float | None = 30.0,
    ):
        """Index.search over the shards: the same arguments and, when every shard answers, the
        same ids, scores and order. timeout: seconds to wait for the shards (None: no limit);
        those that did not answer by then, failed, or answer from another generation are in
        the result's `failed`. Returns a ShardedResult per query (one, or a list for many)."""

        check_search_args(mode, k, n_candidates, probe)
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
            raise ValueError(f"timeout must be a number of seconds > 0 or None, got {timeout!r}")
        single, q = self._queries(queries)
        plan = self._plan
        tokens, offsets = _shared(np.ascontiguousarray(q.tokens)), _shared(np.ascontiguousarray(q.offsets))
        refs = [
            a.search.remote(
                plan.generation,
                list(names),
                tokens,
                offsets,
                mode,
                int(k),
                int(n_candidates),
                None if probe is None else int(probe),
            )
            for a, names in zip(self._actors, plan.segments)
        ]
        answers, failed = self._gather(refs, plan.generation, timeout)
        results = []
        for i in range(len(q)):
            if mode == "rerank":
                ids, scores = merge_rerank(
                    [a["candidates"][i] for a in answers],
                    [a["rescored"][i] for a in answers],
                    max(int(n_candidates), int(k)),
                    int(k),
                )
            else:
                ids, scores = merge_ranked([a["ranked"][i] for a in answers], int(k))
            results.append(ShardedResult(ids, scores, failed))
        return results[0] if single else results

    def _gather(self, refs: list, generation: int, timeout: float | None) -> tuple[list[dict], tuple]:
        """(answers of the shards that answered, in shard order; failures of the others)."""
        import ray

        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=timeout)
        ready = set(ready)
        answers, failed = [], []
        for shard, ref in enumerate(refs):
            if ref not in ready:
                failed.append(ShardFailure(shard, f"no answer within {timeout} s"))
                ray.cancel(ref)  # a queued request is dropped; one running finishes unread
                continue
            try:
                answer = ray.get(ref)
            except ray.exceptions.RayError as e:
                failed.append(ShardFailure(shard, f"failed: {type(e).__name__}: {str(e).splitlines()[0]}"))
                continue
            if answer["generation"] != generation:
                failed.append(
                    ShardFailure(
                        shard,
                        f"holds generation {answer['generation']}, the search is at "
                        f"{generation} (the index changed: call refresh())",
                    )
                )
                continue
            answers.append(answer)
        return answers, tuple(failed)

    def _queries(self, queries: Any) -> tuple[bool, Ragged]:
        """(one query?, float32 token vectors of the index's dimension); texts are encoded here."""
        dim = self._index.dim
        if isinstance(queries, str):
            return True, self._index.encode_queries([queries])
        if isinstance(queries, (list, tuple)) and queries and all(isinstance(x, str) for x in queries):
            return False, self._index.encode_queries(list(queries))
        if isinstance(queries, np.ndarray) and queries.ndim == 2:
            single, q = True, Ragged.from_list([queries], dim=queries.shape[1])
        elif isinstance(queries, np.ndarray) and queries.ndim == 3:
            single, q = False, Ragged.from_padded(queries, np.full(len(queries), queries.shape[1], np.int64))
        elif isinstance(queries, Ragged):
            single, q = False, queries
        elif isinstance(queries, (list, tuple)) and queries and all(isinstance(x, np.ndarray) for x in queries):
            single, q = False, Ragged.from_list(list(queries), dim=dim)
        else:
            raise TypeError(
                f"queries must be a string, a list of strings, a 2-D float32 array, a Ragged, a list of "
                f"2-D arrays or a 3-D array, got {type(queries).__name__}"
            )
        if q.dtype != "float32":
            raise TypeError(f"queries must hold float32 vectors, got {q.dtype}")
        if q.dim != dim:
            raise ValueError(f"queries have dimension {q.dim}, the index {dim}")
        return single, q


def _shared(a: np.ndarray):
    """What the shards are sent: small arrays as they are (Ray copies them into each call, cheaper
    than a round trip through its object store: 1.2 ms per put here), large ones put once."""
    import ray

    return ray.put(a) if a.nbytes > INLINE_BYTES else a
