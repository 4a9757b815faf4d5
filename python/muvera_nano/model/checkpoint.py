"""Reading a PyLate / sentence-transformers checkpoint folder into plain numpy weights.

Supported: BERT (`model_type: bert`) and BertHash (`model_type: bert_hash`, a small word table
(vocab x projections) followed by a bias-free projections -> hidden map). The architecture is read
from config.json and confirmed by the weight shapes; anything else, or weights that cannot be
mapped unambiguously, is refused with a message that names what was found. The PyLate settings
follow PyLate's own rules (empty values fall back to the defaults, see spec/encoding.md).
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._files import CheckpointError, read_json, read_safetensors
from .source import resolve_source
from .tokenizer import TokenizerInfo, load_tokenizer

_BERT_TYPES = {"bert"}
_HASH_TYPES = {"bert_hash", "bert-hash", "berthash"}
_HIDDEN_ACTS = {"gelu": "gelu", "relu": "relu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh"}
_DENSE_ACTS = {
    "torch.nn.modules.linear.Identity": "identity",
    "torch.nn.modules.activation.Tanh": "tanh",
    "torch.nn.modules.activation.ReLU": "relu",
    "torch.nn.modules.activation.GELU": "gelu",
    "torch.nn.modules.activation.Sigmoid": "sigmoid",
}
_TRANSFORMER_TYPES = {
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Transformer.Transformer",
}
_DENSE_TYPES = {
    "pylate.models.Dense.Dense",
    "pylate.models.Dense",
    "sentence_transformers.models.Dense",
    "sentence_transformers.models.Dense.Dense",
}
_LAYER_TENSORS = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "attention.output.LayerNorm",
    "intermediate.dense",
    "output.dense",
    "output.LayerNorm",
)


@dataclass(frozen=True)
class EncoderShape:
    architecture: str  # "bert" or "bert_hash"
    vocab_rows: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    hidden_act: str  # "gelu" (erf), "gelu_tanh" or "relu"
    layer_norm_eps: float
    max_positions: int
    projections: int | None = None  # BertHash only


@dataclass(frozen=True)
class DenseLayer:
    weight: np.ndarray  # (out, in), float32
    bias: np.ndarray | None
    activation: str  # identity, tanh, relu, gelu, sigmoid
    use_residual: bool = False
    residual_weight: np.ndarray | None = None  # (out, in) when use_residual and in != out

    @property
    def in_features(self) -> int:
        return self.weight.shape[1]

    @property
    def out_features(self) -> int:
        return self.weight.shape[0]

    def parameters(self) -> int:
        return sum(a.size for a in (self.weight, self.bias, self.residual_weight) if a is not None)


@dataclass(frozen=True)
class PyLateConfig:
    query_prefix: str
    document_prefix: str
    query_length: int
    document_length: int
    do_query_expansion: bool
    attend_to_expansion_tokens: bool
    skiplist_words: tuple[str, ...]
    do_lower_case: bool  # sentence_bert_config.json: lower-cases in Python before tokenizing


@dataclass(frozen=True)
class Checkpoint:
    source: str
    folder: Path
    shape: EncoderShape
    weights: dict[str, np.ndarray]  # transformers BertModel names without prefix (+ hash tensors)
    dense: tuple[DenseLayer, ...]
    pylate: PyLateConfig
    tokenizer: TokenizerInfo
    skiplist_ids: tuple[int, ...]
    ignored_modules: tuple[str, ...] = field(default=())

    @property
    def dim(self) -> int:
        return self.dense[-1].out_features

    @property
    def parameters(self) -> int:
        """Parameters used by the encoding (the pooler, if any, is not)."""
        return sum(w.size for w in self.weights.values()) + sum(d.parameters() for d in self.dense)


def load_checkpoint(source: str | os.PathLike) -> Checkpoint:
    """Reads a PyLate checkpoint from a local folder or a hub id (see resolve_source)."""
    folder, description = resolve_source(source)
    modules = read_json(folder / "modules.json", required=False)
    if modules is None:
        raise CheckpointError(
            f"{folder} has no modules.json: it is not a sentence-transformers/PyLate checkpoint. PyLate would add "
            "a randomly initialised projection to such a model, so there is nothing deterministic to export"
        )
    transformer_path, dense_paths, ignored = _modules(folder, modules)
    root = folder / transformer_path if transformer_path else folder

    pylate = _pylate_config(folder, root)
    tok = load_tokenizer(root, pylate.query_prefix, pylate.document_prefix)
    config = read_json(root / "config.json")
    tensors = read_safetensors(_weights_file(root))
    shape, weights = _map_encoder(root, config, tensors)
    if tok.size > shape.vocab_rows:
        raise CheckpointError(
            f"{root}: the tokenizer produces {tok.size} ids but the word table has {shape.vocab_rows} rows; "
            "PyLate would resize the table with random rows"
        )
    dense = tuple(_dense_layer(folder / p) for p in dense_paths)
    if not dense:
        raise CheckpointError(
            f"{folder}/modules.json lists no Dense module: PyLate would add a randomly initialised projection, "
            "so there is nothing deterministic to export"
        )
    width = shape.hidden
    for p, d in zip(dense_paths, dense):
        if d.in_features != width:
            raise CheckpointError(
                f"{folder / p}: in_features {d.in_features} does not match the previous output {width}"
            )
        width = d.out_features
    for name, i in (("query_prefix", tok.query_prefix_id), ("document_prefix", tok.document_prefix_id)):
        if i is None or i >= shape.vocab_rows:
            raise CheckpointError(f"{root}: {name} {getattr(pylate, name)!r} has no row in the word table")
    # PyLate: convert_tokens_to_ids(word), which gives the [UNK] id for a word that is not a token.
    skip = []
    for word in pylate.skiplist_words:
        i = tok.tokenizer.token_to_id(word)
        if i is None:
            if tok.unk_id is None:
                raise CheckpointError(f"{root}: skiplist word {word!r} is not a token and the tokenizer has no [UNK]")
            i = tok.unk_id
        skip.append(i)
    return Checkpoint(
        source=description,
        folder=folder,
        shape=shape,
        weights=weights,
        dense=dense,
        pylate=pylate,
        tokenizer=tok,
        skiplist_ids=tuple(sorted(set(skip))),
        ignored_modules=tuple(ignored),
    )


def _modules(folder: Path, modules) -> tuple[str, list[str], list[str]]:
    if not isinstance(modules, list) or not modules or not all(isinstance(m, dict) for m in modules):
        raise CheckpointError(f"{folder}/modules.json must be a non-empty list of module objects")
    modules = sorted(modules, key=lambda m: m.get("idx", 0))
    first = modules[0]
    if first.get("type") not in _TRANSFORMER_TYPES:
        raise CheckpointError(
            f"{folder}/modules.json: module 0 has type {first.get('type')!r}; expected a "
            "sentence_transformers.models.Transformer"
        )
    dense, ignored = [], []
    for m in modules[1:]:
        if m.get("type") in _DENSE_TYPES:
            dense.append(str(m.get("path", "")))
        elif m.get("type") in _TRANSFORMER_TYPES:
            raise CheckpointError(f"{folder}/modules.json lists more than one Transformer module")
        else:
            ignored.append(str(m.get("type")))  # PyLate drops Pooling, Normalize and the like
    return str(first.get("path", "")), dense, ignored


def _pylate_config(folder: Path, root: Path) -> PyLateConfig:
    cfg = read_json(folder / "config_sentence_transformers.json", required=False) or {}
    st = read_json(root / "sentence_bert_config.json", required=False) or {}
    if not isinstance(cfg, dict) or not isinstance(st, dict):
        raise CheckpointError(
            f"{folder}: config_sentence_transformers.json and sentence_bert_config.json must be objects"
        )

    def typed(key, kinds, what):
        value = cfg.get(key)
        if value is not None and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
            raise CheckpointError(f"{folder}/config_sentence_transformers.json: {key} must be {what}, got {value!r}")
        return value

    # PyLate's rule: `value or default`, so empty strings, 0 and [] fall back too.
    qp = typed("query_prefix", (str,), "a string") or "[Q] "
    dp = typed("document_prefix", (str,), "a string") or "[D] "
    ql = typed("query_length", (int,), "an integer") or 32
    dl = typed("document_length", (int,), "an integer") or 180
    words = typed("skiplist_words", (list,), "a list of strings") or list(string.punctuation)
    if not all(isinstance(w, str) for w in words):
        raise CheckpointError(
            f"{folder}/config_sentence_transformers.json: skiplist_words must hold strings, got {words!r}"
        )
    expand = typed("do_query_expansion", (bool,), "true or false")
    attend = typed("attend_to_expansion_tokens", (bool,), "true or false")
    expand = True if expand is None else expand
    attend = bool(attend) and expand  # PyLate: no expansion means no attention to expansion tokens
    for key, value in (("query_length", ql), ("document_length", dl)):
        if value < 3:
            raise CheckpointError(
                f"{folder}/config_sentence_transformers.json: {key} {value} leaves no room for "
                "[CLS], the prefix and [SEP] (need at least 3)"
            )
    prompt_name = cfg.get("default_prompt_name")
    prompts = cfg.get("prompts") or {}
    if prompt_name and isinstance(prompts, dict) and prompts.get(prompt_name):
        raise CheckpointError(
            f"{folder}/config_sentence_transformers.json: default_prompt_name {prompt_name!r} makes PyLate prepend "
            f"{prompts[prompt_name]!r} to every text; checkpoints with a default prompt are not supported"
        )
    lower = st.get("do_lower_case", False)
    if not isinstance(lower, bool):
        raise CheckpointError(f"{root}/sentence_bert_config.json: do_lower_case must be true or false, got {lower!r}")
    return PyLateConfig(qp, dp, ql, dl, expand, attend, tuple(words), lower)


def _weights_file(root: Path) -> Path:
    path = root / "model.safetensors"
    if path.is_file():
        return path
    if (root / "model.safetensors.index.json").is_file():
        raise CheckpointError(
            f"{root}: sharded safetensors checkpoints are not supported (found model.safetensors.index.json)"
        )
    if (root / "pytorch_model.bin").is_file():
        raise CheckpointError(
            f"{root}: only pytorch_model.bin found; re-save the checkpoint with safetensors "
            "(model.safetensors) so it can be read without torch"
        )
    raise FileNotFoundError(f"missing file {path}")


def _config_int(root: Path, config: dict, key: str, default: int | None = None) -> int:
    value = config.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise CheckpointError(f"{root}/config.json: {key} must be a positive integer, got {value!r}")
    return value


def _map_encoder(root: Path, config, tensors: dict[str, np.ndarray]) -> tuple[EncoderShape, dict[str, np.ndarray]]:
    if not isinstance(config, dict):
        raise CheckpointError(f"{root}/config.json must hold a JSON object")
    model_type = config.get("model_type")
    if model_type in _BERT_TYPES:
        arch = "bert"
    elif model_type in _HASH_TYPES:
        arch = "bert_hash"
    else:
        raise CheckpointError(
            f"{root}/config.json: model_type {model_type!r} (architectures {config.get('architectures')}) is not "
            f"supported; expected one of {sorted(_BERT_TYPES | _HASH_TYPES)}"
        )
    for key, expected in (
        ("position_embedding_type", "absolute"),
        ("is_decoder", False),
        ("add_cross_attention", False),
    ):
        if config.get(key, expected) != expected:
            raise CheckpointError(f"{root}/config.json: {key} {config[key]!r} is not supported (expected {expected!r})")
    act = config.get("hidden_act", "gelu")
    if act not in _HIDDEN_ACTS:
        raise CheckpointError(
            f"{root}/config.json: hidden_act {act!r} is not supported (expected one of {sorted(_HIDDEN_ACTS)})"
        )
    hidden = _config_int(root, config, "hidden_size")
    heads = _config_int(root, config, "num_attention_heads")
    if hidden % heads:
        raise CheckpointError(
            f"{root}/config.json: hidden_size {hidden} is not a multiple of num_attention_heads {heads}"
        )
    layers = _config_int(root, config, "num_hidden_layers")
    inter = _config_int(root, config, "intermediate_size")
    eps = config.get("layer_norm_eps", 1e-12)
    if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not eps > 0:
        raise CheckpointError(f"{root}/config.json: layer_norm_eps must be a positive number, got {eps!r}")

    prefix = _weight_prefix(root, tensors)
    named = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
    weights: dict[str, np.ndarray] = {}

    def take(name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name not in named:
            raise CheckpointError(
                f"{root}/model.safetensors: missing tensor {prefix + name!r} (a {arch} model needs it)"
            )
        value = named.pop(name)
        if value.shape != shape:
            raise CheckpointError(
                f"{root}/model.safetensors: tensor {prefix + name!r} has shape {value.shape}, expected {shape} "
                f"from config.json"
            )
        weights[name] = np.ascontiguousarray(value, dtype=np.float32)
        return weights[name]

    for alias_from, alias_to in (("gamma", "weight"), ("beta", "bias")):  # old TF-style LayerNorm names
        for k in [k for k in named if k.endswith("LayerNorm." + alias_from)]:
            named[k[: -len(alias_from)] + alias_to] = named.pop(k)
    named.pop("embeddings.position_ids", None)  # a buffer in older saves
    max_pos = named.get("embeddings.position_embeddings.weight", np.empty((0, 0))).shape[0]
    take(
        "embeddings.position_embeddings.weight", (_config_int(root, config, "max_position_embeddings", max_pos), hidden)
    )
    tt = named.get("embeddings.token_type_embeddings.weight")
    if tt is None or tt.ndim != 2 or tt.shape[0] < 1:
        raise CheckpointError(f"{root}/model.safetensors: missing or malformed token_type_embeddings")
    take("embeddings.token_type_embeddings.weight", (tt.shape[0], hidden))
    take("embeddings.LayerNorm.weight", (hidden,))
    take("embeddings.LayerNorm.bias", (hidden,))
    word = {k: v for k, v in named.items() if k.startswith("embeddings.")}
    projections = None
    if arch == "bert":
        if set(word) != {"embeddings.word_embeddings.weight"}:
            raise CheckpointError(
                f"{root}/model.safetensors: config.json says bert, which has one word table "
                f"'embeddings.word_embeddings.weight', but the embedding tensors are "
                f"{ {k: tuple(v.shape) for k, v in word.items()} }"
            )
        table = word["embeddings.word_embeddings.weight"]
        if table.ndim != 2 or table.shape[1] != hidden:
            raise CheckpointError(
                f"{root}/model.safetensors: word table has shape {table.shape}, expected (vocab, {hidden})"
            )
        vocab_rows = table.shape[0]
        take("embeddings.word_embeddings.weight", (vocab_rows, hidden))
    else:
        vocab_rows, projections = _map_hash(root, config, word, hidden, weights)
        for k in word:
            named.pop(k)

    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name in _LAYER_TENSORS:
            if name.endswith("LayerNorm"):
                take(p + name + ".weight", (hidden,))
                take(p + name + ".bias", (hidden,))
                continue
            out_f, in_f = {"intermediate.dense": (inter, hidden), "output.dense": (hidden, inter)}.get(
                name, (hidden, hidden)
            )
            take(p + name + ".weight", (out_f, in_f))
            take(p + name + ".bias", (out_f,))
    leftover = sorted(k for k in named if not k.startswith("pooler."))
    if leftover:
        raise CheckpointError(
            f"{root}/model.safetensors has tensors a {layers}-layer {arch} model does not use: "
            f"{[prefix + k for k in leftover[:8]]}{' ...' if len(leftover) > 8 else ''}; config.json and the weights disagree"
        )
    shape = EncoderShape(
        arch,
        vocab_rows,
        hidden,
        layers,
        heads,
        inter,
        _HIDDEN_ACTS[act],
        float(eps),
        weights["embeddings.position_embeddings.weight"].shape[0],
        projections,
    )
    return shape, weights


def _weight_prefix(root: Path, tensors: dict[str, np.ndarray]) -> str:
    anchor = "embeddings.position_embeddings.weight"
    prefixes = sorted({k[: -len(anchor)] for k in tensors if k.endswith(anchor)})
    if len(prefixes) != 1 or (prefixes[0] and not prefixes[0].endswith(".")):
        raise CheckpointError(
            f"{root}/model.safetensors: expected exactly one '*{anchor}' tensor to locate the encoder, "
            f"found {len(prefixes)} ({[p + anchor for p in prefixes]}); tensors include {sorted(tensors)[:6]}"
        )
    return prefixes[0]


def _map_hash(
    root: Path, config: dict, word: dict[str, np.ndarray], hidden: int, weights: dict[str, np.ndarray]
) -> tuple[int, int]:
    """Finds the BertHash table (vocab x projections) and projection (hidden x projections) by shape."""
    found = {k: tuple(v.shape) for k, v in word.items()}
    if len(word) != 2 or any(v.ndim != 2 for v in word.values()):
        raise CheckpointError(
            f"{root}/model.safetensors: a bert_hash model's word-embedding module holds two 2-D tensors "
            f"(table vocab x projections, projection hidden x projections), found {found}"
        )
    projections = config.get("projections")
    (na, a), (nb, b) = sorted(word.items())
    if a.shape[1] != b.shape[1]:
        raise CheckpointError(
            f"{root}/model.safetensors: the two word-embedding tensors {found} do not share a projections "
            "dimension (the projection must be stored as nn.Linear weight: hidden x projections)"
        )
    p = a.shape[1]
    if projections is not None and projections != p:
        raise CheckpointError(f"{root}: config.json says projections={projections!r} but the word tensors are {found}")
    is_proj = [v.shape[0] == hidden for v in (a, b)]
    if is_proj.count(True) != 1:
        raise CheckpointError(
            f"{root}/model.safetensors: cannot tell the BertHash table from the projection by shape: {found} "
            f"(hidden size {hidden}); refusing an ambiguous mapping"
        )
    (tname, table), (_, proj) = ((nb, b), (na, a)) if is_proj[0] else ((na, a), (nb, b))
    weights["embeddings.hash_table"] = np.ascontiguousarray(table, dtype=np.float32)
    weights["embeddings.hash_projection"] = np.ascontiguousarray(proj, dtype=np.float32)
    vocab = config.get("vocab_size")
    if isinstance(vocab, int) and vocab != table.shape[0]:
        raise CheckpointError(
            f"{root}: config.json vocab_size {vocab} but the table {tname!r} has {table.shape[0]} rows"
        )
    return table.shape[0], p


def _dense_layer(folder: Path) -> DenseLayer:
    cfg = read_json(folder / "config.json")
    if not isinstance(cfg, dict):
        raise CheckpointError(f"{folder}/config.json must hold a JSON object")
    act_name = cfg.get("activation_function", "torch.nn.modules.linear.Identity")
    if act_name not in _DENSE_ACTS:
        raise CheckpointError(
            f"{folder}/config.json: activation_function {act_name!r} is not supported "
            f"(expected one of {sorted(_DENSE_ACTS)})"
        )
    in_f, out_f = cfg.get("in_features"), cfg.get("out_features")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (in_f, out_f)):
        raise CheckpointError(
            f"{folder}/config.json: in_features and out_features must be positive integers, got {in_f!r}, {out_f!r}"
        )
    bias, residual = bool(cfg.get("bias", True)), bool(cfg.get("use_residual", False))
    path = folder / "model.safetensors"
    if not path.is_file() and (folder / "pytorch_model.bin").is_file():
        raise CheckpointError(f"{folder}: only pytorch_model.bin found; re-save the Dense layer with safetensors")
    tensors = read_safetensors(path)

    def get(name, shape):
        if name not in tensors:
            raise CheckpointError(f"{path}: missing tensor {name!r}")
        if tensors[name].shape != shape:
            raise CheckpointError(f"{path}: tensor {name!r} has shape {tensors[name].shape}, expected {shape}")
        return np.ascontiguousarray(tensors.pop(name), dtype=np.float32)

    weight = get("linear.weight", (out_f, in_f))
    b = get("linear.bias", (out_f,)) if bias else None
    r = get("residual.weight", (out_f, in_f)) if residual and in_f != out_f else None
    if tensors:
        raise CheckpointError(f"{path}: unexpected tensors {sorted(tensors)} for config {cfg}")
    return DenseLayer(weight, b, _DENSE_ACTS[act_name], residual, r)
