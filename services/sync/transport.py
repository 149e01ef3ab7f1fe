"""HTTP/1.1 to the regional platform: kept-alive connections to its one origin (the standard
library's `http.client`), TLS verified, a timeout on every request.

    transport = HttpTransport("https://platform.example.org/base", timeout=10.0, ca_file=None)
    transport.request("POST", "/api/documents", b"<ClinicalDocument ...", {"Content-Type": ...})
        -> Response(status=201, body=b'{"status": "accepted", ...}')

The sender posts thousands of documents a minute: `requests` spent about 0.95 ms of CPU on each
(its session, hooks, cookie and environment merging), `http.client` 0.16 ms on this machine
(docs/performance.md, "Sync"). Up to `size` idle connections are kept (each request takes one
or opens one: as many are open as requests are in flight). A request on a kept connection that
the platform closed meanwhile (its keep-alive timeout) is tried once more on a fresh connection:
only when nothing of the answer arrived, and a document sent twice is answered the same by the
platform (docs/contracts.md). Errors are the standard library's (`OSError`, `TimeoutError`,
`http.client.HTTPException`); no message names a header's or a body's content.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.body)


class _NoDelayHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _NoDelayHTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class HttpTransport:
    """Requests to one origin over a small pool of kept-alive connections."""

    def __init__(self, url: str, timeout: float, ca_file: str | None = None, size: int = 16) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the platform's URL must be http:// or https:// with a host")
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.base_path = parts.path.rstrip("/")
        self.timeout, self.size = timeout, size
        # TLS: the system's CAs or the configured bundle, the host name checked (create_default_context)
        self.context = ssl.create_default_context(cafile=ca_file) if self.scheme == "https" else None
        self._idle: list[http.client.HTTPConnection] = []

    def _connection(self) -> http.client.HTTPConnection:
        if self.context is not None:
            return _NoDelayHTTPSConnection(self.host, self.port, timeout=self.timeout, context=self.context)
        return _NoDelayHTTPConnection(self.host, self.port, timeout=self.timeout)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                params: dict[str, Any] | None = None) -> Response:
        target = self.base_path + path + (f"?{urlencode(params)}" if params else "")
        kept = bool(self._idle)
        connection = self._idle.pop() if kept else self._connection()
        try:
            try:
                answer = self._exchange(connection, method, target, body, headers or {})
            except STALE:
                if not kept:
                    raise
                connection.close()  # closed by the platform while idle: once more, on a new connection
                connection = self._connection()
                answer = self._exchange(connection, method, target, body, headers or {})
        except BaseException:
            connection.close()
            raise
        response, data = answer
        if response.will_close or len(self._idle) >= self.size:
            connection.close()
        else:
            self._idle.append(connection)
        return Response(response.status, data)

    @staticmethod
    def _exchange(connection: http.client.HTTPConnection, method: str, target: str, body: bytes | None,
                  headers: dict[str, str]) -> tuple[http.client.HTTPResponse, bytes]:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        return response, response.read()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
