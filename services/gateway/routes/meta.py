"""About the API itself, public: the services' health, and the OpenAPI document as JSON and as
a readable page (both drawn from the route table, these routes included, on first use)."""

from __future__ import annotations

from functools import cache

from werkzeug.wrappers import Response

from shared.api import HealthSchema

from services.gateway.docs_page import render
from services.gateway.routes.route import Answer, Call, Route, area

CHECKED = ("registry", "records")  # the services whose health the gateway reports


def health(c: Call):
    checks = {service: c.probe(getattr(c, service)) for service in CHECKED}
    healthy = all(v == "ok" for v in checks.values())
    return (200 if healthy else 503), {"status": "ok" if healthy else "degraded", "checks": checks}


@cache
def document() -> dict:
    """The OpenAPI document (`openapi.build_spec`), built once."""
    from services.gateway.openapi import build_spec  # here: the document is drawn from this module too

    return build_spec()


@cache
def page() -> str:
    return render(document())


ROUTES = area(
    "meta",
    Route("GET", "/api/v1/health", "health", None, health,
          summary="Broker and databases reachable",
          answers=(Answer(200, "All healthy", HealthSchema), Answer(503, "Something is down", HealthSchema))),
    Route("GET", "/api/v1/openapi.json", "openapi", None, lambda c: document(),
          summary="This document", answers=(Answer(200, "The document", {"type": "object"}),), documented=False),
    Route("GET", "/api/v1/docs", "docs", None, lambda c: Response(page(), mimetype="text/html"),
          summary="This document as a readable HTML page",
          answers=(Answer(200, "The page", {"type": "string"}, media="text/html"),)),
)
