"""Pre-truncation (pretruncate.py): tokenizing a prefix of a long text gives exactly the ids of the
whole text tokenized and truncated, on adversarial texts and every BertNormalizer setting."""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np
import pytest
from tokenizers import Tokenizer, normalizers

from muvera_nano.model import ColBERT
from muvera_nano.model.pretruncate import PrefixCutter
from muvera_nano.model.settings import TOKENIZER_FILE

# Character classes; a random text draws pieces from them.
PIECES = {
    "letters": ["a", "b", "q", "z", "the", "colbert", "index", "x" * 7],
    "upper": ["A", "Σ", "ΑΣ", "İ", "TOKEN", "ΟΔΟΣ"],
    "space": [" ", " ", " ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2003", "\u2028"],
    "py_space": ["\x0b", "\x0c", "\x1c", "\x1f", "\x85"],  # str.strip's white space BERT removes
    "punct": [".", ",", "...", "!?", "-", "'", '"', "(", ")", "[", "]", "—", "“", "。", "、", "\uff0c"],
    "cjk": ["中", "文", "日本語", "\u9fff", "\U00020000", "\uf900"],
    "kana_hangul": ["カタ", "ひら", "한국어"],
    "combining": ["\u0301", "\u0308", "\u0323", "e\u0301", "e\u0301\u0323", "\u0345"],
    "accented": ["é", "É", "ñ", "ǅ", "ﬁ", "Å", "\u1e9e"],
    "emoji": ["😀", "🎉", "👍🏽", "\u2603", "\U0001f9ea"],
    "control": ["\x00", "\x01", "\u200b", "\u200d", "\ufffd", "\u00ad", "\ue000", "\U000e0001"],
    "added": ["[MASK]", "[D] ", "[Q] ", "[CLS]", "[d] ", "[D]", "[ D] ", "[SEP]x", "[UNK]"],
    "digits": ["0", "12", "3.14", "1,000"],
}
NAMES = sorted(PIECES)


def random_text(rng: np.random.Generator, n_pieces: int, classes: list[str]) -> str:
    out = []
    for _ in range(n_pieces):
        choices = PIECES[classes[int(rng.integers(len(classes)))]]
        out.append(choices[int(rng.integers(len(choices)))])
    return "".join(out)


def adversarial_texts(seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    texts = [
        "x" * 5000,  # one word, far over max_input_chars_per_word
        "abc" * 40 + " " + "y" * 3000,  # a short word then an over-long one
        " ".join(["word"] * 600),
        "中文日本語" * 300,  # CJK without spaces
        "e\u0301" * 1500,  # base + combining accent, repeated, no space
        ("e\u0301 " * 40) + "\u0301" * 2000,  # a run of marks with no starter
        "ΑΣ." * 1000,  # final sigma before case-ignorable punctuation
        "ΑΣ" + "." * 3000 + "Β",
        "\u3000\u00a0\t\n".join(["wide spaces"] * 400),
        ".,;!?" * 800,  # punctuation only
        "😀" * 2000 + " end",
        "\x00\x01\u200b" * 1000 + " a b c",
        "[D] " * 600,  # added tokens that contain a space
        "[D]" + " " * 2000 + "[D] x" * 300,
        "[MASK]" * 500,
        " \t\n" + "lead and trail " * 300 + " \x1c\n ",
        "\x1c" * 2000 + " a",
        "word " * 40 + "\x0b" * 3000,
        "İ" * 2000,
    ]
    for i in range(60):
        # Mostly runs of one or two classes (long no-space stretches), some with everything.
        k = 1 + i % 3
        classes = list(rng.choice(NAMES, size=k, replace=False)) if i % 5 else NAMES
        texts.append(random_text(rng, int(rng.integers(200, 2500)), classes))
    return texts


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
