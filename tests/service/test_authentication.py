"""Signing in, tokens, lock-out and API keys, through the HTTP API and the `ehr` commands."""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from click.testing import CliRunner

from ehr.cli import main as ehr
from tests.support.auth import PASSWORD, bearer
from tests.support.db import audit_outcome, execute, query

TOWNSHIP = "T1101051011"


@pytest.fixture(scope="module")
def roomy_throttle():
    """Every test here signs in from 127.0.0.1, more often than one address may in a minute;
    the throttle has tests of its own (test_gateway_limits.py)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("EHR_SIGN_IN_PER_ADDRESS", "1000")
    yield
    patch.undo()


@pytest.fixture(scope="module")
def base(roomy_throttle, module_gateway):
    return module_gateway


def _audit(resp: requests.Response):
    """The audit entry of a response, found by the suite's request id it answered with."""
    return audit_outcome(resp.headers["X-Request-Id"])


def _sign_in(base: str, username: str, password: str) -> requests.Response:
    return requests.post(base + "/api/v1/auth/token", json={"username": username, "password": password})


def test_signing_in_gives_a_bearer_token_that_opens_the_api(base, auth):
    username = auth.user("township_doctor", TOWNSHIP)
    resp = _sign_in(base, username, PASSWORD)
    assert resp.status_code == 200
    token = resp.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 900
    assert (token["role"], token["institution_code"]) == ("township_doctor", TOWNSHIP)
    assert bearer(token["access_token"]).get(base + "/api/v1/villages").status_code == 200
    entry = _audit(resp)
    assert (entry.action, entry.actor, entry.outcome, entry.status) == ("auth.sign_in", username, "ok", 200)
    assert PASSWORD not in str(tuple(entry))


def test_a_wrong_password_and_an_unknown_user_get_the_same_401_and_are_audited(base, auth):
    username = auth.user("village_doctor", "V1101051011")
    wrong = _sign_in(base, username, "not the password at all")
    nobody = _sign_in(base, f"nobody-{uuid.uuid4().hex[:6]}", PASSWORD)
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json()["error"]["message"] == nobody.json()["error"]["message"]
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert _audit(wrong).outcome == "wrong_password"
    assert _audit(nobody).outcome == "unknown_user"


def test_repeated_failures_lock_the_account_and_unlocking_does_not_revive_its_old_tokens(base, auth):
    username = auth.user("township_doctor", TOWNSHIP)
    token = bearer(auth.token(username))
    assert token.get(base + "/api/v1/villages").status_code == 200
    for _ in range(5):  # EHR_LOCKOUT_THRESHOLD
        assert _sign_in(base, username, "a wrong password!").status_code == 401
    locked = _sign_in(base, username, PASSWORD)
    assert locked.status_code == 401
    assert _audit(locked).outcome == "locked"
    refused = token.get(base + "/api/v1/villages")
    assert refused.status_code == 401  # tokens issued before the lock-out stop working too
    assert _audit(refused).outcome == "locked_or_removed"

    result = CliRunner().invoke(ehr, ["user", "unlock", username])
    assert result.exit_code == 0, result.output
    assert _sign_in(base, username, PASSWORD).status_code == 200
    still_refused = token.get(base + "/api/v1/villages")
    assert still_refused.status_code == 401 and _audit(still_refused).outcome == "revoked_token"


def test_a_lock_out_ends_by_itself_when_its_time_is_up(base, auth):
    username = auth.user("township_doctor", TOWNSHIP)
    for _ in range(5):
        _sign_in(base, username, "a wrong password!")
    [user] = query("gateway", "SELECT locked_until - locked_at AS lasts FROM users WHERE username = :u", u=username)
    assert user.lasts.total_seconds() == 900  # EHR_LOCKOUT_SECONDS
    assert _sign_in(base, username, PASSWORD).status_code == 401
    execute("gateway", "UPDATE users SET locked_until = now() - interval '1 second' WHERE username = :u", u=username)
    assert _sign_in(base, username, PASSWORD).status_code == 200
    # and the count starts afresh: one more failure does not lock it again
    assert _audit(_sign_in(base, username, "a wrong password!")).outcome == "wrong_password"
    assert _sign_in(base, username, PASSWORD).status_code == 200


def test_signing_out_everywhere_revokes_every_token_of_the_caller_and_only_theirs(base, auth):
    username, other = auth.user("village_doctor", "V1101051011"), auth.user("village_doctor", "V1101051011")
    first = bearer(_sign_in(base, username, PASSWORD).json()["access_token"])
    second = bearer(_sign_in(base, username, PASSWORD).json()["access_token"])
    bystander = bearer(_sign_in(base, other, PASSWORD).json()["access_token"])
    revoked = first.post(base + "/api/v1/auth/revoke")
    assert revoked.status_code == 200 and revoked.json() == {"username": username, "signed_out": True}
    entry = _audit(revoked)
    assert (entry.action, entry.actor, entry.target, entry.outcome) == ("auth.revoke", username,
                                                                        f"user:{username}", "ok")
    for session in (first, second):
        refused = session.get(base + "/api/v1/villages")
        assert refused.status_code == 401 and _audit(refused).outcome == "revoked_token"
    assert bystander.get(base + "/api/v1/villages").status_code == 200
    fresh = bearer(_sign_in(base, username, PASSWORD).json()["access_token"])
    assert fresh.get(base + "/api/v1/villages").status_code == 200


def test_an_api_key_cannot_sign_itself_out_it_is_revoked_by_an_administrator(base, auth):
    client = bearer(auth.api_key("supervisor", "G1101050001"))
    resp = client.post(base + "/api/v1/auth/revoke")
    assert resp.status_code == 403 and _audit(resp).outcome == "denied"
    assert client.get(base + "/api/v1/villages").status_code == 200


def test_an_administrator_revokes_a_users_tokens_and_a_role_or_password_change_does_too(base, auth):
    username = auth.user("township_doctor", TOWNSHIP)
    for command, stdin in ((["user", "revoke-tokens", username], None),
                           (["user", "role", username, "archive_manager"], None),
                           (["user", "password", username, "--password-stdin"], f"{PASSWORD}!\n")):
        token = bearer(_sign_in(base, username, PASSWORD).json()["access_token"])
        assert token.get(base + "/api/v1/villages").status_code == 200
        result = CliRunner().invoke(ehr, command, input=stdin)
        assert result.exit_code == 0, result.output
        refused = token.get(base + "/api/v1/villages")
        assert refused.status_code == 401 and _audit(refused).outcome == "revoked_token", command
        assert _sign_in(base, username, PASSWORD if stdin is None else PASSWORD + "!").status_code == 200
    attempt, entry = query("gateway", "SELECT * FROM audit_entries WHERE action = 'admin.user_revoke_tokens' "
                                      "AND target = :t ORDER BY seq", t=f"user:{username}")
    assert entry.actor.startswith("cli:") and (attempt.outcome, entry.outcome) == ("attempt", "ok")


def test_no_row_lock_and_no_connection_is_held_while_a_password_is_checked(auth):
    import sqlalchemy as sa
    from sqlalchemy.orm import sessionmaker

    from services.gateway import accounts, credentials
    from shared.config import load_settings
    from shared.db import make_engine

    username = auth.user("township_doctor", TOWNSHIP)
    url = load_settings().database_url_for("gateway")
    engine, other = make_engine(url, pool_size=1, max_overflow=0, pool_timeout=2), make_engine(url, pool_size=1)
    seen = {}

    def verify(password_hash: str, password: str) -> bool:  # argon2's tens of milliseconds happen here
        seen["checked_out"] = engine.pool.checkedout()
        with other.connect() as conn:
            seen["row_free"] = conn.execute(sa.text(
                "SELECT id FROM users WHERE username = :u FOR UPDATE SKIP LOCKED"), {"u": username}).first() is not None
            conn.rollback()
        return credentials.verify_password(password_hash, password)

    try:
        for password, outcome in ((PASSWORD, "ok"), ("a wrong password!", "wrong_password")):
            seen.clear()
            result = accounts.sign_in(sessionmaker(engine), username, password, 5, 900, verify=verify)
            assert result.outcome == outcome
            assert seen == {"checked_out": 0, "row_free": True}
    finally:
        engine.dispose()
        other.dispose()


def test_an_expired_token_is_refused_and_the_refusal_names_the_user(base, auth):
    username = auth.user("township_doctor", TOWNSHIP)
    expired = bearer(auth.token(username, lifetime=60, now=time.time() - 61))
    resp = expired.get(base + "/api/v1/villages")
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthorized"
    entry = _audit(resp)
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
    resp = client.get(base + "/api/v1/villages")
    assert resp.status_code == 401
    entry = _audit(resp)
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
