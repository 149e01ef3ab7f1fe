"""Signing in, tokens, lock-out and API keys, through the HTTP API and the `ehr` commands."""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from click.testing import CliRunner

from ehr.cli import main as ehr
from tests.support.auth import PASSWORD, bearer
from tests.support.db import query

TOWNSHIP = "T1101051011"


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway


def _audit(request_id: str):
    [entry] = query("gateway", "SELECT * FROM audit_entries WHERE request_id = :r", r=request_id)
    return entry


def _sign_in(base: str, username: str, password: str) -> requests.Response:
    return requests.post(base + "/api/v1/auth/token", json={"username": username, "password": password},
                         headers={"X-Request-Id": f"signin-{uuid.uuid4().hex}"})


def test_signing_in_gives_a_bearer_token_that_opens_the_api(base, auth):
    username = auth.user("township_doctor", TOWNSHIP)
    resp = _sign_in(base, username, PASSWORD)
    assert resp.status_code == 200
    token = resp.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 900
    assert (token["role"], token["institution_code"]) == ("township_doctor", TOWNSHIP)
    assert bearer(token["access_token"]).get(base + "/api/v1/villages").status_code == 200
    entry = _audit(resp.request.headers["X-Request-Id"])
    assert (entry.action, entry.actor, entry.outcome, entry.status) == ("auth.sign_in", username, "ok", 200)
    assert PASSWORD not in str(tuple(entry))


def test_a_wrong_password_and_an_unknown_user_get_the_same_401_and_are_audited(base, auth):
    username = auth.user("village_doctor", "V1101051011")
    wrong = _sign_in(base, username, "not the password at all")
    nobody = _sign_in(base, f"nobody-{uuid.uuid4().hex[:6]}", PASSWORD)
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json()["error"]["message"] == nobody.json()["error"]["message"]
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert _audit(wrong.request.headers["X-Request-Id"]).outcome == "wrong_password"
    assert _audit(nobody.request.headers["X-Request-Id"]).outcome == "unknown_user"


def test_repeated_failures_lock_the_account_until_an_administrator_unlocks_it(base, auth, suite_env):
    username = auth.user("township_doctor", TOWNSHIP)
    token = bearer(auth.token(username))
    assert token.get(base + "/api/v1/villages").status_code == 200
    for _ in range(5):  # EHR_LOCKOUT_THRESHOLD
        assert _sign_in(base, username, "a wrong password!").status_code == 401
    locked = _sign_in(base, username, PASSWORD)
    assert locked.status_code == 401
    assert _audit(locked.request.headers["X-Request-Id"]).outcome == "locked"
    refused = token.get(base + "/api/v1/villages", headers={"X-Request-Id": f"locked-{uuid.uuid4().hex}"})
    assert refused.status_code == 401  # tokens issued before the lock-out stop working too
    assert _audit(refused.request.headers["X-Request-Id"]).outcome == "locked_or_removed"

    result = CliRunner().invoke(ehr, ["user", "unlock", username])
    assert result.exit_code == 0, result.output
    assert _sign_in(base, username, PASSWORD).status_code == 200
    assert token.get(base + "/api/v1/villages").status_code == 200


def test_an_expired_token_is_refused_and_the_refusal_names_the_user(base, auth):
    username = auth.user("township_doctor", TOWNSHIP)
    expired = bearer(auth.token(username, lifetime=60, now=time.time() - 61))
    resp = expired.get(base + "/api/v1/villages", headers={"X-Request-Id": f"expired-{uuid.uuid4().hex}"})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthorized"
    entry = _audit(resp.request.headers["X-Request-Id"])
    assert (entry.actor, entry.outcome, entry.action) == (username, "expired_token", "reference.villages")
    assert bearer(auth.token(username, lifetime=60)).get(base + "/api/v1/villages").status_code == 200


def test_a_token_signed_with_another_key_or_tampered_with_is_refused(base, auth):
    from services.gateway.credentials import issue_token

    username = auth.user("township_doctor", TOWNSHIP)
    forged = issue_token(b"k" * 32, username, 600)
    good = auth.token(username)
    header, claims, signature = good.split(".")
    for token in (forged, f"{header}.{claims}x.{signature}", "garbage", "a.b.c"):
        assert bearer(token).get(base + "/api/v1/villages").status_code == 401


def test_an_api_key_added_on_the_command_line_works_until_it_is_revoked(base):
    name = f"sunhe-his-{uuid.uuid4().hex[:6]}"
    added = CliRunner().invoke(ehr, ["apikey", "add", name, "--institution", TOWNSHIP, "--role", "township_system"])
    assert added.exit_code == 0, added.output
    key = added.stdout.strip().splitlines()[0]
    assert key.startswith("ehrk_")
    [row] = query("gateway", "SELECT key_digest FROM api_keys WHERE name = :n", n=name)
    assert key not in row.key_digest

    client = bearer(key)
    assert client.get(base + "/api/v1/villages").status_code == 200
    assert CliRunner().invoke(ehr, ["apikey", "revoke", name]).exit_code == 0
    resp = client.get(base + "/api/v1/villages", headers={"X-Request-Id": f"revoked-{uuid.uuid4().hex}"})
    assert resp.status_code == 401
    entry = _audit(resp.request.headers["X-Request-Id"])
    assert (entry.actor, entry.outcome) == (f"apikey:{name}", "revoked_key")


def test_the_first_administrator_is_made_on_the_command_line_and_weak_passwords_are_refused(base):
    username = f"admin-{uuid.uuid4().hex[:6]}"
    command = ["user", "add", username, "--institution", TOWNSHIP, "--role", "institution_admin", "--password-stdin"]
    weak = CliRunner().invoke(ehr, command, input="short\n")
    assert weak.exit_code != 0 and "12 characters" in weak.output
    made = CliRunner().invoke(ehr, command, input=f"{PASSWORD}\n")
    assert made.exit_code == 0, made.output
    assert _sign_in(base, username, PASSWORD).status_code == 200

    misfit = CliRunner().invoke(ehr, ["user", "add", f"v-{username}", "--institution", "H1101050002",
                                      "--role", "village_doctor", "--password-stdin"], input=f"{PASSWORD}\n")
    assert misfit.exit_code != 0 and "village_clinic" in misfit.output
    changed = CliRunner().invoke(ehr, ["user", "role", username, "supervisor"])
    assert changed.exit_code == 0, changed.output
    assert _sign_in(base, username, PASSWORD).json()["role"] == "supervisor"
    attempt, entry = query("gateway", "SELECT * FROM audit_entries WHERE action = 'admin.user_role' "
                                      "AND target = :t ORDER BY seq", t=f"user:{username}")
    assert entry.actor.startswith("cli:") and (attempt.outcome, entry.outcome) == ("attempt", "ok")


def test_every_response_carries_a_request_id_and_public_endpoints_need_no_credentials(base):
    for path in ("/api/v1/health", "/api/v1/openapi.json", "/api/v1/docs"):
        resp = requests.get(base + path)
        assert resp.status_code == 200 and resp.headers["X-Request-Id"]
    docs = requests.get(base + "/api/v1/docs")
    assert docs.headers["Content-Type"].startswith("text/html")
    assert "/api/v1/archives/{archive_no}/access" in docs.text and "AccessGrantRequest" in docs.text
    denied = requests.get(base + "/api/v1/villages")
    assert denied.status_code == 401 and denied.headers["X-Request-Id"]
