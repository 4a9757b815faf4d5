"""The ``muvera-nano`` command.

Each subcommand lives in its own module of this package with a ``register(subparsers)`` function
that adds its parser and sets ``func`` (called with the parsed arguments; returns the exit code).
To add a command, write the module and list its name in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("demo", "export", "index", "search", "evaluate", "info", "bench", "serve")


class CommandError(Exception):
    """A bad input that a command reports as one line on stderr (exit code 2)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="muvera-nano",
        description="Late-interaction (ColBERT) retrieval on CPUs: export models, build indexes, search.",
        epilog="Run `muvera-nano COMMAND --help` for a command's options and examples.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"muvera-nano {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parses `argv` (default sys.argv[1:]) and runs the command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CommandError, ValueError, TypeError, FileNotFoundError, RuntimeError, OSError) as e:
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"muvera-nano {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"muvera-nano {args.command}: interrupted", file=sys.stderr)
        return 130
