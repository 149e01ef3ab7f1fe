"""What an unauthenticated client cannot make the gateway do: read a body past its bound, check
passwords without limit, lock accounts for good; and whose request ids the audit trail keeps.

The gateway runs in this process (a Nameko container), so the memory it takes to answer is
measured with tracemalloc: the peak of Python allocations while a 50 MB body is sent."""

from __future__ import annotations

import http.client
import json
import socket
import tracemalloc
import uuid

import eventlet
import pytest
import requests

from tests.support.auth import PASSWORD
from tests.support.db import audit_outcome, execute, query

FIFTY_MB = 50 * 1024 * 1024
CHUNK = b"x" * 65536
BOUND = 1 << 20  # EHR_MAX_BODY_BYTES by default


@pytest.fixture
def base(gateway_url, monkeypatch):
    """A gateway of its own, with a small throttle: 4 attempts per address, 3 per username."""
    monkeypatch.setenv("EHR_SIGN_IN_PER_ADDRESS", "4")
    monkeypatch.setenv("EHR_SIGN_IN_PER_USER", "3")
    execute("gateway", "DELETE FROM sign_in_attempts")  # what other tests' sign-ins counted this minute
    return gateway_url()


def _address(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


def _read_response(sock: socket.socket) -> tuple[int, dict, dict]:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, dict(response.getheaders()), json.loads(response.read())


def _post_large(base: str, chunked: bool, send: int = FIFTY_MB, wait_for_all: bool = True):
    """POST `send` bytes to the sign-in route (declared in Content-Length, or chunked), sending
    from a green thread while the answer is read; (status, headers, body, peak bytes traced)."""
    sock = socket.create_connection(_address(base), timeout=30)
    framing = b"Transfer-Encoding: chunked\r\n" if chunked else b"Content-Length: %d\r\n" % FIFTY_MB
    sock.sendall(b"POST /api/v1/auth/token HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
                 + framing + b"\r\n")

    def sender():
        sent = 0
        try:
            while sent < send:
                sock.sendall(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK) if chunked else CHUNK)
                sent += len(CHUNK)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # the gateway answered and closed: what it did not read was never stored
            pass

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        thread = eventlet.spawn(sender)
        status, headers, body = _read_response(sock)
        if wait_for_all:
            thread.wait()
        else:
            thread.kill()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        sock.close()
    return status, headers, body, peak


def _assert_too_large(status: int, headers: dict, body: dict) -> None:
    assert status == 413
    assert body["error"]["code"] == "payload_too_large" and body["error"]["details"] == {"max_bytes": BOUND}
    assert body["error"]["request_id"] == headers["X-Request-Id"]


def test_a_declared_body_over_the_bound_is_refused_before_it_is_sent(base):
    # Only the headers and the first 64 KiB go out; the answer must come without the rest.
    status, headers, body, _ = _post_large(base, chunked=False, send=len(CHUNK), wait_for_all=False)
    _assert_too_large(status, headers, body)


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_fifty_megabytes_sent_whole_cost_the_gateway_no_more_than_a_few(base, chunked):
    status, headers, body, peak = _post_large(base, chunked=chunked)
    assert peak < 8 * BOUND, f"{peak} bytes allocated while answering a 50 MB body"
    _assert_too_large(status, headers, body)
    assert requests.get(base + "/api/v1/openapi.json").status_code == 200  # and it still serves


def test_a_body_within_the_bound_is_read_whole_even_chunked(base, auth):
    username = auth.user("township_doctor", "T1101051011")
    body = json.dumps({"username": username, "password": PASSWORD}).encode()
    resp = requests.post(base + "/api/v1/auth/token", data=iter([body[:10], body[10:]]),
                         headers={"Content-Type": "application/json"})
    assert resp.request.headers.get("Transfer-Encoding") == "chunked"
    assert resp.status_code == 200 and resp.json()["username"] == username


def _sign_in_from(base: str, source: str, username: str, password: str = "not the password at all"):
    """Sign in from another loopback address (the gateway sees `source` as the client's)."""
    host, port = _address(base)
    conn = http.client.HTTPConnection(host, port, timeout=30, source_address=(source, 0))
    try:
        conn.request("POST", "/api/v1/auth/token", json.dumps({"username": username, "password": password}),
                     {"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        conn.close()


def _audit_of(headers: dict):
    return audit_outcome(headers["X-Request-Id"])


def test_one_address_trying_many_accounts_is_throttled_with_retry_after_and_audited(base, auth):
    source = f"127.0.{uuid.uuid4().int % 200 + 10}.1"
    for _ in range(4):
        assert _sign_in_from(base, source, f"nobody-{uuid.uuid4().hex[:8]}")[0] == 401
    victim = auth.user("township_doctor", "T1101051011")
    status, headers, body = _sign_in_from(base, source, victim, PASSWORD)  # even the right password
    assert status == 429 and body["error"]["code"] == "too_many_requests"
    retry_after = int(headers["Retry-After"])
    assert 1 <= retry_after <= 60 and body["error"]["details"]["retry_after"] == retry_after
    entry = _audit_of(headers)
    assert (entry.action, entry.actor, entry.outcome, entry.status) == ("auth.sign_in", victim, "throttled", 429)
    # the account was not touched: no failure counted, and another address signs in
    [user] = query("gateway", "SELECT failed_attempts FROM users WHERE username = :u", u=victim)
    assert user.failed_attempts == 0
    assert _sign_in_from(base, "127.0.0.1", victim, PASSWORD)[0] == 200


def test_one_account_tried_from_many_addresses_is_throttled(base, auth):
    username = auth.user("village_doctor", "V1101051011")
    prefix = f"127.{uuid.uuid4().int % 200 + 10}.0"
    assert [_sign_in_from(base, f"{prefix}.{n}", username)[0] for n in range(1, 5)] == [401, 401, 401, 429]
    assert _sign_in_from(base, f"{prefix}.9", username, PASSWORD)[0] == 429
    [user] = query("gateway", "SELECT failed_attempts, locked_until FROM users WHERE username = :u", u=username)
    assert (user.failed_attempts, user.locked_until) == (3, None)  # the throttle spared the lock-out


def test_the_throttle_counts_attempts_across_gateway_processes(base, gateway_url, auth, suite_env,
                                                               container_factory, nameko_config):
    from services.gateway.service import GatewayService
    from tests.service.conftest import free_port

    port = free_port()
    container_factory(GatewayService, {**nameko_config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"}).start()
    replica = f"http://127.0.0.1:{port}"
    username = auth.user("village_doctor", "V1101051011")
    prefix = f"127.{uuid.uuid4().int % 200 + 10}.1"
    answers = [_sign_in_from(gateway, f"{prefix}.{n}", username)[0]
               for n, gateway in enumerate((base, replica, base, replica), start=1)]
    assert answers == [401, 401, 401, 429]


def test_the_audit_trail_keeps_the_suites_request_id_and_the_client_only_gets_its_own_back(base, auth):
    username = auth.user("township_doctor", "T1101051011")
    token = requests.post(base + "/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert token.status_code == 200
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    # (a doctor asking for the quarantine: refused by the gate itself, and audited)
    first = session.get(base + "/api/v1/quarantine", headers={"X-Request-Id": "his-42"})
    second = session.get(base + "/api/v1/quarantine", headers={"X-Request-Id": "his-42"})
    assert first.headers["X-Client-Request-Id"] == second.headers["X-Client-Request-Id"] == "his-42"
    ours = first.headers["X-Request-Id"], second.headers["X-Request-Id"]
    assert ours[0] != ours[1] and all(len(r) == 32 for r in ours)
    assert query("gateway", "SELECT seq FROM audit_entries WHERE request_id = 'his-42'") == []
    assert all(_audit_of({"X-Request-Id": r}).action == "quarantine.list" for r in ours)

    for unfit in ("x" * 65, "a b", "<script>", "id;drop", "行"):
        resp = session.get(base + "/api/v1/quarantine", headers={"X-Request-Id": unfit.encode().decode("latin-1")})
        assert resp.status_code == 403 and "X-Client-Request-Id" not in resp.headers
        assert len(resp.headers["X-Request-Id"]) == 32
