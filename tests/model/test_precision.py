"""Reduced precisions (ColBERT(..., precision="int8" | "bfloat16")) against float32 on real text.

Workload: 96 paragraphs of the standard library's pydoc topics (>= 200 characters, whitespace
folded) as documents, 48 queries of 4-9 consecutive words taken from them (fixed seed). Per
(checkpoint, precision): the cosine of every kept token vector (documents and queries) to its
float32 vector, minimum and median; and retrieval agreement: for each query the share of the
float32 MaxSim top-10 documents that are also in the reduced precision's top 10, averaged.

Measured on AMD EPYC Zen 4 (AVX-512, AVX512_BF16, VNNI; no AMX), onnxruntime 1.32, OpenVINO
2026.4.1, 2026-11-30:

| checkpoint | precision | min cosine | median cosine | max abs | top-10 agreement |
|---|---|---|---|---|---|
| bert (random, hidden 32) | int8 | 0.99916 | 0.99987 | 0.029 | 0.963 |
| bert (random, hidden 32) | bfloat16 | 0.99982 | 0.99998 | 0.010 | 0.985 |
| bert_hash (random, hidden 32) | int8 | 0.99867 | 0.99986 | 0.030 | 0.965 |
| bert_hash (random, hidden 32) | bfloat16 | 0.99979 | 0.99998 | 0.012 | 0.977 |
| minilm (all-MiniLM-L6-v2 weights) | int8 | 0.92177 | 0.98730 | 0.106 | 0.877 |
| minilm (all-MiniLM-L6-v2 weights) | bfloat16 | 0.99978 | 0.99993 | 0.007 | 0.988 |

The bounds below sit under these figures by a margin for other CPUs' kernels (bfloat16 on AMX,
int8 without VNNI round differently); a bound is never lowered to make a run pass. int8 is
markedly lossy on the real weights (dynamic per-tensor activation quantization meets
MiniLM's outlier activations), bfloat16 is not.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import muvera_nano
from muvera_nano import model
from muvera_nano.model import ColBERT, export
from muvera_nano.model.runtimes import check_bfloat16_capable

# (min cosine, median cosine, mean top-10 agreement) that each reduced precision must reach.
BOUNDS = {
    ("bert", "int8"): (0.998, 0.9997, 0.90),
    ("bert", "bfloat16"): (0.9995, 0.9999, 0.95),
    ("bert_hash", "int8"): (0.998, 0.9997, 0.90),
    ("bert_hash", "bfloat16"): (0.9995, 0.9999, 0.95),
    ("minilm", "int8"): (0.90, 0.98, 0.80),
    ("minilm", "bfloat16"): (0.9995, 0.9999, 0.95),
}


def _workload() -> tuple[list[str], list[str]]:
    from pydoc_data.topics import topics

    docs = []
    for name in sorted(topics):
        for paragraph in topics[name].split("\n\n"):
            text = " ".join(paragraph.split())
            if len(text) >= 200:
                docs.append(text)
    docs = docs[:96]
    rng = np.random.default_rng(0)
    queries = []
    for i in rng.choice(len(docs), 48, replace=False):
        words = docs[i].split()
        start = int(rng.integers(0, max(1, len(words) - 10)))
        queries.append(" ".join(words[start : start + int(rng.integers(4, 10))]))
    return docs, queries


DOCS, QUERIES = _workload()


def _encode(enc: ColBERT):
    docs = enc.encode_ragged(DOCS, is_query=False)
    queries = enc.encode(QUERIES, is_query=True)
    scores = np.stack([muvera_nano.maxsim(q, docs) for q in queries])
    return docs, queries, np.argsort(-scores, axis=1, kind="stable")[:, :10]


@pytest.fixture(scope="module")
def float32_outputs(store):
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = _encode(ColBERT(store.model_folder(name), threads=1))
        return cache[name]

    return get


@pytest.mark.parametrize("name,precision", list(BOUNDS))
def test_error_and_retrieval_agreement_against_float32(store, float32_outputs, name, precision):
    docs32, queries32, top32 = float32_outputs(name)
    enc = ColBERT(store.model_folder(name), threads=1, precision=precision)
    assert enc.precision == precision
    docs, queries, top = _encode(enc)
    assert docs.offsets.tolist() == docs32.offsets.tolist()
    cosines = np.concatenate(
        [np.sum(docs.tokens * docs32.tokens, axis=1)] + [np.sum(a * b, axis=1) for a, b in zip(queries, queries32)]
    )
    agreement = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(top, top32)])
    min_cos, median_cos, min_agreement = BOUNDS[name, precision]
    figures = f"min cosine {cosines.min():.5f}, median {np.median(cosines):.5f}, top-10 agreement {agreement:.3f}"
    assert cosines.min() >= min_cos, figures
    assert np.median(cosines) >= median_cos, figures
    assert agreement >= min_agreement, figures
    # Still unit vectors (the graph's own L2 normalisation, in float32 at the end).
    np.testing.assert_allclose(np.linalg.norm(docs.tokens, axis=1), 1.0, atol=1e-3)


@pytest.mark.parametrize("precision", ["int8", "bfloat16"])
def test_reduced_precision_is_thread_safe(bert_model_folder, precision):
    enc = ColBERT(bert_model_folder, threads=1, batch_size=8, precision=precision)
    texts = DOCS[:24]
    want = enc.encode_ragged(texts, is_query=False).tokens
    got, errors = [None] * 4, []

    def work(i):
        try:
            for _ in range(3):
                got[i] = enc.encode_ragged(texts, is_query=False).tokens
        except Exception as e:  # reported below
            errors.append(e)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    for g in got:
        np.testing.assert_array_equal(g, want)  # same inputs, same shapes: the same bits


def test_float32_is_the_default_and_load_passes_precision(bert_model_folder):
    assert ColBERT(bert_model_folder, threads=1).precision == "float32"
    assert model.load(bert_model_folder, threads=1).precision == "float32"
    enc = model.load(bert_model_folder, threads=1, precision="bfloat16")
    assert enc.precision == "bfloat16"
    f32 = ColBERT(bert_model_folder, threads=1, precision="float32").encode(["late interaction"], False)[0]
    assert np.abs(enc.encode(["late interaction"], False)[0] - f32).max() > 0  # really another runtime


def test_precision_argument_errors(bert_model_folder):
    with pytest.raises(ValueError, match=r"precision must be one of \('float32', 'bfloat16', 'int8'\), got 'fp16'"):
        ColBERT(bert_model_folder, precision="fp16")
    with pytest.raises(TypeError, match=r"precision must be a str \(one of .*\) or None, got int"):
        ColBERT(bert_model_folder, precision=8)


def test_quantized_folder_runs_int8_only(bert, tmp_path, bert_model_folder):
    folder = tmp_path / "int8"
    export(bert.folder, folder, quantize=True)
    assert ColBERT(folder, threads=1).precision == "int8"
    for precision in ("float32", "bfloat16"):
        with pytest.raises(
            ValueError,
            match=rf"precision='{precision}': this model folder was exported with int8 "
            r"weights \(--quantize\); load it with precision='int8'",
        ):
            ColBERT(folder, precision=precision)
    # Quantizing at load and at export give the same graph.
    texts = DOCS[:5]
    np.testing.assert_array_equal(
        ColBERT(folder, threads=1, precision="int8").encode_ragged(texts, False).tokens,
        ColBERT(bert_model_folder, threads=1, precision="int8").encode_ragged(texts, False).tokens,
    )


def test_missing_runtimes_name_their_extra(bert_model_folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)
    with pytest.raises(
        ModuleNotFoundError,
        match=r"precision='bfloat16' needs the openvino package: "
        r"pip install 'muvera-nano\[openvino\]'",
    ):
        ColBERT(bert_model_folder, precision="bfloat16")
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(
        ModuleNotFoundError,
        match=r"precision='int8' \(quantizing the model's weights at load\) needs "
        r"the onnx package: pip install 'muvera-nano\[export\]'",
    ):
        ColBERT(bert_model_folder, precision="int8")


def test_bfloat16_refused_on_a_cpu_without_bfloat16_instructions():
    check_bfloat16_capable(["BF16", "FP32", "INT8"], "AMD EPYC")  # this machine: accepted
    with pytest.raises(
        ValueError,
        match=r"precision='bfloat16' needs a CPU with bfloat16 matrix instructions "
        r"\(AVX512_BF16 or AMX\); OpenVINO reports none on this CPU \(Old Xeon: "
        r"FP32, INT8\)\. Use precision='int8' or 'float32'",
    ):
        check_bfloat16_capable(["FP32", "INT8"], "Old Xeon")
