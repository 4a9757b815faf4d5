"""The encoding settings written next to model.onnx (``encoding.json``): everything the encoder
needs besides the graph and the tokenizer, plus where the model came from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .._atomic import read_json, write_json
from ._files import CheckpointError

SETTINGS_FILE = "encoding.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
FORMAT = "muvera-nano-encoding"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class EncodingSettings:
    query_prefix: str
    document_prefix: str
    query_prefix_id: int
    document_prefix_id: int
    mask_id: int  # [MASK]: query expansion and padding
    query_length: int
    document_length: int
    do_query_expansion: bool
    attend_to_expansion_tokens: bool
    skiplist_words: tuple[str, ...]
    skiplist_ids: tuple[int, ...]
    do_lower_case: bool
    dim: int
    architecture: str
    hidden_size: int
    num_layers: int
    parameters: int
    quantized: bool = False
    source: str = ""
    versions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["skiplist_words"] = list(self.skiplist_words)
        data["skiplist_ids"] = list(self.skiplist_ids)
        return data

    def save(self, folder: Path) -> None:
        write_json(Path(folder) / SETTINGS_FILE, FORMAT, FORMAT_VERSION, self.to_json())

    @classmethod
    def load(cls, folder: Path) -> EncodingSettings:
        path = Path(folder) / SETTINGS_FILE
        data = read_json(
            path, FORMAT, FORMAT_VERSION, CheckpointError, what="encoding settings file", upgrade="re-export the model"
        )
        optional = {"quantized", "source", "versions"}
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        missing = [f.name for f in fields(cls) if f.name not in values and f.name not in optional]
        if missing:
            raise CheckpointError(f"{path}: missing keys {missing}")
        _check(path, values)
        values["skiplist_words"] = tuple(values["skiplist_words"])
        values["skiplist_ids"] = tuple(values["skiplist_ids"])
        return cls(**values)


def _check(path: Path, v: dict[str, Any]) -> None:
    def bad(key, what):
        raise CheckpointError(f"{path}: {key} must be {what}, got {v[key]!r}")

    for key in (
        "query_prefix_id",
        "document_prefix_id",
        "mask_id",
        "query_length",
        "document_length",
        "dim",
        "hidden_size",
        "num_layers",
        "parameters",
    ):
        if not isinstance(v[key], int) or isinstance(v[key], bool) or v[key] < 0:
            bad(key, "a non-negative integer")
    for key in ("query_length", "document_length"):
        if v[key] < 3:
            bad(key, "at least 3")
    for key in ("do_query_expansion", "attend_to_expansion_tokens", "do_lower_case"):
        if not isinstance(v[key], bool):
            bad(key, "true or false")
    if not isinstance(v["skiplist_ids"], list) or not all(isinstance(i, int) and i >= 0 for i in v["skiplist_ids"]):
        bad("skiplist_ids", "a list of non-negative integers")
    if not isinstance(v["skiplist_words"], list) or not all(isinstance(w, str) for w in v["skiplist_words"]):
        bad("skiplist_words", "a list of strings")
