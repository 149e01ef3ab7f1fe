"""`ehr user ...`, `ehr apikey ...`, `ehr audit ...`: the administrator's commands.

They run on the server and talk to the gateway database directly (EHR_* settings, as every
process of the suite), so the first administrator can be created before anyone can sign in:

    ehr user add admin01 --institution T1101051011 --role institution_admin   # asks for the password
    echo "$PASSWORD" | ehr user add doc01 --institution V1101051011 --role village_doctor --password-stdin
    ehr user role doc01 township_doctor
    ehr user unlock doc01
    ehr apikey add sunhe-his --institution T1101051011 --role township_system     # prints the key once
    ehr apikey revoke sunhe-his
    ehr audit verify                      # exit 1 naming the first broken entry
    ehr audit archive 11010510110100003   # who looked at this archive
    ehr audit user doc01                  # what this user did (API keys: apikey:NAME)

Account changes are themselves written to the audit trail, as `cli:<login name>`.
"""

from __future__ import annotations

import getpass
import json
import sys
from contextlib import contextmanager

import click

from services.gateway import access

ROLE = click.Choice(access.USER_ROLES)
KEY_ROLE = click.Choice(access.API_KEY_ROLES)


@contextmanager
def gateway_session():
    from sqlalchemy.orm import Session

    from shared.config import load_settings
    from shared.db import make_engine

    engine = make_engine(load_settings().database_url_for("gateway"), pool_size=1, max_overflow=0)
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


def institution_kind(code: str) -> str:
    """The kind of a registered institution, read from the registry database (this is a tool run
    on the server, before any service may be up); unknown codes are refused."""
    import sqlalchemy as sa

    from shared.config import load_settings
    from shared.db import make_engine

    engine = make_engine(load_settings().database_url_for("registry"), pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            kind = conn.scalar(sa.text("SELECT kind FROM institutions WHERE code = :code"), {"code": code})
    except sa.exc.OperationalError:
        raise click.ClickException("cannot read the registry database (is `ehr migrate` done and "
                                   "PostgreSQL up?)") from None
    finally:
        engine.dispose()
    if kind is None:
        raise click.BadParameter(f"no institution {code!r} in the registry", param_hint="--institution")
    return kind


def _check_role(role: str, institution: str) -> None:
    kind = institution_kind(institution)
    if not access.role_fits_institution(role, kind):
        allowed = ", ".join(sorted(access.ROLE_INSTITUTION_KINDS[role] or ()))
        raise click.BadParameter(f"a {role} belongs to a {allowed}, not a {kind}", param_hint="--role")


@contextmanager
def _admin(action: str, **subject):
    """Run an account change; record it in the audit trail; turn expected errors into messages."""
    from services.gateway import audit
    from shared.errors import EhrError

    try:
        with gateway_session() as session:
            yield session
            audit.append(session, audit.Draft(action=action, actor=f"cli:{getpass.getuser()}", actor_kind="cli",
                                              outcome="ok", status=200, **subject))
    except EhrError as exc:
        raise click.ClickException(f"{exc.message}: {json.dumps(exc.details, ensure_ascii=False)}") from None


def _read_password(username: str, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(f"password for {username}", hide_input=True, confirmation_prompt=True)


@click.group()
def user() -> None:
    """People who sign in to the gateway: add, change role, unlock."""


@user.command("add")
@click.argument("username")
@click.option("--institution", required=True, help="institution code, e.g. T1101051011")
@click.option("--role", type=ROLE, required=True)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def user_add(username, institution, role, password_stdin):
    """Create an account (at least 12 characters of password; no default exists)."""
    from services.gateway import accounts

    _check_role(role, institution)
    password = _read_password(username, password_stdin)
    with _admin("admin.user_add", target=f"user:{username}", institution_code=institution, role=role) as session:
        accounts.create_user(session, username, password, institution, role)
    click.echo(f"user {username} ({role} at {institution}) created")


@user.command("role")
@click.argument("username")
@click.argument("role", type=ROLE)
def user_role(username, role):
    """Give a user another role (effective at their next request)."""
    from services.gateway import accounts

    with _admin("admin.user_role", target=f"user:{username}", role=role) as session:
        _check_role(role, accounts.get_user(session, username).institution_code)
        accounts.set_role(session, username, role)
    click.echo(f"user {username} is now {role}")


@user.command("unlock")
@click.argument("username")
def user_unlock(username):
    """Lift a lock-out after repeated failed sign-ins."""
    from services.gateway import accounts

    with _admin("admin.user_unlock", target=f"user:{username}") as session:
        accounts.unlock(session, username)
    click.echo(f"user {username} unlocked")


@user.command("list")
def user_list():
    from services.gateway import accounts

    with gateway_session() as session:
        for u in accounts.list_users(session):
            state = "locked" if u.locked_at else "active"
            click.echo(f"{u.username:24} {u.role:18} {u.institution_code:12} {state}")


@click.group()
def apikey() -> None:
    """API keys of system clients (township and hospital systems): add, revoke."""


@apikey.command("add")
@click.argument("name")
@click.option("--institution", required=True, help="institution code, e.g. T1101051011")
@click.option("--role", type=KEY_ROLE, required=True)
def apikey_add(name, institution, role):
    """Create a key and print it once; the client sends `Authorization: Bearer KEY`."""
    from services.gateway import accounts

    _check_role(role, institution)
    with _admin("admin.apikey_add", target=f"apikey:{name}", institution_code=institution, role=role) as session:
        key = accounts.add_api_key(session, name, institution, role)
    click.echo(key)
    click.echo(f"API key {name} ({role} at {institution}): shown this once, only its hash is stored", err=True)


@apikey.command("revoke")
@click.argument("name")
def apikey_revoke(name):
    """Revoke a key at once (its name can then be given to a replacement)."""
    from services.gateway import accounts

    with _admin("admin.apikey_revoke", target=f"apikey:{name}") as session:
        accounts.revoke_api_key(session, name)
    click.echo(f"API key {name} revoked")


@apikey.command("list")
def apikey_list():
    from services.gateway import accounts

    with gateway_session() as session:
        for k in accounts.list_api_keys(session):
            state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "live"
            click.echo(f"{k.name:24} {k.role:16} {k.institution_code:12} {state}")


@click.group()
def audit() -> None:
    """The audit trail: verify its chain, who looked at an archive, what a user did."""


def _entries(entries) -> None:
    from services.gateway.audit import as_dict

    if not entries:
        click.echo("(none)")
    for entry in entries:
        e = as_dict(entry)
        flag = " OUT-OF-SCOPE" if e["out_of_scope"] else ""
        reason = f" reason={e['reason']!r}" if e["reason"] else ""
        click.echo(f"{e['seq']:>8} {e['at'][:19]} {e['actor']} ({e['role']} {e['institution_code']}) "
                   f"{e['action']} {e['archive_no'] or e['target'] or '-'} -> {e['status']} {e['outcome']}"
                   f"{flag}{reason} [{e['request_id']}]")


@audit.command("verify")
def audit_verify():
    """Check the hash chain from the first entry to the head; exit 1 at the first broken entry."""
    from services.gateway import audit as trail

    with gateway_session() as session:
        result = trail.verify(session)
    if not result.ok:
        click.echo(f"audit trail BROKEN at entry {result.broken_seq}: {result.problem} "
                   f"({result.checked} entries before it hold)", err=True)
        sys.exit(1)
    click.echo(f"audit trail intact: {result.checked} entries; head {result.head_seq} {result.head_hash}")


@audit.command("archive")
@click.argument("archive_no")
@click.option("--limit", default=100, show_default=True)
def audit_archive(archive_no, limit):
    """Who looked at (or changed, or was refused) this archive, newest first."""
    from services.gateway import audit as trail

    with gateway_session() as session:
        _entries(trail.for_archive(session, archive_no, limit))


@audit.command("user")
@click.argument("username")
@click.option("--limit", default=100, show_default=True)
def audit_user(username, limit):
    """What this user (or `apikey:NAME`) did, newest first."""
    from services.gateway import audit as trail

    with gateway_session() as session:
        _entries(trail.for_actor(session, username, limit))


def has_users() -> bool:
    import sqlalchemy as sa

    from services.gateway.models import User

    with gateway_session() as session:
        return session.scalar(sa.select(User.id).limit(1)) is not None


def create_demo_keys(echo=click.echo) -> dict[str, str]:
    """A fresh `township_system` API key `demo-<code>` for every township and community centre
    (replacing the previous demo key of that name), for `ehr demo` and `ehr up --demo`."""
    import sqlalchemy as sa

    from services.gateway import accounts
    from services.gateway import audit as trail
    from shared.config import load_settings
    from shared.db import make_engine
    from shared.errors import NotFound

    engine = make_engine(load_settings().database_url_for("registry"), pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            centres = conn.scalars(sa.text("SELECT code FROM institutions WHERE kind IN :kinds ORDER BY code")
                                   .bindparams(sa.bindparam("kinds", expanding=True)),
                                   {"kinds": sorted(access.CENTRES)}).all()
    finally:
        engine.dispose()
    keys = {}
    with gateway_session() as session:
        for code in centres:
            name = f"demo-{code}"
            try:
                accounts.revoke_api_key(session, name)
            except NotFound:
                pass
            keys[code] = accounts.add_api_key(session, name, code, access.TOWNSHIP_SYSTEM)
            trail.append(session, trail.Draft(action="admin.apikey_add", actor="cli:demo", actor_kind="cli",
                                              target=f"apikey:{name}", institution_code=code,
                                              role=access.TOWNSHIP_SYSTEM, outcome="ok", status=200))
    echo(f"DEMO API keys (township_system) created for {', '.join(centres)}: demo-<code>, for the synthetic feed")
    return keys


def revoke_demo_keys(codes, echo=click.echo) -> None:
    """End the demo keys `create_demo_keys` made (`demo-<code>`), when their demo run ends; a key
    revoked already (by hand, or by a later run) is passed over."""
    from services.gateway import accounts
    from services.gateway import audit as trail
    from shared.errors import NotFound

    with gateway_session() as session:
        for code in codes:
            name = f"demo-{code}"
            try:
                accounts.revoke_api_key(session, name)
            except NotFound:
                continue
            trail.append(session, trail.Draft(action="admin.apikey_revoke", actor="cli:demo", actor_kind="cli",
                                              target=f"apikey:{name}", institution_code=code,
                                              role=access.TOWNSHIP_SYSTEM, outcome="ok", status=200))
    echo("DEMO API keys revoked")
