"""What one web page declares, and how it runs: through the API's own routes.

A `Page` is a method, a werkzeug rule under `/web/` and a handler. `service.py` makes a Nameko
entrypoint of each on `GatewayService` (beside the API's), named `page_<name>`. A handler gets a
`PageCall` and answers a werkzeug `Response` (`c.render(...)`, `c.redirect(...)`).

A page has no access rules of its own. Whatever it shows or changes it gets by running the API
route that answers it (`c.api("get_archive", archive_no=...)`): the route's own handler, with
its body and query loaded by the route's schemas, through `Gate.guard` with the route's action,
as the signed-in user of the page's session. So a page shows exactly what the API would answer
that user, refuses what the API refuses (an archive out of scope is a 404 page, as it is a 404
answer), and every call leaves its audit entry, as an API call does. What a page merely offers
(a button to amend) is asked of the same matrix (`access.permits`); the API call decides.

    Page("GET", "/web/archives/<string:archive_no>", "archive", archive_page)
    def archive_page(c):
        archive = c.api("get_archive", archive_no=c.path["archive_no"])   # 404 page if out of scope
        return c.render("archive.html", archive=archive)

Around every page (`run`): the session cookie (no live session: to the sign-in page; the session
is looked up and marked used once per page request, and the page's API calls run as the user it
found, `WorkerGate(signed_in=...)`), a POST's
CSRF token (missing or wrong: 403, before anything is done), the API's refusals as pages (403,
404, 503) and the security headers: a Content-Security-Policy allowing scripts and styles from
`/web/static/` only (no inline script), no framing, no caching of pages that hold personal data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from shared.contracts.fields import load_input
from shared.errors import EhrError

from services.gateway import access, sessions
from services.gateway.accounts import Caller
from services.gateway.gate import WorkerGate, failure_status, together
from services.gateway.routes import ROUTES, Call, Route
import services.gateway.web.display as display

log = logging.getLogger(__name__)

SESSION_COOKIE = "ehr_session"
SIGN_IN_COOKIE = "ehr_sign_in"  # the sign-in form's own CSRF token (no session yet: double submit)
CSRF_FIELD = "csrf_token"
SIGN_IN_PATH = "/web/sign-in"
HOME_PATH = "/web/worklist"   # a clinician's day starts with what is due; others are sent on to search
SEARCH_PATH = "/web/archives"

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

ROUTES_BY_NAME: dict[str, Route] = {route.name: route for route in ROUTES}

templates = Environment(loader=PackageLoader("services.gateway.web", "templates"),
                        autoescape=select_autoescape(["html"], default=True),
                        trim_blocks=True, lstrip_blocks=True)
templates.globals.update(display.GLOBALS)
templates.filters.update(display.FILTERS)


@dataclass(frozen=True)
class Page:
    method: str                          # "GET" or "POST"
    path: str                            # werkzeug rule under /web/
    name: str                            # the entrypoint is `page_<name>`
    handler: Callable[["PageCall"], Response]
    public: bool = False                 # answered without a session (sign-in, static files)


class SignInAgain(Exception):
    """No live session: the page leads to the sign-in form."""


class CsrfRefused(EhrError):
    status = 403
    code = "csrf"


@dataclass(frozen=True)
class ApiRequest:
    """What the gate and a route's handler read of a request, for a route a page runs: its own
    method (a page's POST may run a GET route), no `Authorization` (the session stands for it)."""

    method: str
    remote_addr: str | None
    headers: dict = field(default_factory=dict)


class _ArchiveReadOnce:
    """The registry as the gates of one GET page see it: each gate reads the path's archive to
    check its scope (`Gate._check_archive`); on one page that changes nothing, the same archive is
    read once. Everything else goes to the registry as it is."""

    def __init__(self, registry) -> None:
        self._registry, self._archives = registry, {}

    def get_archive(self, archive_no):
        if archive_no not in self._archives:
            self._archives[archive_no] = self._registry.get_archive(archive_no)
        return self._archives[archive_no]

    def __getattr__(self, name):
        return getattr(self._registry, name)


@dataclass
class PageCall:
    service: Any                         # the GatewayService worker instance
    request: Any
    path: dict[str, Any]
    session_token: str | None = None
    caller: Caller | None = None
    institution: dict | None = None
    _gate_registry: Any = None

    # -- the API, as the page's user ------------------------------------------------------

    def api(self, route_name: str, body: dict | None = None, query: dict | None = None,
            audit_target: str | None = None, **path) -> Any:
        """Run the API route `route_name` as the session's user and answer its body (a 201's
        too); its refusals raise as they would answer (`NotFound`, `Forbidden`, `ValidationFailed`
        with the field errors, `Conflict`...). `audit_target` names in the call's audit entry
        what the page did with the answer (`print:card`: the card was printed)."""
        route = ROUTES_BY_NAME[route_name]
        gate = WorkerGate(self.service.gate.provider, self.service.gate.worker_ctx, web_session=self.session_token,
                          signed_in=self.caller)
        request = ApiRequest(route.method, self.request.remote_addr)

        def handler():
            if audit_target:
                gate.note(target=audit_target)
            loaded_body = dict(body or {})
            if route.body is not None and not route.body.passthrough:
                loaded_body = load_input(route.body.schema(), loaded_body)
            loaded_query = load_input(route.query(), dict(query or {})) if route.query else {}
            return route.handler(Call(gate, self.service.registry, self.service.records, self.service.relay,
                                      None, request, path, loaded_body, loaded_query,
                                      programmes=self.service.programmes, referrals=self.service.referrals,
                                      sync=self.service.sync))

        if self._gate_registry is None:
            self._gate_registry = _ArchiveReadOnce(self.service.registry) if self.request.method == "GET" \
                else self.service.registry
        result = gate.guard(route.action, request, path, handler, registry=self._gate_registry)
        return result[1] if isinstance(result, tuple) else result

    def together(self, *calls: Callable[[], Any]) -> list[Any]:
        """The answers of independent calls (functions of no arguments running `c.api`), run at
        once on green threads: a page showing several answers waits for the slowest, not for
        their sum. Each is still its own audited API call; the first one's exception is raised."""
        return together(*calls)

    def may(self, action: access.Action) -> bool:
        """Whether the user's role may do `action` (to offer a button; the API call decides)."""
        return self.caller is not None and access.permits(self.caller.role, action)

    # -- answers --------------------------------------------------------------------------

    @property
    def csrf(self) -> str:
        return sessions.csrf_token(self.service.gate.provider.token_key, self.session_token or "")

    def render(self, template: str, status: int = 200, **context) -> Response:
        html = templates.get_template(template).render(
            caller=self.caller, institution=self.institution, csrf=self.csrf if self.session_token else None,
            csrf_field=CSRF_FIELD, may=self.may, access=access, request_path=self.request.path, **context)
        return Response(html, status=status, mimetype="text/html")

    def redirect(self, location: str) -> Response:
        # 303: after a POST the browser GETs the new page (reloading it posts nothing again)
        return Response("", status=303, headers={"Location": location})

    @property
    def form(self):
        return self.request.form


def home_for(c: PageCall) -> str:
    """Where a user who has no work list lands: an operator on the quarantine, a supervisor or
    administrator on the indicators, anyone else on search."""
    if c.may(access.QUARANTINE_LIST):
        return "/web/quarantine"
    if c.may(access.INDICATORS_READ):
        return "/web/indicators"
    return SEARCH_PATH


def open_session_db(service) -> Session:
    return Session(bind=service.gate.provider.engine)


def served_over_tls(request) -> bool:
    """Whether the browser reached us over TLS (directly, or through a proxy that says so)."""
    return request.scheme == "https" or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def _signed_in(c: PageCall) -> None:
    token = c.request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInAgain()
    provider = c.service.gate.provider
    with open_session_db(c.service) as db:
        caller, problem = sessions.caller_for_session(db, token, provider.web_session_idle)
    if caller is None or problem:
        raise SignInAgain()
    c.session_token, c.caller = token, caller
    c.institution = provider.institutions.get(caller.institution_code, c.service.registry.list_institutions)


def _check_csrf(c: PageCall) -> None:
    if not sessions.same(c.csrf, c.request.form.get(CSRF_FIELD)):
        raise CsrfRefused("the form's CSRF token is missing or wrong: reload the page and send it again")


def run(page: Page, service, request, path: dict) -> Response:
    """One page, with what every page has around it (see the module doc)."""
    c = PageCall(service, request, path)
    try:
        if not page.public:
            _signed_in(c)
            if request.method == "POST":
                _check_csrf(c)
        response = page.handler(c)
    except SignInAgain:
        response = c.redirect(f"{SIGN_IN_PATH}?next={quote(request.full_path.rstrip('?'), safe='')}"
                              if request.method == "GET" else SIGN_IN_PATH)
        response.delete_cookie(SESSION_COOKIE, path="/web/")
    except EhrError as exc:
        if exc.status == 401:  # the session ended between the check and the call
            response = c.redirect(SIGN_IN_PATH)
        else:
            response = c.render("error.html", status=exc.status, error=exc)
    except Exception as exc:
        if failure_status(exc) != 503:
            raise  # a bug: http.py logs it and answers 500
        log.warning("dependency unavailable", extra={"page": page.name, "error": type(exc).__name__})
        response = c.render("error.html", status=503, error=None)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html" or response.status_code in (302, 303):
        response.headers["Cache-Control"] = "no-store"
    return response


def page_entrypoint(page: Page, http):
    """The `@http` entrypoint of `page` on GatewayService (`http`: the gateway's decorator)."""

    def handle(self, request, **path):
        return run(page, self, request, path)

    handle.__name__ = handle.__qualname__ = f"page_{page.name}"
    handle.__doc__ = f"{page.method} {page.path}: a web page"
    return http(page.method, page.path)(handle)
