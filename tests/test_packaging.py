"""What the installed distribution promises: run-time dependencies without onnx or torch, the
extras that bring them, and errors that name the extra when one is missing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import metadata, requires

import pytest

from muvera_nano._optional import optional_import


def _requirements() -> tuple[set[str], dict[str, set[str]]]:
    """(run-time requirement names, {extra: requirement names}) from the installed metadata."""
    always, extras = set(), {}
    for req in requires("muvera-nano") or []:
        name = req.split(";")[0].split("[")[0]
        for sep in "<>=!~ ":
            name = name.split(sep)[0]
        if "extra ==" in req:
            extra = req.split("extra ==")[1].strip().strip("'\"")
            extras.setdefault(extra, set()).add(name.lower())
        else:
            always.add(name.lower())
    return always, extras


def test_run_time_dependencies_leave_heavy_and_single_command_packages_to_extras():
    always, extras = _requirements()
    assert always == {"numpy", "ml_dtypes", "onnxruntime", "safetensors", "tokenizers", "tqdm", "threadpoolctl"}
    assert extras["export"] == {"onnx"}
    assert extras["graph"] == {"usearch"}
    # tokenizers already brings huggingface_hub: an extra for it would install nothing.
    assert "hub" not in extras
    assert not any("torch" in names for names in extras.values())


def test_metadata_is_complete_enough_for_an_index():
    meta = metadata("muvera-nano")
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta["Requires-Python"] == ">=3.10"
    assert meta["Description-Content-Type"] == "text/markdown"
    assert "Programming Language :: C++" in meta.get_all("Classifier")
    assert "colbert" in meta["Keywords"].split(",")


def test_optional_import_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if onnx were not installed
    with pytest.raises(
        ModuleNotFoundError, match=r"exporting needs the onnx package: pip install 'muvera-nano\[export\]'"
    ):
        optional_import("onnx", "export", "exporting")
    assert optional_import("json", "none", "anything").dumps([1]) == "[1]"


def test_optional_import_shows_a_broken_dependency_as_it_is(tmp_path, monkeypatch):
    # The package is there but one of its own imports is missing: that name, not the extra.
    (tmp_path / "half_installed").mkdir()
    (tmp_path / "half_installed" / "__init__.py").write_text("import its_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as e:
        optional_import("half_installed", "none", "anything")
    assert e.value.name == "its_missing_dependency"
    assert "muvera-nano[" not in str(e.value)


NO_ONNX = r"exporting a checkpoint to ONNX needs the onnx package: pip install 'muvera-nano\[export\]'"


def test_export_without_onnx_names_the_extra_before_reading_the_checkpoint(tmp_path, monkeypatch):
    from muvera_nano.model import export

    monkeypatch.setitem(sys.modules, "onnx", None)  # as if onnx were not installed
    # no checkpoint there: the missing extra is said first, before anything is read or downloaded
    with pytest.raises(ModuleNotFoundError, match=NO_ONNX) as e:
        export(tmp_path / "no-checkpoint-here", tmp_path / "out")
    assert e.value.name == "onnx" and not (tmp_path / "out").exists()


def test_building_the_graph_without_onnx_names_the_extra(models, monkeypatch):
    from muvera_nano.model import load_checkpoint
    from muvera_nano.model.onnx_export import build_model

    ckpt = load_checkpoint(models.checkpoint("bert").folder)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ModuleNotFoundError, match=NO_ONNX):
        build_model(ckpt)


def test_the_encoder_runs_without_onnx(models):
    folder = models.model_folder("bert")  # exported here, where onnx is installed
    script = textwrap.dedent(f"""
        import sys
        sys.modules["onnx"] = None  # any import of onnx now fails
        from muvera_nano.model import ColBERT
        out = ColBERT({str(folder)!r}, threads=1).encode(["late interaction"], is_query=False)
        print(len(out), out[0].shape[1])
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == "1"
