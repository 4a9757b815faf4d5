"""Bad input gets a clear error naming what was found: checkpoints, model folders, encode arguments."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from fixtures.checkpoints import write_checkpoint
from safetensors.numpy import load_file, save_file

from muvera_nano.model import CheckpointError, ColBERT, export, load_checkpoint

SMALL = {"query_length": 8, "document_length": 16}


@pytest.fixture
def ckpt(tmp_path):
    return write_checkpoint(tmp_path / "ckpt", pylate_config=SMALL)


def _edit_json(path, **changes):
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


# -- checkpoint files -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["model.safetensors", "tokenizer.json", "config.json", "1_Dense/config.json", "1_Dense/model.safetensors"]
)
def test_missing_file(ckpt, name):
    (ckpt.folder / name).unlink()
    with pytest.raises(FileNotFoundError, match=f"missing file .*{name}"):
        load_checkpoint(ckpt.folder)


def test_missing_modules_json(ckpt):
    (ckpt.folder / "modules.json").unlink()
    with pytest.raises(CheckpointError, match=r"no modules\.json"):
        load_checkpoint(ckpt.folder)


def test_no_dense_module(ckpt):
    (ckpt.folder / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            ]
        )
    )
    with pytest.raises(CheckpointError, match="lists no Dense module"):
        load_checkpoint(ckpt.folder)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "bad_header"])
def test_corrupt_safetensors(ckpt, damage):
    path = ckpt.folder / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(
        {
            "truncated": data[: len(data) // 2],
            "garbage": b"\x07" * 100,
            "empty": b"",
            "bad_header": (40).to_bytes(8, "little") + b"{not json" + data[17:],
        }[damage]
    )
    with pytest.raises(CheckpointError, match=r"model\.safetensors is not a readable safetensors file"):
        load_checkpoint(ckpt.folder)


def test_corrupt_json(ckpt):
    (ckpt.folder / "config.json").write_text("{oops")
    with pytest.raises(CheckpointError, match=r"config\.json is not valid JSON"):
        load_checkpoint(ckpt.folder)


@pytest.mark.parametrize("model_type", ["roberta", "modernbert", None])
def test_unknown_architecture(ckpt, model_type):
    _edit_json(ckpt.folder / "config.json", model_type=model_type)
    with pytest.raises(CheckpointError, match=f"model_type {model_type!r}.*not supported"):
        load_checkpoint(ckpt.folder)


def test_tokenizer_without_prefix_tokens(tmp_path):
    built = write_checkpoint(tmp_path / "ckpt", pylate_config=SMALL, prefixes=())
    with pytest.raises(CheckpointError, match=r"no token for the prefix\(es\) \['\[Q\] ', '\[D\] '\]"):
        load_checkpoint(built.folder)


def test_weights_disagree_with_config(ckpt):
    _edit_json(ckpt.folder / "config.json", hidden_size=48, num_attention_heads=4)
    with pytest.raises(CheckpointError, match=r"has shape \(64, 32\), expected \(64, 48\)"):
        load_checkpoint(ckpt.folder)
    _edit_json(ckpt.folder / "config.json", hidden_size=32, num_hidden_layers=1)
    with pytest.raises(CheckpointError, match="tensors a 1-layer bert model does not use"):
        load_checkpoint(ckpt.folder)


def test_bert_config_with_hash_weights(tmp_path):
    built = write_checkpoint(tmp_path / "ckpt", architecture="bert_hash", pylate_config=SMALL)
    _edit_json(built.folder / "config.json", model_type="bert")
    with pytest.raises(
        CheckpointError, match=r"config\.json says bert.*embeddings\.word_embeddings\.projections\.weight"
    ):
        load_checkpoint(built.folder)


@pytest.mark.parametrize("change", ["transposed", "extra", "same_shape"])
def test_ambiguous_hash_tensors(tmp_path, change):
    built = write_checkpoint(tmp_path / "ckpt", architecture="bert_hash", hidden=32, projections=8, pylate_config=SMALL)
    path = built.folder / "model.safetensors"
    tensors = load_file(str(path))
    proj = "embeddings.word_embeddings.projections.weight"
    table = "embeddings.word_embeddings.embeddings.weight"
    if change == "transposed":
        tensors[proj] = np.ascontiguousarray(tensors[proj].T)
        match = "do not share a projections dimension"
    elif change == "extra":
        tensors["embeddings.word_embeddings.bias"] = np.zeros(32, np.float32)
        match = "holds two 2-D tensors"
    else:  # a table with as many rows as the hidden size cannot be told from the projection
        tensors[table] = tensors[table][:32]
        match = "cannot tell the BertHash table from the projection"
    save_file(tensors, str(path))
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(built.folder)


@pytest.mark.parametrize(
    "key,value,match",
    [
        ("query_length", "32", "query_length must be an integer"),
        ("query_length", 2, "leaves no room"),
        ("skiplist_words", [1, 2], "skiplist_words must hold strings"),
        ("do_query_expansion", "yes", "do_query_expansion must be true or false"),
    ],
)
def test_bad_pylate_settings(ckpt, key, value, match):
    _edit_json(ckpt.folder / "config_sentence_transformers.json", **{key: value})
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(ckpt.folder)


def test_default_prompt_is_refused(ckpt):
    _edit_json(
        ckpt.folder / "config_sentence_transformers.json", prompts={"query": "query: "}, default_prompt_name="query"
    )
    with pytest.raises(CheckpointError, match="default_prompt_name 'query'"):
        load_checkpoint(ckpt.folder)


def test_lengths_beyond_positions(ckpt, tmp_path):
    _edit_json(ckpt.folder / "config_sentence_transformers.json", document_length=100)  # 64 positions
    with pytest.raises(CheckpointError, match="length 100 exceeds the model's 64 positions"):
        export(ckpt.folder, tmp_path / "out")


def test_export_refuses_its_own_source_folder(ckpt):
    with pytest.raises(ValueError, match="out_dir must differ from the checkpoint folder"):
        export(ckpt.folder, ckpt.folder)


# -- hub ids ----------------------------------------------------------------------------------------
def test_hub_id_offline(monkeypatch):
    pytest.importorskip("huggingface_hub")  # installed by the reference stack
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RuntimeError, match=r"could not download 'neuml/colbert-muvera-nano'.*pass the local folder"):
        load_checkpoint("neuml/colbert-muvera-nano")
    # the CLI of current huggingface_hub is `hf` (huggingface-cli is deprecated, and gone in 2.x per issue 15)
    with pytest.raises(RuntimeError, match="`hf download neuml/colbert-muvera-nano --local-dir DIR`") as e:
        load_checkpoint("neuml/colbert-muvera-nano")
    assert "huggingface-cli" not in str(e.value)


def test_hub_id_without_huggingface_hub(monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    # no [hub] extra: tokenizers brings huggingface_hub, so only a broken install lacks it
    with pytest.raises(
        RuntimeError,
        match=r"huggingface_hub is not installed \(pip install huggingface_hub\); or "
        "download it elsewhere",
    ) as e:
        load_checkpoint("neuml/colbert-muvera-nano")
    assert "[hub]" not in str(e.value)


def test_source_neither_folder_nor_hub_id(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither an existing folder nor a hub id"):
        load_checkpoint(str(tmp_path / "nowhere" / "deeper"))
    with pytest.raises(TypeError, match="source must be a folder path or a hub id string, got int"):
        load_checkpoint(3)


# -- model folders and encode arguments ---------------------------------------------------------------
def test_model_folder_errors(bert_model_folder, tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        ColBERT(tmp_path / "missing")
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "model.onnx").write_bytes((bert_model_folder / "model.onnx").read_bytes())
    (partial / "tokenizer.json").write_bytes((bert_model_folder / "tokenizer.json").read_bytes())
    with pytest.raises(FileNotFoundError, match=r"encoding\.json"):
        ColBERT(partial)
    (partial / "encoding.json").write_bytes((bert_model_folder / "encoding.json").read_bytes())
    (partial / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match=r"model\.onnx cannot be loaded by onnxruntime"):
        ColBERT(partial)
    _edit_json(partial / "encoding.json", format_version=99)
    with pytest.raises(CheckpointError, match="format version 99; this muvera-nano reads version 1: re-export"):
        ColBERT(partial)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"threads": 0}, ValueError, "threads must be a positive integer"),
        ({"batch_size": 0}, ValueError, "batch_size must be a positive integer"),
        ({"graph_optimization": "max"}, ValueError, "graph_optimization must be one of"),
    ],
)
def test_constructor_arguments(bert_model_folder, kwargs, error, match):
    with pytest.raises(error, match=match):
        ColBERT(bert_model_folder, **kwargs)


@pytest.mark.parametrize(
    "texts,is_query,match",
    [
        ("a single string", True, r"got a single str; wrap it as \[text\]"),
        ([1, "b"], True, r"texts\[0\] must be a str, got int"),
        (["a", None], False, r"texts\[1\] must be a str, got NoneType"),
        ([b"bytes"], False, r"texts\[0\] must be a str, got bytes"),
        ({"a": 1}, True, "texts must be a list of strings, got dict"),
        (["a"], "yes", "is_query must be True or False, got str"),
    ],
)
def test_encode_arguments(bert_model_folder, texts, is_query, match):
    enc = ColBERT(bert_model_folder, threads=1)
    with pytest.raises(TypeError, match=match):
        enc.encode(texts, is_query)
