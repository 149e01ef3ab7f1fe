"""The fake regional platform's HTTP interface, served by ehr/platform/transport.py (HTTP/1.1, a
thread for each kept-alive connection): the interface of docs/contracts.md, "The regional platform".

    POST /api/documents                 submit a CDA or FHIR document: 201 accepted, 200 accepted
                                        before (same platform_id), 422 rejected with reasons,
                                        409 deferred (order), 400 headers, 413 too large
    GET  /api/documents/{document_id}   the last answer: accepted, withdrawn or rejected; 404 unknown
    DELETE /api/documents/{document_id} withdraw an accepted document (X-Reason: entered_in_error):
                                        200 withdrawn (a repeat the same), 404 unknown, 400 reason;
                                        kept and listed as withdrawn, its set closed (a later
                                        version 422 `withdrawn_set`)
    GET  /api/documents?custodian=&type=&after=&limit=   accepted (and withdrawn) documents, cursor paged
    GET  /api/health                    {"status": "ok"}
    GET|POST /control/faults, POST /control/reset        faults (ehr/platform/faults.py)
    GET  /control/received              how many times each document id was posted since start
                                        (in memory; for tests that count sends)

Every request needs `Authorization: Bearer <token>` (else 401). Faults apply to /api only; while
the platform is `down` or in `error` it answers before looking at the token.
"""

from __future__ import annotations

import hmac
import json
import logging
import signal
from collections import Counter
import threading
from pathlib import Path

from ehr.platform.checks import REGISTRATION, Reason, check_document
from ehr.platform.faults import FaultError, Faults
from ehr.platform.storage import Store
from ehr.platform.transport import Answer, PlatformServer, Request, json_answer as _json

log = logging.getLogger("ehr.platform")

MAX_BODY = 5 * 1024 * 1024     # bytes of one document; more is answered 413
MAX_LIMIT = 1000               # items of one page of the accepted list
WITHDRAWAL_REASONS = ("entered_in_error",)  # the X-Reason codes of a withdrawal

# path -> method -> endpoint; and GET|DELETE /api/documents/{document_id}: any id after the prefix
_ROUTES = {
    "/api/health": {"GET": "health"},
    "/api/documents": {"POST": "submit", "GET": "list"},
    "/control/faults": {"GET": "faults", "POST": "faults"},
    "/control/reset": {"POST": "reset"},
    "/control/received": {"GET": "received"},
}
_ONE_DOCUMENT = "/api/documents/"
_CONTROL = {"faults", "reset", "received"}
_READ_BODY = {"submit", "faults"}


def _route(method: str, path: str) -> tuple[str, dict] | Answer:
    """(endpoint, its arguments), or the 404 or 405 answer. A trailing slash is not told apart."""
    if path.startswith(_ONE_DOCUMENT) and path != _ONE_DOCUMENT:
        methods, args = {"GET": "get", "DELETE": "withdraw"}, {"document_id": path[len(_ONE_DOCUMENT):]}
    else:
        methods, args = _ROUTES.get(path.rstrip("/") or "/"), {}
    if methods is None:
        return _json({"error": "not_found", "message": "the requested URL was not found on the server"}, 404)
    if method not in methods:
        allowed = {*methods, "HEAD"} if "GET" in methods else set(methods)
        return _json({"error": "method_not_allowed", "message": "the method is not allowed for the requested URL"},
                     405, ("Allow", ", ".join(sorted(allowed))))
    return methods[method], args


def _reasons(reasons: list[Reason]) -> list[dict]:
    return [reason.as_json() for reason in reasons]


class Platform:
    """The application: checks, order, storage and faults; `platform(request)` answers a request."""

    def __init__(self, store: Store, token: str, *, control: bool = True, max_body: int = MAX_BODY,
                 faults: Faults | None = None) -> None:
        if not token:
            raise ValueError("the platform needs a token")
        self.store = store
        self.token = token.encode()
        self.control = control
        self.max_body = max_body
        self.faults = faults or Faults()
        self.received: Counter = Counter()   # POSTs per X-Document-Id since start
        self._received_lock = threading.Lock()

    def _authorised(self, request: Request) -> bool:
        scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token)

    def __call__(self, request: Request) -> Answer:
        if request.path.startswith("/api/"):
            mode = self.faults.mode()
            if mode == "down":
                return _json({"error": "unavailable", "message": "the platform is down"}, 503)
            if mode == "error":
                return _json({"error": "internal_error", "message": "injected failure"}, 500)
            if mode == "hang":
                self.faults.wait_while_hanging()
        if not self._authorised(request):
            return Answer(401, json.dumps({"error": "unauthorized", "message": "a valid bearer token is required"})
                          .encode(), (("WWW-Authenticate", 'Bearer realm="platform"'),))
        route = _route(request.method, request.path)
        if isinstance(route, Answer):
            return route
        endpoint, args = route
        if endpoint in _CONTROL and not self.control:
            return _json({"error": "forbidden", "message": "fault control is off (started with --no-control)"}, 403)
        if endpoint in _READ_BODY and request.body is None:
            return _json({"error": "request_entity_too_large",
                          "message": f"a document may have at most {self.max_body} bytes"}, 413)
        return getattr(self, f"_{endpoint}")(request, **args)

    # ------------------------------------------------------------------------------- endpoints

    def _health(self, request: Request) -> Answer:
        return _json({"status": "ok"}, 200)

    def _submit(self, request: Request) -> Answer:
        body = request.body
        with self._received_lock:
            self.received[request.headers.get("X-Document-Id") or ""] += 1
        reading = check_document(body, request.headers.get("Content-Type"), request.headers)
        document_id = reading.document_id or request.headers.get("X-Document-Id")
        with self.store.lock:
            before = self.store.accepted(document_id) if document_id else None
            if before is not None:
                return _json(self._accepted(before), 200)
            if reading.reasons or reading.header_reasons:
                status = 422 if reading.reasons else 400
                return self._refuse(document_id, status, reading.reasons + reading.header_reasons, reading)
            return self._file(reading, body)

    def _file(self, reading, body: bytes) -> Answer:
        """A document that passed its checks: defer it when it comes too early, else accept it."""
        if reading.document_type != REGISTRATION and not self.store.registered(reading.archive_no):
            return _json({"status": "deferred", "document_id": reading.document_id, "reasons": [Reason(
                "patient_not_registered", f"the archive's registration ({REGISTRATION}) is not accepted yet"
            ).as_json()]}, 409)
        set_id, version, replaced = reading.set_id, reading.version, None
        if reading.replaces is not None:
            # The replaced version must be known: accepted, or rejected (its last answer here), so
            # that a document refused for its content is corrected by a new version of it.
            replaced = self.store.accepted(reading.replaces) or self._rejected_as_replaced(reading)
            if replaced is None:
                return _json({"status": "deferred", "document_id": reading.document_id, "reasons": [Reason(
                    "replaced_document_unknown", "the document this version replaces is neither accepted nor "
                    "rejected yet").as_json()]}, 409)
            set_id = set_id or replaced["set_id"]
            version = version or replaced["version"] + 1
        if (replaced is not None and replaced.get("withdrawn_at")) or (set_id and self.store.set_withdrawn(set_id)):
            return self._refuse(reading.document_id, 422, [Reason(
                "withdrawn_set", f"a version of set {set_id!r} was withdrawn: the set takes no later version",
                "/ClinicalDocument/setId/@extension" if reading.format == "cda"
                else "Bundle.entry[0].resource.identifier.value")], reading)
        if reading.replaces is not None:
            wrong = self._replacement_mismatches(reading, replaced, set_id, version)
            if wrong:
                return self._refuse(reading.document_id, 422, wrong, reading)
        if self.faults.inject_rejection():
            return self._refuse(reading.document_id, 422, [Reason(
                "injected", "rejected on purpose by the fake platform (reject_one_in)")], reading)
        row = self.store.accept(
            document_id=reading.document_id, format=reading.format, document_type=reading.document_type,
            set_id=set_id or reading.document_id, version=version or 1, archive_no=reading.archive_no,
            custodian=reading.custodian, replaces=reading.replaces, body=body)
        return _json(self._accepted(row), 201)

    @staticmethod
    def _replacement_mismatches(reading, replaced: dict, set_id: str, version: int) -> list[Reason]:
        """A new version keeps the set of the one it replaces (CDA setId; FHIR Composition.identifier,
        version-independent), has a higher version number and the same type."""
        cda = reading.format == "cda"
        named = f"the replaced document {replaced['document_id']}"
        wrong = []
        if set_id != replaced["set_id"]:
            wrong.append(Reason(
                "replaced_document_mismatch",
                f"{named} belongs to set {replaced['set_id']!r}, this version to {set_id!r}: a new version keeps "
                + ("its setId" if cda else "Composition.identifier, the version-independent identifier (FHIR)"),
                "/ClinicalDocument/setId/@extension" if cda else "Bundle.entry[0].resource.identifier.value"))
        if version <= replaced["version"]:
            wrong.append(Reason(
                "replaced_document_mismatch", f"{named} has version {replaced['version']}, not lower than {version}",
                "/ClinicalDocument/versionNumber/@value" if cda else "Bundle.entry[0].resource.extension"))
        if reading.document_type != replaced["document_type"]:
            wrong.append(Reason(
                "replaced_document_mismatch", f"{named} is of type {replaced['document_type']}",
                "/ClinicalDocument/code/@code" if cda else "Bundle.entry[0].resource.type.coding.code"))
        return wrong

    def _rejected_as_replaced(self, reading) -> dict | None:
        """The rejected document `reading` replaces, as the accepted one would be compared (what it
        said of itself when refused; what it could not say is taken from this version)."""
        refused = self.store.rejection(reading.replaces)
        if refused is None:
            return None
        version = refused["version"] or (reading.version - 1 if reading.version else 0)
        return {"document_id": reading.replaces, "set_id": refused["set_id"] or reading.set_id,
                "version": version, "document_type": refused["document_type"] or reading.document_type}

    def _refuse(self, document_id: str | None, status: int, reasons: list[Reason], reading=None) -> Answer:
        answer = _reasons(reasons)
        if document_id:
            self.store.reject(document_id, status, answer, set_id=getattr(reading, "set_id", None),
                              version=getattr(reading, "version", None),
                              document_type=getattr(reading, "document_type", None))
        return _json({"status": "rejected", "document_id": document_id, "reasons": answer}, status)

    @staticmethod
    def _accepted(row: dict) -> dict:
        return {"status": "accepted", "document_id": row["document_id"], "platform_id": row["platform_id"],
                "received_at": row["received_at"]}

    @staticmethod
    def _withdrawn(row: dict) -> dict:
        return {"status": "withdrawn", "document_id": row["document_id"], "platform_id": row["platform_id"],
                "withdrawn_at": row["withdrawn_at"], "reason": row["withdrawn_reason"]}

    def _get(self, request: Request, document_id: str) -> Answer:
        row = self.store.accepted(document_id)
        if row is not None:
            if row["withdrawn_at"]:
                answer = {**self._withdrawn(row), "received_at": row["received_at"]}
            else:
                answer = self._accepted(row)
            return _json({**answer, "document_type": row["document_type"],
                          "archive_no": row["archive_no"], "custodian": row["custodian"],
                          "set_id": row["set_id"], "version": row["version"]}, 200)
        refused = self.store.rejection(document_id)
        if refused is not None:
            return _json({"status": "rejected", "document_id": document_id, "reasons": refused["reasons"],
                          "received_at": refused["received_at"]}, 200)
        return _json({"status": "unknown", "document_id": document_id}, 404)

    def _withdraw(self, request: Request, document_id: str) -> Answer:
        """Withdraw an accepted document (a record entered in error): kept, marked, listed as
        withdrawn; a repeat answers the same."""
        reason = request.headers.get("X-Reason")
        if reason not in WITHDRAWAL_REASONS:
            code = "missing_header" if not reason else "invalid_value"
            return _json({"status": "rejected", "document_id": document_id, "reasons": [Reason(
                code, "X-Reason must be one of: " + ", ".join(WITHDRAWAL_REASONS), "X-Reason").as_json()]}, 400)
        with self.store.lock:
            row = self.store.withdraw(document_id, reason)
        if row is None:
            return _json({"status": "unknown", "document_id": document_id}, 404)
        return _json(self._withdrawn(row), 200)

    def _list(self, request: Request) -> Answer:
        after, limit = request.query.get("after") or "0", request.query.get("limit") or "500"
        problems = []
        if not after.isdigit():
            problems.append({"code": "invalid_value", "message": "after must be a cursor this list gave", "path": "after"})
        if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
            problems.append({"code": "invalid_value", "message": f"limit must be 1 to {MAX_LIMIT}", "path": "limit"})
        if problems:
            return _json({"error": "bad_request", "reasons": problems}, 400)
        items, following = self.store.list_accepted(
            custodian=request.query.get("custodian"), document_type=request.query.get("type"),
            after=int(after), limit=int(limit))
        return _json({"items": items, "next": None if following is None else str(following)}, 200)

    def _faults(self, request: Request) -> Answer:
        if request.method == "GET":
            return _json(self.faults.settings(), 200)
        try:
            body = json.loads(request.body or b"{}")
            settings = self.faults.apply(body)
        except ValueError as exc:  # FaultError, or the body is not JSON
            message = str(exc) if isinstance(exc, FaultError) else "the body must be JSON"
            return _json({"error": "bad_request", "message": message}, 400)
        log.info("faults set: %s", json.dumps(settings))
        return _json(settings, 200)

    def _received(self, request: Request) -> Answer:
        with self._received_lock:
            documents = dict(self.received)
        return _json({"documents": documents}, 200)

    def _reset(self, request: Request) -> Answer:
        settings = self.faults.reset()
        log.info("faults reset")
        return _json(settings, 200)


def serve(host: str, port: int, token: str, data_dir: Path, *, control: bool, echo=print) -> None:
    """Run the platform until SIGTERM or Ctrl-C."""
    store = Store(data_dir)
    app = Platform(store, token, control=control)
    server = PlatformServer(host, port, app)
    stopping = threading.Event()

    def stop(signum, frame):
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    echo(f"platform listening on http://{host}:{server.server_port} (data {store.path}, "
         f"{store.count()} documents accepted so far, fault control {'on' if control else 'off'})")
    try:
        server.serve_forever()
    finally:
        server.server_close()
        store.close()
        echo("platform stopped")
