"""A real server process on a free loopback port, driven over HTTP by the standard library's client."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
START_SECONDS = 120  # a cold start on a loaded 2-core machine: imports, model, warm-up


class Server:
    """`muvera-nano serve` (or tests/serve/launch.py) in its own process; stderr is collected."""

    def __init__(self, args: list[str], *, env: dict | None = None, launcher: bool = False):
        cmd = (
            [sys.executable, str(HERE / "launch.py")]
            if launcher
            else [sys.executable, "-m", "muvera_nano.cli", "serve"]
        )
        self.proc = subprocess.Popen(
            [*cmd, *args, "--port", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[str] = []
        self._listening = threading.Event()
        self.port: int | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._listening.wait(START_SECONDS) or self.port is None:
            self.kill()
            raise AssertionError("the server did not start:\n" + self.log)
        deadline = time.monotonic() + START_SECONDS
        while self.call("GET", "/readyz")[0] != 200:
            assert time.monotonic() < deadline, "the server did not become ready:\n" + self.log
            time.sleep(0.05)

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                self._listening.set()
        self._listening.set()

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def connection(self, timeout: float = 60) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def call(
        self,
        method: str,
        path: str,
        body=None,
        *,
        headers: dict | None = None,
        raw: bytes | None = None,
        timeout: float = 60,
    ):
        """(status, headers, parsed JSON or text) of one request on a new connection."""
        conn = self.connection(timeout)
        try:
            hdrs = dict(headers or {})
            data = raw
            if body is not None:
                data = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            payload = r.read()
            ctype = r.getheader("content-type", "")
            value = json.loads(payload) if ctype.startswith("application/json") else payload.decode()
            return r.status, dict(r.getheaders()), value
        finally:
            conn.close()

    def metric(self, name: str, labels: str = "") -> float | None:
        text = self.call("GET", "/metrics")[2]
        m = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.M)
        return None if m is None else float(m.group(1))

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("the server did not stop within the time on SIGTERM:\n" + self.log) from None
        self._reader.join(10)
        self.proc.stderr.close()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(10)
        self.proc.stderr.close()


def wait_until(predicate, seconds: float = 30, what: str = "condition"):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def passages(n: int, offset: int = 0) -> list[str]:
    """Short real-text passages (paragraphs of Python's own docs)."""
    from pydoc_data.topics import topics

    out = []
    for name in sorted(topics):
        for p in topics[name].split("\n\n"):
            p = " ".join(p.split())
            if 40 <= len(p) <= 400:
                out.append(p)
    return out[offset : offset + n]
