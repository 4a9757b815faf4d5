"""Token vectors from the caller: one conversion for documents and queries, one error per kind of
bad input (wrong type: TypeError; wrong shape or dimension: ValueError), naming the argument."""

import numpy as np
import pytest
from conftest import random_docs

import muvera_nano as mn
from muvera_nano.index import Index
from muvera_nano.index.vectors import as_ragged


def unit(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


BAD = {
    "not a container": (lambda rng: 42, TypeError, "must be a muvera_nano.Ragged, a list of 2-D float32 arrays"),
    "item not an array": (
        lambda rng: [unit(rng, 3, 32), [[0.0] * 32]],
        TypeError,
        r"\[1\] must be a 2-D float32 array \(tokens, dim\), got list",
    ),
    "item 1-D": (
        lambda rng: [unit(rng, 3, 32), unit(rng, 32)],
        ValueError,
        r"\[1\] must be a 2-D float32 array \(tokens, dim\), got shape \(32,\)",
    ),
    "item float64": (
        lambda rng: [unit(rng, 3, 32).astype(np.float64)],
        TypeError,
        r"\[0\] must be float32, got float64",
    ),
    "item of another dimension": (
        lambda rng: [unit(rng, 3, 32), unit(rng, 3, 16)],
        ValueError,
        r"\[1\] has dimension 16, the index 32",
    ),
    "array of 4 dimensions": (lambda rng: unit(rng, 2, 3, 4, 32), ValueError, r"got an array of shape \(2, 3, 4, 32\)"),
    "3-D float64": (lambda rng: unit(rng, 2, 3, 32).astype(np.float64), TypeError, "must be float32, got float64"),
    "3-D of another dimension": (lambda rng: unit(rng, 2, 3, 16), ValueError, "have dimension 16, the index 32"),
    "float16 Ragged": (
        lambda rng: mn.Ragged.from_list([unit(rng, 3, 32)]).astype("float16"),
        TypeError,
        "must hold float32 vectors, got a float16 Ragged",
    ),
    "Ragged of another dimension": (
        lambda rng: mn.Ragged.from_list([unit(rng, 3, 16)]),
        ValueError,
        "have dimension 16, the index 32",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_one_error_per_bad_input_for_documents_and_queries(case, rng, small_fde):
    make, error, message = BAD[case]
    idx = Index.create(None, dim=32, fde=small_fde)
    idx.add(token_vectors=random_docs(rng, 5))
    bad = make(rng)
    with pytest.raises(error, match=message) as direct:
        as_ragged(bad, "vectors", 32)
    with pytest.raises(error) as added:
        idx.add(token_vectors=bad)
    with pytest.raises(error) as searched:
        idx.search(bad)
    # the same message, naming the argument it came from (queries may also be texts, and say so)
    assert str(added.value) == str(direct.value).replace("vectors", "token_vectors", 1)
    if case == "not a container":
        assert str(searched.value).startswith("queries must be a string, a list of strings, a 2-D float32 array")
    else:
        assert str(searched.value) == str(direct.value).replace("vectors", "queries", 1)
    assert len(idx) == 5


def test_every_accepted_form_gives_the_same_results(rng, small_fde):
    docs = random_docs(rng, 30)
    padded = [unit(rng, 6, 32) for _ in range(4)]
    forms = {
        "list": padded,
        "tuple": tuple(padded),
        "3-D array": np.stack(padded),
        "Ragged": mn.Ragged.from_list(padded),
    }
    added, searched = {}, {}
    for name, value in forms.items():
        idx = Index.create(None, dim=32, fde=small_fde, token_dtype="float32", fde_dtype="float32")
        idx.add(token_vectors=docs)
        idx.add(token_vectors=value)
        added[name] = idx.search(padded[0], k=34, mode="maxsim")
        searched[name] = [(r.ids, r.scores) for r in idx.search(value, k=5, mode="rerank")]
    for name in forms:
        assert added[name].ids == added["list"].ids
        np.testing.assert_array_equal(added[name].scores, added["list"].scores)
        assert [ids for ids, _ in searched[name]] == [ids for ids, _ in searched["list"]]
    with pytest.raises(ValueError, match="have dimension 16, the index 32"):
        idx.search(unit(rng, 5, 16))  # one query as a 2-D array
    with pytest.raises(TypeError, match="queries must be float32, got float64"):
        idx.search(unit(rng, 5, 32).astype(np.float64))
