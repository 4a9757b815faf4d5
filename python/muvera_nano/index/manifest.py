"""The index manifest: one JSON file naming every file of the current state. Publishing a new
manifest (atomically) is the commit point of every change."""

from __future__ import annotations

import os

from .files import IndexFormatError, load_json, save_json

MANIFEST = "manifest.json"
FORMAT = "muvera-nano-index"
VERSION = 1
LOCK = ".lock"


def read_manifest(folder: str) -> dict:
    path = os.path.join(folder, MANIFEST)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{folder}: no such index folder")
    if not os.path.isfile(path):
        raise IndexFormatError(f"{folder}: not a muvera-nano index (no {MANIFEST})")
    m = load_json(path)
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise IndexFormatError(f"{path}: not a muvera-nano index manifest (format {m.get('format') if isinstance(m, dict) else None!r})")
    if m.get("version") != VERSION:
        raise IndexFormatError(f"{path}: index format version {m.get('version')!r}; this muvera-nano reads version {VERSION}")
    for key in ("generation", "dim", "token_dtype", "fde_dtype", "fde", "segments", "next_segment", "backend"):
        if key not in m:
            raise IndexFormatError(f"{path}: the manifest has no {key!r}")
    return m


def write_manifest(folder: str, manifest: dict) -> None:
    save_json(os.path.join(folder, MANIFEST), manifest)


def referenced_files(manifest: dict) -> set[str]:
    names = {MANIFEST, LOCK}
    for seg in manifest["segments"]:
        names.update(rec["file"] for rec in seg["files"].values())
        for extra in ("deleted", "graph"):
            if seg.get(extra):
                names.add(seg[extra]["file"])
    return names
