"""Checkpoint -> model folder (model.onnx, tokenizer.json, encoding.json)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .._atomic import write_atomic
from .._optional import optional_import
from ._files import CheckpointError
from .checkpoint import Checkpoint, load_checkpoint
from .quantize import quantize_int8
from .settings import MODEL_FILE, SETTINGS_FILE, TOKENIZER_FILE, EncodingSettings


@dataclass(frozen=True)
class ExportSummary:
    out_dir: Path
    settings: EncodingSettings
    onnx_bytes: int
    ignored_modules: tuple[str, ...]

    def lines(self) -> list[str]:
        s = self.settings
        return [
            f"source:       {s.source}",
            f"architecture: {s.architecture}, hidden {s.hidden_size}, {s.num_layers} layers, "
            f"{s.parameters:,} parameters, output dim {s.dim}",
            f"queries:      prefix {s.query_prefix!r} (id {s.query_prefix_id}), length {s.query_length}, "
            f"expansion {'on' if s.do_query_expansion else 'off'}"
            f"{', attending to expansion tokens' if s.attend_to_expansion_tokens else ''}",
            f"documents:    prefix {s.document_prefix!r} (id {s.document_prefix_id}), length {s.document_length}, "
            f"{len(s.skiplist_ids)} skiplist ids",
            f"weights:      {'int8 (dynamic quantization)' if s.quantized else 'float32'}, "
            f"model.onnx {self.onnx_bytes / 1e6:.2f} MB",
            f"written:      {self.out_dir}/{{{MODEL_FILE}, {TOKENIZER_FILE}, {SETTINGS_FILE}}}",
        ]


def export(
    source: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    quantize: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ExportSummary:
    """Exports the PyLate checkpoint `source` (folder or hub id) to the model folder `out_dir`.

    ``quantize=True`` stores the matrix weights as int8, one scale per output channel
    (onnxruntime dynamic quantization; activations are quantized per call);
    outputs then differ from PyLate's (the benchmark reports by how much).
    """
    say = progress or (lambda message: None)
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a folder path, got {type(out_dir).__name__}")
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir {str(out)!r} exists and is not a folder")
    # before reading (perhaps downloading) the checkpoint, which is of no use without it
    optional_import("onnx", "export", "exporting a checkpoint to ONNX")
    say(f"reading checkpoint {os.fspath(source)}")
    ckpt = load_checkpoint(source)
    if out.resolve() == ckpt.folder.resolve():
        raise ValueError("out_dir must differ from the checkpoint folder (its tokenizer.json would be overwritten)")
    longest = max(ckpt.pylate.query_length, ckpt.pylate.document_length)
    if longest > ckpt.shape.max_positions:
        raise CheckpointError(
            f"{ckpt.folder}: query/document length {longest} exceeds the model's {ckpt.shape.max_positions} positions"
        )

    say(
        f"building the ONNX graph ({ckpt.shape.architecture}, {ckpt.shape.layers} layers, hidden {ckpt.shape.hidden}, "
        f"{len(ckpt.dense)} dense layer(s))"
    )
    data = _onnx_bytes(ckpt, quantize, say)
    settings = _settings(ckpt, quantize)
    out.mkdir(parents=True, exist_ok=True)
    say(f"writing {out}")
    write_atomic(out / MODEL_FILE, data)
    write_atomic(out / TOKENIZER_FILE, ckpt.tokenizer.tokenizer_json.encode("utf-8"))
    settings.save(out)  # last: a folder with encoding.json is complete
    return ExportSummary(out, settings, len(data), ckpt.ignored_modules)


def _onnx_bytes(ckpt: Checkpoint, quantize: bool, say) -> bytes:
    from .. import __version__
    from .onnx_export import build_model

    model = build_model(ckpt, producer_version=__version__)
    data = model.SerializeToString()
    if not quantize:
        return data
    say("quantizing weights to int8 (onnxruntime dynamic quantization)")
    return quantize_int8(data, "exporting with quantize=True")


def _settings(ckpt: Checkpoint, quantize: bool) -> EncodingSettings:
    from .. import __version__

    versions = {"muvera_nano": __version__}
    for module in ("onnx", "tokenizers", "safetensors"):
        try:
            versions[module] = __import__(module).__version__
        except (ImportError, AttributeError):
            pass
    p, t = ckpt.pylate, ckpt.tokenizer
    return EncodingSettings(
        query_prefix=p.query_prefix,
        document_prefix=p.document_prefix,
        query_prefix_id=t.query_prefix_id,
        document_prefix_id=t.document_prefix_id,
        mask_id=t.mask_id,
        query_length=p.query_length,
        document_length=p.document_length,
        do_query_expansion=p.do_query_expansion,
        attend_to_expansion_tokens=p.attend_to_expansion_tokens,
        skiplist_words=p.skiplist_words,
        skiplist_ids=ckpt.skiplist_ids,
        do_lower_case=p.do_lower_case,
        dim=ckpt.dim,
        architecture=ckpt.shape.architecture,
        hidden_size=ckpt.shape.hidden,
        num_layers=ckpt.shape.layers,
        parameters=ckpt.parameters,
        quantized=quantize,
        source=ckpt.source,
        versions=versions,
    )
