"""Parity with PyLate itself: for every text, the same kept tokens (count and order) and vectors
within 1e-5 (max absolute difference per kept token) of ``pylate.models.ColBERT.encode``."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.texts import adversarial_texts

from muvera_nano.model import ColBERT

TOL = 1e-5

LONG = (
    "Late interaction models such as ColBERT keep one vector per token and score a query against a document "
    "with the sum over query tokens of the best matching document token; this text is long enough to be "
    "truncated by every checkpoint used here, including the one with the default document length of 180. "
) * 5

QUERIES = [
    "what is colbert?",  # short: expanded with [MASK] up to query_length
    "How does late interaction search rank a document with token vectors on a CPU in Python",  # > query_length
    "",  # empty string
    "   \t padded with whitespace \n ",
    "\u00a0\u3000non-breaking and ideographic spaces\u3000\u00a0",
    "\x1cfile separator\x1f",
    "café naïve Straße 中文 日本 λ ж ø",  # non-ASCII: accents stripped by the lower-casing normalizer
    "[MASK] [Q] hello [CLS] world [SEP] [PAD] [UNK]",  # added tokens inside the text
    "UPPER Case Query",
    LONG,
]

DOCUMENTS = [
    "Hello, world! What... is this? (A test); with: punctuation -- everywhere.",
    "",
    "   leading and trailing whitespace   ",
    "\u3000\u00a0 wide spaces \u00a0\u3000",
    LONG,
    "café naïve Straße 中文 日本 λ ж ø — “quotes” «guillemets» ‘single’",
    "[D] literal prefix, [MASK] and [UNK] tokens, [CLS] [SEP] [PAD] inside the text",
    "zzzz ☃ the quick brown fox jumps over the lazy dog. the end.",
    "a",
    "x " * 200,
    "Numbers 1, 2, 3 and 4.5% of $100 @ 10:30 #tag",
]

CASES = ["bert", "bert_dense3", "bert_attend", "bert_hash", "bert_fallbacks", "minilm", "nano"]


def _compare(ours: list[np.ndarray], ref: list[np.ndarray], texts: list[str]) -> None:
    assert len(ours) == len(ref) == len(texts)
    for i, (o, r) in enumerate(zip(ours, ref)):
        r = np.asarray(r, np.float32)
        assert o.dtype == np.float32
        assert o.shape == r.shape, f"text {i} {texts[i][:40]!r}: kept {o.shape[0]} rows, PyLate kept {r.shape[0]}"
        diff = float(np.abs(o - r).max()) if o.size else 0.0
        assert diff <= TOL, f"text {i} {texts[i][:40]!r}: max abs difference {diff:.3g} > {TOL}"


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("is_query", [True, False], ids=["queries", "documents"])
def test_matches_pylate(store, name, is_query):
    texts = QUERIES if is_query else DOCUMENTS
    pylate = store.pylate_model(name)
    # PyLate with batches of 3 (does not divide the input), this encoder with batches of 4.
    ref = pylate.encode(texts, is_query=is_query, batch_size=3, show_progress_bar=False)
    ours = ColBERT(store.model_folder(name), threads=1, batch_size=4).encode(texts, is_query=is_query)
    _compare(ours, ref, texts)


def test_settings_match_pylate_attributes(store):
    """The values PyLate resolves at load time (fallbacks included) are the ones exported."""
    for name in CASES:
        pylate = store.pylate_model(name)
        s = ColBERT(store.model_folder(name), threads=1).settings
        assert (s.query_prefix, s.document_prefix) == (pylate.query_prefix, pylate.document_prefix), name
        assert (s.query_prefix_id, s.document_prefix_id) == (pylate.query_prefix_id, pylate.document_prefix_id), name
        assert (s.query_length, s.document_length) == (pylate.query_length, pylate.document_length), name
        assert s.do_query_expansion == pylate.do_query_expansion, name
        assert s.attend_to_expansion_tokens == pylate.attend_to_expansion_tokens, name
        assert sorted(set(s.skiplist_ids)) == sorted(set(pylate.skiplist)), name
        assert s.mask_id == pylate.tokenizer.mask_token_id == pylate.tokenizer.pad_token_id, name


def test_fallback_case_really_falls_back(store):
    """Guards the fixture: the fallback checkpoint exercises what it claims to."""
    s = ColBERT(store.model_folder("bert_fallbacks"), threads=1).settings
    assert (s.query_prefix, s.document_prefix, s.query_length, s.document_length) == ("[Q] ", "[D] ", 32, 180)
    assert s.do_query_expansion is True and s.attend_to_expansion_tokens is False and s.do_lower_case is True
    unk = store.pylate_model("bert_fallbacks").tokenizer.unk_token_id
    assert unk in s.skiplist_ids  # "zzzz" is not a token: PyLate maps it to [UNK]
    enc = ColBERT(store.model_folder("bert_fallbacks"), threads=1)
    # do_lower_case: "[UNK]" becomes "[unk]", no longer the added token; "☃" is out of vocabulary.
    ids = enc._prepare(["zzzz ☃ [UNK] word"], is_query=False).ids[0]
    assert np.count_nonzero(ids == unk) == 1
    assert enc.encode(["zzzz ☃ [UNK] word"], is_query=False)[0].shape[0] == len(ids) - 1  # its row is dropped


def test_cases_cover_truncation_and_expansion(store):
    """Guards the texts: the long inputs are truncated to exactly max_length, short queries expanded."""
    for name in ("bert", "minilm"):
        enc = ColBERT(store.model_folder(name), threads=1)
        s = enc.settings
        q = enc._prepare([QUERIES[0], LONG], is_query=True)
        d = enc._prepare([LONG], is_query=False)
        assert len(q.ids[0]) < s.query_length and len(q.ids[1]) == s.query_length
        assert len(d.ids[0]) == s.document_length


@pytest.mark.parametrize("name", ["bert", "bert_hash", "bert_fallbacks", "minilm"])
@pytest.mark.parametrize("is_query", [True, False], ids=["queries", "documents"])
def test_long_texts_cut_before_tokenizing_match_pylate(store, name, is_query):
    """Texts long enough that the encoder tokenizes only a prefix (pretruncate.py): no spaces,
    CJK, combining accents, odd white space, added tokens, final sigma."""
    texts = adversarial_texts(2)[::4]
    assert max(map(len, texts)) > 2000
    ref = store.pylate_model(name).encode(texts, is_query=is_query, batch_size=3, show_progress_bar=False)
    ours = ColBERT(store.model_folder(name), threads=1, batch_size=4).encode(texts, is_query=is_query)
    _compare(ours, ref, texts)
