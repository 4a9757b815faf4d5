"""Progress of a distributed build as the driver sees it: documents written by the workers so far
(counted as their segments arrive, in order), the rate since the build started, and the time left
when the total is known."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple


class DistributedProgress(NamedTuple):
    documents: int  # written into the job by the workers so far
    total: int | None  # documents in the source, when known
    seconds: float  # since the workers were started
    rate: float  # documents per second so far
    eta: float | None  # seconds left at that rate (None without a total)


def check_progress(progress) -> None:
    if not (isinstance(progress, bool) or callable(progress)):
        raise TypeError(
            f"progress must be a bool or a function taking a DistributedProgress, got {type(progress).__name__}"
        )


class Reporter:
    """Calls `progress` (a function taking a DistributedProgress, True for a tqdm bar, or False)
    per segment written."""

    def __init__(self, progress: bool | Callable[[DistributedProgress], None], total: int | None):
        self.total = total
        self.documents = 0
        self.start = time.perf_counter()
        self._call = progress if callable(progress) else None
        self._bar = None
        if progress is True:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="doc", desc="documents encoded and written", smoothing=0.1)

    def add(self, documents: int) -> DistributedProgress:
        self.documents += documents
        seconds = time.perf_counter() - self.start
        rate = self.documents / seconds if seconds > 0 else 0.0
        eta = None
        if self.total is not None and rate > 0:
            eta = max(self.total - self.documents, 0) / rate
        state = DistributedProgress(self.documents, self.total, seconds, rate, eta)
        if self._bar is not None:
            self._bar.update(documents)
        if self._call is not None:
            self._call(state)
        return state

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
