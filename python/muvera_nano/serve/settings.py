"""What a server accepts and how it queues: every limit in one frozen object, checked once."""

from __future__ import annotations

import dataclasses
import ipaddress
import math

LOOPBACK_HOST = "127.0.0.1"


@dataclasses.dataclass(frozen=True)
class ServeSettings:
    """Limits and queueing of one server.

    max_queue: search queries waiting for the worker at most; past it a search gets 503 with
    Retry-After (bounded latency instead of an unbounded queue). deadline_ms: the latency an
    accepted search is held to: a search predicted to finish later (by what a query has cost the
    worker lately and the queries ahead of it) gets 503 at once, unless nothing is ahead of it;
    batches hold at most half a deadline's worth of queries. max_batch: queries searched
    together at most. batch_wait_ms: how long the worker, holding fewer than max_batch queries,
    waits for more before it starts (0: it takes what has arrived). max_writes: add/remove
    requests waiting at most. max_connections: open connections and requests at most
    (uvicorn answers 503 past it). token: the bearer token write endpoints require (None: none
    required on a loopback address, writes refused on any other).
    """

    host: str = LOOPBACK_HOST
    port: int = 8000
    max_queue: int = 64
    deadline_ms: float = 100.0
    max_batch: int = 32
    batch_wait_ms: float = 1.0
    max_writes: int = 8
    max_connections: int = 1_024
    max_body_bytes: int = 8 << 20
    max_query_chars: int = 2_000
    max_document_chars: int = 100_000
    max_documents: int = 1_000
    max_query_tokens: int = 1_024
    max_document_tokens: int = 10_000
    max_k: int = 1_000
    max_candidates: int = 10_000
    max_id_chars: int = 256
    token: str | None = dataclasses.field(default=None, repr=False)
    refresh_seconds: float = 1.0
    shutdown_seconds: float = 30.0

    def __post_init__(self):
        if not isinstance(self.host, str) or not self.host:
            raise ValueError(f"host must be a non-empty string, got {self.host!r}")
        for names, types, low, high, expected in _NUMERIC_OPTIONS:
            for name in names:
                v = getattr(self, name)
                if isinstance(v, bool) or not isinstance(v, types) or not low <= v < high:
                    raise ValueError(f"{name} must be {expected}, got {v!r}")
        if self.deadline_ms <= self.batch_wait_ms:
            raise ValueError(
                f"deadline_ms ({self.deadline_ms}) must exceed batch_wait_ms ({self.batch_wait_ms}): "
                "a query waits for its batch to fill"
            )
        if self.token is not None and (
            not isinstance(self.token, str) or len(self.token) < 16 or any(c.isspace() for c in self.token)
        ):
            raise ValueError("the token must be a string of at least 16 characters without whitespace")

    @property
    def loopback(self) -> bool:
        """Whether the server listens on a loopback address only."""
        return is_loopback(self.host)

    @property
    def writes_allowed(self) -> bool:
        """Writes are refused on a non-loopback address without a token."""
        return self.token is not None or self.loopback


# The numeric options, checked in this order: (names, types accepted, lowest value, first value too
# high, what the error says is expected). Every max_* option is a count.
_COUNTS = tuple(f.name for f in dataclasses.fields(ServeSettings) if f.name.startswith("max_"))
_DURATIONS = ("batch_wait_ms", "refresh_seconds", "shutdown_seconds", "deadline_ms")
_NUMERIC_OPTIONS = (
    (("port",), int, 0, 65536, "an int in 0..65535"),
    (_COUNTS, int, 1, math.inf, "an int >= 1"),
    (_DURATIONS, (int, float), 0, math.inf, "a number >= 0"),
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
