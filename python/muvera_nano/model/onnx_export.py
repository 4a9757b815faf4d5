"""Builds the ONNX graph of a checkpoint directly from its numpy weights (no torch).

Inputs: ``input_ids`` and ``attention_mask``, int64 (batch, sequence). Output: ``embeddings``,
float32 (batch, sequence, dim), every row L2-normalised as x / max(|x|, 1e-12). The graph is
plain opset-17 ONNX written in the shapes ONNX Runtime's fusions recognise (LayerNormalization,
erf GELU, scaled dot-product attention with an additive mask); the runtime fuses them when the
session is created.

Computation, as transformers' BertModel + PyLate's Dense layers do it:
embeddings = LayerNorm(word[ids] + token_type[0] + position[0..S))   (BertHash: word = table[ids] @ P^T)
per layer:   a = LayerNorm(x + Wo·attention(x) + bo);  x = LayerNorm(a + W2·act(W1·a + b1) + b2)
then every Dense layer (linear, bias, activation, residual) and the L2 normalisation.
"""

from __future__ import annotations

import math

import numpy as np

from .._optional import optional_import
from .checkpoint import Checkpoint

OPSET = 17
INPUT_IDS = "input_ids"
ATTENTION_MASK = "attention_mask"
OUTPUT = "embeddings"


def _onnx():
    """The onnx package, an optional dependency: only building a graph needs it, encoding does not."""
    return optional_import("onnx", "export", "exporting a checkpoint to ONNX")


class _Graph:
    """Accumulates nodes and initializers with unique names."""

    def __init__(self):
        onnx = _onnx()
        self.helper, self.numpy_helper = onnx.helper, onnx.numpy_helper
        self.nodes, self.inits, self._n = [], [], 0

    def const(self, name: str, value) -> str:
        self.inits.append(self.numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], name: str | None = None, **attrs) -> str:
        self._n += 1
        out = name or f"{op_type.lower()}_{self._n}"
        self.nodes.append(self.helper.make_node(op_type, inputs, [out], name=f"n{self._n}_{op_type}", **attrs))
        return out

    def linear(self, x: str, weight: np.ndarray, bias: np.ndarray | None, name: str) -> str:
        """x @ weight.T + bias, weight in (out, in) layout as PyTorch stores it."""
        y = self.op("MatMul", [x, self.const(f"{name}.weight_t", np.ascontiguousarray(weight.T))])
        if bias is not None:
            y = self.op("Add", [y, self.const(f"{name}.bias", bias)])
        return y

    def layer_norm(self, x: str, weight: np.ndarray, bias: np.ndarray, eps: float, name: str) -> str:
        return self.op(
            "LayerNormalization",
            [x, self.const(f"{name}.weight", weight), self.const(f"{name}.bias", bias)],
            axis=-1,
            epsilon=float(eps),
        )

    def activation(self, x: str, kind: str, name: str) -> str:
        if kind == "identity":
            return x
        if kind == "relu":
            return self.op("Relu", [x])
        if kind == "tanh":
            return self.op("Tanh", [x])
        if kind == "sigmoid":
            return self.op("Sigmoid", [x])
        half = self.const(f"{name}.half", np.float32(0.5))
        one = self.const(f"{name}.one", np.float32(1.0))
        if kind == "gelu":  # 0.5 x (1 + erf(x / sqrt 2)), the pattern ORT's GeluFusion matches
            e = self.op("Erf", [self.op("Div", [x, self.const(f"{name}.sqrt2", np.float32(math.sqrt(2.0)))])])
            return self.op("Mul", [self.op("Mul", [x, self.op("Add", [e, one])]), half])
        if kind == "gelu_tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
            cube = self.op("Mul", [self.op("Mul", [x, x]), x])
            inner = self.op("Add", [x, self.op("Mul", [cube, self.const(f"{name}.c", np.float32(0.044715))])])
            t = self.op(
                "Tanh", [self.op("Mul", [inner, self.const(f"{name}.k", np.float32(math.sqrt(2.0 / math.pi)))])]
            )
            return self.op("Mul", [self.op("Mul", [x, self.op("Add", [t, one])]), half])
        raise ValueError(f"unknown activation {kind!r}")


def build_model(ckpt: Checkpoint, *, producer_version: str = ""):
    """The ONNX ModelProto for `ckpt` (checked with onnx.checker)."""
    onnx = _onnx()
    TensorProto, helper = onnx.TensorProto, onnx.helper

    s, w = ckpt.shape, ckpt.weights
    g = _Graph()
    ids, mask = INPUT_IDS, ATTENTION_MASK

    # Embeddings. Position ids are 0..S-1 for every row (absolute positions, right padding).
    if s.architecture == "bert_hash":
        rows = g.op("Gather", [g.const("embeddings.hash_table", w["embeddings.hash_table"]), ids], axis=0)
        word = g.op(
            "MatMul",
            [rows, g.const("embeddings.hash_projection_t", np.ascontiguousarray(w["embeddings.hash_projection"].T))],
        )
    else:
        word = g.op("Gather", [g.const("embeddings.word", w["embeddings.word_embeddings.weight"]), ids], axis=0)
    token_type = g.const("embeddings.token_type0", w["embeddings.token_type_embeddings.weight"][0])
    x = g.op("Add", [word, token_type])
    shape = g.op("Shape", [ids])
    seq = g.op("Gather", [shape, g.const("one_index", np.array(1, np.int64))], axis=0)
    zero = g.const("zero_1d", np.array([0], np.int64))
    seq_1d = g.op("Unsqueeze", [seq, zero])
    positions = g.op(
        "Slice", [g.const("embeddings.position", w["embeddings.position_embeddings.weight"]), zero, seq_1d, zero]
    )
    x = g.op("Add", [x, positions])
    x = g.layer_norm(
        x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], s.layer_norm_eps, "embeddings.ln"
    )

    # Additive attention mask: 0 where attended, float32 min elsewhere (as transformers builds it).
    maskf = g.op("Cast", [mask], to=TensorProto.FLOAT)
    inverted = g.op("Sub", [g.const("mask.one", np.float32(1.0)), maskf])
    bias = g.op("Mul", [inverted, g.const("mask.min", np.float32(np.finfo(np.float32).min))])
    bias = g.op("Unsqueeze", [bias, g.const("mask.axes", np.array([1, 2], np.int64))])  # (B, 1, 1, S)

    head = s.hidden // s.heads
    split = g.const("attn.split_shape", np.array([0, 0, s.heads, head], np.int64))
    merge = g.const("attn.merge_shape", np.array([0, 0, s.hidden], np.int64))
    scale = g.const("attn.sqrt_head", np.float32(math.sqrt(head)))
    for i in range(s.layers):
        p = f"encoder.layer.{i}."

        def lin(name, inp):
            return g.linear(inp, w[p + name + ".weight"], w[p + name + ".bias"], p + name)

        q = g.op("Transpose", [g.op("Reshape", [lin("attention.self.query", x), split])], perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [lin("attention.self.key", x), split])], perm=[0, 2, 3, 1])
        v = g.op("Transpose", [g.op("Reshape", [lin("attention.self.value", x), split])], perm=[0, 2, 1, 3])
        scores = g.op("Add", [g.op("Div", [g.op("MatMul", [q, k]), scale]), bias])
        ctx = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
        ctx = g.op("Reshape", [g.op("Transpose", [ctx], perm=[0, 2, 1, 3]), merge])
        a = g.op("Add", [lin("attention.output.dense", ctx), x])
        a = g.layer_norm(
            a,
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
            s.layer_norm_eps,
            p + "attention.ln",
        )
        h = g.activation(lin("intermediate.dense", a), s.hidden_act, p + "act")
        x = g.op("Add", [lin("output.dense", h), a])
        x = g.layer_norm(
            x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], s.layer_norm_eps, p + "output.ln"
        )

    for j, d in enumerate(ckpt.dense):
        name = f"dense.{j}"
        y = g.activation(g.linear(x, d.weight, d.bias, name), d.activation, name + ".act")
        if d.use_residual:
            r = x if d.residual_weight is None else g.linear(x, d.residual_weight, None, name + ".residual")
            y = g.op("Add", [y, r])
        x = y

    norm = g.op("ReduceL2", [x], axes=[-1], keepdims=1)
    norm = g.op("Max", [norm, g.const("l2.eps", np.float32(1e-12))])
    g.op("Div", [x, norm], name=OUTPUT)

    graph = helper.make_graph(
        g.nodes,
        "muvera_nano_colbert",
        [
            helper.make_tensor_value_info(ids, TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info(mask, TensorProto.INT64, ["batch", "sequence"]),
        ],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", "sequence", ckpt.dim])],
        initializer=g.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="muvera-nano",
        producer_version=producer_version,
    )
    model.ir_version = 8  # readable by every onnxruntime that supports opset 17
    onnx.checker.check_model(model)
    return model
