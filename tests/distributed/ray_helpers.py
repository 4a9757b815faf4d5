"""Documents and checks the distributed tests share (a module of its own: every test folder has a
conftest module, so `from conftest import` would find another folder's)."""

from __future__ import annotations

import glob

import numpy as np

WORDS = (
    "retrieval late interaction token vectors maxsim muvera encoding fixed dimensional segment shard "
    "cluster worker driver commit manifest query document index search rerank candidate score tie "
    "ray actor node batch encoder model cosine dot product sketch partition projection"
).split()


def texts(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(3, 40)))) for _ in range(n)]


def stored(index) -> tuple[list, list[np.ndarray], np.ndarray]:
    """(ids, float32 token vectors per live document, FDE rows) in index order, as stored."""
    ids, tokens, fde = index.ids(), [], []
    for seg in index._segments:  # the stored arrays themselves: tests may look inside
        rows = seg.live_rows
        r = seg.tokens.to_float32(rows)
        tokens += [r.tokens[r.offsets[i] : r.offsets[i + 1]] for i in range(len(rows))]
        fde.append(seg.fde.to_float32(rows))
    return ids, tokens, np.concatenate(fde) if fde else np.zeros((0, index.fde.output_dim), np.float32)


def assert_same_documents(a, b) -> None:
    ids_a, tokens_a, fde_a = stored(a)
    ids_b, tokens_b, fde_b = stored(b)
    assert ids_a == ids_b
    assert len(tokens_a) == len(tokens_b)
    for x, y in zip(tokens_a, tokens_b):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(fde_a, fde_b)


def assert_same_search(a, b, queries, k: int = 10, n_candidates: int = 20) -> None:
    for mode in ("maxsim", "muvera", "rerank"):
        for x, y in zip(
            a.search(queries, k=k, mode=mode, n_candidates=n_candidates),
            b.search(queries, k=k, mode=mode, n_candidates=n_candidates),
        ):
            assert x.ids == y.ids, mode
            np.testing.assert_array_equal(x.scores, y.scores)


def ray_processes(title: str) -> list[int]:
    """Process ids of this machine's Ray workers whose title contains `title` (Ray names an
    actor's process ray::<class>)."""
    out = []
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(path, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmd.startswith("ray::") and title in cmd:
            out.append(int(path.split("/")[2]))
    return out
