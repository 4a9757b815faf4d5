"""int8 weights for a model graph: onnxruntime's dynamic quantization of every MatMul (weights int8
with one scale per output channel, activations quantized per call, int8 dot products on VNNI /
AVX-512 where the CPU has them). Used by ``export(quantize=True)`` and by ``precision="int8"``."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from .._optional import optional_import


def quantize_int8(model: bytes, needed_for: str) -> bytes:
    """The serialized ONNX `model` with its MatMul weights quantized to int8 (serialized too)."""
    optional_import("onnx", "export", needed_for)  # onnxruntime.quantization is built on it
    from onnxruntime.quantization import QuantType, quantize_dynamic

    def drop_preprocess_advice(record) -> bool:  # onnxruntime logs it on the root logger every time
        return "pre-processing before quantization" not in record.getMessage()

    root = logging.getLogger()
    root.addFilter(drop_preprocess_advice)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
            src.write_bytes(model)
            quantize_dynamic(
                str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"]
            )
            return dst.read_bytes()
    finally:
        root.removeFilter(drop_preprocess_advice)
