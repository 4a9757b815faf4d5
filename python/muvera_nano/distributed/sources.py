"""What a distributed build reads: a Ray Dataset as it is, or files Ray Data reads (JSONL,
Parquet, CSV), with the id and text columns checked before any worker starts."""

from __future__ import annotations

import os
from typing import Any

from ._ray import require_ray_data

READERS = {"json": "read_json", "parquet": "read_parquet", "csv": "read_csv"}
_EXTENSIONS = {".jsonl": "json", ".json": "json", ".ndjson": "json", ".parquet": "parquet", ".csv": "csv"}


def as_dataset(source: Any, read_format: str | None):
    """A ray.data.Dataset for `source`: a Dataset, or a path (file or folder) or list of paths,
    read as `read_format` ('json' for JSON lines, 'parquet', 'csv'; None: from the extensions)."""
    data = require_ray_data()
    if isinstance(source, data.Dataset):
        if read_format is not None:
            raise ValueError("read_format applies to files; the source is already a Ray Dataset")
        return source
    paths = [source] if isinstance(source, (str, os.PathLike)) else source
    if not isinstance(paths, (list, tuple)) or not paths or not all(isinstance(p, (str, os.PathLike)) for p in paths):
        raise TypeError(
            f"source must be a ray.data.Dataset, or a path or list of paths of JSONL, Parquet or CSV "
            f"files, got {type(source).__name__}"
        )
    paths = [os.fspath(p) for p in paths]
    if read_format is None:
        read_format = _format_of(paths)
    if read_format not in READERS:
        raise ValueError(f"read_format must be one of {sorted(READERS)} or None, got {read_format!r}")
    return getattr(data, READERS[read_format])(paths)


def _format_of(paths: list[str]) -> str:
    formats = set()
    for p in paths:
        if os.path.isdir(p):
            raise ValueError(
                f"source {p!r} is a folder: pass read_format ('json', 'parquet' or 'csv') to read the files in it"
            )
        ext = os.path.splitext(p)[1].lower()
        if ext not in _EXTENSIONS:
            raise ValueError(
                f"source {p!r}: cannot tell the format from {ext or 'no extension'!r}; pass "
                "read_format ('json', 'parquet' or 'csv')"
            )
        formats.add(_EXTENSIONS[ext])
    if len(formats) > 1:
        raise ValueError(f"source mixes formats {sorted(formats)}; build from one format at a time")
    return formats.pop()


def check_columns(dataset, id_column: str | None, text_column: str) -> None:
    """Raises ValueError naming a column the dataset lacks (reads its schema, which for files may
    read a first block)."""
    for name, value in (("text_column", text_column), ("id_column", id_column)):
        if value is not None and not isinstance(value, str):
            raise TypeError(
                f"{name} must be a column name (str){' or None' if name == 'id_column' else ''}, "
                f"got {type(value).__name__}"
            )
    schema = dataset.schema()
    names = list(schema.names) if schema is not None else []
    missing = [c for c in (id_column, text_column) if c is not None and c not in names]
    if missing:
        raise ValueError(
            f"the source has no column {' or '.join(map(repr, missing))}; its columns are {names} "
            "(choose them with id_column= and text_column=)"
        )
