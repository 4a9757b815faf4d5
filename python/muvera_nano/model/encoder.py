"""The ColBERT encoder: an exported model folder run with onnxruntime, reproducing PyLate's
``ColBERT.encode`` token for token (see spec/encoding.md); or, when asked for a reduced
precision, the same graph in int8 or bfloat16 (runtimes.py).

Per call: strip (and lower-case if the checkpoint says so) each text; tokenize with special tokens,
truncated to length - 1; insert the prefix id after [CLS]; sort by length and cut into batches,
each padded with [MASK] to its longest item (queries with expansion: to exactly query_length,
attended when attend_to_expansion_tokens); run the graph (which ends with the L2 normalisation);
keep rows (expanded queries: all; other queries: the attended ones; documents: attended and not
in the skiplist) and return them in input order.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..kernels import Ragged
from ._files import CheckpointError
from .identity import ModelIdentity, identity_of
from .pretruncate import PrefixCutter
from .runtimes import OPT_LEVELS, check_precision, open_runtime
from .settings import MODEL_FILE, TOKENIZER_FILE, EncodingSettings


@dataclass
class _Prepared:
    """Tokenized texts: ids per text (with the prefix inserted) and the rows each keeps."""

    ids: list[np.ndarray]
    kept: np.ndarray  # int64 count of kept rows per text


class ColBERT:
    """Encodes queries and documents into L2-normalised token vectors.

    Parameters
    ----------
    model_folder
        A folder written by ``muvera_nano.model.export`` (or ``muvera-nano export``).
    threads
        onnxruntime intra-op threads (default: ``muvera_nano.get_num_threads()``). With 1 thread
        the tokenizer also runs on the calling thread only.
    batch_size
        Texts per forward pass. Texts are sorted by length first, so a batch pads to lengths close
        to its own; outputs do not depend on the batch size or on the other texts in the call.
    graph_optimization
        onnxruntime graph optimisation level: "all" (default; fuses LayerNorm, GELU, attention
        pieces and MatMul+Add, verified by the parity tests), "extended", "basic" or "disable".
    spin
        Let onnxruntime's worker threads spin briefly between operators instead of sleeping
        (default True). With 2 threads this is worth ~1.5x on document batches (measured), at
        the price of burning a core for a moment after each call; services that share the CPU
        with latency-sensitive threads may prefer False. Irrelevant with threads=1.

    The object holds no mutable state after construction: one instance may be used from many
    threads at once (onnxruntime sessions allow concurrent ``run`` calls).
    """

    def __init__(
        self,
        model_folder: str | os.PathLike,
        threads: int | None = None,
        batch_size: int = 32,
        *,
        graph_optimization: str = "all",
        spin: bool = True,
        precision: str | None = None,
    ):
        if not isinstance(model_folder, (str, os.PathLike)):
            raise TypeError(f"model_folder must be a folder path, got {type(model_folder).__name__}")
        folder = Path(model_folder).expanduser()
        if not folder.is_dir():
            raise FileNotFoundError(
                f"model_folder {str(folder)!r} is not a folder; create one with `muvera-nano export CHECKPOINT OUT_DIR`"
            )
        if threads is None:
            from .. import get_num_threads

            threads = get_num_threads()
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
            raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if graph_optimization not in OPT_LEVELS:
            raise ValueError(f"graph_optimization must be one of {OPT_LEVELS}, got {graph_optimization!r}")
        for name in (MODEL_FILE, TOKENIZER_FILE):
            if not (folder / name).is_file():
                raise FileNotFoundError(
                    f"missing file {folder / name}: not a complete model folder (re-run `muvera-nano export`)"
                )
        self.settings = EncodingSettings.load(folder)
        self.precision = check_precision(precision, self.settings.quantized)
        self.folder = folder
        self.threads = threads
        self.batch_size = batch_size
        s = self.settings
        self._tokenizers = {
            True: self._tokenizer(folder, s.query_length),
            False: self._tokenizer(folder, s.document_length),
        }
        self._cutters = {
            q: PrefixCutter.build(t, self._tokenizer(folder, None), s.do_lower_case)
            for q, t in self._tokenizers.items()
        }
        self._skiplist = np.asarray(s.skiplist_ids, np.int64)
        self._runtime = open_runtime(
            folder / MODEL_FILE, self.precision, threads, graph_optimization, bool(spin), self.settings.quantized
        )

    # -- public API --------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return self.settings.dim

    @functools.cached_property
    def identity(self) -> ModelIdentity:
        """A content hash of the model folder, its dimension and settings (hashed on first use)."""
        return identity_of(self.folder, self.settings)

    def encode(self, texts: Sequence[str], is_query: bool) -> list[np.ndarray]:
        """One float32 array (kept tokens, dim) per text, in input order.

        The arrays are consecutive views of one buffer (see :meth:`encode_ragged`)."""
        ragged = self.encode_ragged(texts, is_query)
        tokens, offsets = ragged.tokens, ragged.offsets
        return [tokens[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]

    def encode_ragged(self, texts: Sequence[str], is_query: bool) -> Ragged:
        """The same vectors as :meth:`encode`, as a :class:`muvera_nano.Ragged` (tokens, offsets)."""
        prepared = self._prepare(texts, is_query)
        offsets = np.zeros(len(prepared.ids) + 1, np.int64)
        np.cumsum(prepared.kept, out=offsets[1:])
        out = np.empty((int(offsets[-1]), self.dim), np.float32)
        for batch in self._batches(prepared):
            self._run_batch(prepared, batch, is_query, out, offsets)
        return Ragged(out, offsets)

    # -- steps (separate so the benchmark can time them) ------------------------------------------
    def _prepare(self, texts: Sequence[str], is_query: bool) -> _Prepared:
        texts = check_texts(texts)
        if not isinstance(is_query, (bool, np.bool_)):
            raise TypeError(f"is_query must be True or False, got {type(is_query).__name__}")
        is_query = bool(is_query)
        s = self.settings
        tok = self._tokenizers[is_query]
        cutter = self._cutters[is_query]
        threaded = self.threads > 1
        # Long texts: tokenize only a prefix that provably yields the kept tokens (pretruncate.py).
        starts = [cutter.start(t) if cutter is not None else None for t in texts]
        long = [i for i, st in enumerate(starts) if st is not None]
        cut = cutter.encode([texts[i] for i in long], [starts[i] for i in long], threaded) if long else []
        encoded: list = [None] * len(texts)
        for i, e in zip(long, cut):
            encoded[i] = e
        whole = [i for i, e in enumerate(encoded) if e is None]
        clean = [texts[i].strip() for i in whole]  # str.strip: the whitespace set sentence-transformers uses
        if s.do_lower_case:
            clean = [t.lower() for t in clean]
        if threaded and len(clean) > 1:
            encodings = tok.encode_batch(clean)
        else:
            encodings = [tok.encode(t) for t in clean]
        for i, e in zip(whole, encodings):
            encoded[i] = e.ids
        prefix = s.query_prefix_id if is_query else s.document_prefix_id
        ids = []
        for e in encoded:
            row = np.empty(len(e) + 1, np.int64)
            row[0] = e[0]
            row[1] = prefix
            row[2:] = e[1:]
            ids.append(row)
        if is_query and s.do_query_expansion:
            kept = np.full(len(ids), s.query_length, np.int64)
        elif is_query:
            kept = np.fromiter((len(r) for r in ids), np.int64, len(ids))
        else:
            kept = np.fromiter((len(r) - np.count_nonzero(np.isin(r, self._skiplist)) for r in ids), np.int64, len(ids))
        return _Prepared(ids, kept)

    def _batches(self, prepared: _Prepared) -> list[np.ndarray]:
        lengths = np.fromiter((len(r) for r in prepared.ids), np.int64, len(prepared.ids))
        order = np.argsort(-lengths, kind="stable")
        return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def _run_batch(
        self, prepared: _Prepared, batch: np.ndarray, is_query: bool, out: np.ndarray, offsets: np.ndarray
    ) -> None:
        s = self.settings
        expand = is_query and s.do_query_expansion
        rows = [prepared.ids[i] for i in batch]
        width = s.query_length if expand else max(len(r) for r in rows)
        ids = np.full((len(rows), width), s.mask_id, np.int64)
        mask = (
            np.ones((len(rows), width), np.int64)
            if expand and s.attend_to_expansion_tokens
            else np.zeros((len(rows), width), np.int64)
        )
        for j, r in enumerate(rows):
            ids[j, : len(r)] = r
            mask[j, : len(r)] = 1
        vectors = self._runtime.run(ids, mask)
        for j, (i, r) in enumerate(zip(batch, rows)):
            dst = out[offsets[i] : offsets[i + 1]]
            if expand:
                dst[:] = vectors[j]
            elif is_query:
                dst[:] = vectors[j, : len(r)]
            else:
                dst[:] = vectors[j, : len(r)][~np.isin(r, self._skiplist)]

    # -- construction helpers ----------------------------------------------------------------
    @staticmethod
    def _tokenizer(folder: Path, max_length: int | None):
        from tokenizers import Tokenizer

        try:
            tok = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        except Exception as e:  # tokenizers raises a bare Exception
            raise CheckpointError(f"{folder / TOKENIZER_FILE} cannot be read: {e}") from None
        tok.no_padding()
        if max_length is None:
            return tok
        # transformers: truncation="longest_first", max_length counts the special tokens.
        tok.enable_truncation(max_length=max_length - 1, strategy="longest_first", direction="right", stride=0)
        return tok


def check_texts(texts: Any, name: str = "texts") -> list[str]:
    """`texts` as a list, after checking it is a list or tuple of strings (TypeError naming `name`)."""
    if isinstance(texts, str):
        raise TypeError(f"{name} must be a list of strings, got a single str; wrap it as [text]")
    if not isinstance(texts, (list, tuple)):
        raise TypeError(f"{name} must be a list of strings, got {type(texts).__name__}")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"{name}[{i}] must be a str, got {type(t).__name__}")
    return list(texts)
