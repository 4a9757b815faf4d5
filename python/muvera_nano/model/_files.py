"""Reading checkpoint files with clear errors: JSON, and safetensors (numpy API) with every
failure turned into a message naming the file. (Writing goes through muvera_nano._atomic.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


class CheckpointError(ValueError):
    """A checkpoint or model folder that cannot be read or mapped unambiguously."""


def read_json(path: Path, *, required: bool = True) -> Any:
    """The parsed JSON at `path`; None when the file is absent and not required."""
    if not path.is_file():
        if required:
            raise FileNotFoundError(f"missing file {path}")
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} is not valid JSON: {e}") from None


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor in a .safetensors file as a numpy array, read with the safetensors package
    (numpy API). bfloat16, which numpy lacks, is widened to float32 from the raw bytes.
    A truncated or corrupt file gives one error naming the file."""
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        raise FileNotFoundError(f"missing file {path}")
    tensors: dict[str, np.ndarray] = {}
    bf16: list[str] = []
    try:
        with safe_open(str(path), framework="numpy") as f:
            for name in f.keys():
                if f.get_slice(name).get_dtype() == "BF16":
                    bf16.append(name)
                else:
                    tensors[name] = f.get_tensor(name)
    except (SafetensorError, OSError, ValueError, TypeError) as e:
        raise CheckpointError(f"{path} is not a readable safetensors file ({type(e).__name__}: {e})") from None
    if bf16:
        tensors.update(_read_bf16(path, bf16))
    return tensors


def _read_bf16(path: Path, names: list[str]) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n).decode("utf-8"))
        out = {}
        for name in names:
            begin, end = header[name]["data_offsets"]
            f.seek(8 + n + begin)
            raw = f.read(end - begin)
            rows = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
            out[name] = rows.reshape(header[name]["shape"])
    return out
