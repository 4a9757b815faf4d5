"""The checkpoint's tokenizer, set up exactly as transformers + PyLate set it up at load time.

transformers does more than read tokenizer.json: BertTokenizerFast rewrites the BertNormalizer
from tokenizer_config.json (do_lower_case, strip_accents, tokenize_chinese_chars), the added tokens
listed in tokenizer_config.json and the special tokens are added when missing, and PyLate then calls
``add_tokens([query_prefix, document_prefix])``. The result is saved as a clean tokenizer.json
(no padding, no truncation) so the encoder needs nothing but the `tokenizers` package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._files import CheckpointError, read_json

_BERT_CLASSES = {"BertTokenizer", "BertTokenizerFast"}
_GENERIC_CLASSES = {"PreTrainedTokenizerFast"}
_SPECIAL_KEYS = ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
_BERT_SPECIAL_DEFAULTS = {
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
}


@dataclass(frozen=True)
class TokenizerInfo:
    tokenizer_json: str  # the clean serialized tokenizer
    size: int  # number of ids the tokenizer can produce (vocab + added tokens)
    query_prefix_id: int
    document_prefix_id: int
    mask_id: int
    unk_id: int | None
    cls_id: int
    sep_id: int
    tokenizer: Any  # the tokenizers.Tokenizer itself, for look-ups during export


def _content(token: Any) -> str | None:
    if token is None or isinstance(token, str):
        return token
    if isinstance(token, dict) and isinstance(token.get("content"), str):
        return token["content"]
    return None


def _added_token(entry: dict, special: bool | None = None):
    from tokenizers import AddedToken

    return AddedToken(
        entry["content"],
        single_word=bool(entry.get("single_word", False)),
        lstrip=bool(entry.get("lstrip", False)),
        rstrip=bool(entry.get("rstrip", False)),
        normalized=bool(entry.get("normalized", not entry.get("special", False))),
        special=bool(entry.get("special", False)) if special is None else special,
    )


def load_tokenizer(folder: Path, query_prefix: str, document_prefix: str) -> TokenizerInfo:
    """Reads tokenizer.json (+ tokenizer_config.json, special_tokens_map.json) from `folder`
    and returns the tokenizer as PyLate would use it, with the prefix and mask ids resolved."""
    from tokenizers import Tokenizer, normalizers

    path = folder / "tokenizer.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"missing file {path}: the checkpoint must ship a fast tokenizer (tokenizer.json); "
            "vocab.txt alone is not supported"
        )
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as e:  # tokenizers raises a bare Exception on bad JSON
        raise CheckpointError(f"{path} cannot be read by the tokenizers package: {e}") from None
    config = read_json(folder / "tokenizer_config.json", required=False) or {}
    special_map = read_json(folder / "special_tokens_map.json", required=False) or {}
    if not isinstance(config, dict) or not isinstance(special_map, dict):
        raise CheckpointError(f"{folder}: tokenizer_config.json and special_tokens_map.json must hold JSON objects")

    cls_name = config.get("tokenizer_class")
    is_bert = cls_name in _BERT_CLASSES or (cls_name is None and _normalizer_type(tok) == "BertNormalizer")
    if not is_bert and cls_name not in _GENERIC_CLASSES:
        raise CheckpointError(
            f"{folder}: tokenizer_class {cls_name!r} is not supported (expected one of "
            f"{sorted(_BERT_CLASSES | _GENERIC_CLASSES)})"
        )
    if config.get("padding_side", "right") != "right":
        raise CheckpointError(
            f"{folder}: padding_side {config.get('padding_side')!r} is not supported: PyLate inserts the prefix "
            "after the first position, which only makes sense with right padding"
        )

    # Stale settings from training must not leak into encoding.
    tok.no_truncation()
    tok.no_padding()

    # BertTokenizerFast.__init__: the normalizer follows tokenizer_config.json.
    if is_bert and _normalizer_type(tok) == "BertNormalizer":
        state = json.loads(tok.normalizer.__getstate__())
        wanted = {
            "lowercase": config.get("do_lower_case", True),
            "strip_accents": config.get("strip_accents"),
            "handle_chinese_chars": config.get("tokenize_chinese_chars", True),
        }
        if any(state.get(k, v) != v for k, v in wanted.items()):
            state.pop("type")
            state.update(wanted)
            tok.normalizer = normalizers.BertNormalizer(**state)

    # PreTrainedTokenizerFast.__init__: added tokens from tokenizer_config.json, then special tokens.
    present = {t.content for t in tok.get_added_tokens_decoder().values()}
    specials = {}
    for key in _SPECIAL_KEYS:
        value = _content(config.get(key, special_map.get(key)))
        if value is None and is_bert:
            value = _BERT_SPECIAL_DEFAULTS[key]
        specials[key] = value
    extra = config.get("additional_special_tokens", special_map.get("additional_special_tokens")) or []
    special_strings = {v for v in specials.values() if v} | {c for c in map(_content, extra) if c}
    to_add = []
    decoder = config.get("added_tokens_decoder") or {}
    for _, entry in sorted(decoder.items(), key=lambda kv: int(kv[0])):
        if isinstance(entry, dict) and isinstance(entry.get("content"), str) and entry["content"] not in present:
            to_add.append(
                _added_token(entry, special=bool(entry.get("special")) or entry["content"] in special_strings)
            )
            present.add(entry["content"])
    for content in sorted(special_strings - present):
        to_add.append(_added_token({"content": content, "special": True}))
    if to_add:
        tok.add_tokens(to_add)

    # PyLate: add_tokens([query_prefix, document_prefix]); ids that are new would get random rows.
    before = tok.get_vocab_size(with_added_tokens=True)
    tok.add_tokens([query_prefix, document_prefix])
    after = tok.get_vocab_size(with_added_tokens=True)
    if after != before:
        missing = [p for p in (query_prefix, document_prefix) if (tok.token_to_id(p) or 0) >= before]
        raise CheckpointError(
            f"{path}: the tokenizer has no token for the prefix(es) {missing}: PyLate would add them with "
            "freshly initialised embedding rows, so the checkpoint's outputs are not defined. Export a checkpoint "
            "saved by PyLate (its tokenizer.json carries the prefix tokens as added tokens)"
        )

    mask = specials.get("mask_token")
    mask_id = tok.token_to_id(mask) if mask else None
    if mask_id is None:
        raise CheckpointError(
            f"{folder}: the tokenizer has no mask token (found {mask!r}); PyLate pads queries with [MASK]"
        )
    cls_id, sep_id = _post_processor_ids(tok, path)
    unk = specials.get("unk_token")
    return TokenizerInfo(
        tokenizer_json=tok.to_str(),
        size=after,
        query_prefix_id=tok.token_to_id(query_prefix),
        document_prefix_id=tok.token_to_id(document_prefix),
        mask_id=mask_id,
        unk_id=tok.token_to_id(unk) if unk else None,
        cls_id=cls_id,
        sep_id=sep_id,
        tokenizer=tok,
    )


def _normalizer_type(tok) -> str | None:
    if tok.normalizer is None:
        return None
    return json.loads(tok.normalizer.__getstate__()).get("type")


def _post_processor_ids(tok, path: Path) -> tuple[int, int]:
    """The ids the post-processor puts around a single text; PyLate's prefix goes after the first."""
    enc = tok.encode("a", add_special_tokens=True)
    plain = tok.encode("a", add_special_tokens=False)
    if len(enc.ids) != len(plain.ids) + 2 or enc.ids[1:-1] != plain.ids:
        raise CheckpointError(
            f"{path}: the tokenizer's post-processor does not wrap a text as [CLS] text [SEP] "
            f"(got {enc.tokens} for 'a'); only BERT-style tokenizers are supported"
        )
    return enc.ids[0], enc.ids[-1]
