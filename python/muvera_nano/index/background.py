"""Merges in a background thread (``Index(..., merge="background")``): every commit wakes the
thread, which trains codebooks when due and merges until the policy has nothing left to do.
Readers never wait for it; writers wait only while it publishes. The thread holds the index's
maintenance (maintenance.py) weakly between rounds and ends when the index is closed or
garbage-collected; a process that
exits mid-merge leaves the last committed state (the merge's job is cleaned up later)."""

from __future__ import annotations

import threading
import warnings
import weakref


class BackgroundMerges:
    def __init__(self, maintenance):
        self._owner = weakref.ref(maintenance)  # weakly: the thread must not keep the index alive
        self._cond = threading.Condition()
        self._requested = 0
        self._done = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="muvera-nano merges", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        with self._cond:
            self._requested += 1
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Waits until the work requested so far is done; False on timeout."""
        with self._cond:
            target = self._requested
            return self._cond.wait_for(lambda: self._done >= target or self.stop.is_set(), timeout)

    def close(self) -> None:
        """Stops the thread (a merge in progress is abandoned: nothing of it is published)."""
        self.stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        while not self.stop.is_set():
            with self._cond:
                if not self._cond.wait_for(lambda: self._requested > self._done or self.stop.is_set(), timeout=1.0):
                    if self._owner() is None:
                        return
                    continue
                target = self._requested
            maintenance = self._owner()
            if maintenance is None or self.stop.is_set():
                return
            try:
                maintenance.run(threads=None, stop=self.stop)
            except Exception as e:
                self.error = e
                warnings.warn(
                    f"muvera-nano: a background merge failed ({type(e).__name__}: {e}); the index keeps "
                    "its last committed state",
                    RuntimeWarning,
                    stacklevel=1,
                )
            finally:
                del maintenance
            with self._cond:
                self._done = target
                self._cond.notify_all()
