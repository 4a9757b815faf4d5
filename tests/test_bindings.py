"""The boundary: zero-copy views of arrays, and a clear error for every wrong input."""

import tracemalloc

import numpy as np
import pytest

import muvera_nano as mn
from muvera_nano._testing import set_isa


@pytest.fixture
def store(rng):
    docs = [rng.standard_normal((n, 8)).astype(np.float32) for n in (3, 1, 4)]
    return mn.Ragged.from_list(docs)


@pytest.fixture
def query(rng):
    return rng.standard_normal((5, 8)).astype(np.float32)


def test_ragged_references_the_arrays_it_was_given(rng):
    tokens = rng.standard_normal((7, 8)).astype(np.float32)
    offsets = np.array([0, 3, 7], np.int64)
    r = mn.Ragged(tokens, offsets)
    assert r.tokens is tokens and r.offsets is offsets
    q = rng.standard_normal((2, 8)).astype(np.float32)
    before = mn.maxsim(q, r)
    tokens[0] = 100.0 * q[0]  # the kernels read the caller's memory: the change is visible
    after = mn.maxsim(q, r)
    assert before[1] == after[1] and after[0] > before[0] + 50


def test_scoring_allocates_nothing_the_size_of_the_inputs(rng):
    # numpy's allocations are visible to tracemalloc; scoring a 64 MB store must not copy it.
    tokens = rng.standard_normal((125_000, 128)).astype(np.float32)
    offsets = np.linspace(0, tokens.shape[0], 1001).astype(np.int64)
    r = mn.Ragged(tokens, offsets)
    q = rng.standard_normal((32, 128)).astype(np.float32)
    tracemalloc.start()
    try:
        mn.maxsim(q, r)
        mn.rerank(q, r, k=10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, peak


@pytest.mark.parametrize(
    "bad, exc, pattern",
    [
        (
            lambda q: q.astype(np.float64),
            TypeError,
            r"queries must be a float32 array, got float64 array of shape \(5, 8\)",
        ),
        (lambda q: q[0], ValueError, r"queries must be 2-D \(rows, dim\) or 3-D"),
        (lambda q: q[None, None], ValueError, r"queries must be 2-D \(rows, dim\) or 3-D"),
        (lambda q: q.tolist(), TypeError, r"queries must be a float32 numpy array .* got list"),
        (lambda q: q[:, :4], ValueError, r"queries has dimension 4 but docs have dimension 8"),
        (lambda q: np.asfortranarray(q), ValueError, r"queries must have contiguous rows"),
        (lambda q: q[::-1], ValueError, r"queries has negative strides"),
        (lambda q: q.astype(">f4"), TypeError, r"queries must be a float32 array"),
    ],
)
def test_query_rejections(store, query, bad, exc, pattern):
    with pytest.raises(exc, match=pattern):
        mn.maxsim(bad(query), store)


def test_rerank_names_its_query_argument(store, query):
    with pytest.raises(TypeError, match=r"^query must be a float32 array"):
        mn.rerank(query.astype(np.float16), store)


@pytest.mark.parametrize(
    "make, exc, pattern",
    [
        (lambda t, o: mn.Ragged(t.tolist(), o), TypeError, r"tokens must be a 2-D numpy array, got list"),
        (lambda t, o: mn.Ragged(t.astype(np.float64), o), TypeError, r"tokens must be float32, float16, bfloat16"),
        (
            lambda t, o: mn.Ragged(t.view(np.uint16), o),
            TypeError,
            r"tokens is uint16, which is ambiguous: if it holds bfloat16 bits, pass dtype='bfloat16'",
        ),
        (lambda t, o: mn.Ragged(t[:, ::2], o), ValueError, r"tokens must have contiguous rows"),
        (lambda t, o: mn.Ragged(t[::-1], o), ValueError, r"tokens has negative strides"),
        (lambda t, o: mn.Ragged(t.ravel(), o), ValueError, r"tokens must be 2-D \(rows, dim\), got shape \(48,\)"),
        (lambda t, o: mn.Ragged(t, o.astype(np.int32)), TypeError, r"offsets must be an int64 array, got int32"),
        (lambda t, o: mn.Ragged(t, o[1:]), ValueError, r"offsets must start at 0, got 3"),
        (
            lambda t, o: mn.Ragged(t, np.array([0, 5, 4, 8])),
            ValueError,
            r"offsets must be non-decreasing; offsets\[2\] = 4 < offsets\[1\] = 5",
        ),
        (
            lambda t, o: mn.Ragged(t, np.array([0, 3, 9])),
            ValueError,
            r"offsets must end at the number of token rows \(8\), got 9",
        ),
        (
            lambda t, o: mn.Ragged(t, np.zeros((0,), np.int64)),
            ValueError,
            r"offsets must be 1-D with n \+ 1 >= 1 entries",
        ),
        (lambda t, o: mn.Ragged(t, o.reshape(1, -1)), ValueError, r"offsets must be 1-D"),
        (
            lambda t, o: mn.Ragged(t.astype(np.int8), o),
            TypeError,
            r"scales must be a float32 array with one scale per row for int8 values, got None",
        ),
        (
            lambda t, o: mn.Ragged(t.astype(np.int8), o, np.ones(3, np.float32)),
            ValueError,
            r"scales must have shape \(8,\)",
        ),
        (
            lambda t, o: mn.Ragged(t, o, np.ones(8, np.float32)),
            ValueError,
            r"scales is only used with int8 values, got scales for float32",
        ),
        (
            lambda t, o: mn.Ragged(t.astype(np.float16), o, dtype="bfloat16"),
            TypeError,
            r"tokens holds float16 values but dtype='bfloat16' was given",
        ),
        (lambda t, o: mn.Ragged(t, o, dtype="float64"), ValueError, r"dtype must be one of"),
    ],
)
def test_ragged_rejections(rng, make, exc, pattern):
    tokens = rng.standard_normal((8, 6)).astype(np.float32)
    offsets = np.array([0, 3, 3, 8], np.int64)
    with pytest.raises(exc, match=pattern):
        make(tokens, offsets)


def test_docs_must_be_ragged(query):
    with pytest.raises(TypeError, match=r"docs must be a muvera_nano.Ragged, got float32 array of shape"):
        mn.maxsim(query, query)


@pytest.mark.parametrize(
    "kwargs, exc, pattern",
    [
        (dict(k=-1), ValueError, r"k must be >= 0, got -1"),
        (dict(k=1.5), TypeError, r"k must be None or an int >= 0, got float"),
        (dict(k=True), TypeError, r"k must be None or an int >= 0, got bool"),
        (dict(candidates=np.array([0, 3])), ValueError, r"candidates\[1\] = 3 is not a document index in \[0, 3\)"),
        (dict(candidates=np.array([-1])), ValueError, r"candidates\[0\] = -1 is not a document index"),
        (dict(candidates=np.array([2, 0, 2])), ValueError, r"candidates lists document 2 more than once"),
        (dict(candidates=np.array([0.0, 1.0])), TypeError, r"candidates must be an int64 array, got float64"),
        (
            dict(candidates=np.array([[0, 1]])),
            ValueError,
            r"candidates must have shape \(n_candidates,\) for one query",
        ),
        (dict(candidates=[0, 1]), TypeError, r"candidates must be an int64 numpy array"),
        (dict(candidates=np.array([0, 1, 2, 0])[::2]), ValueError, r"candidates must be C-contiguous"),
        (dict(threads=0), ValueError, r"threads must be between 1 and 1024, got 0"),
        (dict(threads="2"), TypeError, r"threads must be None or an int >= 1, got str"),
    ],
)
def test_rerank_rejections(store, query, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        mn.rerank(query, store, **kwargs)


def test_one_rule_for_k(store, query):
    """k: an int >= 0 (None: all); min(k, available) results, checked before allocating."""
    ids, scores = mn.rerank(query, store, k=5)
    assert ids.shape == scores.shape == (3,)
    ids, _ = mn.rerank(query, store, candidates=np.array([2, 0], np.int64), k=10**30)
    assert sorted(ids.tolist()) == [0, 2]
    assert mn.rerank(query, store, k=0)[0].shape == (0,)
    rows = np.ones((4, query.shape[1]), np.float32)
    assert mn.dot_topk(query[0], rows, 2**63)[0].shape == (4,)
    assert mn.dot_topk(query[0], rows, 0)[0].shape == (0,)
    assert mn.dot_topk(query[0], rows, np.int64(3))[0].shape == (3,)  # numpy integers are ints
    for call in (lambda k: mn.rerank(query, store, k=k), lambda k: mn.dot_topk(query[0], rows, k)):
        with pytest.raises(ValueError, match="k must be >= 0"):
            call(-1)
        with pytest.raises(TypeError, match="k must be"):
            call(2.0)
        with pytest.raises(TypeError, match="k must be"):
            call(np.float32(2))


def test_private_hooks_stay_out_of_the_public_surface():
    assert "annotations" not in mn.__all__
    assert all(not name.startswith("_") for name in mn.__all__)
    assert not hasattr(mn, "_forced_isa")
    assert not hasattr(mn._core, "set_isa") and not hasattr(mn._core, "_fde_random_stream")
    assert hasattr(mn._core._testing, "set_isa")


def test_batch_candidates_shape_is_checked(store, query):
    with pytest.raises(
        ValueError, match=r"candidates must have shape \(n_queries, n_candidates\) = \(2, n_candidates\)"
    ):
        mn.rerank(np.stack([query, query]), store, candidates=np.zeros((3, 1), np.int64))


def test_offsets_corrupted_after_construction_raise_not_crash(rng):
    tokens = rng.standard_normal((100, 8)).astype(np.float32)
    offsets = np.arange(0, 101, 5, dtype=np.int64)
    r = mn.Ragged(tokens, offsets)
    offsets[7] = 10**9  # the caller scribbles on the array the store references
    q = rng.standard_normal((4, 8)).astype(np.float32)
    for threads in (1, 2):
        with pytest.raises(ValueError, match=r"docs.offsets changed or is invalid at document 6"):
            mn.maxsim(q, r, threads=threads)


def test_set_num_threads_validates():
    with pytest.raises(ValueError, match="between 1 and 1024"):
        mn.set_num_threads(0)
    with pytest.raises(TypeError):
        mn.set_num_threads(None)
    n = mn.get_num_threads()
    mn.set_num_threads(3)
    assert mn.get_num_threads() == 3
    mn.set_num_threads(n)


def test_quantize_int8_matches_the_documented_formula(rng):
    x = rng.standard_normal((50, 33)).astype(np.float32) * rng.uniform(0.01, 10, (50, 1)).astype(np.float32)
    x[3] = 0.0
    q, s = mn.quantize_int8(x)
    want_s = (np.abs(x).max(axis=1) / np.float32(127)).astype(np.float32)
    np.testing.assert_array_equal(s, want_s)
    with np.errstate(invalid="ignore", divide="ignore"):
        want_q = np.where(want_s[:, None] > 0, np.clip(np.rint(x / want_s[:, None]), -127, 127), 0).astype(np.int8)
    np.testing.assert_array_equal(q, want_q)
    assert np.abs(q.astype(np.float32) * s[:, None] - x).max() <= (s.max() / 2) * (1 + 1e-6)
    with pytest.raises(TypeError, match="rows must be a float32 array"):
        mn.quantize_int8(x.astype(np.float64))


def test_isa_introspection():
    assert mn.isa() in mn.supported_isas()
    assert mn.supported_isas()[-1] == "scalar"
    info = mn.cpu_info()
    assert info["isa"] == mn.isa() and info["supported_isas"] == mn.supported_isas()
    with pytest.raises(ValueError, match="unknown instruction set 'sse9'"):
        set_isa("sse9")


def test_the_wheel_ships_typing_information():
    """py.typed and _core.pyi are installed, and the stub names exactly what _core exports."""
    import ast
    from pathlib import Path

    package = Path(mn.__file__).parent
    assert (package / "py.typed").is_file()
    stub = ast.parse((package / "_core.pyi").read_text())
    stubbed = {n.name for n in stub.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    stubbed |= {n.target.id for n in stub.body if isinstance(n, ast.AnnAssign)}
    exported = {name for name in dir(mn._core) if not name.startswith("__")}
    assert exported <= stubbed, exported - stubbed
    assert {name for name in stubbed if not name.startswith("_")} <= exported
    testing = next(n for n in stub.body if isinstance(n, ast.ClassDef) and n.name == "_Testing")
    hooks = {n.name for n in testing.body if isinstance(n, ast.FunctionDef)}
    assert hooks == {name for name in dir(mn._core._testing) if not name.startswith("__")}
