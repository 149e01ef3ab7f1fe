"""Signing in and out of the web pages.

Signing in checks the password exactly as `POST /api/v1/auth/token` does (`Gate.check_password`:
the throttle, the lock-out, the audit entry `auth.sign_in`) and opens a session instead of
issuing a token: an HttpOnly, SameSite=Strict cookie holding a random value whose SHA-256 the
gateway keeps (`services/gateway/sessions.py`), Secure when the page was served over TLS. The
sign-in form has no session yet, so its CSRF token is a random cookie the form repeats (double
submit). Signing out deletes the session and is audited (`auth.sign_out`)."""

from __future__ import annotations

import secrets

from shared.errors import EhrError

from services.gateway.web.page import (HOME_PATH, SESSION_COOKIE, SIGN_IN_COOKIE, CsrfRefused, Page, PageCall,
                                       served_over_tls)
from services.gateway import sessions

COOKIE_PATH = "/web/"


def _next(value: str | None) -> str:
    """Where to go after signing in: a page of ours only (never another site)."""
    if value and value.startswith("/web/") and not value.startswith("/web/sign-") and "//" not in value:
        return value
    return HOME_PATH


def sign_in_form(c: PageCall, status: int = 200, error: str | None = None, username: str = ""):
    token = c.request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)
    response = c.render("sign_in.html", status=status, sign_in_csrf=token, error=error, username=username,
                        next=_next(c.request.values.get("next")))
    response.set_cookie(SIGN_IN_COOKIE, token, httponly=True, samesite="Strict", secure=served_over_tls(c.request),
                        path=COOKIE_PATH)
    return response


def sign_in(c: PageCall):
    if not sessions.same(c.request.cookies.get(SIGN_IN_COOKIE) or "", c.form.get("csrf_token")) \
            or not c.request.cookies.get(SIGN_IN_COOKIE):
        raise CsrfRefused("the sign-in form's token is missing or wrong: reload the page")
    username, password = (c.form.get("username") or "").strip(), c.form.get("password") or ""
    if not username or not password:
        return sign_in_form(c, 400, "请输入用户名和密码。", username)
    try:
        _, token = c.service.gate.open_session(username, password, c.request.remote_addr)
    except EhrError as exc:
        if exc.status == 429:
            return sign_in_form(c, 429, f"尝试次数过多，请 {exc.details.get('retry_after', 60)} 秒后再试。", username)
        if exc.status == 401:
            return sign_in_form(c, 401, "用户名或密码错误，或账户已被锁定。", username)
        raise
    response = c.redirect(_next(c.form.get("next")))
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Strict", secure=served_over_tls(c.request),
                        path=COOKIE_PATH)
    response.delete_cookie(SIGN_IN_COOKIE, path=COOKIE_PATH)
    return response


def sign_out(c: PageCall):
    c.service.gate.close_session(c.session_token)
    response = c.redirect("/web/sign-in")
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


PAGES = (
    Page("GET", "/web/", "home", lambda c: c.redirect(HOME_PATH), public=True),
    Page("GET", "/web/sign-in", "sign_in_form", sign_in_form, public=True),
    Page("POST", "/web/sign-in", "sign_in", sign_in, public=True),
    Page("POST", "/web/sign-out", "sign_out", sign_out),
)
