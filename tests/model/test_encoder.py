"""Encoder behaviour: input order, batch-composition independence, thread safety, ragged output."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from muvera_nano import Ragged
from muvera_nano.model import ColBERT

WORDS = "late interaction colbert search query document model vector token fast cpu python index rank".split()


def _texts(seed: int, n: int) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = int(rng.integers(0, 30))
        words = [WORDS[int(i)] for i in rng.integers(0, len(WORDS), k)]
        out.append(" ".join(words) + ("." if k % 3 == 0 else ""))
    return out


# Equal up to float32 rounding: a different padded width changes onnxruntime's blocking, not the maths.
ATOL = 1e-6


@pytest.mark.parametrize("name", ["bert", "bert_dense3", "bert_attend"])
@pytest.mark.parametrize("is_query", [True, False])
def test_batch_composition_does_not_change_outputs(store, name, is_query):
    folder = store.model_folder(name)
    texts = _texts(1, 23)
    alone = [ColBERT(folder, threads=1, batch_size=1).encode([t], is_query)[0] for t in texts]
    for batch_size in (1, 4, 7, 64):
        got = ColBERT(folder, threads=1, batch_size=batch_size).encode(texts, is_query)
        for a, g in zip(alone, got):
            assert a.shape == g.shape
            np.testing.assert_allclose(g, a, rtol=0, atol=ATOL)
    # Mixed with other (longer) texts, in another order.
    mixed = texts[::-1] + _texts(2, 9)
    got = ColBERT(folder, threads=2, batch_size=5).encode(mixed, is_query)[: len(texts)][::-1]
    for a, g in zip(alone, got):
        np.testing.assert_allclose(g, a, rtol=0, atol=ATOL)


def test_input_order_is_preserved(bert_model_folder):
    enc = ColBERT(bert_model_folder, threads=1, batch_size=2)
    texts = ["a", "colbert search query document model vector", "b c", "", "late"]
    together = enc.encode(texts, is_query=False)
    for t, g in zip(texts, together):
        np.testing.assert_allclose(g, enc.encode([t], is_query=False)[0], rtol=0, atol=ATOL)


def test_ragged_form_is_ready_for_the_kernels(bert_model_folder):
    import muvera_nano

    enc = ColBERT(bert_model_folder, threads=1)
    docs = enc.encode_ragged(_texts(3, 6), is_query=False)
    assert isinstance(docs, Ragged) and docs.dtype == "float32" and docs.dim == enc.dim
    listed = enc.encode(_texts(3, 6), is_query=False)
    assert docs.offsets.tolist() == np.cumsum([0] + [len(a) for a in listed]).tolist()
    np.testing.assert_array_equal(docs.tokens, np.concatenate(listed))
    np.testing.assert_allclose(np.linalg.norm(docs.tokens, axis=1), 1.0, atol=1e-5)
    query = enc.encode(["colbert search"], is_query=True)[0]
    scores = muvera_nano.maxsim(query, docs)
    want = [float((query @ d.T).max(axis=1).sum()) for d in listed]
    np.testing.assert_allclose(scores, want, rtol=1e-5)


def test_empty_input(bert_model_folder):
    enc = ColBERT(bert_model_folder, threads=1)
    assert enc.encode([], is_query=True) == []
    r = enc.encode_ragged([], is_query=False)
    assert r.tokens.shape == (0, enc.dim) and r.offsets.tolist() == [0]


def test_query_shapes(store):
    enc = ColBERT(store.model_folder("bert"), threads=1)
    assert [q.shape[0] for q in enc.encode(["a", "", "a b c d e f g h i j k"], is_query=True)] == [8, 8, 8]
    enc = ColBERT(store.model_folder("bert_dense3"), threads=1)  # no expansion: only real tokens
    assert [q.shape[0] for q in enc.encode(["a", "", "a b c d e f g h i j k"], is_query=True)] == [4, 3, 10]


def test_concurrent_calls_from_threads(bert_model_folder):
    enc = ColBERT(bert_model_folder, threads=1, batch_size=3)
    inputs = [(_texts(10 + i, 12), i % 2 == 0) for i in range(8)]
    expected = [enc.encode(t, q) for t, q in inputs]
    results: dict[int, list[np.ndarray]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(inputs))

    def work(i):
        try:
            barrier.wait()
            for _ in range(5):
                results[i] = enc.encode(*inputs[i])
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    for i, want in enumerate(expected):
        assert len(results[i]) == len(want)
        for g, w in zip(results[i], want):
            np.testing.assert_array_equal(g, w)


def test_threads_setting(bert_model_folder):
    one = ColBERT(bert_model_folder, threads=1).encode(_texts(4, 9), is_query=False)
    two = ColBERT(bert_model_folder, threads=2).encode(_texts(4, 9), is_query=False)
    for a, b in zip(one, two):
        np.testing.assert_allclose(a, b, rtol=0, atol=ATOL)
    import muvera_nano

    assert ColBERT(bert_model_folder).threads == muvera_nano.get_num_threads()
