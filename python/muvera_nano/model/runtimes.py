"""The runtimes that execute a model folder's graph, one per precision:

- ``float32``: onnxruntime on model.onnx as exported (the exact path, <= 1e-5 against PyLate);
- ``int8``: onnxruntime on the same graph with its MatMul weights quantized to int8 at load
  (dynamic quantization: activations quantized per call; VNNI / AVX-512 int8 dot products);
- ``bfloat16``: OpenVINO on the same model.onnx with ``INFERENCE_PRECISION_HINT=bf16`` (matrix
  products in bfloat16 on AVX512_BF16 or AMX; the [openvino] extra).

Each runtime's ``run(input_ids, attention_mask)`` returns a new float32 array (batch, sequence,
dim) and may be called from many threads at once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._optional import optional_import
from ._files import CheckpointError
from .onnx_export import ATTENTION_MASK, INPUT_IDS

PRECISIONS = ("float32", "bfloat16", "int8")
OPT_LEVELS = ("disable", "basic", "extended", "all")


def check_precision(precision: Any, quantized_folder: bool) -> str:
    """The precision to run: `precision` checked, or the folder's own when None (int8 for a
    folder exported with quantize=True, else float32)."""
    if precision is None:
        return "int8" if quantized_folder else "float32"
    if not isinstance(precision, str):
        raise TypeError(f"precision must be a str (one of {PRECISIONS}) or None, got {type(precision).__name__}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if quantized_folder and precision != "int8":
        raise ValueError(
            f"precision={precision!r}: this model folder was exported with int8 weights (--quantize); "
            "load it with precision='int8', or export the checkpoint again without --quantize"
        )
    return precision


def open_runtime(
    model_path: Path, precision: str, threads: int, graph_optimization: str, spin: bool, quantized_folder: bool
):
    """The runtime for `precision` on the graph at `model_path`."""
    if precision == "bfloat16":
        return OpenVinoBfloat16(model_path, threads)
    model: Any = str(model_path)
    if precision == "int8" and not quantized_folder:
        from .quantize import quantize_int8

        model = quantize_int8(model_path.read_bytes(), "precision='int8' (quantizing the model's weights at load)")
    return OnnxRuntime(model, model_path, threads, graph_optimization, spin)


class OnnxRuntime:
    """An onnxruntime CPU session (sessions allow concurrent ``run`` calls)."""

    def __init__(self, model: str | bytes, path: Path, threads: int, level: str, spin: bool):
        import onnxruntime as ort

        so = ort.SessionOptions()
        # One operator at a time, each split over `threads`: BERT is a chain, so inter-op
        # parallelism has nothing to run side by side and would only add a second pool.
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = {
            "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[level]
        # The arena keeps freed activation buffers for the next call (no malloc/free per batch).
        # Memory patterns plan buffers for one fixed input shape; ours change every batch, so off.
        so.enable_cpu_mem_arena = True
        so.enable_mem_pattern = False
        # Spinning workers pick up the next operator at once; sleeping ones save CPU (see `spin`).
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        so.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(model, sess_options=so, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise CheckpointError(f"{path} cannot be loaded by onnxruntime: {type(e).__name__}: {e}") from None

    def run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run(None, {INPUT_IDS: ids, ATTENTION_MASK: mask})[0]


def check_bfloat16_capable(capabilities: Sequence[str], device_name: str) -> None:
    """Refuses a CPU on which OpenVINO would quietly run float32 instead of bfloat16 (it reports
    "BF16" among the CPU's optimization capabilities only with AVX512_BF16 or AMX)."""
    if "BF16" not in capabilities:
        raise ValueError(
            f"precision='bfloat16' needs a CPU with bfloat16 matrix instructions (AVX512_BF16 or AMX); "
            f"OpenVINO reports none on this CPU ({device_name}: {', '.join(capabilities)}). "
            "Use precision='int8' or 'float32'"
        )


class OpenVinoBfloat16:
    """The graph compiled by OpenVINO's CPU plugin with bfloat16 inference precision. Infer
    requests are not thread-safe, so each calling thread gets its own."""

    def __init__(self, path: Path, threads: int):
        ov = optional_import("openvino", "openvino", "precision='bfloat16'")
        core = ov.Core()
        check_bfloat16_capable(
            list(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")),
            str(core.get_property("CPU", "FULL_DEVICE_NAME")),
        )
        config = {
            "INFERENCE_PRECISION_HINT": "bf16",
            "INFERENCE_NUM_THREADS": threads,
            "NUM_STREAMS": 1,
            "PERFORMANCE_HINT": "LATENCY",
        }
        try:
            self.compiled = core.compile_model(str(path), "CPU", config)
        except Exception as e:  # OpenVINO raises RuntimeError subclasses of its own
            raise CheckpointError(f"{path} cannot be compiled by OpenVINO: {type(e).__name__}: {e}") from None
        got = self.compiled.get_property("INFERENCE_PRECISION_HINT")
        if got != ov.Type.bf16:  # never run another precision than the one asked for
            raise ValueError(f"precision='bfloat16': OpenVINO compiled the model for {got} on this CPU")
        self._local = threading.local()

    def run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.compiled.create_infer_request()
        request.infer({INPUT_IDS: ids, ATTENTION_MASK: mask})
        return np.array(request.get_output_tensor(0).data, np.float32)  # a copy: the next call reuses the buffer
