"""About the API itself, public: the services' health, and the OpenAPI document as JSON and as
a readable page (both drawn from the route table, these routes included, on first use: the
service hands them over as `c.document()` and `c.page()`, so that this table imports no document)."""

from __future__ import annotations

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from shared.contracts.gateway import HealthSchema

from services.gateway.routes.route import Answer, Call, Route, area

CHECKED = ("registry", "records", "programmes", "referrals", "sync")  # the services whose health the gateway reports


def health_live(c: Call):
    # Answering is the check: this process's event loop runs. Nothing else is asked, so the
    # gateway stays live while another service (or its own database) is down.
    return {"status": "ok"}


def health_ready(c: Call):
    checks = c.ready()
    ready = all(value == "ok" for value in checks.values())
    return (200 if ready else 503), {"status": "ok" if ready else "not_ready", "checks": checks}


def health(c: Call):
    checks = {service: c.probe(getattr(c, service)) for service in CHECKED}
    healthy = all(v == "ok" for v in checks.values())
    return (200 if healthy else 503), {"status": "ok" if healthy else "degraded", "checks": checks}


ROUTES = area(
    "meta",
    Route("GET", "/api/v1/health", "health", None, health,
          summary=f"Each service the gateway calls ({', '.join(CHECKED)}) answers over the broker and reaches "
                  "its database",
          answers=(Answer(200, "All healthy", HealthSchema), Answer(503, "Something is down", HealthSchema))),
    Route("GET", "/api/v1/health/live", "health_live", None, health_live,
          summary="This gateway process answers (liveness; asks no other service)",
          answers=(Answer(200, "Live", HealthSchema),)),
    Route("GET", "/api/v1/health/ready", "health_ready", None, health_ready,
          summary="This gateway's database (as its role), broker and migrations are ready (readiness)",
          answers=(Answer(200, "Ready", HealthSchema), Answer(503, "Not ready, with the failing checks", HealthSchema))),
    Route("GET", "/", "root", None, lambda c: redirect("/api/v1/docs"),
          summary="Leads to this document's readable page",
          answers=(Answer(302, "To /api/v1/docs",
                          headers={"Location": {"schema": {"type": "string", "example": "/api/v1/docs"}}}),)),
    Route("GET", "/api/v1/openapi.json", "openapi", None, lambda c: c.document(),
          summary="This document", answers=(Answer(200, "The document", {"type": "object"}),), documented=False),
    Route("GET", "/api/v1/docs", "docs", None, lambda c: Response(c.page(), mimetype="text/html"),
          summary="This document as a readable HTML page",
          answers=(Answer(200, "The page", {"type": "string"}, media="text/html"),)),
)
