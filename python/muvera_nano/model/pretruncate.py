"""Tokenize only the part of a long text that truncation keeps, with exactly the tokens a full
tokenization truncated to the same length would give (issue 11: a 100 MB document used to take
minutes and gigabytes to keep its first 180 tokens).

A long text is tokenized as a prefix P = text[start:cut] (after the same strip and lower-casing
as the full path), untruncated and with offsets. The first n tokens of P are the first n tokens of
the whole text when P has a *settled boundary* p after its n-th token, where

1. the character at p is a hard pre-tokenizer boundary for a BERT tokenizer (BertNormalizer +
   BertPreTokenizer + WordPiece): ASCII/Unicode white space that is never removed, punctuation
   that is never rewritten, or (when the normalizer pads Chinese characters) a CJK ideograph;
   such a character is a normalization starter, so no combining-mark reordering, accent stripping,
   lower-casing or word splitting crosses it, and every word before p ends at or before p
   whatever follows;
2. p is not strictly inside a token of P (so not inside an added-token match), and
3. p lies before the tail of P in which an added token could match differently in the whole text
   (a match that would run past the cut, or the combining marks after P's last starter): between
   p and that tail there are more "solid" characters (letters, digits, punctuation, symbols and
   separators of long-assigned blocks, which no normalizer setting removes) than the longest added
   token has characters, raw or normalized. Added tokens are matched leftmost-longest, so every
   match decision before that tail is the same in P and in the whole text.

Then everything before p (added-token splits, normalization, words, WordPiece pieces, the [UNK]
of an over-long word) is the same in both, and P has at least n tokens before p. The cut is put
right before a white space character when there is one near (and always when the checkpoint
lower-cases in Python): then ``str.lower`` of P is a prefix of ``str.lower`` of the text, since
its only context rule (the final sigma) cannot look past white space.

When no such boundary exists (a text with no white space or punctuation, a very long word, too
little text), the prefix doubles; past a cap, or once it would hold the whole text, the text is
tokenized whole as before. Any tokenizer that is not of the BERT layout above is tokenized whole.
"""

from __future__ import annotations

import bisect
import json
import re
import string
import unicodedata
from dataclasses import dataclass

# White space that BertNormalizer keeps (as " ") and BertPreTokenizer splits on, in every
# setting: no control characters (clean_text removes \x0b, \x0c, \x1c-\x1f, \x85).
_WHITE = frozenset("\t\n\r \u00a0\u1680\u202f\u205f\u3000\u2028\u2029" + "".join(map(chr, range(0x2000, 0x200B))))


def _punctuation() -> frozenset[str]:
    """Punctuation BertPreTokenizer isolates, that no normalization rewrites: ASCII punctuation plus
    Unicode P* characters without a decomposition from blocks assigned since Unicode 1.1 (so the
    tokenizer's own Unicode tables agree on them)."""
    ranges = [(0xA1, 0xC0), (0x2010, 0x2028), (0x2030, 0x205F), (0x3001, 0x3004), (0x3008, 0x3012), (0xFF01, 0xFF66)]
    out = set(string.punctuation)
    for lo, hi in ranges:
        for o in range(lo, hi):
            c = chr(o)
            if unicodedata.category(c).startswith("P") and not unicodedata.decomposition(c):
                out.add(c)
    return frozenset(out)


_PUNCT = _punctuation()


def _is_cjk(o: int) -> bool:
    # Ideographs assigned by Unicode 3.0, inside BertNormalizer's "Chinese character" ranges.
    return 0x4E00 <= o <= 0x9FA5 or 0x3400 <= o <= 0x4DB5


def _is_solid(c: str) -> bool:
    """A character every BertNormalizer setting keeps (turns into at least one character):
    letters, digits, punctuation, symbols and separators of long-assigned blocks."""
    if c in _WHITE or c in _PUNCT:
        return True
    o = ord(c)
    if o < 0x500:
        return o != 0xAD and unicodedata.category(c)[0] in "LNPSZ"
    return _is_cjk(o) or 0xAC00 <= o <= 0xD7A3 or 0x3041 <= o <= 0x3096 or 0x30A1 <= o <= 0x30FA


_NON_SPACE = re.compile(r"\S")  # str.strip's white space (re and str share one definition)
_SPACE = re.compile(r"\s")


@dataclass
class PrefixCutter:
    """Pre-truncation for one tokenizer and one kept length (see the module docstring)."""

    tokenizer: object  # tokenizers.Tokenizer without truncation or padding
    keep: int  # content tokens the truncating tokenizer keeps (max_length - 1 - 2)
    cls_id: int
    sep_id: int
    margin: int  # solid characters required between the boundary and P's tail
    chinese: bool  # BertNormalizer pads CJK ideographs with spaces
    lower: bool  # the text is lower-cased in Python before tokenizing
    first: int  # characters in the first prefix
    cap: int  # give up (tokenize whole) once a prefix of this many characters was not enough

    @classmethod
    def build(cls, truncating, plain, lower: bool) -> PrefixCutter | None:
        """A cutter for `truncating` (a tokenizers.Tokenizer with truncation on), or None when the
        tokenizer is not of the BERT layout the proof covers. `plain` is the same tokenizer loaded
        separately (truncation and padding are switched off here; a copy made by serializing
        `truncating` could differ: its added tokens would be normalized again)."""
        state = json.loads(truncating.to_str())
        norm = state.get("normalizer")
        if norm is not None and norm.get("type") != "BertNormalizer":
            return None
        if (state.get("pre_tokenizer") or {}).get("type") != "BertPreTokenizer":
            return None
        if (state.get("model") or {}).get("type") != "WordPiece":
            return None
        trunc = state.get("truncation") or {}
        if trunc.get("direction", "Right") != "Right" or not trunc.get("max_length"):
            return None
        tok = plain
        if json.loads(tok.to_str()).get("added_tokens") != state.get("added_tokens"):
            return None
        tok.no_truncation()
        tok.no_padding()
        plain = tok.encode("a", add_special_tokens=False).ids
        wrapped = tok.encode("a").ids
        if len(wrapped) != len(plain) + 2 or wrapped[1:-1] != plain:
            return None
        keep = int(trunc["max_length"]) - 2
        if keep < 1:
            return None
        longest = 1
        for added in tok.get_added_tokens_decoder().values():
            longest = max(longest, len(added.content))
            if tok.normalizer is not None:
                longest = max(longest, len(tok.normalizer.normalize_str(added.content)))
        first = 8 * keep + 256
        return cls(
            tokenizer=tok,
            keep=keep,
            cls_id=wrapped[0],
            sep_id=wrapped[-1],
            margin=longest + 1,
            chinese=bool(norm and norm.get("handle_chinese_chars", True)),
            lower=lower,
            first=first,
            cap=first << 6,
        )

    # -- the cut -------------------------------------------------------------------------------
    def start(self, text: str) -> int | None:
        """Where str.strip would start the text, or None when it is short enough to tokenize whole."""
        if len(text) <= self.first:
            return None
        m = _NON_SPACE.search(text)
        if m is None or len(text) - m.start() <= self.first:
            return None
        return m.start()

    def prefix(self, text: str, start: int, size: int) -> str | None:
        """The prefix of `size` characters after `start`, stripped and lower-cased as the whole text
        would be; None when it would reach the end of the text (tokenize whole instead)."""
        cut = start + size
        if cut >= len(text) or size > self.cap:
            return None
        m = _SPACE.search(text, cut, cut + size)
        if m is not None:
            cut = m.start()  # before white space: str.lower's final-sigma rule cannot look past it
        elif self.lower:
            return self.prefix(text, start, 2 * size)
        if _NON_SPACE.search(text, cut) is None:
            return None  # the rest is white space: the prefix is the whole stripped text
        p = text[start:cut].rstrip()
        return p.lower() if self.lower else p

    def boundary_ok(self, p: str, offsets: list[tuple[int, int]]) -> bool:
        """True when `p` (tokenized without special tokens into `offsets`) has a settled boundary
        after its first `keep` tokens, so those are the first `keep` tokens of the whole text."""
        if len(offsets) <= self.keep:
            return False
        # The tail: from the last solid character back over `margin` more solid characters.
        i = len(p) - 1
        while i >= 0 and not _is_solid(p[i]):
            i -= 1
        need = self.margin
        i -= 1
        while i >= 0 and need:
            if _is_solid(p[i]):
                need -= 1
            i -= 1
        if need:
            return False
        limit = i + 1  # the boundary must be at or before this position
        starts = [s for s, _ in offsets]
        lo = offsets[self.keep - 1][1]
        for q in range(lo, limit + 1):
            c = p[q]
            if not (c in _WHITE or c in _PUNCT or (self.chinese and _is_cjk(ord(c)))):
                continue
            k = bisect.bisect_right(starts, q) - 1
            if k >= 0 and starts[k] < q < offsets[k][1]:
                continue  # inside a token (an added token such as "[D] ")
            return True
        return False

    def encode(self, texts: list[str], starts: list[int], threads: bool) -> list[list[int] | None]:
        """The truncated ids ([CLS] t1 .. tn [SEP]) of each text from its prefix, or None where the
        text has to be tokenized whole."""
        out: list[list[int] | None] = [None] * len(texts)
        todo = list(range(len(texts)))
        size = self.first
        while todo:
            prefixes, which = [], []
            for i in todo:
                p = self.prefix(texts[i], starts[i], size)
                if p is not None:
                    prefixes.append(p)
                    which.append(i)
            if not prefixes:
                break
            if threads and len(prefixes) > 1:
                encodings = self.tokenizer.encode_batch(prefixes, add_special_tokens=False)
            else:
                encodings = [self.tokenizer.encode(p, add_special_tokens=False) for p in prefixes]
            todo = []
            for i, p, e in zip(which, prefixes, encodings):
                if self.boundary_ok(p, e.offsets):
                    out[i] = [self.cls_id, *e.ids[: self.keep], self.sep_id]
                else:
                    todo.append(i)
            size *= 2
        return out
