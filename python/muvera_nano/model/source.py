"""Where a checkpoint comes from: a local folder, or a hub id downloaded with huggingface_hub."""

from __future__ import annotations

import os
import re
from pathlib import Path

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


def resolve_source(source: str | os.PathLike) -> tuple[Path, str]:
    """Returns (local folder, description of the source).

    A path that exists is used as is. Something shaped like a hub id ("owner/name") is
    downloaded when huggingface_hub is installed and the hub reachable; otherwise the error
    says how to provide a local folder instead.
    """
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be a folder path or a hub id string, got {type(source).__name__}")
    text = os.fspath(source)
    path = Path(text).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ValueError(
                f"source {text!r} is a file; expected a checkpoint folder (with modules.json, "
                "config.json, model.safetensors, tokenizer.json)"
            )
        return path.resolve(), str(path.resolve())
    if not _HUB_ID.match(text) or text.startswith((".", "/", "~")):
        raise FileNotFoundError(f"source {text!r} is neither an existing folder nor a hub id of the form owner/name")
    return _download(text), f"hub:{text}"


def _download(repo_id: str) -> Path:
    how = (
        f"download it elsewhere (e.g. `hf download {repo_id} --local-dir DIR`, hf from "
        "`pip install -U huggingface_hub`) and pass the local folder DIR instead"
    )
    try:
        import huggingface_hub
    except ImportError:
        raise RuntimeError(
            f"{repo_id!r} is not a local folder and huggingface_hub is not installed "
            f"(pip install huggingface_hub); or {how}"
        ) from None
    try:
        folder = huggingface_hub.snapshot_download(
            repo_id=repo_id,
            allow_patterns=["*.json", "*.safetensors", "*.txt", "*.py", "*/*.json", "*/*.safetensors"],
        )
    except Exception as e:  # offline, not found, gated, network: all end the same way for the user
        raise RuntimeError(
            f"could not download {repo_id!r} from the hub ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
            f"{how}"
        ) from None
    return Path(folder)
