"""Signing in and out: `POST /api/v1/auth/token` (public, throttled) and `POST /api/v1/auth/revoke`."""

from __future__ import annotations


from shared.contracts.gateway import ErrorSchema, SignedOutSchema, TokenRequestSchema, TokenSchema

from services.gateway import access
from services.gateway.routes.route import Answer, Body, Route, area




ROUTES = area(
    "auth",
    Route("POST", "/api/v1/auth/token", "sign_in", None,
          lambda c: c.gate.sign_in(c.body["username"], c.body["password"], c.request.remote_addr),
          summary="Sign in: username and password for a short-lived bearer token",
          description="Repeated failures (EHR_LOCKOUT_THRESHOLD, 5) lock the account for EHR_LOCKOUT_SECONDS "
                      "(15 minutes; `ehr user unlock` lifts it sooner) and revoke its tokens. Attempts are "
                      "throttled per client address (EHR_SIGN_IN_PER_ADDRESS, 60 a minute) and per username "
                      "(EHR_SIGN_IN_PER_USER, 10 a minute): past either, 429 with `Retry-After`.",
          body=Body(TokenRequestSchema),
          answers=(Answer(200, "Signed in", TokenSchema),
                   Answer(401, "Wrong username or password, or the account is locked", ErrorSchema),
                   Answer(429, "Too many attempts from this address or on this username; "
                               "`details.retry_after` seconds to wait", ErrorSchema,
                          headers={"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}})),
          errors=(413, 503)),
    Route("POST", "/api/v1/auth/revoke", "revoke_tokens", access.AUTH_REVOKE,
          lambda c: c.gate.revoke_tokens(),
          summary="Sign out everywhere: every token issued to you so far stops working (this one too)",
          description="For people; an API key answers 403 (an administrator revokes it with "
                      "`ehr apikey revoke`). An administrator does the same for anyone with "
                      "`ehr user revoke-tokens NAME`; a role or password change does it too.",
          answers=(Answer(200, "Signed out everywhere", SignedOutSchema),),
          errors=(413, 503)),
)
