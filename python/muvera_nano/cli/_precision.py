"""The --precision option of the commands that encode text (passed to muvera_nano.model.load)."""

from __future__ import annotations

from ..model.runtimes import PRECISIONS


def add_precision_option(p) -> None:
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="arithmetic of the encoder: float32 (default: exact, as PyLate), int8 (onnxruntime, weights "
        "quantized at load; needs muvera-nano[export]) or bfloat16 (OpenVINO; needs "
        "muvera-nano[openvino] and a CPU with AVX512_BF16 or AMX). The reduced precisions are faster "
        "and lossy: see the README's encoder precision section",
    )
