"""`muvera-nano info INDEX_DIR`: what an index holds."""

from __future__ import annotations

import argparse
import json

EXAMPLES = """examples:
  muvera-nano info ./my-index
  muvera-nano info ./my-index --verify      (checksums every file)
  muvera-nano info ./my-index --json
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "info",
        help="describe an index folder",
        description="Print an index's document count, storage types, FDE settings, candidate "
        "backend, encoder and size on disk (every file, graphs included).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("index", metavar="INDEX_DIR")
    p.add_argument("--verify", action="store_true", help="checksum every file against the manifest")
    p.add_argument("--json", action="store_true", help="print the raw description as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..index import Index

    idx = Index.open(args.index, verify=args.verify)
    info = idx.info()
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    fde = info["fde"]
    size = sum(info["bytes"].values())
    backend = info["backend"]
    graph = backend["graph"]
    enc = info["encoder"]
    model = info["model"] or {}
    print(f"index       {info['path']}")
    print(
        f"documents   {info['documents']} live ({info['deleted']} removed, {info['segments']} segments, "
        f"{info['tokens']} token vectors)"
    )
    print(f"tokens      dim {info['dim']}, stored as {info['token_dtype']}")  # the target kinds
    print(
        f"FDE         {info['fde_dim']} values ({fde['preset']}: R={fde['repetitions']}, k={fde['simhash_bits']}, "
        f"p={fde['projection_dimension']}, fill={fde['fill_empty']}, seed={fde['seed']}), stored as {info['fde_dtype']}"
    )
    if graph is None:
        print("backend     exact (every FDE row scanned)")
    else:
        print(
            f"backend     hnsw (a usearch graph per segment: connectivity {graph['connectivity']}, expansion "
            f"{graph['expansion_add']}/{graph['expansion_search']}, {graph['dtype']})"
        )
    if len(info["storage"]) > 1 or info["codebooks"]:  # segments in several kinds (staged, trained)
        for i, row in enumerate(info["storage"]):
            print(
                f"{'storage' if i == 0 else '':<12}{row['segments']} segments ({row['documents']} documents): tokens "
                f"{row['tokens']}, FDE rows {row['fde']}"
            )
        for role, book in info["codebooks"].items():
            print(f"codebooks   {role}: {book['kind']['kind']}, trained on {book['documents']} documents")
    print(f"ids         {info['id_kind'] or '-'}")
    if enc is None:
        print("encoder     - (built from token vectors)")
    else:
        where = model.get("relative") or model.get("path") or "-"
        print(f"encoder     {where} (dim {enc['dim']}, content sha256 {enc['sha256'][:12]})")
    print(
        f"disk        {size / 1e6:.1f} MB ("
        + ", ".join(f"{k} {v / 1e6:.1f}" for k, v in sorted(info["bytes"].items()))
        + ")"
    )
    if args.verify:
        print("verified    the manifest and every file match their checksums")
    return 0
