"""`ehr user ...`, `ehr apikey ...`, `ehr audit ...`: the administrator's commands.

They run on the server, through the gateway's own use cases (`accounts`, `audit`) on its database
(EHR_* settings, as every process of the suite), and check institutions through the registry's
(`ehr.institutions`), so the first administrator can be created before any service is up:

    ehr user add admin01 --institution T1101051011 --role institution_admin   # asks for the password
    echo "$PASSWORD" | ehr user add doc01 --institution V1101051011 --role village_doctor --password-stdin
    ehr user role doc01 township_doctor   # also signs doc01 out everywhere
    ehr user password doc01               # asks for the new one; signs doc01 out everywhere
    ehr user unlock doc01                 # lift a lock-out before it ends (EHR_LOCKOUT_SECONDS)
    ehr user revoke-tokens doc01          # sign doc01 out everywhere (every token issued so far)
    ehr apikey add sunhe-his --institution T1101051011 --role township_system     # prints the key once
    ehr apikey revoke sunhe-his
    ehr audit verify [--head SEQ:HASH]    # exit 1 naming the first broken entry, 69 if the database cannot
                                          # be reached (needs EHR_AUDIT_KEY)
    ehr audit head [--json]               # the chain's head, to keep outside the database
    ehr audit archive 11010510110100003   # who looked at this archive
    ehr audit user doc01                  # what this user did (API keys: apikey:NAME)
    ehr user list --json                  # `--json` on every list: a JSON array, for scripts

Account changes are themselves written to the audit trail, as `cli:<login name>`, before the
change (outcome `attempt`) and after it; like the gateway, these commands need EHR_AUDIT_KEY (from the
environment, or the `var/secrets.env` that `ehr up` keeps on a development machine).
"""

from __future__ import annotations

import getpass
import json
import sys
from contextlib import contextmanager
from dataclasses import replace

import click

from ehr import institutions
from ehr.databases import service_session
from ehr.exit_codes import FAILED
from ehr.output import echo_json, iso, json_option
from services.gateway import access

ROLE = click.Choice(access.USER_ROLES)
KEY_ROLE = click.Choice(access.API_KEY_ROLES)


def gateway_session():
    """A session on the gateway's database, for the gateway's own use cases (`accounts`, `audit`)."""
    return service_session("gateway", expire_on_commit=False)


def audit_key(required: bool = True) -> bytes | None:
    """EHR_AUDIT_KEY, from the environment or what `ehr up` stored (never a fresh one)."""
    from ehr.state import STATE_DIR
    from ehr.setup import load_keys
    from shared.config import ConfigError, load_settings

    load_keys(STATE_DIR)
    try:
        settings = load_settings()
        return settings.require_audit_key() if required else settings.audit_key
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _check_role(role: str, institution: str) -> None:
    kind = institutions.one(institution, "--institution")["kind"]
    if not access.role_fits_institution(role, kind):
        allowed = ", ".join(sorted(access.ROLE_INSTITUTION_KINDS[role] or ()))
        raise click.BadParameter(f"a {role} belongs to a {allowed}, not a {kind}", param_hint="--role")


@contextmanager
def _admin(action: str, **subject):
    """Run an account change with its audit entries, as the gateway does a write: one with the
    outcome `attempt` before it (no entry, no change), one with its outcome after; turn expected
    errors into messages."""
    from services.gateway import audit
    from shared.errors import EhrError

    key = audit_key()
    draft = audit.Draft(action=action, actor=f"cli:{getpass.getuser()}", actor_kind="cli", **subject)
    with gateway_session() as session:
        audit.append(session, replace(draft, outcome=audit.ATTEMPT, status=0), key)
        try:
            yield session
        except EhrError as exc:
            session.rollback()
            audit.append(session, replace(draft, outcome="refused", status=exc.status), key)
            raise click.ClickException(f"{exc.message}: {json.dumps(exc.details, ensure_ascii=False)}") from None
        audit.append(session, replace(draft, outcome="ok", status=200), key)


def _read_password(username: str, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(f"password for {username}", hide_input=True, confirmation_prompt=True)


@click.group()
def user() -> None:
    """People who sign in to the gateway: add, change role or password, unlock, sign out everywhere."""


@user.command("add")
@click.argument("username")
@click.option("--institution", required=True, help="institution code, e.g. T1101051011")
@click.option("--role", type=ROLE, required=True, help="what the user may do (services/gateway/access.py)")
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
    """Give a user another role (their tokens are revoked: they sign in again)."""
    from services.gateway import accounts

    with _admin("admin.user_role", target=f"user:{username}", role=role) as session:
        _check_role(role, accounts.get_user(session, username).institution_code)
        accounts.set_role(session, username, role)
    click.echo(f"user {username} is now {role}")


@user.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def user_password(username, password_stdin):
    """Set a new password (their tokens are revoked and a lock-out is lifted)."""
    from services.gateway import accounts

    password = _read_password(username, password_stdin)
    with _admin("admin.user_password", target=f"user:{username}") as session:
        accounts.set_password(session, username, password)
    click.echo(f"user {username} has a new password and is signed out everywhere")


@user.command("unlock")
@click.argument("username")
def user_unlock(username):
    """Lift a lock-out after repeated failed sign-ins before it ends by itself (EHR_LOCKOUT_SECONDS).
    Tokens issued before the lock-out stay revoked."""
    from services.gateway import accounts

    with _admin("admin.user_unlock", target=f"user:{username}") as session:
        accounts.unlock(session, username)
    click.echo(f"user {username} unlocked")


@user.command("revoke-tokens")
@click.argument("username")
def user_revoke_tokens(username):
    """Sign a user out everywhere: every token issued to them so far stops working at once."""
    from services.gateway import accounts

    with _admin("admin.user_revoke_tokens", target=f"user:{username}") as session:
        accounts.revoke_tokens(session, username)
    click.echo(f"user {username} signed out everywhere")


@user.command("list")
@json_option
def user_list(as_json):
    """Every account: name, role, institution, and whether it is locked out (and until when)."""
    from services.gateway import accounts

    with gateway_session() as session:
        users = [{"username": u.username, "role": u.role, "institution_code": u.institution_code,
                  "locked_until": iso(u.locked_until) if accounts.is_locked(u) else None}
                 for u in accounts.list_users(session)]
    if as_json:
        echo_json(users)
        return
    for u in users:
        state = f"locked until {u['locked_until'][:16].replace('T', ' ')}" if u["locked_until"] else "active"
        click.echo(f"{u['username']:24} {u['role']:18} {u['institution_code']:12} {state}")


@click.group()
def apikey() -> None:
    """API keys of system clients (township and hospital systems): add, revoke."""


@apikey.command("add")
@click.argument("name")
@click.option("--institution", required=True, help="institution code, e.g. T1101051011")
@click.option("--role", type=KEY_ROLE, required=True, help="what the system may do (services/gateway/access.py)")
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
@json_option
def apikey_list(as_json):
    """Every API key, live or revoked: name, role, institution, when made and revoked (never the key)."""
    from services.gateway import accounts

    with gateway_session() as session:
        keys = [{"name": k.name, "role": k.role, "institution_code": k.institution_code,
                 "created_at": iso(k.created_at), "revoked_at": iso(k.revoked_at)}
                for k in accounts.list_api_keys(session)]
    if as_json:
        echo_json(keys)
        return
    for k in keys:
        state = f"revoked {k['revoked_at'][:10]}" if k["revoked_at"] else "live"
        click.echo(f"{k['name']:24} {k['role']:16} {k['institution_code']:12} {state}")


@click.group()
def audit() -> None:
    """The audit trail: verify its chain, who looked at an archive, what a user did."""


def _entries(entries, as_json: bool) -> None:
    from services.gateway.audit import as_dict

    if as_json:
        echo_json([as_dict(entry) for entry in entries])
        return
    if not entries:
        click.echo("(none)")
    for entry in entries:
        e = as_dict(entry)
        flag = " OUT-OF-SCOPE" if e["out_of_scope"] else ""
        reason = f" reason={e['reason']!r}" if e["reason"] else ""
        click.echo(f"{e['seq']:>8} {e['at'][:19]} {e['actor']} ({e['role']} {e['institution_code']}) "
                   f"{e['action']} {e['archive_no'] or e['target'] or '-'} -> {e['status']} {e['outcome']}"
                   f"{flag}{reason} [{e['request_id']}]")


def _head(value: str | None) -> tuple[int, str] | None:
    from services.gateway.audit import parse_head

    try:
        return None if value is None else parse_head(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--head") from None


@audit.command("verify")
@click.option("--head", "exported", metavar="SEQ:HASH",
              help="a head exported earlier (`ehr audit head`, the gateway's `audit head` log line): "
                   "that entry must still be there, with that hash")
def audit_verify(exported):
    """Check the chain from the first entry to the head. Exit status 1 at the first broken entry
    (named), 69 if the gateway's database cannot be reached (nothing was checked). Entries chained
    with HMAC (scheme 3) need EHR_AUDIT_KEY."""
    from services.gateway import audit as trail

    anchor = _head(exported)
    key = audit_key(required=False)
    try:
        with gateway_session() as session:
            result = trail.verify(session, key, anchor)
    except trail.MissingKey as exc:
        raise click.ClickException(f"{exc}; set it as the gateway has it") from None
    if not result.ok:
        click.echo(f"audit trail BROKEN at entry {result.broken_seq}: {result.problem} "
                   f"({result.checked} entries before it hold)", err=True)
        sys.exit(FAILED)
    click.echo(f"audit trail intact: {result.checked} entries; head {result.head_seq} {result.head_hash}"
               + (f"; the exported head {anchor[0]} holds" if anchor else ""))


@audit.command("head")
@click.option("--json", "as_json", is_flag=True, help='{"seq": ..., "hash": ...}')
def audit_head(as_json):
    """Print the chain's head as SEQ:HASH. Keep it somewhere the database cannot change (another
    machine, paper): `ehr audit verify --head SEQ:HASH` then proves nothing up to it was removed
    or rewritten."""
    from services.gateway import audit as trail

    with gateway_session() as session:
        seq, hash_ = trail.head(session)
    click.echo(json.dumps({"seq": seq, "hash": hash_}) if as_json else trail.format_head(seq, hash_))


@audit.command("archive")
@click.argument("archive_no")
@click.option("--limit", default=100, show_default=True, help="at most this many entries")
@json_option
def audit_archive(archive_no, limit, as_json):
    """Who looked at (or changed, or was refused) this archive, newest first."""
    from services.gateway import audit as trail

    with gateway_session() as session:
        _entries(trail.for_archive(session, archive_no, limit), as_json)


@audit.command("user")
@click.argument("username")
@click.option("--limit", default=100, show_default=True, help="at most this many entries")
@json_option
def audit_user(username, limit, as_json):
    """What this user (or `apikey:NAME`) did, newest first."""
    from services.gateway import audit as trail

    with gateway_session() as session:
        _entries(trail.for_actor(session, username, limit), as_json)


def has_users() -> bool:
    from services.gateway import accounts

    with gateway_session() as session:
        return bool(accounts.list_users(session))


def create_demo_keys(echo=click.echo) -> dict[str, str]:
    """A fresh `township_system` API key `demo-<code>` for every township and community centre
    (replacing the previous demo key of that name), for `ehr demo` and `ehr up --demo`."""
    from services.gateway import accounts
    from services.gateway import audit as trail
    from shared.errors import NotFound

    centres = [i["code"] for i in institutions.registered(kinds=sorted(access.CENTRES))]
    keys = {}
    key = audit_key()
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
                                              role=access.TOWNSHIP_SYSTEM, outcome="ok", status=200), key)
    echo(f"DEMO API keys (township_system) created for {', '.join(centres)}: demo-<code>, for the synthetic feed")
    return keys


def revoke_demo_keys(codes, echo=click.echo) -> None:
    """End the demo keys `create_demo_keys` made (`demo-<code>`), when their demo run ends; a key
    revoked already (by hand, or by a later run) is passed over."""
    from services.gateway import accounts
    from services.gateway import audit as trail
    from shared.errors import NotFound

    key = audit_key()
    with gateway_session() as session:
        for code in codes:
            name = f"demo-{code}"
            try:
                accounts.revoke_api_key(session, name)
            except NotFound:
                continue
            trail.append(session, trail.Draft(action="admin.apikey_revoke", actor="cli:demo", actor_kind="cli",
                                              target=f"apikey:{name}", institution_code=code,
                                              role=access.TOWNSHIP_SYSTEM, outcome="ok", status=200), key)
    echo("DEMO API keys revoked")
