"""The sync service's HTTP transport (`services.sync.transport.HttpTransport`) against a real HTTP/1.1
server on a local port: connections kept alive between requests (one connection for many), a
kept connection the server closed while idle replaced without losing the request, no second try
on a fresh connection (the error is the caller's), a timeout raised as TimeoutError, the query
string and the URL's base path."""

from __future__ import annotations

import http.server
import socket
import threading
import time

import pytest

from services.sync.transport import HttpTransport


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append((self.path, self.headers.get("X-Document-Id"), body, self.client_address[1]))
        if self.path.startswith("/slow"):
            time.sleep(1.0)
        self._answer(b'{"status": "accepted", "platform_id": "P-1"}')

    def do_GET(self):
        self.server.seen.append((self.path, None, b"", self.client_address[1]))
        self._answer(b'{"items": []}')

    def _answer(self, data):
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        if self.server.close_after:
            self.close_connection = True  # as a server whose keep-alive timeout ran out, without saying so

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.seen, httpd.close_after = [], False
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def base(server, path=""):
    return f"http://127.0.0.1:{server.server_port}{path}"


def test_requests_share_one_kept_alive_connection_and_carry_headers_body_and_query(server):
    transport = HttpTransport(base(server, "/platform/"), timeout=5)
    for n in range(5):
        answer = transport.request("POST", "/api/documents", f"<doc {n}/>".encode(), {"X-Document-Id": f"d{n}"})
        assert (answer.status, answer.json()["platform_id"]) == (201, "P-1")
    listed = transport.request("GET", "/api/documents", params={"custodian": "T1101051011", "after": "c 1"})
    assert listed.json() == {"items": []}
    assert [(path, doc, body) for path, doc, body, _ in server.seen] == [
        ("/platform/api/documents", f"d{n}", f"<doc {n}/>".encode()) for n in range(5)] + [
        ("/platform/api/documents?custodian=T1101051011&after=c+1", None, b"")]
    assert len({port for *_, port in server.seen}) == 1  # one connection for all six
    transport.close()


def test_a_kept_connection_the_server_closed_is_replaced_and_the_request_not_lost(server):
    server.close_after = True
    transport = HttpTransport(base(server), timeout=5)
    first = transport.request("POST", "/api/documents", b"<a/>", {"X-Document-Id": "a"})
    time.sleep(0.2)  # the server has closed the connection kept in the pool
    second = transport.request("POST", "/api/documents", b"<b/>", {"X-Document-Id": "b"})
    assert (first.status, second.status) == (201, 201)
    assert [doc for _, doc, _, _ in server.seen] == ["a", "b"]
    assert len({port for *_, port in server.seen}) == 2


def test_a_fresh_connection_refused_is_the_callers_error_and_a_slow_answer_a_timeout(server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        HttpTransport(f"http://127.0.0.1:{closed_port}", timeout=2).request("POST", "/api/documents", b"<a/>")
    transport = HttpTransport(base(server), timeout=0.3)
    with pytest.raises(TimeoutError):
        transport.request("POST", "/slow", b"<a/>")
    assert transport.request("POST", "/api/documents", b"<b/>").status == 201  # a new connection after it


def test_only_http_and_https_urls_with_a_host_are_taken():
    for url in ("ftp://platform.example.org", "http://", "platform.example.org"):
        with pytest.raises(ValueError):
            HttpTransport(url, timeout=1)
