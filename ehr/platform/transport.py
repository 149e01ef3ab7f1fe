"""The fake platform's HTTP/1.1 server, on the standard library's sockets alone: one thread a
connection, the connection kept alive between requests; each request read as its line, its
headers and its body (Content-Length, or chunked) into a `Request`, given to the application,
and its `Answer` written back in one send.

Why not werkzeug's server (or http.server's handler): their request and response machinery (the
email package parsing every header block, the WSGI environ, Request and Response objects) cost
more CPU a document than reading the document itself, on the cores the sender shares; and
werkzeug's server answered `Connection: close` to every request, HTTP/1.1 or not, so each
document paid for a connection and a thread too.

What a client sees: HTTP/1.1 with keep-alive (`Connection: close`, or an HTTP/1.0 request,
ends the connection after the answer); `Expect: 100-continue` answered; a body
over the application's `max_body` is not read (the application answers 413, then the connection
closes); a request line or header over 64 KiB, or more than 100 headers, is refused.
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import time
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import parse_qsl, unquote

log = logging.getLogger("ehr.platform")

MAX_LINE = 65536      # bytes of the request line or of one header line
MAX_HEADERS = 100
DRAIN_SECONDS = 5.0   # how long a body too large is read and dropped, so the client reads its 413


class Headers(dict):
    """A request's headers by lower-cased name (repeated ones joined with ", "); `get` takes
    any case, as the checks ask for `X-Document-Id`."""

    def get(self, name: str, default=None):
        return dict.get(self, name.lower(), default)


@dataclass(slots=True)
class Request:
    method: str           # HEAD is given to the application as GET (its answer is sent without body)
    path: str             # percent-decoded
    query: dict[str, str]  # the first value of each name
    headers: Headers
    body: bytes | None    # None: over max_body, not read


@dataclass(slots=True)
class Answer:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"


def json_answer(body: dict, status: int, *headers: tuple[str, str]) -> Answer:
    return Answer(status, json.dumps(body, ensure_ascii=False).encode(), headers)


_REASONS = {status.value: status.phrase for status in HTTPStatus}
_date = [0, ""]


def _http_date() -> str:
    """The Date header's value, formatted once a second."""
    second = int(time.time())
    if _date[0] != second:
        _date[:] = [second, formatdate(second, usegmt=True)]
    return _date[1]


class _Refused(Exception):
    """A request that cannot be read: answered with `status`, then the connection is closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Connection(socketserver.StreamRequestHandler):
    """Serves the requests of one connection in turn until it closes or asks to."""

    rbufsize = 65536
    wbufsize = 0
    disable_nagle_algorithm = True
    server: "PlatformServer"

    def handle(self) -> None:
        try:
            while self._one():
                pass
        except (ConnectionError, TimeoutError):
            pass
        except _Refused as refused:
            error = _REASONS[refused.status].lower().replace(" ", "_")
            self._send(json_answer({"error": error, "message": str(refused)}, refused.status), "GET", close=True)

    def _one(self) -> bool:
        """Read, answer and write one request; whether the connection stays open."""
        line = self.rfile.readline(MAX_LINE + 1)
        if not line:
            return False
        if line in (b"\r\n", b"\n"):  # empty lines before a request line are ignored (RFC 9112, 2.2)
            return True
        if len(line) > MAX_LINE:
            raise _Refused(414, "the request line is too long")
        parts = line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _Refused(400, "not an HTTP/1.x request line")
        method, target, version = parts
        headers = self._headers()
        connection = headers.get("connection", "").lower()
        keep_alive = version != "HTTP/1.0" and "close" not in connection
        body, length = self._body(headers, version)
        path, _, query = target.partition("?")
        if "%" in path:
            path = unquote(path)
        request = Request("GET" if method == "HEAD" else method, path,
                          dict(reversed(parse_qsl(query, keep_blank_values=True))) if query else {},
                          headers, body)
        try:
            answer = self.server.app(request)
        except Exception:  # noqa: BLE001 - a bug of the application: answered, logged, the connection closed
            log.exception("%s %s failed", method, path)
            answer = json_answer({"error": "internal_error", "message": "the platform failed"}, 500)
            keep_alive = False
        log.debug("%s %s", method, answer.status)
        close = not keep_alive or body is None
        self._send(answer, method, close=close)
        if body is None and length is not None and headers.get("expect", "").lower() != "100-continue":
            self._drain(length)
        return not close

    def _headers(self) -> Headers:
        headers = Headers()
        for _ in range(MAX_HEADERS + 1):
            raw = self.rfile.readline(MAX_LINE + 1)
            if raw in (b"\r\n", b"\n"):
                return headers
            if not raw:
                raise ConnectionError("closed in the headers")
            if len(raw) > MAX_LINE:
                raise _Refused(431, "a header line is too long")
            name, colon, value = raw.decode("latin-1").partition(":")
            if not colon or not name or name != name.strip():
                raise _Refused(400, "a header line is malformed")
            name, value = name.lower(), value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        raise _Refused(431, f"more than {MAX_HEADERS} headers")

    def _body(self, headers: Headers, version: str) -> tuple[bytes | None, int | None]:
        """The body and its declared length; None for a body over max_body (not read)."""
        limit = self.server.app.max_body
        encoding = headers.get("transfer-encoding")
        if encoding is not None:
            if encoding.lower() != "chunked":
                raise _Refused(501, "only the chunked transfer coding is understood")
            self._continue(headers, version)
            return self._chunked(limit), None
        given = headers.get("content-length")
        if given is None:
            return b"", None
        if not given.isdigit():
            raise _Refused(400, "Content-Length is not a number")
        length = int(given)
        if length > limit:
            return None, length
        self._continue(headers, version)
        body = self.rfile.read(length)
        if len(body) < length:
            raise ConnectionError("closed in the body")
        return body, length

    def _continue(self, headers: Headers, version: str) -> None:
        if version != "HTTP/1.0" and headers.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _chunked(self, limit: int) -> bytes | None:
        """A chunked body (its trailers dropped), or None once it grows over `limit` (the rest unread)."""
        chunks, size = [], 0
        while True:
            line = self.rfile.readline(MAX_LINE + 1)
            try:
                chunk = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                chunk = -1
            if chunk < 0:
                raise _Refused(400, "a chunk size is malformed")
            if chunk == 0:
                while self.rfile.readline(MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            size += chunk
            if size > limit:
                return None
            chunks.append(self.rfile.read(chunk))
            if len(chunks[-1]) < chunk:
                raise ConnectionError("closed in a chunk")
            self.rfile.readline(MAX_LINE + 1)

    def _drain(self, length: int) -> None:
        """Read and drop what is left of a body too large (for a few seconds at most), so that the
        client, still sending, is not reset before it reads the answer."""
        self.connection.settimeout(DRAIN_SECONDS)
        deadline = time.monotonic() + DRAIN_SECONDS
        try:
            while length > 0 and time.monotonic() < deadline:
                got = self.rfile.read1(min(length, 65536))
                if not got:
                    return
                length -= len(got)
        except OSError:
            pass

    def _send(self, answer: Answer, method: str, *, close: bool) -> None:
        head = [f"HTTP/1.1 {answer.status} {_REASONS.get(answer.status, 'Unknown')}",
                f"Date: {_http_date()}", f"Content-Type: {answer.content_type}",
                f"Content-Length: {len(answer.body)}"]
        head += [f"{name}: {value}" for name, value in answer.headers]
        if close:
            head.append("Connection: close")
        head.append("\r\n")
        self.wfile.write("\r\n".join(head).encode("latin-1") + (b"" if method == "HEAD" else answer.body))


class PlatformServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """Listens on (host, port), a thread for each connection; `app` answers each request and
    says how large a body may be (`app.max_body`)."""

    daemon_threads = True        # a hanging request (the `hang` fault) does not hold the process
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, host: str, port: int, app) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.app = app
        super().__init__((host, port), _Connection)

    @property
    def server_port(self) -> int:
        return self.server_address[1]

    def handle_error(self, request, client_address) -> None:
        log.warning("connection from %s failed", client_address[0], exc_info=True)
