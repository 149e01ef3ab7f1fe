"""The gateway's door: who is calling, may they, and the audit entry of what happened.

`Gate` is the DependencyProvider that owns the gateway database (accounts, API keys, grants,
audit trail), the token signing key and a cache of the registry's institutions. A worker gets a
`WorkerGate`; `service.py` runs the entrypoint of every route that declares an action (see
`routes/`) through `WorkerGate.guard`, which

    1. authenticates `Authorization: Bearer <token or API key>`            401
    2. puts the caller into the worker's context data, so every RPC call carries
       who acted (`shared.actor`)
    3. checks the role may do the action (`access.PERMISSIONS`), and that a write into an
       archive comes from an institution that keeps archives (`access.require_keeping`)  403
    4. for an action on an archive: reads it from the registry (400 / 404) and checks scope;
       out of scope without an unexpired grant it answers 404, as for an unknown archive, and
       under one, 403 for what a grant does not open (`access.UNDER_GRANT`)
    5. for a write (a WRITE action on an archive, or any other POST or PATCH but a search):
       appends an entry with the outcome `attempt` before the handler runs; if that append
       fails, the write is not attempted (503)
    6. runs the handler, then appends one audit entry with the outcome, successful or not,
       before the response leaves (no audit entry, no answer: a failed append is a 503).

A guarded request checks out one database connection and keeps it until its audit entry is
written: the API key or user lookup and a grant lookup are one statement each on it, in
autocommit, and an append is two (`audit.append`: the HMAC link is computed here, under the
head's lock), so a plain read costs three round trips to the gateway database and a write five.
Taking a grant is a transaction of its own (the daily limit, the grant and its `access_granted`
event in the outbox) on a second connection. Every HEAD_LOG_EVERY entries (and at least every
HEAD_LOG_SECONDS) the gateway logs the chain's head (`audit head`, with seq and hash only), a
copy of it the database cannot change. The pool holds a connection per worker and is not
pre-pinged: after a database restart the first request on a dead connection answers 503 (its
audit entry is written on a fresh connection) and the pool reconnects from the next one on.

    Route("GET", "/api/v1/archives/<string:archive_no>", "get_archive", access.ARCHIVE_READ,
          lambda c: c.gate.archive,       # fetched and scope-checked by the guard
          ...)
"""

from __future__ import annotations

import logging
import os
import re
import time
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Callable, Iterator

from eventlet import tpool
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from shared.actor import REQUEST_ID_KEY
from shared.archive_no import ARCHIVE_NO_PATTERN
from shared.config import load_settings
from shared.contracts.registry import NOT_RESPONSIBLE_DOCTOR
from shared.transport.consumer import TRANSIENT_ERRORS
from shared.db import make_engine
from shared.transport.providers import make_cooperative
from shared.transport.together import together  # noqa: F401 - the web pages' (they import no transport)
from shared.errors import Conflict, EhrError, NotFound, ValidationFailed
from shared.institutions import InstitutionDirectory

from services.gateway import access, accounts, audit, credentials, sessions, throttle
from services.gateway.access import Action, Unauthorized

log = logging.getLogger(__name__)

_ARCHIVE_NO = re.compile(ARCHIVE_NO_PATTERN)
_VILLAGE = re.compile(r"^\d{12}$")
_OUTCOMES = {400: "invalid", 401: "unauthenticated", 403: "denied", 404: "not_found", 409: "conflict",
             422: "invalid_transition", 503: "unavailable"}
SIGN_IN_REFUSED = "Wrong username or password, or the account is locked."
# POST for privacy (ID numbers stay out of URLs), but a read: no `attempt` entry before it.
_READS_BY_POST = frozenset({access.ARCHIVE_SEARCH})
HEAD_LOG_EVERY = 1000  # entries between two `audit head` log lines (whoever appends a multiple logs)
HEAD_LOG_SECONDS = 600.0  # and at least this often from each gateway process that appends

TARGET_LENGTH = 80  # the audit entry's `target` column


def disclosed_target(numbers: list[str]) -> str | None:
    """The audit target naming the archive numbers an answer disclosed, in the 80 characters of
    the column: the first number whole, each other one as its digits after the prefix they all
    share (a jurisdiction's numbers share their county's six digits at least), e.g.
    `disclosed:11010500300100001,07,31` for ...00001, ...00007 and ...00031. Numbers that would
    not fit are counted at the end (`+2`)."""
    numbers = sorted(set(numbers))
    if not numbers:
        return None
    shared = len(os.path.commonprefix(numbers))
    parts = [numbers[0], *(n[shared:] for n in numbers[1:])]
    for kept in range(len(parts), 0, -1):
        text = "disclosed:" + ",".join(parts[:kept]) + (f",+{len(parts) - kept}" if kept < len(parts) else "")
        if len(text) <= TARGET_LENGTH:
            return text
    return None  # unreachable: one archive number always fits


def _verify_off_the_hub(password_hash: str, password: str) -> bool:
    # argon2 takes tens of milliseconds of CPU by design; in a thread it does not stall the
    # other requests this process is serving.
    return tpool.execute(credentials.verify_password, password_hash, password)


def failure_status(exc: BaseException) -> int:
    """The status a failure answers: an EhrError's own, 503 for a service or the broker that did
    not answer, else 500 (a bug). The web pages answer with it too."""
    return _failure(exc)


def _failure(exc: BaseException) -> int:
    if isinstance(exc, EhrError):
        return exc.status
    if isinstance(exc, (*TRANSIENT_ERRORS, UnknownService)):
        return 503
    return 500


class WorkerGate:
    """One request's view of the gate; `caller`, `archive` and `draft` are set by `guard`.

    `web_session`: the cookie of a staff web page's session (`services/gateway/web`). A page runs
    each API route it shows through a gate of its own made with it, which authenticates by that
    session instead of the `Authorization` header; everything after is the API's. `signed_in`:
    the caller the page's request found that session to be moments before (`caller_for_session`,
    once per page request, as an API request authenticates once), so that the page's calls do
    not each look the session up and mark it used again."""

    def __init__(self, provider: "Gate", worker_ctx, web_session: str | None = None,
                 signed_in: accounts.Caller | None = None) -> None:
        self.provider = provider
        self.worker_ctx = worker_ctx
        self.web_session = web_session
        self.signed_in = signed_in if web_session is not None else None
        self.caller: accounts.Caller | None = None
        self.archive: dict | None = None
        self.draft: audit.Draft | None = None
        self._denial: str | None = None  # why the gate itself refused, for the audit entry
        self._registry = None
        self._connection: Connection | None = None
        self._db: Session | None = None

    @property
    def request_id(self) -> str | None:
        return self.worker_ctx.context_data.get(REQUEST_ID_KEY)

    def _session(self) -> Session:
        """A session in a transaction, for what reads and then writes (signing in), on a connection
        of its own that goes back to the pool when the session closes."""
        return self.provider.sessionmaker()

    def _request_db(self) -> Session:
        """The request's one session, on its one autocommit connection (see the module doc)."""
        if self._db is None:
            self._connection = self.provider.engine.connect()
            self._db = Session(bind=self._connection, expire_on_commit=False)
        else:
            # Ends what the last statement left open (after a failure, the connection cannot be
            # used again without it); sends nothing in autocommit.
            self._db.rollback()
        return self._db

    def _release(self) -> None:
        if self._db is not None:
            self._db.close()
            self._connection.close()
            self._db = self._connection = None

    # -- the guard ---------------------------------------------------------------------------

    def guard(self, action: Action, request, params: dict[str, Any], handler: Callable[[], Any], registry):
        self._registry = registry
        self.draft = audit.Draft(action=action.name, request_id=self.request_id, **_subject(params))
        try:
            try:
                self._authenticate(request)
                access.require(self.caller.role, action)
                if action in access.KEEPERS_WRITE:
                    access.require_keeping(self._institution(), action)
                if action.archive:
                    self._check_archive(action, params["archive_no"])
                if _writes(action, request):
                    self._append_attempt()
                result = handler()
            except BaseException as exc:
                self.draft.status = _failure(exc)
                self.draft.outcome = self._denial or _OUTCOMES.get(self.draft.status, "error")
                self._append()
                raise
            self.draft.status = result[0] if isinstance(result, tuple) else 200
            self.draft.outcome = "granted" if self.draft.out_of_scope else "ok"
            self._append()
            return result
        finally:
            self._release()

    def _write(self, draft: audit.Draft) -> None:
        """Append `draft` on the request's connection, and log the chain's head now and then."""
        self.provider.appended(audit.append(self._request_db(), draft, self.provider.audit_key))

    def _write_or_refuse(self, draft: audit.Draft, refusal: str) -> None:
        try:
            self._write(draft)
        except Exception as exc:
            log.error("audit append failed", extra={"request_id": self.request_id, "error": type(exc).__name__})
            raise audit.AuditUnavailable(f"the audit trail cannot be written; {refusal}") from exc

    def _append(self) -> None:
        self._write_or_refuse(self.draft, "no answer without its entry")

    def _append_attempt(self) -> None:
        """The entry of a write before it is done: if it cannot be written, neither is the write."""
        self._write_or_refuse(replace(self.draft, outcome=audit.ATTEMPT, status=0), "nothing was changed")

    def _authenticate(self, request) -> None:
        if self.web_session is not None:
            if self.signed_in is not None:
                self._authenticated(self.signed_in, None)
                return
            caller, problem = sessions.caller_for_session(self._request_db(), self.web_session,
                                                          self.provider.web_session_idle)
            self._authenticated(caller, problem)
            return
        scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            self._denial = "no_credentials"
            raise Unauthorized("sign in first: send `Authorization: Bearer <token or API key>`")
        session = self._request_db()
        if credentials.is_api_key(credential):
            caller, problem = accounts.caller_for_api_key(session, credential)
        else:
            caller, problem = accounts.caller_for_token(session, self.provider.token_key, credential)
        self._authenticated(caller, problem)

    def _authenticated(self, caller: accounts.Caller | None, problem: str | None) -> None:
        if caller is not None:
            self.draft.actor, self.draft.actor_kind = caller.name, caller.kind
            self.draft.institution_code, self.draft.role = caller.institution_code, caller.role
        if problem:
            self._denial = problem
            raise Unauthorized("the token or API key is not valid (expired, revoked or wrong); sign in again")
        self.caller = caller
        # RPC clients of this worker publish with this very dict: every call now says who acted.
        self.worker_ctx.context_data.update(caller.actor(self.request_id).as_context())

    def _institution(self) -> dict | None:
        return self.provider.institutions.get(self.caller.institution_code, self._registry.list_institutions)

    def _check_archive(self, action: Action, archive_no: str) -> None:
        archive = self._registry.get_archive(archive_no)  # ValidationFailed 400, NotFound 404
        institution = self._institution()
        grant = None
        if action.archive != access.GRANT and not access.archive_in_scope(institution, archive):
            grant = accounts.active_grant(self._request_db(), self.caller, archive_no)
        decision = access.decide_archive(action, institution, archive, grant is not None)
        self.draft.out_of_scope = decision.out_of_scope
        if grant is not None:
            self.draft.reason = grant.reason
        if decision.beyond_grant:
            self._denial = "beyond_grant"
            raise access.beyond_grant(action, archive_no)
        if not decision.allowed:
            self._denial = "out_of_scope"
            raise access.no_such_archive(archive_no)
        self.archive = archive

    # -- what handlers ask of the gate -------------------------------------------------------

    def note(self, archive_no: str | None = None, target: str | None = None) -> None:
        """Name in the audit entry what the request turned out to touch (e.g. the new archive)."""
        if archive_no and _ARCHIVE_NO.match(archive_no):
            self.draft.archive_no = archive_no
        if target:
            self.draft.target = target

    @contextmanager
    def disclosing(self) -> Iterator[None]:
        """Around a registry call whose refusal may name archives (a 409 with the archive that
        holds an ID or card number, or the possible duplicates): the audit entry's target says
        which archive numbers the answer disclosed. The registry names only archives inside the
        scope it was given; this records which ones it did."""
        try:
            yield
        except Conflict as exc:
            numbers = [exc.details.get("archive_no"), *(d.get("archive_no") for d in
                                                        exc.details.get("possible_duplicates") or [])]
            self.note(target=disclosed_target([n for n in numbers if isinstance(n, str)]))
            raise

    def require_village(self, village_code) -> None:
        """Creating in a village outside the caller's jurisdiction is refused (403). A malformed
        code is left for the registry to refuse with its field error (400)."""
        if isinstance(village_code, str) and _VILLAGE.match(village_code) \
                and not access.village_in_scope(self._institution(), village_code):
            raise access.Forbidden("the village is outside your jurisdiction", {"village_code": village_code})

    def require_responsible_doctor(self, username, institution_code) -> None:
        """An archive's 责任医生 must be a clinician of its managing institution
        (`access.may_be_responsible`); users live here, so the gateway checks it (400 naming
        `responsible_doctor`). A value that is no username is left for the registry to refuse."""
        if not isinstance(username, str) or not accounts.USERNAME.match(username):
            return
        if not access.may_be_responsible(accounts.staff_member(self._request_db(), username), institution_code):
            raise ValidationFailed("not a clinician of the managing institution",
                                   {"responsible_doctor": [NOT_RESPONSIBLE_DOCTOR]})

    def jurisdiction(self) -> str | None:
        return access.jurisdiction(self._institution())

    def scope(self) -> dict[str, str | None]:
        """The caller's jurisdiction as the registry confines a search to it."""
        return access.search_scope(self._institution())

    def archive_in_scope(self, archive_no: str, field: str) -> dict:
        """The archive `archive_no` leads to, if it lies in the caller's scope (grants do not
        count); otherwise 404 naming `field`, as for an unknown archive."""
        archive = self._registry.get_archive(archive_no)
        if not access.archive_in_scope(self._institution(), archive):
            self.draft.out_of_scope = True
            self._denial = "out_of_scope"
            raise NotFound("no such archive", {field: archive_no})
        return archive

    def transfer_side(self, transfer: dict, *sides: str) -> dict:
        """`transfer` if the caller stands on one of `sides` of it, else 404 as for an unknown one."""
        self.note(archive_no=transfer.get("from_archive_no"), target=f"transfer:{transfer['transfer_id']}")
        if not access.transfer_sides(self._institution(), transfer) & set(sides):
            self.draft.out_of_scope = True
            self._denial = "out_of_scope"
            raise NotFound("no such transfer", {"transfer_id": transfer["transfer_id"]})
        return transfer

    def under_referral(self, referral_id: int) -> None:
        """What the request reads it reads under an open referral addressed to the caller's
        institution: the audit entry says so (out of scope, reason `referral:<id>`), as for a grant."""
        self.draft.out_of_scope = True
        self.draft.reason = f"referral:{referral_id}"

    def grant(self, archive_no: str, reason: str) -> dict:
        """Open an archive outside the caller's scope for `grant_lifetime` seconds, with a reason
        (at most `grant_daily_limit` grants a user in 24 hours: 429 past it). The grant and its
        `access_granted` event are written in one transaction; the caller wakes the relay."""
        self.draft.reason = reason
        if not self.draft.out_of_scope:
            return {"archive_no": archive_no, "out_of_scope": False, "reason": reason, "expires_at": None}
        try:
            with self._session() as session:
                grant = accounts.grant_access(session, self.caller, archive_no, reason, self.provider.grant_lifetime,
                                              owner=self.archive, daily_limit=self.provider.grant_daily_limit,
                                              request_id=self.request_id)
        except access.TooManyGrants:
            self._denial = "grant_limit"
            raise
        return {"archive_no": archive_no, "out_of_scope": True, "reason": grant.reason,
                "expires_at": grant.expires_at.isoformat()}

    def grants(self, since: str | None, limit: int, cursor: str | None) -> dict:
        """The grants others took on archives of the caller's jurisdiction (see `accounts.list_grants`)."""
        return accounts.list_grants(self._request_db(), self.scope(), since=since, limit=limit, cursor=cursor)

    # -- signing in --------------------------------------------------------------------------

    def sign_in(self, username: str, password: str, address: str | None) -> dict:
        """A token for a right password, unless this address or username is over the throttle
        (429) or the account is locked (`check_password`)."""
        caller, version = self.check_password(username, password, address)
        lifetime = self.provider.token_lifetime
        token = credentials.issue_token(self.provider.token_key, caller.name, lifetime, version=version)
        return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime, "username": caller.name,
                "role": caller.role, "institution_code": caller.institution_code}

    def open_session(self, username: str, password: str, address: str | None) -> tuple[accounts.Caller, str]:
        """A web page's sign-in: the same check as the API's (`check_password`), and a session
        instead of a token: (caller, the cookie's value)."""
        caller, version = self.check_password(username, password, address)
        with self._session() as session:
            token = sessions.open_session(session, caller.name, version, self.provider.web_session_lifetime)
        return caller, token

    def close_session(self, token: str) -> None:
        """A web page's sign-out: the session ends, and the audit trail says so (`auth.sign_out`)."""
        try:
            username = sessions.end_session(self._request_db(), token)
        finally:
            self._release()
        if username is not None:
            caller, _ = accounts.caller_for_user(self._request_db(), username, None)
            self._append_once(audit.Draft(action=access.SIGN_OUT.name, actor=username, actor_kind=accounts.USER,
                                          institution_code=caller.institution_code, role=caller.role,
                                          request_id=self.request_id, outcome="ok", status=200))

    def check_password(self, username: str, password: str, address: str | None) -> tuple[accounts.Caller, int]:
        """The caller and their token version for a right password, unless this address or
        username is over the throttle (429) or the account is locked (401); audited as
        `auth.sign_in` whatever the outcome. No connection is held while argon2 runs (see
        `accounts.sign_in`), and the verification runs in a thread."""
        draft = audit.Draft(action=access.SIGN_IN.name, actor=username, actor_kind=accounts.USER,
                            request_id=self.request_id)
        try:
            wait = throttle.sign_in_wait(self._request_db(), address, username, self.provider.sign_in_limits)
        finally:
            self._release()
        if wait is not None:
            draft.status, draft.outcome = 429, "throttled"
            self._append_once(draft)
            raise throttle.throttled(wait)
        result = accounts.sign_in(self._session, username, password, self.provider.lockout_threshold,
                                  self.provider.lockout_seconds, verify=_verify_off_the_hub)
        draft.outcome = result.outcome
        if result.caller is None:
            draft.status = 401
            self._append_once(draft)
            raise Unauthorized(SIGN_IN_REFUSED)
        caller = result.caller
        draft.status, draft.institution_code, draft.role = 200, caller.institution_code, caller.role
        self._append_once(draft)
        return caller, result.token_version

    def revoke_tokens(self) -> dict:
        """Sign the calling user out everywhere (this token included). API keys are revoked with
        `ehr apikey revoke` instead."""
        if self.caller.kind != accounts.USER:
            raise access.Forbidden("an API key has no tokens; an administrator revokes it with `ehr apikey revoke`",
                                   {"action": access.AUTH_REVOKE.name})
        self.note(target=f"user:{self.caller.name}")
        accounts.revoke_tokens(self._request_db(), self.caller.name)
        return {"username": self.caller.name, "signed_out": True}

    def _append_once(self, draft: audit.Draft) -> None:
        try:
            self._write(draft)
        finally:
            self._release()


def _writes(action: Action, request) -> bool:
    """Whether the request may change something (and so leaves an entry before it does)."""
    return action.archive == access.WRITE or (request.method in ("POST", "PATCH", "PUT", "DELETE")
                                             and action not in _READS_BY_POST)


def _subject(params: dict[str, Any]) -> dict[str, Any]:
    """The audit entry's archive and target from the path, stored only in shapes that fit."""
    subject: dict[str, Any] = {}
    archive_no = params.get("archive_no")
    if archive_no is not None:
        if _ARCHIVE_NO.match(archive_no):
            subject["archive_no"] = archive_no
        else:
            subject["target"] = f"archive_no:{archive_no}"
    for name in ("record_id", "quarantine_id", "pending_id", "transfer_id", "merge_id", "suggestion_id"):
        if params.get(name) is not None:
            subject["target"] = f"{name.removesuffix('_id')}:{params[name]}"
    return subject


class Gate(DependencyProvider):
    """Authentication, authorisation and the audit trail of the gateway (see the module doc)."""

    def setup(self) -> None:
        settings = load_settings()
        self.token_key = settings.require_token_key()
        self.audit_key = settings.require_audit_key()
        self.head_logged_at = float("-inf")
        self.token_lifetime = settings.token_lifetime
        self.lockout_threshold = settings.lockout_threshold
        self.lockout_seconds = settings.lockout_seconds
        self.sign_in_limits = throttle.Limits(per_address=settings.sign_in_per_address,
                                              per_user=settings.sign_in_per_user, window=settings.sign_in_window)
        self.grant_lifetime = settings.grant_lifetime
        self.grant_daily_limit = settings.grant_daily_limit
        self.web_session_idle = settings.web_session_idle
        self.web_session_lifetime = settings.web_session_lifetime
        # A connection per worker (a guarded request keeps one until its audit entry is written)
        # and a few for signing in; autocommit, not pre-pinged: see the module doc.
        workers = self.container.max_workers
        make_cooperative()
        self.engine = make_engine(settings.service_url_for("gateway"), isolation_level="AUTOCOMMIT",
                                  pool_pre_ping=False, pool_size=workers, max_overflow=2)
        self.sessionmaker = sessionmaker(self.engine.execution_options(isolation_level="READ COMMITTED"),
                                         expire_on_commit=False)
        self.institutions = InstitutionDirectory()

    def appended(self, entry: audit.Appended) -> None:
        """Log the chain's head now and then, outside the database's reach (see the module doc)."""
        now = time.monotonic()
        if entry.seq % HEAD_LOG_EVERY == 0 or now - self.head_logged_at >= HEAD_LOG_SECONDS:
            self.head_logged_at = now
            log.info("audit head", extra={"audit_seq": entry.seq, "audit_hash": audit.log_safe(entry.hash)})

    def stop(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.dispose()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx) -> WorkerGate:
        return WorkerGate(self, worker_ctx)

