"""Pre-truncation (pretruncate.py): tokenizing a prefix of a long text gives exactly the ids of the
whole text tokenized and truncated, on adversarial texts and every BertNormalizer setting."""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np
import pytest
from fixtures.texts import adversarial_texts
from tokenizers import Tokenizer, normalizers

from muvera_nano.model import ColBERT
from muvera_nano.model.pretruncate import PrefixCutter
from muvera_nano.model.settings import TOKENIZER_FILE


def _tokenizers(tok_json: str, max_length: int, lower: bool, **normalizer) -> tuple[Tokenizer, PrefixCutter]:
    """The encoder's truncating tokenizer (with the normalizer changed as a checkpoint's
    tokenizer_config.json would, then saved and loaded) and its cutter."""
    tok = Tokenizer.from_str(tok_json)
    if normalizer:
        state = json.loads(tok.normalizer.__getstate__())
        state.pop("type")
        state.update(normalizer)
        tok.normalizer = normalizers.BertNormalizer(**state)
        tok_json = tok.to_str()
    tok = Tokenizer.from_str(tok_json)
    tok.no_padding()
    tok.enable_truncation(max_length=max_length - 1, strategy="longest_first", direction="right", stride=0)
    cutter = PrefixCutter.build(tok, Tokenizer.from_str(tok_json), lower)
    assert cutter is not None
    return tok, cutter


def _reference(tok: Tokenizer, text: str, lower: bool) -> list[int]:
    clean = text.strip()
    return tok.encode(clean.lower() if lower else clean).ids


def _ours(cutter: PrefixCutter, tok: Tokenizer, text: str, lower: bool) -> tuple[list[int], bool]:
    start = cutter.start(text)
    if start is not None:
        ids = cutter.encode([text], [start], False)[0]
        if ids is not None:
            return ids, True
    return _reference(tok, text, lower), False


NORMALIZERS = [
    {},
    {"strip_accents": True},
    {"strip_accents": False},
    {"lowercase": False},
    {"lowercase": False, "strip_accents": True},
    {"handle_chinese_chars": False},
    {"clean_text": False},
]


@pytest.mark.parametrize("name", ["bert", "bert_hash", "minilm"])
@pytest.mark.parametrize("normalizer", NORMALIZERS, ids=lambda n: ",".join(f"{k}={v}" for k, v in n.items()) or "as")
@pytest.mark.parametrize("lower", [False, True], ids=["", "do_lower_case"])
def test_prefix_gives_the_truncated_ids(store, name, normalizer, lower):
    tok_json = (store.model_folder(name) / TOKENIZER_FILE).read_text(encoding="utf-8")
    texts = adversarial_texts()
    fast = 0
    for length in (8, 24):
        tok, base = _tokenizers(tok_json, length, lower, **normalizer)
        # Small first prefixes put the cut (and the doubling) everywhere in the texts.
        for first in (base.keep + 1, 3 * base.keep, 97, base.first):
            cutter = dataclasses.replace(base, first=first, cap=first << 6)
            for i, text in enumerate(texts):
                want = _reference(tok, text, lower)
                got, used = _ours(cutter, tok, text, lower)
                assert got == want, f"text {i} {text[:60]!r}, first={first}, length={length}"
                fast += used
    assert fast > len(texts)  # the prefix path is taken, not only the whole-text fallback


@pytest.mark.parametrize("name", ["bert", "bert_hash"])
def test_texts_around_the_first_prefix_length(store, name):
    tok_json = (store.model_folder(name) / TOKENIZER_FILE).read_text(encoding="utf-8")
    tok, cutter = _tokenizers(tok_json, 16, False)
    rng = np.random.default_rng(7)
    words = ["a", "bc", "def", "中", ".", "e\u0301", "[D] ", "x" * 120]
    for n in range(cutter.first - 40, cutter.first + 40):
        for sep in (" ", "", "\u3000"):
            parts, size = [], 0
            while size < n:
                w = words[int(rng.integers(len(words)))] + sep
                parts.append(w)
                size += len(w)
            text = "".join(parts)[:n]
            assert _ours(cutter, tok, text, False)[0] == _reference(tok, text, False), repr(text)


def test_only_bert_layout_tokenizers_are_cut(store):
    from tokenizers import pre_tokenizers

    tok, _ = _tokenizers((store.model_folder("bert") / TOKENIZER_FILE).read_text(encoding="utf-8"), 16, False)
    plain = Tokenizer.from_str(tok.to_str())
    tok.pre_tokenizer = plain.pre_tokenizer = pre_tokenizers.Whitespace()
    assert PrefixCutter.build(tok, plain, False) is None


@pytest.mark.parametrize("name", ["bert", "bert_hash", "bert_fallbacks"])
@pytest.mark.parametrize("is_query", [True, False])
def test_encoder_outputs_unchanged(store, name, is_query):
    folder = store.model_folder(name)
    texts = adversarial_texts(1)[::3] + ["short one", ""]
    for threads in (1, 2):
        enc = ColBERT(folder, threads=threads, batch_size=4)
        got = enc.encode(texts, is_query)
        enc._cutters = {True: None, False: None}  # tokenize every text whole
        want = enc.encode(texts, is_query)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_array_equal(g, w)


def test_ten_megabyte_document_is_quick_and_small(store):
    import resource

    enc = ColBERT(store.model_folder("bert_hash"), threads=1)
    text = "The quick brown fox jumps over the lazy dog. " * (10_000_000 // 45)
    enc.encode(["warm up"], False)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    out = enc.encode([text], False)[0]
    elapsed = time.perf_counter() - t0
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert out.shape[0] > 0
    assert elapsed < 1.0, f"{elapsed:.2f} s"
    assert grown_kib < 50 * 1024, f"peak RSS grew by {grown_kib / 1024:.0f} MiB"
