"""The fake platform's HTTP/1.1 server (ehr/platform/transport.py), in process on a free port: one
connection carries many requests; HEAD, a chunked body, `Expect: 100-continue`, the 401, 404 and
405 answers and a body too large (413, then the connection closed) as a client meets them."""

from __future__ import annotations

import socket

import pytest

from ehr.platform.samples import sample_cda
from ehr.platform.server import Platform
from ehr.platform.storage import Store
from tests.unit.platform_client import Served

AUTH = {"Authorization": "Bearer secret"}


@pytest.fixture
def served(tmp_path):
    store = Store(tmp_path)
    served = Served(Platform(store, "secret", max_body=20_000))
    yield served
    served.close()
    store.close()


def raw(served: Served, data: bytes) -> bytes:
    """What the server answers to `data` sent on a new connection, until it closes it."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_one_connection_carries_many_requests(served):
    first = served.get("/api/health", headers=AUTH)
    sock = served.connection.sock
    for _ in range(3):
        answer = served.get("/api/health", headers=AUTH)
        assert (answer.status_code, answer.json) == (200, {"status": "ok"})
    assert served.connection.sock is sock and first.headers["Connection"] is None
    assert first.headers["Content-Type"] == "application/json" and first.headers["Date"]


def test_head_answers_without_a_body_and_a_trailing_slash_is_the_same_path(served):
    head = served.request("HEAD", "/api/health/", headers=AUTH)
    assert head.status_code == 200 and head.body == b"" and head.headers["Content-Length"] == "16"
    assert served.get("/api/health", headers=AUTH).json == {"status": "ok"}


def test_unknown_paths_methods_and_tokens(served):
    assert served.get("/api/nothing", headers=AUTH).status_code == 404
    wrong = served.request("DELETE", "/api/documents", headers=AUTH)
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "GET, HEAD, POST"
    refused = served.get("/api/health")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == 'Bearer realm="platform"'
    assert served.get("/api/documents/record%3Aunknown%3Av1", headers=AUTH).json == {
        "status": "unknown", "document_id": "record:unknown:v1"}


def test_a_chunked_body_and_expect_continue_are_read(served):
    body = sample_cda("archive:p:v1", "HSDA00.01")
    head = (b"POST /api/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\n"
            b"Content-Type: application/hl7-cda+xml\r\nX-Document-Id: archive:p:v1\r\nX-Document-Type: HSDA00.01\r\n")
    chunked = head + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + b"".join(
        b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:100], body[100:])) + b"0\r\n\r\n"
    assert raw(served, chunked).startswith(b"HTTP/1.1 201 ")
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(head + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")  # accepted before: the same answer


def test_a_body_too_large_is_413_and_the_connection_closes(served):
    answer = served.post("/api/documents", data=b"<x>" + b" " * 30_000 + b"</x>", headers={
        **AUTH, "Content-Type": "application/hl7-cda+xml", "X-Document-Id": "record:big:v1",
        "X-Document-Type": "HSDC00.01"})
    assert answer.status_code == 413 and answer.json["error"] == "request_entity_too_large"
    assert answer.headers["Connection"] == "close"
    assert served.get("/api/health", headers=AUTH).status_code == 200  # on a new connection


def test_what_is_not_http_is_refused(served):
    assert raw(served, b"hello\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw(served, b"GET / HTTP/1.1\r\nno colon\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw(served, b"GET /api/health HTTP/1.1\r\nAuthorization: Bearer secret\r\nConnection: close\r\n\r\n"
               ).startswith(b"HTTP/1.1 200 ")
