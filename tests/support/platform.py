"""A small regional platform for tests, behind the agreed HTTP interface (docs/contracts.md, "The
regional platform"; the `ehr platform` fake replaces it once merged): bearer token, `POST
/api/documents` answering 201 / 200 (a repeat) / 409 (registration or replaced version not there
yet) / 422 (a document id the test chose to reject) / 500 (while told to fail), and `GET
/api/documents` listing what it accepted. It reads the archive number and the custodian from the
body: the test builder's JSON, or a CDA document's header.

    platform = StubPlatform(token="t0ken").start()      # platform.url -> "http://127.0.0.1:40123"
    platform.reject.add("record:8f3e...:v1"); platform.fail_for(3.0)
    platform.accepted   -> {"archive:110...:v1": {...}, ...};  platform.created -> Counter of 201s per id
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections import Counter
from urllib.parse import parse_qs

import eventlet
import eventlet.wsgi

REGISTRATION = "HSDA00.01"
_V3 = "{urn:hl7-org:v3}"


def _facts(body: bytes, content_type: str) -> tuple[str | None, str | None]:
    """(archive number, custodian code) of a document."""
    try:
        if "json" in content_type:
            doc = json.loads(body)
            if "archive_no" in doc:
                return doc.get("archive_no"), doc.get("custodian")
            for entry in doc.get("entry", []):  # a FHIR Bundle
                resource = entry.get("resource", {})
                for identifier in resource.get("identifier", []) if resource.get("resourceType") == "Patient" else []:
                    if identifier.get("system") == "urn:oid:2.16.156.10011.1.2":
                        return identifier.get("value"), None
            return None, None
        root = ET.fromstring(body)
        archive = custodian = None
        for element in root.iter(f"{_V3}id"):
            if element.get("root") == "2.16.156.10011.1.2" and archive is None:
                archive = element.get("extension")
            if element.get("root") == "2.16.156.10011.1.5":
                custodian = element.get("extension")
        return archive, custodian
    except (ValueError, ET.ParseError):
        return None, None


class StubPlatform:
    def __init__(self, token: str = "test-platform-token") -> None:
        self.token = token
        self.accepted: dict[str, dict] = {}
        self.rejected: set[str] = set()
        self.reject: set[str] = set()          # document ids to refuse (422)
        self.created: Counter = Counter()      # 201 answers per document id
        self.posts: Counter = Counter()        # every POST per document id
        self.failing_until = 0.0
        self.url = ""
        self._server = None

    def fail_for(self, seconds: float) -> None:
        """Answer every /api request 500 for `seconds`."""
        self.failing_until = time.monotonic() + seconds

    def start(self) -> "StubPlatform":
        sock = eventlet.listen(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._server = eventlet.spawn(eventlet.wsgi.server, sock, self, log_output=False)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.kill()

    def __call__(self, environ, start_response):
        status, body = self._answer(environ)
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    def _answer(self, environ):
        if environ.get("HTTP_AUTHORIZATION") != f"Bearer {self.token}":
            return "401 Unauthorized", {"status": "unauthorized"}
        if time.monotonic() < self.failing_until:
            return "500 Internal Server Error", {"status": "error"}
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        if method == "GET" and path == "/api/documents":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            items = [item for item in self.accepted.values()
                     if item["custodian"] in query.get("custodian", [item["custodian"]])
                     and item["document_type"] in query.get("type", [item["document_type"]])]
            return "200 OK", {"items": items, "next": None}
        if method != "POST" or path != "/api/documents":
            return "404 Not Found", {"status": "unknown"}
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        doc_id, doc_type = environ.get("HTTP_X_DOCUMENT_ID"), environ.get("HTTP_X_DOCUMENT_TYPE")
        replaces = environ.get("HTTP_X_REPLACES")
        if not doc_id or not doc_type:
            return "400 Bad Request", {"status": "rejected", "reasons": [{"code": "headers_missing", "message": "-"}]}
        self.posts[doc_id] += 1
        if doc_id in self.accepted:
            return "200 OK", {"status": "accepted", **self.accepted[doc_id]}
        archive_no, custodian = _facts(body, environ.get("CONTENT_TYPE", ""))
        if doc_type != REGISTRATION and not any(
                a["archive_no"] == archive_no and a["document_type"] == REGISTRATION for a in self.accepted.values()):
            return "409 Conflict", {"status": "deferred", "document_id": doc_id,
                                    "reasons": [{"code": "patient_not_registered", "message": "-"}]}
        if replaces and replaces not in self.accepted and replaces not in self.rejected:
            return "409 Conflict", {"status": "deferred", "document_id": doc_id,
                                    "reasons": [{"code": "replaced_document_unknown", "message": "-"}]}
        if doc_id in self.reject:
            self.rejected.add(doc_id)
            return "422 Unprocessable Entity", {"status": "rejected", "document_id": doc_id, "reasons": [
                {"code": "missing_element", "message": "患者姓名缺失", "path": "/ClinicalDocument/recordTarget"}]}
        set_id, _, version = doc_id.rpartition(":v")
        self.accepted[doc_id] = {"document_id": doc_id, "set_id": set_id, "version": int(version),
                                 "document_type": doc_type, "archive_no": archive_no, "custodian": custodian,
                                 "platform_id": f"P-{len(self.accepted) + 1:06d}", "received_at": "2026-12-01T00:00:00Z"}
        self.created[doc_id] += 1
        return "201 Created", {"status": "accepted", **self.accepted[doc_id]}
