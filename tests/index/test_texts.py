"""Indexing and searching texts through an encoder, and the encoder's identity in the manifest."""

import numpy as np
import pytest

from muvera_nano.index import Index
from muvera_nano.model import ColBERT

TEXTS = ["The cat sat on the mat.", "Dogs bark at night.", "A kitten sleeps on a rug.", "Stock prices fell today.",
         "Python lists can be sorted in place.", ""]


def test_texts_round_trip_through_the_folder(tmp_path, models):
    folder = models.model_folder("nano")
    enc = ColBERT(folder, threads=1)
    idx = Index.create(tmp_path / "ix", encoder=enc)
    idx.add(TEXTS, ids=[f"t{i}" for i in range(len(TEXTS))])
    want = enc.encode_ragged(TEXTS, is_query=False)
    assert idx._segments[0].tokens.n_tokens == want.n_tokens
    q = "where is the cat?"
    res = idx.search(q, k=3, mode="maxsim")
    again = Index.open(tmp_path / "ix").search(q, k=3, mode="maxsim")  # encoder loaded from the manifest
    assert res.ids == again.ids
    np.testing.assert_array_equal(res.scores, again.scores)
    batch = idx.search([q, "stock market"], k=2)
    assert len(batch) == 2 and batch[0].ids == idx.search(q, k=2).ids


def test_another_model_is_refused(tmp_path, models):
    Index.create(tmp_path / "ix", encoder=models.model_folder("nano")).add(TEXTS[:2])
    with pytest.raises(ValueError, match="built with another model"):
        Index.open(tmp_path / "ix", encoder=models.model_folder("minilm"))


def test_texts_need_an_encoder_and_strings():
    idx = Index.create(None, dim=128)
    with pytest.raises(ValueError, match="this index has no encoder"):
        idx.add(["text"])
    with pytest.raises(TypeError, match="texts must be a list of strings, not one string"):
        idx.add("text")
    with pytest.raises(ValueError, match="pass exactly one of texts or token_vectors"):
        idx.add()
