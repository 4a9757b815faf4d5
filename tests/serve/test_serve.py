"""`muvera-nano serve` as a real process on a free loopback port, driven by a real HTTP client:
every endpoint, every 4xx path, auth on writes, 503 from a tiny queue, results identical to
``Index.search``, add-then-search visibility (own writes and other processes' commits), SIGTERM
with requests in flight, and a kill during writes losing nothing acknowledged."""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import signal
import time

import numpy as np
import pytest
from serve_harness import Server, passages, wait_until

from muvera_nano.index import Index

TOKEN = "s3cret-token-for-the-tests"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def library(index_dir, model_dir):
    """The same index opened in the test process: the reference the server must reproduce."""
    return Index.open(index_dir, encoder=str(model_dir))


@pytest.fixture(scope="module")
def server(index_dir):
    s = Server([str(index_dir), "--threads", "1"])
    yield s
    assert s.stop() == 0, s.log
    assert "Traceback" not in s.log, s.log


def as_pairs(result) -> list:
    return [[i, float(s)] for i, s in zip(result.ids, result.scores.tolist())]


def pairs(response: dict) -> list:
    return [[r["id"], r["score"]] for r in response["results"]]


QUERIES = [
    "how are exceptions raised",
    "the with statement and context managers",
    "integer literals",
    "class definitions",
    "what does the import system do",
    "string formatting",
]


# ---------------------------------------------------------------------------- search
@pytest.mark.parametrize(
    "mode,k,candidates", [("rerank", 10, 100), ("rerank", 5, 7), ("maxsim", 10, 100), ("muvera", 3, 100)]
)
def test_search_equals_the_library(server, library, mode, k, candidates):
    for q in QUERIES:
        status, _, body = server.call("POST", "/search", {"query": q, "k": k, "mode": mode, "candidates": candidates})
        assert status == 200, body
        assert pairs(body) == as_pairs(library.search(q, k=k, mode=mode, n_candidates=candidates))
        assert (body["mode"], body["k"], body["candidates"]) == (mode, k, candidates) and body["ms"] >= 0


def test_concurrent_searches_are_batched_and_still_equal_the_library(server, library):
    jobs = [(q, mode, k) for q in QUERIES for mode, k in (("rerank", 10), ("muvera", 4), ("rerank", 3))] * 3
    before = server.metric("muvera_nano_search_batch_size_count") or 0
    with concurrent.futures.ThreadPoolExecutor(24) as pool:
        answers = list(
            pool.map(lambda j: server.call("POST", "/search", {"query": j[0], "mode": j[1], "k": j[2]}), jobs)
        )
    for (q, mode, k), (status, _, body) in zip(jobs, answers):
        assert status == 200, body
        assert pairs(body) == as_pairs(library.search(q, k=k, mode=mode))
    batches = server.metric("muvera_nano_search_batch_size_count") - before
    assert 1 <= batches < len(jobs), "concurrent queries should share batches"


def test_hnsw_candidates_batched_equal_the_library(tmp_path, model_dir):
    path = tmp_path / "hnsw"
    library = Index.create(path, encoder=str(model_dir), backend="hnsw")
    library.add(passages(150), ids=list(range(150)))  # the graph proposes when asked for < 150 / 4
    s = Server([str(path), "--threads", "1"])
    try:
        jobs = [(q, mode, k, c) for q in QUERIES for mode, k, c in (("muvera", 5, 100), ("rerank", 10, 20))] * 2
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            answers = list(
                pool.map(lambda j: s.call("POST", "/search", dict(zip(("query", "mode", "k", "candidates"), j))), jobs)
            )
        for (q, mode, k, c), (status, _, body) in zip(jobs, answers):
            assert status == 200, body
            assert pairs(body) == as_pairs(library.search(q, k=k, mode=mode, n_candidates=c))
    finally:
        assert s.stop() == 0, s.log


def test_search_by_vectors_equals_the_library(server, library):
    vectors = library.encode_queries(QUERIES[:3])
    for i in range(3):
        q = np.asarray(vectors[i])
        status, _, body = server.call("POST", "/search/vectors", {"vectors": q.tolist(), "k": 7, "mode": "rerank"})
        assert status == 200, body
        assert pairs(body) == as_pairs(library.search(q, k=7, mode="rerank"))


def test_an_index_without_a_model_serves_vectors_and_refuses_text(tmp_path):
    rng = np.random.default_rng(0)
    docs = [
        x / np.linalg.norm(x, axis=1, keepdims=True)
        for x in (rng.standard_normal((int(n), 16)).astype(np.float32) for n in rng.integers(1, 20, 50))
    ]
    path = tmp_path / "vectors-only"
    library = Index.create(path, dim=16)
    library.add(token_vectors=docs)
    s = Server([str(path), "--threads", "1"])
    try:
        for route, body in (("/search", {"query": "text"}), ("/documents", {"texts": ["text"]})):
            status, _, answer = s.call("POST", route, body)
            assert status == 422 and answer["error"]["code"] == "no_model", answer
        q = docs[3][:4]
        status, _, found = s.call("POST", "/search/vectors", {"vectors": q.tolist(), "k": 5})
        assert status == 200 and pairs(found) == as_pairs(library.search(q, k=5))
        status, _, added = s.call("POST", "/documents", {"vectors": [docs[0].tolist()]})
        assert status == 200 and added["ids"] == [50]
        assert s.call("GET", "/info")[2]["server"]["text_search"] is False
    finally:
        assert s.stop() == 0, s.log


# ---------------------------------------------------------------------------- read-only endpoints
def test_health_ready_info_openapi_metrics(server, library):
    assert server.call("GET", "/healthz")[:3:2] == (200, {"status": "ok"})
    status, _, ready = server.call("GET", "/readyz")
    assert status == 200 and ready["status"] == "ready"
    status, _, info = server.call("GET", "/info")
    assert status == 200
    expected = {k: v for k, v in library.info().items() if k not in ("path", "model")}  # server paths stay private
    assert {k: v for k, v in info.items() if k != "server"} == json.loads(json.dumps(expected))
    assert info["server"]["writes"] == "open" and info["server"]["limits"]["max_queue"] == 64

    status, _, spec = server.call("GET", "/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.")
    assert {
        "/search",
        "/search/vectors",
        "/documents",
        "/documents/delete",
        "/info",
        "/healthz",
        "/readyz",
        "/metrics",
    } <= set(spec["paths"])
    k = spec["components"]["schemas"]["SearchText"]["properties"]["k"]
    assert (k["minimum"], k["maximum"], k["default"]) == (1, 1000, 10)
    vectors = spec["components"]["schemas"]["SearchVectors"]["properties"]["vectors"]
    assert vectors["items"]["minItems"] == vectors["items"]["maxItems"] == library.dim

    server.call("POST", "/search", {"query": "metrics please", "mode": "maxsim"})
    status, headers, _text = server.call("GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert server.metric("muvera_nano_index_documents") == len(library)
    assert server.metric("muvera_nano_search_queue_depth") == 0
    assert server.metric("muvera_nano_requests_total", '{endpoint="/search",status="200"}') >= 1
    assert server.metric("muvera_nano_request_seconds_count", '{endpoint="/search",mode="maxsim"}') >= 1
    assert server.metric("process_resident_memory_bytes") > 0 and server.metric("process_open_fds") > 0


# ---------------------------------------------------------------------------- every 4xx
LONG = "x" * 2001
BAD_REQUESTS = [
    # (method, path, body or raw bytes, extra headers, status, error code, field)
    ("POST", "/search", b"{not json", JSON, 400, "invalid_json", None),
    ("POST", "/search", b'{"query": "a", "k": NaN}', JSON, 400, "invalid_json", None),
    ("POST", "/search", b"[" * 100_000, JSON, 400, "invalid_json", None),
    ("POST", "/search", b'{"query": "a"}', {"Content-Type": "text/plain"}, 415, "unsupported_media_type", None),
    ("POST", "/search", b'{"query": "a"}', {}, 415, "unsupported_media_type", None),
    ("POST", "/search", [1, 2], None, 400, "invalid_argument", "body"),
    ("POST", "/search", {}, None, 400, "invalid_argument", "query"),
    ("POST", "/search", {"query": "a", "colour": 1}, None, 400, "invalid_argument", "colour"),
    ("POST", "/search", {"query": 3}, None, 400, "invalid_argument", "query"),
    ("POST", "/search", {"query": "   "}, None, 400, "invalid_argument", "query"),
    ("POST", "/search", {"query": LONG}, None, 400, "invalid_argument", "query"),
    ("POST", "/search", {"query": "a", "k": 0}, None, 400, "invalid_argument", "k"),
    ("POST", "/search", {"query": "a", "k": 1001}, None, 400, "invalid_argument", "k"),
    ("POST", "/search", {"query": "a", "k": True}, None, 400, "invalid_argument", "k"),
    ("POST", "/search", {"query": "a", "k": 2.5}, None, 400, "invalid_argument", "k"),
    ("POST", "/search", {"query": "a", "mode": "fast"}, None, 400, "invalid_argument", "mode"),
    ("POST", "/search", {"query": "a", "candidates": 0}, None, 400, "invalid_argument", "candidates"),
    ("POST", "/search", {"query": "a", "candidates": 10_001}, None, 400, "invalid_argument", "candidates"),
    ("POST", "/search/vectors", {"vectors": [[0.1] * 5]}, None, 400, "invalid_argument", "vectors"),
    ("POST", "/search/vectors", {"vectors": [[0.1] * 16, [0.1] * 15]}, None, 400, "invalid_argument", "vectors"),
    ("POST", "/search/vectors", {"vectors": [["a"] * 16]}, None, 400, "invalid_argument", "vectors"),
    ("POST", "/search/vectors", {"vectors": [[True] * 16]}, None, 400, "invalid_argument", "vectors"),
    ("POST", "/search/vectors", {"vectors": [[1e39] * 16]}, None, 400, "invalid_argument", "vectors"),
    ("POST", "/search/vectors", {"vectors": []}, None, 400, "invalid_argument", "vectors"),
    ("POST", "/search/vectors", {"vectors": [[0.1] * 16] * 1025}, None, 400, "invalid_argument", "vectors"),
    ("POST", "/search/vectors", {"vectors": "abc"}, None, 400, "invalid_argument", "vectors"),
    ("POST", "/documents", {"texts": ["a"], "vectors": [[[0.1] * 16]]}, None, 400, "invalid_argument", "texts"),
    ("POST", "/documents", {"ids": ["x"]}, None, 400, "invalid_argument", "texts"),
    ("POST", "/documents", {"texts": []}, None, 400, "invalid_argument", "texts"),
    ("POST", "/documents", {"texts": ["ok", 5]}, None, 400, "invalid_argument", "texts[1]"),
    ("POST", "/documents", {"texts": ["ok"], "ids": [None]}, None, 400, "invalid_argument", "ids[0]"),
    ("POST", "/documents", {"texts": ["ok"], "ids": [2**63]}, None, 400, "invalid_argument", "ids[0]"),
    ("POST", "/documents", {"texts": ["a", "b"], "ids": ["only-one"]}, None, 422, "rejected", None),
    ("POST", "/documents", {"texts": ["a"], "ids": ["doc0"]}, None, 422, "rejected", None),  # already there
    ("POST", "/documents", {"texts": ["a"], "ids": [7]}, None, 422, "rejected", None),  # string-id index
    ("POST", "/documents", {"texts": ["a"]}, None, 422, "rejected", None),  # ... needs ids
    ("POST", "/documents", {"vectors": [[[0.1] * 3]]}, None, 400, "invalid_argument", "vectors[0]"),
    ("POST", "/documents/delete", {"ids": ["no-such-doc"]}, None, 404, "not_found", "ids"),
    ("POST", "/documents/delete", {"ids": "doc0"}, None, 400, "invalid_argument", "ids"),
    ("GET", "/search", None, None, 405, "method_not_allowed", None),
    ("POST", "/healthz", None, None, 405, "method_not_allowed", None),
    ("GET", "/no/such/endpoint", None, None, 404, "not_found", None),
    ("GET", "/healthz", None, {"Host": "evil.example:8000"}, 400, "invalid_host", None),
]


@pytest.mark.parametrize(
    "method,path,body,headers,status,code,field",
    BAD_REQUESTS,
    ids=[f"{i}-{r[1]}-{r[5]}" for i, r in enumerate(BAD_REQUESTS)],
)
def test_bad_requests_get_a_json_4xx_naming_the_problem(server, method, path, body, headers, status, code, field):
    raw = body if isinstance(body, bytes) else None
    got, _hdrs, answer = server.call(method, path, None if raw is not None else body, raw=raw, headers=headers)
    assert got == status, answer
    assert answer["error"]["code"] == code and answer["error"]["message"]
    assert answer["error"].get("field") == field
    assert "Traceback" not in json.dumps(answer)


def test_oversized_bodies_get_413_declared_or_streamed(server):
    status, _, answer = server.call("POST", "/search", raw=b" " * (8 << 20 | 1), headers=JSON)
    assert status == 413 and answer["error"]["code"] == "body_too_large"
    conn = server.connection()
    try:  # chunked: no Content-Length to check first; the server counts as it reads
        chunks = (b"[" + b"0," * 65536 for _ in range(80))
        conn.request("POST", "/search", body=chunks, headers=JSON, encode_chunked=True)
        r = conn.getresponse()
        assert r.status == 413 and json.loads(r.read())["error"]["code"] == "body_too_large"
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may answer and close before the client has sent everything: also a refusal
    finally:
        conn.close()


# ---------------------------------------------------------------------------- writes
def test_added_documents_are_searched_and_removed_ones_are_not(server, library, index_dir, model_dir):
    texts = ["zebras migrate across the serengeti plains", "a recipe for sourdough bread with rye flour"]
    status, _, added = server.call("POST", "/documents", {"texts": texts, "ids": ["zebra", "bread"]})
    assert status == 200, added
    assert added["ids"] == ["zebra", "bread"] and added["documents"] == len(library) + 2
    now = Index.open(index_dir, encoder=str(model_dir))  # committed on disk before the answer
    assert now.info()["generation"] == added["generation"] and {"zebra", "bread"} <= set(now.ids())
    everything = len(now)
    for text in texts:  # the server searches the new documents exactly as the library does
        found = server.call("POST", "/search", {"query": text, "k": everything, "mode": "maxsim"})[2]
        assert pairs(found) == as_pairs(now.search(text, k=everything, mode="maxsim"))
        assert {"zebra", "bread"} <= {r["id"] for r in found["results"]}

    q = np.asarray(library.encode_queries(["vectors only"])[0])
    status, _, by_vectors = server.call("POST", "/documents", {"vectors": [q.tolist()], "ids": ["vec"]})
    assert status == 200 and by_vectors["ids"] == ["vec"]
    top = server.call("POST", "/search/vectors", {"vectors": q.tolist(), "k": 1, "mode": "maxsim"})[2]
    assert top["results"][0]["id"] == "vec"  # a query's own vectors match it best

    status, _, removed = server.call("POST", "/documents/delete", {"ids": ["zebra", "bread", "vec"]})
    assert status == 200 and removed["removed"] == 3 and removed["documents"] == len(library)
    found = server.call("POST", "/search", {"query": texts[0], "k": everything, "mode": "maxsim"})[2]
    assert not {"zebra", "bread", "vec"} & {r["id"] for r in found["results"]}
    assert pairs(found) == as_pairs(
        Index.open(index_dir, encoder=str(model_dir)).search(texts[0], k=everything, mode="maxsim")
    )


def test_commits_by_another_process_are_seen_without_restart(server, index_dir, model_dir):
    other = Index.open(index_dir, encoder=str(model_dir))
    other.add(["an albatross glides over the southern ocean"], ids=["albatross"])
    wait_until(lambda: server.call("GET", "/info")[2]["documents"] == len(other), what="the server to refresh")
    found = server.call("POST", "/search", {"query": "albatross", "k": len(other), "mode": "maxsim"})[2]
    assert pairs(found) == as_pairs(other.search("albatross", k=len(other), mode="maxsim"))
    assert "albatross" in [r["id"] for r in found["results"]]
    other.remove(["albatross"])
    wait_until(lambda: server.call("GET", "/info")[2]["documents"] == len(other), what="the server to refresh")


def test_writes_need_the_token_when_one_is_set(index_dir):
    s = Server([str(index_dir), "--threads", "1"], env={"MUVERA_NANO_SERVE_TOKEN": TOKEN})
    try:
        body = {"texts": ["needs a token"], "ids": ["tok"]}
        for headers in ({}, {"Authorization": "Bearer wrong-token-of-some-length"}, {"Authorization": TOKEN}):
            status, hdrs, answer = s.call("POST", "/documents", body, headers=headers)
            assert status == 401 and answer["error"]["code"] == "unauthorized" and hdrs["www-authenticate"] == "Bearer"
        assert s.call("POST", "/documents/delete", {"ids": ["doc0"]})[0] == 401
        assert s.call("POST", "/search", {"query": "reads need no token"})[0] == 200
        status, _, added = s.call("POST", "/documents", body, headers={"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and added["ids"] == ["tok"]
        status, _, removed = s.call(
            "POST", "/documents/delete", {"ids": ["tok"]}, headers={"Authorization": f"bearer {TOKEN}"}
        )
        assert status == 200 and removed["removed"] == 1
        assert s.call("GET", "/info")[2]["server"]["writes"] == "token"
    finally:
        assert s.stop() == 0, s.log


def test_writes_are_refused_on_a_non_loopback_address_without_a_token(index_dir):
    # The app applies the rules of listening on 0.0.0.0 while it really listens on 127.0.0.1 only.
    s = Server([str(index_dir), "--claim-host", "0.0.0.0"], launcher=True)
    try:
        status, _, answer = s.call("POST", "/documents", {"texts": ["refused"]})
        assert status == 403 and answer["error"]["code"] == "writes_disabled"
        assert s.call("POST", "/documents/delete", {"ids": ["doc0"]})[0] == 403
        assert s.call("POST", "/search", {"query": "reads still work"})[0] == 200
        assert s.call("GET", "/info")[2]["server"]["writes"] == "disabled"
        assert s.call("GET", "/healthz", headers={"Host": "search.example.com"})[0] == 200  # no Host check off loopback
    finally:
        assert s.stop() == 0, s.log


def test_an_internal_failure_is_a_plain_500_and_the_server_keeps_serving(index_dir):
    s = Server([str(index_dir), "--fail-search"], launcher=True)
    try:
        for _ in range(2):
            status, _, answer = s.call("POST", "/search", {"query": "anything"})
            assert status == 500 and answer == {"error": {"code": "internal", "message": "internal server error"}}
        assert s.call("GET", "/healthz")[0] == 200
    finally:
        s.stop()
    assert "simulated failure" in s.log  # logged for the operator, not sent to the client


# ---------------------------------------------------------------------------- overload and shutdown
def test_a_full_queue_answers_503_with_retry_after(index_dir):
    # One query waits 3 s for a batch partner (max-batch 2) while holding the only queue slot.
    s = Server(
        [
            str(index_dir),
            "--threads",
            "1",
            "--max-queue",
            "1",
            "--max-batch",
            "2",
            "--batch-wait-ms",
            "3000",
            "--deadline-ms",
            "60000",
        ]
    )
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            first = pool.submit(s.call, "POST", "/search", {"query": "first"})
            wait_until(lambda: s.metric("muvera_nano_search_queue_depth") == 1, what="the first query to queue")
            status, headers, answer = s.call("POST", "/search", {"query": "second"})
            assert status == 503 and headers["retry-after"] == "1" and answer["error"]["code"] == "overloaded"
            assert first.result(60)[0] == 200
        assert s.metric("muvera_nano_requests_total", '{endpoint="/search",status="503"}') == 1
    finally:
        assert s.stop() == 0, s.log


def test_a_search_predicted_past_its_deadline_gets_503_and_one_with_nothing_ahead_is_answered(index_dir):
    # Each search 1.5 s longer, a deadline of 300 ms: once the running search has outlasted the
    # deadline, a query behind it is predicted late and refused at once; a query with nothing
    # ahead of it is searched, late rather than not at all.
    s = Server([str(index_dir), "--slow-search", "1.5", "--deadline-ms", "300", "--max-batch", "1"], launcher=True)
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            first = pool.submit(s.call, "POST", "/search", {"query": "occupies the worker"})
            wait_until(lambda: s.metric("muvera_nano_search_batch_size_count") == 1, what="the first batch")
            time.sleep(0.4)
            status, headers, answer = s.call("POST", "/search", {"query": "arrives behind a late search"})
            assert status == 503 and headers["retry-after"] == "1" and answer["error"]["code"] == "overloaded"
            assert first.result(60)[0] == 200
        assert s.call("POST", "/search", {"query": "nothing ahead"})[0] == 200
        assert s.metric("muvera_nano_search_batch_size_count") == 2  # the refused query was never searched
    finally:
        assert s.stop() == 0, s.log


def test_sigterm_answers_the_requests_in_flight_then_exits(index_dir):
    s = Server(
        [str(index_dir), "--threads", "1", "--max-batch", "64", "--batch-wait-ms", "2000", "--deadline-ms", "60000"]
    )
    n = 8
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        pending = [pool.submit(s.call, "POST", "/search", {"query": f"in flight {i}"}) for i in range(n)]
        wait_until(lambda: s.metric("muvera_nano_search_queue_depth") == n, what="the queries to queue")
        s.proc.send_signal(signal.SIGTERM)
        answers = [p.result(60) for p in pending]
    assert [a[0] for a in answers] == [200] * n and all(len(a[2]["results"]) == 10 for a in answers)
    assert s.stop() == 0, s.log
    with pytest.raises(ConnectionRefusedError):
        s.call("GET", "/healthz", timeout=5)


def test_a_kill_during_writes_loses_no_acknowledged_document(tmp_path, model_dir):
    path = tmp_path / "index"
    Index.create(path, encoder=str(model_dir)).add(passages(10), ids=list(range(10)))
    s = Server([str(path), "--threads", "1"])
    status, _, first = s.call("POST", "/documents", {"texts": ["ids are optional on an int-id index"]})
    assert status == 200 and first["ids"] == [10], first
    acknowledged = [10]
    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:

            def add(i):
                status, _, answer = s.call(
                    "POST",
                    "/documents",
                    {"texts": [f"written while killed {i}"] * 2, "ids": [100 + 2 * i, 101 + 2 * i]},
                )
                if status == 200:
                    acknowledged.extend(answer["ids"])

            futures = [pool.submit(add, i) for i in range(40)]
            wait_until(lambda: len(acknowledged) >= 6, what="some writes to be acknowledged")
            s.proc.send_signal(signal.SIGKILL)
            for f in futures:
                try:
                    f.result(60)
                except (ConnectionError, http.client.HTTPException, OSError):
                    pass  # in flight when the server died: not acknowledged
    finally:
        s.kill()
    after = Index.open(path, verify=True)
    assert set(acknowledged) <= set(after.ids())
    assert set(range(10)) <= set(after.ids())


def test_the_command_refuses_bad_settings_with_one_line(index_dir, tmp_path):
    import subprocess
    import sys

    def serve(*args):
        return subprocess.run(
            [sys.executable, "-m", "muvera_nano.cli", "serve", *map(str, args), "--port", "0"],
            capture_output=True,
            text=True,
            timeout=120,
        )

    for args, words in [
        ((tmp_path / "missing",), "missing"),
        ((index_dir, "--max-queue", "0"), "max_queue"),
        ((index_dir, "--threads", "0"), "--threads"),
        ((index_dir, "--deadline-ms", "1", "--batch-wait-ms", "5"), "deadline_ms"),
    ]:
        out = serve(*args)
        assert out.returncode == 2 and words in out.stderr and "Traceback" not in out.stderr, out.stderr
    short = tmp_path / "token"
    short.write_text("short")
    out = serve(index_dir, "--token-file", short)
    assert out.returncode == 2 and "at least 16 characters" in out.stderr
