"""The exported ONNX graph against an independent float64 numpy forward pass on the same weights
(catches export bugs without PyLate), at every onnxruntime optimisation level."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.checkpoints import Dense, write_checkpoint
from reference_forward import reference_forward

from muvera_nano.model import ColBERT, export
from muvera_nano.model.onnx_export import OPSET

TOL = 1e-5

EXTRA = {
    # Activations PyLate's fixtures do not use: tanh-approximated GELU and ReLU in the encoder,
    # GELU / Sigmoid / ReLU in Dense layers, a bias-free residual through a projection.
    "gelu_new": dict(
        hidden_act="gelu_new",
        heads=2,
        dense=(
            Dense(20, activation="torch.nn.modules.activation.GELU"),
            Dense(12, bias=True, activation="torch.nn.modules.activation.Sigmoid", use_residual=True),
        ),
    ),
    "relu": dict(
        hidden_act="relu",
        architecture="bert_hash",
        projections=5,
        layers=3,
        heads=8,
        dense=(Dense(32, bias=True, activation="torch.nn.modules.activation.ReLU", use_residual=True),),
    ),
}


@pytest.fixture(scope="module", params=["bert", "bert_dense3", "bert_hash", "gelu_new", "relu"])
def case(request, store, tmp_path_factory):
    name = request.param
    if name in EXTRA:
        root = tmp_path_factory.mktemp(name)
        built = write_checkpoint(
            root / "ckpt", seed=11, pylate_config={"query_length": 8, "document_length": 16}, **EXTRA[name]
        )
        export(built.folder, root / "out")
        return built, root / "out"
    return store.checkpoint(name), store.model_folder(name)


def _inputs(rng, vocab, batch, seq):
    ids = rng.integers(0, vocab, size=(batch, seq), dtype=np.int64)
    lengths = rng.integers(1, seq + 1, size=batch)
    lengths[0] = seq
    mask = (np.arange(seq)[None, :] < lengths[:, None]).astype(np.int64)
    mask[-1] = 1  # an all-attended row, as queries attending to expansion tokens have
    return ids, mask


@pytest.mark.parametrize("level", ["disable", "basic", "all"])
def test_graph_matches_numpy_reference(case, level):
    built, folder = case
    enc = ColBERT(folder, threads=1, graph_optimization=level)
    rng = np.random.default_rng(5)
    vocab = built.config["vocab_size"]
    for batch, seq in ((1, 1), (3, 7), (5, 16)):
        ids, mask = _inputs(rng, vocab, batch, seq)
        got = enc._runtime.run(ids, mask)
        want = reference_forward(built, ids, mask)
        assert got.shape == want.shape == (batch, seq, enc.dim)
        diff = float(np.abs(got - want).max())
        assert diff <= TOL, f"{level} batch {batch}x{seq}: max abs difference {diff:.3g}"


def test_graph_is_plain_onnx(case):
    import onnx

    _, folder = case
    model = onnx.load(str(folder / "model.onnx"))
    onnx.checker.check_model(model, full_check=True)
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [OPSET]
    assert OPSET >= 17
    assert {n.op_type for n in model.graph.node} >= {"LayerNormalization", "Softmax", "MatMul"}


def test_reference_detects_a_wrong_weight(case):
    """The comparison can fail: perturb one weight and the reference disagrees."""
    import copy

    built, folder = case
    enc = ColBERT(folder, threads=1)
    rng = np.random.default_rng(6)
    ids, mask = _inputs(rng, built.config["vocab_size"], 2, 6)
    broken = copy.copy(built)
    broken.weights = dict(built.weights)
    key = "encoder.layer.0.attention.self.key.weight"
    broken.weights[key] = built.weights[key] * 1.01
    got = enc._runtime.run(ids, mask)
    assert float(np.abs(got - reference_forward(broken, ids, mask)).max()) > TOL
