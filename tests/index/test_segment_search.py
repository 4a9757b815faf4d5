"""Searching a subset of segments (how a shard of a sharded search answers): the same results as an
index holding only those segments' documents, in every mode, ties and removed documents included."""

import numpy as np
import pytest
from conftest import random_docs, random_queries

from muvera_nano.index import Index, SegmentInfo


def three_segments(path, rng, small_fde):
    idx = Index.create(path, dim=32, fde=small_fde, merge="off")
    parts = [random_docs(rng, n) for n in (30, 25, 40)]
    for i in (5, 6, 7):  # one document four times, in two segments (one copy removed by the tests):
        parts[2][i] = parts[0][3]  # equal scores, decided by index order
    for p, part in enumerate(parts):
        idx.add(token_vectors=part, ids=[f"s{p}-{i}" for i in range(len(part))])
    return idx, parts


def test_search_over_some_segments_equals_an_index_of_their_documents(tmp_path, rng, small_fde):
    idx, parts = three_segments(tmp_path / "ix", rng, small_fde)
    idx.remove(["s0-1", "s2-6"])
    infos = idx.segments()
    assert [tuple(i) for i in infos] == [(infos[0].name, 30, 29), (infos[1].name, 25, 25), (infos[2].name, 40, 39)]
    assert all(isinstance(i, SegmentInfo) for i in infos)
    alone = Index.create(None, dim=32, fde=small_fde, merge="off")  # segments 0 and 2 only, same removals
    for p in (0, 2):
        alone.add(token_vectors=parts[p], ids=[f"s{p}-{i}" for i in range(len(parts[p]))])
    alone.remove(["s0-1", "s2-6"])
    queries = random_queries(rng, 3) + [parts[0][3][:4].copy()]  # the last one ties its duplicates
    names = [infos[2].name, infos[0].name]  # order given does not matter: index order is kept
    for mode in ("maxsim", "muvera", "rerank"):
        for k in (1, 5, 200):
            got = idx.search(queries, k=k, mode=mode, n_candidates=7, segments=names)
            want = alone.search(queries, k=k, mode=mode, n_candidates=7)
            for g, w in zip(got, want):
                assert g.ids == w.ids
                np.testing.assert_array_equal(g.scores, w.scores)
    tied = idx.search(queries[-1], k=3, mode="maxsim", segments=names)
    assert tied.ids == ["s0-3", "s2-5", "s2-7"] and tied.scores[0] == tied.scores[1] == tied.scores[2]
    everything = idx.search(queries, k=10, mode="rerank", segments=[i.name for i in infos])
    assert [r.ids for r in everything] == [r.ids for r in idx.search(queries, k=10, mode="rerank")]
    assert idx.search(queries[0], k=5, mode="maxsim", segments=[]).ids == []


def test_segment_names_are_checked(tmp_path, rng, small_fde):
    idx, _ = three_segments(tmp_path / "ix", rng, small_fde)
    q = random_queries(rng, 1)[0]
    with pytest.raises(ValueError, match=r"segments \['seg-999999'\] are not in this index \(generation \d+\)"):
        idx.search(q, segments=["seg-999999", idx.segments()[0].name])
    with pytest.raises(TypeError, match="segments must be a list of segment names"):
        idx.search(q, segments=idx.segments()[0].name)
    with pytest.raises(TypeError, match="segments must be a list of segment names"):
        idx.search(q, segments=[0])
    with pytest.raises(TypeError, match="segments must be a list of segment names"):
        idx.search(q, segments=3)
