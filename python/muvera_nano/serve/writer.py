"""Index changes on one writer thread: adds and removes (each committed through the index's writer
lock before it is acknowledged) and the periodic refresh that picks up commits made by other
processes. One thread keeps changes in arrival order and off the event loop; searches never wait
for it (they read the index's last committed snapshot). Pending changes are bounded."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from typing import Any

from .batcher import QueueFull

log = logging.getLogger("muvera_nano.serve")


class Writer:
    def __init__(self, index, *, max_pending: int):
        self._index = index
        self._max_pending = max_pending
        self._pending = 0
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="muvera-nano-writer")

    async def run(self, change: Callable[[Any], Any]) -> Any:
        """change(index) on the writer thread; QueueFull when max_pending changes are waiting."""
        with self._lock:
            if self._pending >= self._max_pending:
                raise QueueFull
            self._pending += 1
        try:
            fut = self._pool.submit(change, self._index)
        except BaseException:
            self._release()
            raise
        fut.add_done_callback(lambda _: self._release())
        return await asyncio.wrap_future(fut)

    def _release(self) -> None:
        with self._lock:
            self._pending -= 1

    async def refresh_forever(self, seconds: float) -> None:
        """Picks up other processes' commits every `seconds` (a failed refresh keeps the current
        snapshot and is logged; the next one tries again)."""
        if seconds <= 0:
            return
        while True:
            await asyncio.sleep(seconds)
            try:
                await asyncio.wrap_future(self._pool.submit(self._index.refresh))
            except asyncio.CancelledError:
                raise
            except Exception:  # keep serving the last snapshot
                log.exception("refreshing the index failed; serving the last snapshot")

    def close(self) -> None:
        """Finishes the changes already accepted."""
        self._pool.shutdown(wait=True)
