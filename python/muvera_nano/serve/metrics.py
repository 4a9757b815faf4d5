"""Prometheus metrics of one server, on a registry of its own (several apps in one process, as in
tests, do not collide): requests and latency per endpoint (and search mode), the search queue's
depth, batch sizes, the index's size, and the process (RSS, open files, CPU)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.15,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(
        self,
        *,
        queue_depth: Callable[[], float],
        documents: Callable[[], float],
        segments: Callable[[], float],
        index_bytes: Callable[[], float],
        generation: Callable[[], float],
    ):
        r = self.registry = CollectorRegistry()
        ProcessCollector(registry=r)
        self.requests = Counter("muvera_nano_requests", "HTTP requests answered", ("endpoint", "status"), registry=r)
        self.latency = Histogram(
            "muvera_nano_request_seconds",
            "Time from request to response",
            ("endpoint", "mode"),
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch = Histogram(
            "muvera_nano_search_batch_size", "Queries searched together", buckets=BATCH_BUCKETS, registry=r
        )
        gauges = [
            ("muvera_nano_search_queue_depth", "Search queries waiting for the worker", queue_depth),
            ("muvera_nano_index_documents", "Live documents in the index", documents),
            ("muvera_nano_index_segments", "Segments in the index", segments),
            ("muvera_nano_index_bytes", "Bytes of the index's files", index_bytes),
            ("muvera_nano_index_generation", "The index's committed generation", generation),
        ]
        for name, doc, fn in gauges:
            Gauge(name, doc, registry=r).set_function(fn)

    def observe(self, endpoint: str, mode: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, str(status)).inc()
        self.latency.labels(endpoint, mode).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
