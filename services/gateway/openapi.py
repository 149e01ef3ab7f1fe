"""The OpenAPI 3 document of `/api/v1`, drawn from the route table (`routes/`) and the marshmallow
schemas its routes name (apispec with its marshmallow plugin): each path from a route's URL rule,
its path parameters from the rule's values, its query parameters from the route's query schema,
its body, answers and error statuses from the declaration. Schemas become components under their
class name without `Schema` (`ArchiveCreateSchema` -> `ArchiveCreate`).

Every guarded operation needs `Authorization: Bearer <token or API key>` (the `bearer` security
scheme) and documents its 401 and 403; the public ones (no `action`: sign-in, health, this
document and the docs page) say `security: []`. A guarded operation names its action and the
roles `access.py` permits it (`x-action`, `x-roles`); the scope rules are `access.py`'s. The document names no service package: only the routes and the schemas they name, and the
paper forms' schemas as `shared/schemas/forms/` publishes them (`Form.<record_type>` and its
sections, named by `RecordCreate.content`'s `x-forms`; `shared.contracts.forms`).

    build_spec()["paths"]["/api/v1/archives/{archive_no}"]["get"]["operationId"]  -> "get_archive"
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from shared.contracts.forms import published_forms
from shared.contracts.gateway import ErrorSchema

from services.gateway import access
from services.gateway.routes import ROUTES, Answer, Route

API_VERSION = "1.0.0"

# What each error status means, wherever a route declares it.
ERRORS = {400: "Invalid input: `details` names each failing field",
          401: "No credentials, or a token or API key that is expired, revoked or wrong",
          403: "Your role may not do this (or, under a grant, this needs the archive in your own scope)",
          404: "Not found (an archive outside your scope answers the same, unless you hold a grant)",
          409: "Conflict: `conflict`, e.g. the ID number or a card already has an archive of your "
               "jurisdiction (named in `details`), or possible duplicates of your jurisdiction need "
               "`confirm_new`; `registered_elsewhere`, an archive outside your jurisdiction holds it "
               "(`details` name only the field, with your value masked: no archive, village or institution); "
               "or a form filled once per archive (`personal_info`) that the archive already has "
               "(`details` name its record: amend it)",
          413: "The body is larger than EHR_MAX_BODY_BYTES (1 MiB; an attachment upload: the base64 of "
               "EHR_MAX_ATTACHMENT_BYTES, 5 MiB, plus 64 KiB)",
          422: "Not possible in the current state, e.g. already replayed",
          429: "Too many sign-in attempts (`Retry-After`), or grants: at most `EHR_GRANT_DAILY_LIMIT` (20) a user "
               "in any 24 hours",
          503: "A service is unavailable"}

# Path values by name; any other is a plain string or integer, as its URL converter says.
PATH_VALUES = {"archive_no": {"schema": {"type": "string", "pattern": r"^\d{17}$"},
                              "description": "17-digit archive number"}}
CONVERTERS = {"string": "string", "int": "integer"}


def build_spec(routes: Iterable[Route] = ROUTES) -> dict:
    spec = APISpec(
        title="Resident health record suite (居民健康档案) API",
        version=API_VERSION,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "HTTP API of the gateway. Every response carries `X-Request-Id`, the suite's "
                             "own id of the request (the audit trail's); a client's own `X-Request-Id` (1 to "
                             "64 of `A-Za-z0-9._-`) comes back in `X-Client-Request-Id`. A body larger than "
                             "EHR_MAX_BODY_BYTES (1 MiB) answers 413 unread. Sign in "
                             "with `POST /api/v1/auth/token` (or use an API key) and send "
                             "`Authorization: Bearer <token or key>`; every call is recorded in the "
                             "audit trail. A readable listing of this document: `GET /api/v1/docs`."},
        servers=[{"url": "/"}],
        security=[{"bearer": []}],
    )
    spec.components.security_scheme("bearer", {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT from POST /api/v1/auth/token, or an API key (ehrk_...)",
    })
    for form in published_forms().values():  # the forms `RecordCreate.content` names (`x-forms`)
        for name, schema in form["components"].items():
            if name not in spec.components.schemas:
                spec.components.schema(name, schema)
    paths: dict[str, dict] = defaultdict(dict)
    for route in routes:
        if route.documented:
            paths[route.openapi_path][route.method.lower()] = _operation(route)
    for path, operations in paths.items():
        spec.path(path, operations=operations)
    document = spec.to_dict()
    _query_strings_have_no_null(document)
    return document


def _operation(route: Route) -> dict:
    operation: dict = {"operationId": route.name, "summary": route.summary}
    if route.tag:
        operation["tags"] = [route.tag]
    if route.description:
        operation["description"] = route.description
    if route.action is None:
        operation["security"] = []  # public: no credentials needed
    else:  # who may call it: the action and the roles `access.py` permits it
        operation["x-action"] = route.action.name
        operation["x-roles"] = [role for role in access.ROLES if access.permits(role, route.action)]
    parameters = [_path_parameter(name, converter) for name, converter in route.path_values]
    if route.query:
        parameters.append({"in": "query", "schema": route.query})  # one parameter per field (the plugin)
    if parameters:
        operation["parameters"] = parameters
    if route.body:
        operation["requestBody"] = {"required": route.body.required,
                                    "content": {"application/json": {"schema": route.body.schema}}}
    operation["responses"] = _responses(route)
    return operation


def _path_parameter(name: str, converter: str) -> dict:
    return {"name": name, "in": "path", "required": True,
            **PATH_VALUES.get(name, {"schema": {"type": CONVERTERS[converter]}})}


def _responses(route: Route) -> dict:
    statuses = set(route.errors)
    if route.action is not None:
        statuses |= {401, 403}  # every guarded operation can answer these
    if route.query or route.reads_body:
        statuses.add(400)  # the query or body it reads can be invalid (a body that is no JSON object too)
    answers = {a.status: a for a in route.answers}
    answers.update({s: Answer(s, ERRORS[s], ErrorSchema) for s in statuses - set(answers)})
    return {str(status): _answer(answers[status]) for status in sorted(answers)}


def _answer(answer: Answer) -> dict:
    schema = answer.schema
    if answer.many:
        schema = {"type": "array", "items": schema}
    response: dict = {"description": answer.description}
    if schema is not None:
        media = answer.media if isinstance(answer.media, tuple) else (answer.media,)
        response["content"] = {m: {"schema": schema} for m in media}
    if answer.headers:
        response["headers"] = answer.headers
    return response


def _query_strings_have_no_null(document: dict) -> None:
    """A query parameter is a string or absent, never null: its schema's `load_default=None`
    (absent means none) is no `nullable` value, `null` default or `null` choice in the document."""
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    schema = parameter["schema"]
                    schema.pop("nullable", None)
                    if "default" in schema and schema["default"] is None:
                        del schema["default"]
                    if "enum" in schema:
                        schema["enum"] = [choice for choice in schema["enum"] if choice is not None]
