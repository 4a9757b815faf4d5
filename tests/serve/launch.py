"""Starts the service on a loopback socket with what the command line does not offer, for the tests:
--claim-host H makes the app apply the rules of listening on H (writes without a token are refused
on a non-loopback address) while it really listens on 127.0.0.1 only; --fail-search makes every
search raise inside the worker, as a bug would (the client must get a plain 500); --slow-search S
makes every search take S seconds longer."""

import argparse
import sys
import time

from muvera_nano.serve import ServeSettings, server


class Wrapped:
    def __init__(self, index, fail: bool, delay: float):
        self._index, self._fail, self._delay = index, fail, delay

    def __getattr__(self, name):
        return getattr(self._index, name)

    def __len__(self):
        return len(self._index)

    def search(self, *args, **kwargs):
        if self._fail:
            raise RuntimeError("simulated failure in /very/secret/path")
        time.sleep(self._delay)
        return self._index.search(*args, **kwargs)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("index")
    p.add_argument("--claim-host", default="127.0.0.1")
    p.add_argument("--fail-search", action="store_true")
    p.add_argument("--slow-search", type=float, default=0.0)
    p.add_argument("--deadline-ms", type=float, default=100.0)
    p.add_argument("--max-batch", type=int, default=32)
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    index, has_encoder = server.open_index(args.index)
    if args.fail_search or args.slow_search:
        index = Wrapped(index, args.fail_search, args.slow_search)
    settings = ServeSettings(
        host=args.claim_host, port=args.port, deadline_ms=args.deadline_ms, max_batch=args.max_batch
    )
    server.run(
        index,
        settings,
        has_encoder=has_encoder,
        sock=server.bind("127.0.0.1", args.port),
        on_listening=lambda url: print(f"listening on {url}", file=sys.stderr, flush=True),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
