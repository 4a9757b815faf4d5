"""Starts the service on a loopback socket with what the command line does not offer, for the tests:
--claim-host H makes the app apply the rules of listening on H (writes without a token are refused
on a non-loopback address) while it really listens on 127.0.0.1 only; --fail-search makes every
search raise inside the worker, as a bug would (the client must get a plain 500)."""

import argparse
import sys

from muvera_nano.serve import ServeSettings, server


class FailingSearch:
    def __init__(self, index):
        self._index = index

    def __getattr__(self, name):
        return getattr(self._index, name)

    def __len__(self):
        return len(self._index)

    def search(self, *args, **kwargs):
        raise RuntimeError("simulated failure in /very/secret/path")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("index")
    p.add_argument("--claim-host", default="127.0.0.1")
    p.add_argument("--fail-search", action="store_true")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    index, has_encoder = server.open_index(args.index)
    if args.fail_search:
        index = FailingSearch(index)
    settings = ServeSettings(host=args.claim_host, port=args.port)
    server.run(index, settings, has_encoder=has_encoder, sock=server.bind("127.0.0.1", args.port),
               on_listening=lambda url: print(f"listening on {url}", file=sys.stderr, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
