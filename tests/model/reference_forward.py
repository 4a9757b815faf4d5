"""An independent float64 numpy forward pass over the weights a fixture builder wrote
(transformers BertModel semantics + PyLate Dense layers + L2 normalisation)."""

from __future__ import annotations

import math

import numpy as np

_erf = np.frompyfunc(math.erf, 1, 1)


def _act(x: np.ndarray, kind: str) -> np.ndarray:
    if kind in ("gelu", "torch.nn.modules.activation.GELU"):
        return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))
    if kind in ("gelu_new", "gelu_pytorch_tanh"):
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    if kind in ("relu", "torch.nn.modules.activation.ReLU"):
        return np.maximum(x, 0.0)
    if kind == "torch.nn.modules.activation.Tanh":
        return np.tanh(x)
    if kind == "torch.nn.modules.activation.Sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if kind == "torch.nn.modules.linear.Identity":
        return x
    raise ValueError(kind)


def _ln(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def reference_forward(built, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(batch, seq, dim) float64 L2-normalised token vectors for padded `ids` / `mask`."""
    cfg = built.config
    w = {k: v.astype(np.float64) for k, v in built.weights.items() if v.dtype.kind == "f"}
    eps = cfg["layer_norm_eps"]
    b, s = ids.shape
    if built.architecture == "bert_hash":
        x = (
            w["embeddings.word_embeddings.embeddings.weight"][ids]
            @ w["embeddings.word_embeddings.projections.weight"].T
        )
    else:
        x = w["embeddings.word_embeddings.weight"][ids]
    x = x + w["embeddings.token_type_embeddings.weight"][0] + w["embeddings.position_embeddings.weight"][:s]
    x = _ln(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    heads = cfg["num_attention_heads"]
    hd = cfg["hidden_size"] // heads
    keep = mask.astype(bool)[:, None, None, :]
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."

        def lin(name, inp):
            return inp @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        def split(t):
            return t.reshape(b, s, heads, hd).transpose(0, 2, 1, 3)

        q, k, v = (split(lin(f"attention.self.{n}", x)) for n in ("query", "key", "value"))
        scores = np.where(keep, q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd), -np.inf)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        ctx = (scores / scores.sum(-1, keepdims=True)) @ v
        ctx = ctx.transpose(0, 2, 1, 3).reshape(b, s, heads * hd)
        a = _ln(
            lin("attention.output.dense", ctx) + x,
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
            eps,
        )
        h = _act(lin("intermediate.dense", a), cfg["hidden_act"])
        x = _ln(lin("output.dense", h) + a, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    for d in built.dense:
        y = x @ d["weight"].astype(np.float64).T
        if d["bias"] is not None:
            y = y + d["bias"]
        y = _act(y, d["activation"])
        if d["use_residual"]:
            y = y + (x if d["residual"] is None else x @ d["residual"].astype(np.float64).T)
        x = y
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
