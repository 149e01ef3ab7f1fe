"""The gateway: the suite's HTTP edge. It owns no clinical data; every answer comes from the
services over RPC. It owns who may ask (users, API keys, roles, grants) and the audit trail of
what was asked, in its own database (see `gate.py` and `access.py`).

Its routes are declared once each, by area, in `routes/` (method, path, action, body and query
schemas, handler, what the OpenAPI document says). `GatewayService` gets one `@http` entrypoint
per route, named for it (`get_archive`, `accept_transfer`, ...), which runs the route: a route
with an action goes through `Gate.guard` (authenticated, checked against the role matrix and
the caller's scope, and audited, whatever its outcome); then its body and query are loaded as it
declares and its handler answers. Public routes (sign-in, health, the document) skip the gate.

    GET /api/v1/archives/11010510110100001   -> routes/archives.py "get_archive"
                                                 (access.ARCHIVE_READ) -> the archive, 200
"""

from __future__ import annotations

from functools import cache

import eventlet

from shared.config import load_settings
from shared.transport.health import readiness
from shared.transport.outbox import OutboxRelay
from shared.transport.rpc import BoundedServiceRpc

from services.gateway.descriptor import GATEWAY
from services.gateway.docs_page import render
from services.gateway.gate import Gate
from services.gateway.http import http
from services.gateway.openapi import build_spec
from services.gateway.routes import ROUTES, Call, Route
from services.gateway.routes.route import read_input
from services.gateway.web.pages import PAGES
from services.gateway.web.page import page_entrypoint

HEALTH_TIMEOUT = 3.0


def probe(client) -> str:
    """A service's health through its RPC client: "ok", or why not within HEALTH_TIMEOUT seconds."""
    try:
        with eventlet.Timeout(HEALTH_TIMEOUT):
            client.health()
        return "ok"
    except (Exception, eventlet.Timeout) as exc:  # noqa: BLE001 - any failure is "down"
        return f"unavailable ({type(exc).__name__})"


@cache
def document() -> dict:
    """The OpenAPI document (`openapi.build_spec`), drawn from the route table once."""
    return build_spec()


@cache
def page() -> str:
    return render(document())


def ready() -> dict[str, str]:
    """This gateway's readiness: its database as its role, the broker, migrations at head."""
    return readiness(GATEWAY, load_settings())


class GatewayService:
    name = "gateway"

    registry = BoundedServiceRpc("registry")
    records = BoundedServiceRpc("records")
    programmes = BoundedServiceRpc("programmes")
    referrals = BoundedServiceRpc("referrals")
    sync = BoundedServiceRpc("sync")
    gate = Gate()
    relay = OutboxRelay("gateway")

    def _run(self, route: Route, request, path: dict):
        """The route's handler, with its body and query read as the route declares them."""
        body, query = read_input(route, request)
        return route.handler(Call(self.gate, self.registry, self.records, self.relay, probe, request, path,
                                  body, query, ready, document, page, programmes=self.programmes,
                                  referrals=self.referrals, sync=self.sync))


def entrypoint(route: Route):
    """The `@http` entrypoint of `route`, named for it: through the gate if it has an action."""

    def handle(self, request, **path):
        if route.action is None:
            return self._run(route, request, path)
        return self.gate.guard(route.action, request, path, lambda: self._run(route, request, path),
                               registry=self.registry)

    handle.__name__ = handle.__qualname__ = route.name
    handle.__doc__ = f"{route.method} {route.path}: {route.summary}"
    return http(route.method, route.path, body_bytes=route.body_bytes)(handle)


for _route in ROUTES:
    setattr(GatewayService, _route.name, entrypoint(_route))

# The staff's web pages (services/gateway/web): each runs the API routes it shows, through the gate.
for _page in PAGES:
    setattr(GatewayService, f"page_{_page.name}", page_entrypoint(_page, http))
