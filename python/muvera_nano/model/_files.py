"""Small file helpers for the model package: JSON reading with clear errors, atomic writes,
and a safetensors reader (numpy API) that turns every failure into a message naming the file."""

from __future__ import annotations

import json
import os
import tempfile
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


def write_atomic(path: Path, data: bytes) -> None:
    """Writes `data` to `path` through a temporary file in the same folder, fsync and rename,
    so a reader never sees a partial file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


def write_json_atomic(path: Path, obj: Any) -> None:
    write_atomic(path, (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


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
