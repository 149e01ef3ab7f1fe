"""The regional platform, behind one interface (`PlatformClient`), and its HTTP implementation
(`HttpPlatformClient`, over `transport.HttpTransport`) following the agreed interface (docs/contracts.md, "The
regional platform"): `POST /api/documents`, `DELETE /api/documents/{id}` to withdraw one (its record
entered in error), `GET /api/documents` for the reconciliation.

An answer is one of five outcomes, which the sender maps to the queue's states:

    Accepted(platform_id)   201, or 200 for a repeat of an accepted document      -> acknowledged
    Withdrawn(platform_id)  a withdrawal: 200 withdrawn (a repeat the same), or 404 unknown
                            (`unknown`: nothing there to withdraw)                  -> acknowledged
    Rejected(reasons)       422 (content refused), 400 (headers), 413 (too large)   -> rejected
    Deferred(reasons)       409: what the document depends on is not accepted yet  -> sent, retried
    TransportFailure(error) 5xx, 401/403, a timeout, a refused connection, an unreadable answer
                            (a 404 that is not the platform's `unknown`, 405)       -> failed, retried

TLS is verified always (EHR_PLATFORM_CA_FILE names a CA bundle instead of the system's). The
bearer token is never logged; neither is a document: an error names the status or the exception
type only.

    client = HttpPlatformClient(PlatformSettings.from_environment())
    client.submit("record:8f3e...:v2", "HSDB04.01", b"<ClinicalDocument ...", "application/hl7-cda+xml",
                  replaces="record:8f3e...:v1")                    -> Accepted(platform_id="P-000123")
    client.withdraw("record:8f3e...:v2", "entered_in_error")      -> Withdrawn(platform_id="P-000123", ...)
    list(client.accepted(custodian="T1101051011"))                -> [{"document_id": ..., "status": ...}, ...]
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, Union
from urllib.parse import quote

from services.sync.settings import PlatformSettings
from services.sync.transport import HttpTransport, Response

POOL = 16  # keep-alive connections to the platform (the sender has CONCURRENCY requests in flight)


@dataclass(frozen=True)
class Accepted:
    platform_id: str
    received_at: str | None = None


@dataclass(frozen=True)
class Rejected:
    reasons: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Deferred:
    reasons: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Withdrawn:
    platform_id: str | None = None
    withdrawn_at: str | None = None
    unknown: bool = False  # the platform never accepted it: nothing was there to withdraw


@dataclass(frozen=True)
class TransportFailure:
    error: str


Answer = Union[Accepted, Rejected, Deferred, Withdrawn, TransportFailure]

CONTENT_TYPES = {"cda": "application/hl7-cda+xml", "fhir": "application/fhir+json"}


class PlatformClient(Protocol):
    """What the sync service needs of a platform."""

    def submit(self, document_id: str, type_code: str, body: bytes, content_type: str,
               replaces: str | None = None) -> Answer: ...

    def withdraw(self, document_id: str, reason: str) -> Answer:
        """Withdraw an accepted document (`reason` a code: `entered_in_error`)."""
        ...

    def accepted(self, custodian: str | None = None, type_code: str | None = None) -> Iterator[dict[str, Any]]:
        """Every document the platform has accepted (filtered), as `GET /api/documents` lists them,
        each with its `status` (`accepted` or `withdrawn`); raises `PlatformUnavailable` when it
        cannot be read."""
        ...


class PlatformUnavailable(Exception):
    """The platform could not be read (for the reconciliation); the message names no content."""


def _reasons(response: Response, fallback: str) -> list[dict[str, Any]]:
    try:
        reasons = response.json().get("reasons")
    except (ValueError, AttributeError):
        reasons = None
    if isinstance(reasons, list) and all(isinstance(r, dict) for r in reasons):
        return [{k: r.get(k) for k in ("code", "message", "path") if k in r} for r in reasons][:50]
    return [{"code": fallback, "message": f"HTTP {response.status}"}]


class HttpPlatformClient:
    """`PlatformClient` over HTTP(S): kept-alive connections (up to `POOL` idle, for concurrent
    senders), a timeout on every request, TLS verified (`transport.HttpTransport`)."""

    def __init__(self, settings: PlatformSettings, transport: HttpTransport | None = None) -> None:
        self.settings = settings
        self.transport = transport or HttpTransport(settings.url, settings.timeout, settings.ca_file, size=POOL)
        self.authorization = f"Bearer {settings.token}"

    def _call(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
              params: dict[str, Any] | None = None) -> Response:
        return self.transport.request(method, path, body, {**(headers or {}), "Authorization": self.authorization},
                                      params)

    def _exchange(self, method: str, path: str, body: bytes | None, headers: dict[str, str]
                  ) -> Response | TransportFailure:
        try:
            return self._call(method, path, body, headers)
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, garbled
            return TransportFailure(type(exc).__name__)

    @staticmethod
    def _body(response: Response) -> dict[str, Any] | TransportFailure:
        """The answer's JSON object ({} for JSON of another shape)."""
        try:
            answer = response.json()
        except ValueError:
            return TransportFailure(f"HTTP {response.status}: not JSON")
        return answer if isinstance(answer, dict) else {}

    def submit(self, document_id: str, type_code: str, body: bytes, content_type: str,
               replaces: str | None = None) -> Answer:
        headers = {"Content-Type": content_type, "X-Document-Id": document_id, "X-Document-Type": type_code}
        if replaces:
            headers["X-Replaces"] = replaces
        response = self._exchange("POST", "/api/documents", body, headers)
        if isinstance(response, TransportFailure):
            return response
        status = response.status
        if status in (200, 201):
            answer = self._body(response)
            if isinstance(answer, TransportFailure):
                return answer
            if answer.get("status") != "accepted" or not answer.get("platform_id"):
                return TransportFailure(f"HTTP {status}: not an acceptance")
            return Accepted(str(answer["platform_id"]), answer.get("received_at"))
        if status == 409:
            return Deferred(_reasons(response, "deferred"))
        if status in (400, 422):
            return Rejected(_reasons(response, "rejected"))
        if status == 413:
            return Rejected([{"code": "too_large", "message": "the platform refused the document's size"}])
        return TransportFailure(f"HTTP {status}")

    def withdraw(self, document_id: str, reason: str) -> Answer:
        response = self._exchange("DELETE", "/api/documents/" + quote(document_id, safe=":"), None,
                                  {"X-Reason": reason})
        if isinstance(response, TransportFailure):
            return response
        status = response.status
        if status in (200, 404):
            answer = self._body(response)
            if isinstance(answer, TransportFailure):
                return answer
            if status == 200 and answer.get("status") == "withdrawn":
                return Withdrawn(answer.get("platform_id"), answer.get("withdrawn_at"))
            if status == 404 and answer.get("status") == "unknown":
                return Withdrawn(unknown=True)
            return TransportFailure(f"HTTP {status}: not a withdrawal")
        if status in (400, 422):
            return Rejected(_reasons(response, "rejected"))
        return TransportFailure(f"HTTP {status}")

    def accepted(self, custodian: str | None = None, type_code: str | None = None) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {"limit": 500}
        if custodian:
            params["custodian"] = custodian
        if type_code:
            params["type"] = type_code
        while True:
            try:
                response = self._call("GET", "/api/documents", params=params)
            except (OSError, http.client.HTTPException) as exc:
                raise PlatformUnavailable(type(exc).__name__) from None
            if response.status != 200:
                raise PlatformUnavailable(f"HTTP {response.status}")
            try:
                page = response.json()
                items, cursor = page["items"], page.get("next")
            except (ValueError, KeyError, TypeError):
                raise PlatformUnavailable("the listing is not JSON of the agreed shape") from None
            yield from items
            if not cursor:
                return
            params["after"] = cursor

    def close(self) -> None:
        self.transport.close()
