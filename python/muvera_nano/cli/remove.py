"""`muvera-nano remove INDEX_DIR ID ...`: remove documents by id."""

from __future__ import annotations

import argparse
import sys

from . import CommandError

EXAMPLES = """examples:
  muvera-nano remove ./my-index doc-17 doc-42
  muvera-nano remove ./my-index --ids-file stale.txt          (one id per line)
  muvera-nano remove ./my-index --ids-file - --ignore-missing < stale.txt
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "remove",
        help="remove documents from an index by id",
        description="Remove documents by id, from arguments or a file of one id per line, in "
        "one commit. An index with int ids takes ints. Unknown ids are an error "
        "(nothing is removed) unless --ignore-missing.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("index", metavar="INDEX_DIR")
    p.add_argument("ids", metavar="ID", nargs="*", help="ids to remove")
    p.add_argument("--ids-file", help="file of ids, one per line (- for stdin)")
    p.add_argument("--ignore-missing", action="store_true", help="skip ids the index does not hold")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..index import Index

    ids = list(args.ids)
    if args.ids_file:
        ids += _read_ids(args.ids_file)
    if not ids:
        raise CommandError("give the ids to remove as arguments or with --ids-file")
    idx = Index.open(args.index)
    if idx.id_kind == "int":
        bad = next((i for i in ids if not _is_int(i)), None)
        if bad is not None:
            raise CommandError(f"{args.index} has int ids; {bad!r} is not one")
        ids = [int(i) for i in ids]
    ids = list(dict.fromkeys(ids))
    held = set(idx.ids()) if args.ignore_missing else None
    if held is not None:
        missing = [i for i in ids if i not in held]
        ids = [i for i in ids if i in held]
    try:
        removed = idx.remove(ids)
    except KeyError as e:
        raise CommandError(f"{e.args[0]}; nothing was removed (--ignore-missing skips unknown ids)") from None
    skipped = f", {len(missing)} not in the index" if held is not None and missing else ""
    print(f"removed {removed} documents{skipped}; {args.index} now holds {len(idx)} documents")
    return 0


def _read_ids(path: str) -> list[str]:
    if path == "-":
        lines = sys.stdin.read().splitlines()
    else:
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            raise CommandError(f"{path}: no such file") from None
    return [line.strip() for line in lines if line.strip()]


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True
