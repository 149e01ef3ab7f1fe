"""A JSON flavour of Nameko's `@http` entrypoint for the gateway.

Handlers return `(status, body)`, a body, or a ready werkzeug `Response` (the docs page); the
entrypoint writes JSON, stamps every response with `X-Request-Id`, passes the request id on to
every RPC call through the worker's context data (the `Gate` adds who is calling), logs one line
per request (method, path, status, request id, milliseconds; never a body or a query string),
and turns exceptions into precise JSON errors.

The request id is always the suite's own (32 hex digits): it is what the audit trail, the logs
and the services record, so a client cannot make its requests pass for others'. A client's
`X-Request-Id` is kept beside it when it is 1 to 64 of `A-Z a-z 0-9 . _ -`: answered in
`X-Client-Request-Id` and logged as `client_request_id`; anything else is ignored.

The body is read before the handler runs, at most EHR_MAX_BODY_BYTES (1 MiB) of it: a larger
declared `Content-Length` is refused without reading a byte, a chunked body as soon as it passes
the bound, both with 413 {"error": {"code": "payload_too_large", ...}}. A route may declare a
larger bound of its own (`Route.body_bytes`: the attachment upload reads up to the base64 size of
EHR_MAX_ATTACHMENT_BYTES plus 64 KiB); every other route keeps EHR_MAX_BODY_BYTES.

    EhrError subclasses        -> their status (400, 401, 403, 404, 409, 422, 429) with code,
                                  message, details; a 401 also carries `WWW-Authenticate: Bearer`,
                                  and one whose details give `retry_after` (seconds; the sign-in
                                  throttle's 429) a `Retry-After` header
    a service down, or slow    -> 503 {"error": {"code": "unavailable", ...}} (ServiceTimeout
                                  past EHR_RPC_TIMEOUT, UnknownService, the broker gone)
    anything else              -> 500, logged with the request id (never the request body)
    no such route / method     -> 404 {"error": {"code": "not_found", ...}} / 405 with `Allow`
                                  (`JsonWebServer`: the routing errors are JSON too, not HTML)
"""

from __future__ import annotations

import json
import logging
import re
import socket
import time
import uuid
from functools import partial

from eventlet.event import Event
from nameko.exceptions import UnknownService
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from shared.actor import REQUEST_ID_KEY
from shared.config import load_settings
from shared.transport.consumer import TRANSIENT_ERRORS
from shared.errors import EhrError

log = logging.getLogger(__name__)

_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def json_response(status: int, body, request_id: str) -> Response:
    headers = {"X-Request-Id": request_id}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="ehr"'
    return Response(
        json.dumps(body, ensure_ascii=False, default=str),
        status=status,
        mimetype="application/json",
        headers=headers,
    )


def error_body(code: str, message: str, details=None, request_id: str | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}, "request_id": request_id}}


class JsonWsgiApp(WsgiApp):
    """Nameko's WSGI app, answering requests that match no route in JSON."""

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        try:
            provider, values = self.url_map.bind_to_environ(environ).match()
        except HTTPException as exc:
            return _routing_error(request, exc)(environ, start_response)
        request.path_values = values
        return provider.handle_request(request)(environ, start_response)


def new_request_id() -> str:
    return uuid.uuid4().hex


def client_request_id(request) -> str | None:
    """The client's own `X-Request-Id`, if it is one to keep beside the suite's (see the module doc)."""
    supplied = request.headers.get("X-Request-Id", "")
    return supplied if _CLIENT_REQUEST_ID.fullmatch(supplied) else None


def _finish(request, response: Response, request_id: str, started: float) -> Response:
    """Stamp the client's id on the response and log the request's one line."""
    client_id = client_request_id(request)
    if client_id:
        response.headers["X-Client-Request-Id"] = client_id
    log.info("request", extra={"request_id": request_id, "client_request_id": client_id,
                               "method": request.method, "path": request.path, "status": response.status_code,
                               "ms": round((time.monotonic() - started) * 1000, 1)})
    return response


def _routing_error(request, exc: HTTPException) -> Response:
    started, request_id = time.monotonic(), new_request_id()
    if isinstance(exc, MethodNotAllowed):
        response = json_response(405, error_body("method_not_allowed", "This path does not take that method.",
                                                 {"allowed": exc.valid_methods or []}, request_id), request_id)
        response.headers["Allow"] = ", ".join(exc.valid_methods or [])
    else:
        code = exc.code or 404
        response = json_response(code, error_body("not_found" if code == 404 else "bad_request",
                                                  "No such path in this API; see /api/v1/openapi.json.",
                                                  request_id=request_id), request_id)
    return _finish(request, response, request_id, started)


class JsonWebServer(WebServer):
    def get_wsgi_app(self):
        return JsonWsgiApp(self)

    def get_wsgi_server(self, sock, wsgi_app, **kwargs):
        # Answers go out without Nagle's wait: eventlet writes the status and headers, then the
        # body, and the second small write waited for the client's delayed ACK (about 40 ms on
        # every answer past a segment, measured by `python -m bench programmes`). Accepted
        # connections inherit the option from the listening socket.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return super().get_wsgi_server(sock, wsgi_app, **kwargs)


class JsonHttp(HttpRequestHandler):
    server = JsonWebServer()

    def __init__(self, method, url, body_bytes=None, **kwargs):
        """`body_bytes(settings) -> int`: this route's own bound on the body, if larger."""
        super().__init__(method, url, **kwargs)
        self.body_bytes = body_bytes

    def setup(self):
        super().setup()
        settings = load_settings()
        self.max_body_bytes = max(settings.max_body_bytes, self.body_bytes(settings) if self.body_bytes else 0)

    def handle_request(self, request):
        started, request_id = time.monotonic(), new_request_id()
        return _finish(request, self._respond(request, request_id), request_id, started)

    def _read_body(self, request, request_id: str) -> Response | None:
        """Read the body into the request (handlers' `get_data` then reads it from there), at
        most `max_body_bytes`; a 413 if it is larger."""
        # One byte past the bound: a chunked body (whose length is known only once read) that
        # reaches it is too large; a declared length past it is refused before any is read.
        request.max_content_length = self.max_body_bytes + 1
        if request.headers.get("Transfer-Encoding", "").lower() == "chunked":
            # eventlet ends a chunked body itself; werkzeug then bounds the read with the limit
            # instead of ignoring the body (its default for a stream of unknown length).
            request.environ["wsgi.input_terminated"] = True
        try:
            too_large = len(request.get_data()) > self.max_body_bytes
        except RequestEntityTooLarge:
            too_large = True
        if too_large:
            return json_response(413, error_body(
                "payload_too_large", f"The request body is larger than {self.max_body_bytes} bytes.",
                {"max_bytes": self.max_body_bytes}, request_id), request_id)
        return None

    def _respond(self, request, request_id: str) -> Response:
        request.shallow = False
        too_large = self._read_body(request, request_id)
        if too_large is not None:
            return too_large
        try:
            context_data = {REQUEST_ID_KEY: request_id}
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            event = Event()
            self.container.spawn_worker(
                self, args, kwargs, context_data=context_data,
                handle_result=partial(self.handle_result, event))
            result = event.wait()
        except EhrError as exc:
            response = json_response(exc.status, error_body(exc.code, exc.message, exc.details, request_id),
                                     request_id)
            if "retry_after" in exc.details:
                response.headers["Retry-After"] = str(exc.details["retry_after"])
            return response
        except (*TRANSIENT_ERRORS, UnknownService) as exc:
            log.warning("dependency unavailable", extra={"request_id": request_id, "error": type(exc).__name__})
            return json_response(503, error_body("unavailable", "A service the request needs is unavailable; "
                                                 "try again shortly.", request_id=request_id), request_id)
        except Exception as exc:  # noqa: BLE001 - a bug: log it, answer without internals
            log.error("unhandled error", exc_info=True, extra={"request_id": request_id,
                                                             "error": type(exc).__name__})
            return json_response(500, error_body("internal", "Internal error.", request_id=request_id), request_id)
        if isinstance(result, Response):
            result.headers["X-Request-Id"] = request_id
            return result
        status, body = result if isinstance(result, tuple) else (200, result)
        return json_response(status, body, request_id)


http = JsonHttp.decorator
