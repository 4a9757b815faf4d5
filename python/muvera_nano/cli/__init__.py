"""The ``muvera-nano`` command.

Each subcommand lives in its own module of this package with a ``register(subparsers)`` function
that adds its parser and sets ``func`` (called with the parsed arguments; returns the exit code).
To add a command, write the module and list its name in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

COMMANDS = ("demo", "export", "index", "search", "remove", "compact", "evaluate", "info", "bench", "serve")


class CommandError(Exception):
    """A bad input that a command reports as one line on stderr (exit code 2)."""


# Errors that describe the input or the environment, reported as they are; anything else is a bug.
EXPECTED = (CommandError, ValueError, TypeError, KeyError, OSError, ImportError, RuntimeError)


class Parser(argparse.ArgumentParser):
    """Usage errors in one line (with where to find help), exit code 2, as every other error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    """An argparse type: an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="muvera-nano",
        description="Late-interaction (ColBERT) retrieval on CPUs: export models, build indexes, search.",
        epilog="Run `muvera-nano COMMAND --help` for a command's options and examples.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"muvera-nano {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    for p in (parser, *subparsers.choices.values()):  # before or after the command
        p.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help="on an error, also print its traceback"
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parses `argv` (default sys.argv[1:]) and runs the command; returns the exit code.
    Every error is one line on stderr and exit code 2 (--debug adds the traceback); a closed
    output pipe (`| head`) ends the command quietly, as it ends other tools (exit code 141)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # the reader went away: write nothing more (not even the final flush) and say nothing
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool ended by a closed pipe
    except KeyboardInterrupt:
        print(f"muvera-nano {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # every error ends as one line
        if getattr(args, "debug", False):
            traceback.print_exc()
        message = one_line(e)
        if not isinstance(e, EXPECTED):
            message = (
                f"internal error ({type(e).__name__}: {message}); this is a bug, please report it with the "
                f"traceback --debug prints"
            )
        print(f"muvera-nano {args.command}: error: {message}", file=sys.stderr)
        return 2


def one_line(e: BaseException) -> str:
    text = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
    text = str(text).strip()
    return text.splitlines()[0] if text else type(e).__name__
