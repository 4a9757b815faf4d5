"""Beyond one machine, on Ray (``pip install 'muvera-nano[ray]'``).

- :func:`build_index`: documents (a Ray Dataset, or JSONL / Parquet / CSV files) encoded by a pool
  of Ray actors, one model load each, FDE rows and storage computed in the same actors, segments
  written by the workers into a job of the index (a folder every node reaches), and published by
  one atomic commit of the driver. A build that fails or is cancelled publishes nothing; a worker
  killed mid-segment is retried by Ray and leaves nothing in the committed index.
- :class:`ShardedIndex`: an index's segments split among Ray actors (one shard each, spread over
  the nodes); a query fans out, every shard answers with its exact top-k, and the merge returns
  exactly what the one index returns (ids, scores, tie order). A shard that does not answer in
  time, or fails, is named in the result.
"""

from .build import BuildCancelled, BuildReport, DistributedBuildError, build_index
from .progress import DistributedProgress
from .shards import ShardedIndex, ShardedResult, ShardFailure

__all__ = [
    "BuildCancelled",
    "BuildReport",
    "DistributedBuildError",
    "DistributedProgress",
    "ShardFailure",
    "ShardedIndex",
    "ShardedResult",
    "build_index",
]
