"""The clustered scale corpus (spec/benchmarks.md, "Scale workload"): documents of 50-300 token
vectors (dim 128) whose tokens are words of a vocabulary: each word lies around a topic centre,
each document draws its words from 1-3 topics with Zipf frequencies plus a share of common words
(the stop-word-like tokens every real collection has), and each token is its word plus contextual
noise. Real ColBERT tokens cluster like this; i.i.d. unit vectors do not, and make every method
look equally bad. Generated in chunks, each a deterministic function of (seed, chunk index), so a
million documents never sit in memory and can be generated again for the ground truth.

Queries: 32 tokens of one known document (its own words, with more noise), each renormalised.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

DIM = 128


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


@dataclass(frozen=True)
class Corpus:
    seed: int = 0
    topics: int = 2000
    words_per_topic: int = 40
    common_words: int = 300
    topic_spread: float = 1.0  # word = centre + spread * random unit direction (cosine to centre ~0.7)
    noise: float = 0.5  # token = word + noise of norm ~0.5 (cosine to its word ~0.89)
    common_share: float = 0.3
    min_rows: int = 50
    max_rows: int = 300
    dim: int = DIM
    chunk: int = 10_000  # documents per generated chunk

    def __post_init__(self):
        rng = np.random.default_rng([self.seed, 0])
        centres = _unit(rng.standard_normal((self.topics, self.dim)))
        words = centres[:, None, :] + self.topic_spread * _unit(
            rng.standard_normal((self.topics, self.words_per_topic, self.dim))
        )
        object.__setattr__(self, "_words", _unit(words))
        object.__setattr__(self, "_common", _unit(rng.standard_normal((self.common_words, self.dim))))
        object.__setattr__(self, "_word_p", _zipf(self.words_per_topic))
        object.__setattr__(self, "_common_p", _zipf(self.common_words))

    def chunk_bounds(self, n_docs: int) -> list[tuple[int, int]]:
        return [(s, min(n_docs, s + self.chunk)) for s in range(0, n_docs, self.chunk)]

    def documents(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """(tokens float32 (T, dim), offsets int64) of documents [start, stop), which must lie in one
        chunk (chunk_bounds)."""
        index, lo = divmod(start, self.chunk)
        if stop - start + lo > self.chunk:
            raise ValueError(f"documents {start}..{stop} span two chunks of {self.chunk}")
        tokens, offsets = self._chunk(index)
        hi = lo + (stop - start)
        return tokens[offsets[lo] : offsets[hi]], offsets[lo : hi + 1] - offsets[lo]

    @functools.lru_cache(maxsize=1)  # noqa: B019 - the corpus lives as long as the process
    def _chunk(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, 1, index])
        n = self.chunk
        lengths = rng.integers(self.min_rows, self.max_rows + 1, n)
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        total = int(offsets[-1])
        topics_of_doc = rng.integers(0, self.topics, (n, 3))
        n_topics = rng.integers(1, 4, n)
        doc = np.repeat(np.arange(n), lengths)
        topic = topics_of_doc[doc, (rng.random(total) * n_topics[doc]).astype(np.int64)]
        base = self._words[topic, rng.choice(self.words_per_topic, total, p=self._word_p)]
        common = rng.random(total) < self.common_share
        base[common] = self._common[rng.choice(self.common_words, int(common.sum()), p=self._common_p)]
        # uniform noise of unit variance (5x cheaper to draw than normal; its shape does not matter here)
        noise = rng.random((total, self.dim), dtype=np.float32)
        noise -= 0.5
        base += (self.noise * np.sqrt(12.0 / self.dim)) * noise
        return _unit(base), offsets

    def queries(
        self, n_docs: int, count: int, rows: int = 32, noise: float = 0.7, seed: int = 1
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """(queries, their known documents): `count` documents of the first n_docs chosen at random,
        each giving a query of `rows` of its tokens with extra noise."""
        rng = np.random.default_rng([self.seed, 2, seed])
        known = np.sort(rng.choice(n_docs, count, replace=False))
        out = []
        for d in known.tolist():  # sorted: each chunk is generated once
            tokens, offsets = self._chunk(d // self.chunk)
            doc = tokens[offsets[d % self.chunk] : offsets[d % self.chunk + 1]]
            q = doc[rng.integers(0, len(doc), rows)]
            q = q + (noise / np.sqrt(self.dim)) * rng.standard_normal(q.shape, dtype=np.float32)
            out.append(_unit(q))
        order = rng.permutation(count)
        return [out[i] for i in order], known[order]


def _zipf(n: int) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1)
    return p / p.sum()
