"""What one route of the gateway declares, and what its handler is given.

A `Route` is the one place a route is described: its method and werkzeug URL rule, the action
`access.py` rules on (None: public), its body and query schemas, the function that answers it,
and what the OpenAPI document says of it (summary, description, answers, error statuses).
`service.py` makes the Nameko entrypoint of each, `openapi.py` draws the document from them.

    Route("POST", "/api/v1/archives/<string:archive_no>/reactivation", "reactivate_archive",
          access.ARCHIVE_REACTIVATE,
          lambda c: c.registry.reactivate_archive(c.archive["archive_no"], c.body["reason"]),
          summary="Reactivate an archive terminated for migration or loss to follow-up",
          body=Body(ReasonSchema), answers=(Answer(200, "Active again", ArchiveDetailSchema),),
          errors=(400, 404, 422, 503))

How a request reaches the handler (`service.py` runs it):

    1. a guarded route (`action` set) goes through `Gate.guard`: authenticated, permitted,
       the path's archive fetched and scope-checked (`c.archive`), audited whatever happens;
    2. the body is read: a JSON object, loaded with `body.schema` (400 naming the fields), or
       handed over as it is (`Body(..., passthrough=True)`: the service that owns the contract
       loads it); a POST or PATCH that declares no body still takes an empty one or an object;
       `query` loads the query string the same way;
    3. the handler gets a `Call` and answers a body, `(status, body)` or a werkzeug `Response`.

Path values are checked where the handler uses them (`c.record_id()`, `c.entry_id("transfer")`):
a malformed or out-of-range id answers 404 as an unknown one would.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from marshmallow import Schema

from shared.contracts.fields import load_input
from shared.errors import NotFound, ValidationFailed

from services.gateway.access import Action

MAX_ID = 2 ** 63 - 1  # the largest id a database row can have
_RECORD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_PATH_VALUE = re.compile(r"<(?:(\w+):)?(\w+)>")
NEXT_PAGE = {"description": "`next` of the previous page"}  # a paged query's `cursor`, for `documented`


@dataclass(frozen=True)
class Body:
    """The request body: a JSON object described by `schema`. `required=False`: an empty body is
    `{}`. `passthrough=True`: the gateway checks only that it is an object and hands it to the
    service, which loads it with the same schema (the document shows it)."""

    schema: type[Schema]
    required: bool = True
    passthrough: bool = False


@dataclass(frozen=True)
class Answer:
    """One documented response: status, what it means, and its body (a schema class, a list of
    one with `many=True`, or a plain JSON Schema dict for what is no JSON object)."""

    status: int
    description: str
    schema: type[Schema] | dict | None = None
    many: bool = False
    media: str | tuple[str, ...] = "application/json"  # several: the same body in each of these types
    headers: dict | None = None


@dataclass(frozen=True)
class Route:
    method: str                     # "GET", "POST", "PATCH"
    path: str                       # werkzeug rule: "/api/v1/transfers/<int:transfer_id>"
    name: str                       # the entrypoint's name on GatewayService, the operationId
    action: Action | None           # what access.py rules on; None: public (no credentials)
    handler: Callable[["Call"], Any]
    summary: str
    answers: tuple[Answer, ...]
    errors: tuple[int, ...] = ()    # error statuses, described once in openapi.py (401 and 403
                                    # are added to every guarded route, 400 to one that reads input)
    description: str | None = None
    body: Body | None = None
    query: type[Schema] | None = None
    tag: str = ""                   # the area, set by `area()`
    documented: bool = True         # False only for the document itself
    body_bytes: Callable[[Any], int] | None = None  # settings -> this route's larger body bound
                                                    # (else EHR_MAX_BODY_BYTES; see http.py)

    @property
    def openapi_path(self) -> str:
        """`/api/v1/transfers/{transfer_id}`"""
        return _PATH_VALUE.sub(r"{\2}", self.path)

    @property
    def path_values(self) -> list[tuple[str, str]]:
        """`[("transfer_id", "int")]`: each path value's name and werkzeug converter."""
        return [(name, converter or "string") for converter, name in _PATH_VALUE.findall(self.path)]

    @property
    def reads_body(self) -> bool:
        return self.method != "GET"


def area(tag: str, *routes: Route) -> tuple[Route, ...]:
    """The routes of one area (a module of this package), tagged with its name in the document."""
    return tuple(replace(r, tag=tag) for r in routes)


@dataclass
class Call:
    """What a handler is given: the worker's dependencies, the request, its path values and its
    loaded body and query.

        c.registry.list_revisions(c.archive["archive_no"])
    """

    gate: Any                        # services.gateway.gate.WorkerGate
    registry: Any                    # RPC clients with a deadline
    records: Any
    relay: Callable[[], None]        # wake the outbox relay (an event was written)
    probe: Callable[[Any], str]      # a client's health: "ok" or "unavailable (ServiceTimeout)"
    request: Any
    path: dict[str, Any]
    body: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)
    ready: Callable[[], dict[str, str]] | None = None  # this gateway's readiness checks (shared.transport.health)
    document: Callable[[], dict] | None = None         # the OpenAPI document, drawn from this table
    page: Callable[[], str] | None = None              # the same as a readable HTML page
    programmes: Any = None                             # the programmes service's RPC client
    referrals: Any = None                              # the referrals service's RPC client
    sync: Any = None                                   # the sync service's RPC client

    @property
    def archive(self) -> dict:
        """The archive the path's `archive_no` leads to, fetched and scope-checked by the guard."""
        return self.gate.archive

    def record_id(self) -> str:
        """The path's record id. Record ids are ours (UUIDs); anything else cannot name a record,
        and is kept away from the database (a NUL character, say, is not even a valid PostgreSQL
        string)."""
        record_id = self.path["record_id"]
        if not _RECORD_ID.match(record_id):
            raise NotFound("no such record", {"record_id": record_id[:64].replace("\x00", "")})
        return record_id

    def entry_id(self, what: str) -> int:
        """The path's `<what>_id`, if a database row could have it; else 404 as for an unknown one."""
        value = self.path[f"{what}_id"]
        if not 1 <= value <= MAX_ID:
            raise NotFound(f"no such {what}", {f"{what}_id": value})
        return value


def read_input(route: Route, request) -> tuple[dict, dict]:
    """The request's body and query as the route declares them (see the module doc)."""
    body: dict = {}
    if route.reads_body:
        declared = route.body
        body = json_body(request, empty_ok=declared is None or not declared.required)
        if declared is not None and not declared.passthrough:
            body = load_input(declared.schema(), body)
    query = load_input(route.query(), request.args.to_dict()) if route.query else {}
    return body, query


def json_body(request, empty_ok: bool = False) -> dict:
    raw = request.get_data(as_text=True)
    if empty_ok and not raw.strip():
        return {}
    try:
        body = json.loads(raw or "null")
    except ValueError:
        raise ValidationFailed("invalid JSON", {"_body": ["Not valid JSON."]}) from None
    if not isinstance(body, dict):
        raise ValidationFailed("invalid body", {"_body": ["Must be a JSON object."]})
    return body


def documented(schema: type[Schema], **notes: dict) -> type[Schema]:
    """`schema` with `notes` added to the metadata of the named fields: what the document says
    of a field (a description, a format) that the schema itself does not say yet. It loads
    exactly as `schema` does.

        documented(GrantQuerySchema, since={"format": "date-time"})
    """
    fields = {}
    for name, meta in notes.items():
        noted = copy.copy(schema._declared_fields[name])
        noted.metadata = {**noted.metadata, **meta}
        fields[name] = noted
    return type(schema.__name__, (schema,), {**fields, "__doc__": schema.__doc__})
