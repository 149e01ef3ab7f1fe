"""What the `ehr` command says, and exits with, when a server it needs cannot be reached.

A refused connection, an unknown host, a wrong password or a missing database or vhost, from
any command or service process (`ehr run X`), ends in one line on stderr naming the setting to
look at, with its password masked, and exit status 69 (EX_UNAVAILABLE), instead of a traceback:

    ehr: cannot connect to the database server at postgresql://postgres:***@127.0.0.1:5432
    (EHR_DATABASE_URL): password authentication failed for user "postgres"

The exit statuses of the command (also in `ehr --help` and the README's Using it section):

    0   done
    1   failed: a check found a problem, or the command was refused
    2   usage: unknown command or option, a malformed argument
    69  could not connect: a server named by a setting is unreachable or refused the connection

Only the types of the libraries already loaded are looked at, so that this module loads no kombu
before `ehr run` patches eventlet (tests/unit/test_cli_imports.py).
"""

from __future__ import annotations

import re
import sys
from contextlib import contextmanager
from typing import Iterator

from ehr.exit_codes import FAILED as EXIT_FAILED, OK as EXIT_OK, UNAVAILABLE as EXIT_UNAVAILABLE, USAGE as EXIT_USAGE


class Unreachable(RuntimeError):
    """A server could not be reached; the message names the setting, never a password."""


def mask(url: str) -> str:
    """`url` with its password replaced by *** (`amqp://guest:***@127.0.0.1:5672/`)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


@contextmanager
def exit_when_unreachable(environ=None) -> Iterator[None]:
    """Run the command; a connection failure becomes one line on stderr and exit status 69."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - anything else is raised again as it was
        line = describe(exc, environ)
        if line is None:
            raise
        print(f"ehr: {line}", file=sys.stderr)
        sys.exit(EXIT_UNAVAILABLE)


def describe(exc: BaseException, environ=None) -> str | None:
    """One line naming the setting behind a connection failure, or None if `exc` is none."""
    for error in _chain(exc):
        if isinstance(error, Unreachable):
            return str(error)
        if _is_database_failure(error):
            return _database_line(error, environ)
        if _is_broker_failure(error):
            return _broker_line(error, environ)
    return None


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _is_database_failure(error: BaseException) -> bool:
    sa_exc = sys.modules.get("sqlalchemy.exc")
    psycopg2 = sys.modules.get("psycopg2")
    if sa_exc is not None and isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return _is_connect_message(str(getattr(error, "orig", error)))
    if psycopg2 is not None and isinstance(error, psycopg2.OperationalError):
        return _is_connect_message(str(error))
    return False


def _is_connect_message(text: str) -> bool:
    """libpq's words for a connection that was never made (not a query that failed on one)."""
    return any(words in text for words in (
        "connection to server", "could not connect", "could not translate host name",
        "password authentication failed", "no password supplied", "does not exist", "Connection refused",
        "timeout expired", "no pg_hba.conf entry", "the database system is starting up",
        "the database system is shutting down"))


def _is_broker_failure(error: BaseException) -> bool:
    kombu_exc = sys.modules.get("kombu.exceptions")
    amqp_exc = sys.modules.get("amqp.exceptions")
    if kombu_exc is not None and isinstance(error, kombu_exc.OperationalError):
        return True
    if amqp_exc is not None and isinstance(error, (amqp_exc.AccessRefused, amqp_exc.NotAllowed,
                                                   amqp_exc.ConnectionForced)):
        return True
    # A socket error raised inside the AMQP client (kombu and amqp re-raise some as they are).
    if isinstance(error, (ConnectionError, TimeoutError)) or type(error).__name__ == "gaierror":
        return any(f"/{name}/" in tb.tb_frame.f_code.co_filename
                   for tb in _frames(error.__traceback__) for name in ("kombu", "amqp"))
    return False


def _frames(tb):
    while tb is not None:
        yield tb
        tb = tb.tb_next


def _reason(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    # libpq: 'connection to server at "127.0.0.1", port 5432 failed: FATAL:  password ...'
    text = text.split("failed: ", 1)[-1] if "connection to server" in text else text
    lines = (" ".join(line.replace("FATAL:", "").split()) for line in text.splitlines())
    return "; ".join(line for line in lines if line) or type(error).__name__


def _settings(environ):
    """The servers' settings alone (no keys, no limits: nothing here can be refused)."""
    import os

    from shared.config import load_settings

    env = os.environ if environ is None else environ
    return load_settings({name: value for name, value in env.items()
                          if name in ("EHR_AMQP_URI", "EHR_DATABASE_URL", "EHR_DB_PREFIX", "EHR_STATE_DIR")
                          or name.endswith("_DATABASE_URL")})


def database_unreachable(service: str, error: BaseException, settings) -> str:
    """The line for SERVICE's database, which did not answer: its URL (password masked), the
    setting that names it, libpq's reason, and what to do when the role or database is missing.
    What `ehr.databases.service_engine` raises (as `Unavailable`) and `describe` prints."""
    from sqlalchemy.engine import make_url

    from shared.config import database_role

    url, reason = settings.database_url_for(service), _reason(error)
    role = database_role(make_url(url).database)
    setting = (f"EHR_{service.upper()}_DATABASE_URL" if service in settings.database_overrides
               else "EHR_DATABASE_URL")
    if f'"{role}"' in reason:
        setting += f"; its role {role}, password EHR_{service.upper()}_DATABASE_PASSWORD"
    hint = "; `ehr migrate` creates it" if "does not exist" in reason else ""
    return f"cannot connect to the {service} database at {mask(url)} ({setting}): {reason}{hint}"


def _database_line(error: BaseException, environ) -> str:
    from sqlalchemy.engine import make_url

    from shared.config import database_role

    settings = _settings(environ)
    text, reason = str(getattr(error, "orig", None) or error), _reason(error)
    for service in ("registry", "records", "gateway"):
        database = make_url(settings.database_url_for(service)).database
        if f'"{database}"' in reason or f'"{database_role(database)}"' in reason:
            return database_unreachable(service, error, settings)
    # libpq names the server it tried: 'connection to server at "db" (10.0.0.5), port 5432 failed'
    server = re.search(r'(?:at|host name) "([^"]+)"(?:[^,]*, port (\d+))?', text)
    for service, url in settings.database_overrides.items():
        parsed = make_url(url)
        if server and parsed.host == server[1] and (server[2] is None or int(server[2]) == (parsed.port or 5432)):
            return database_unreachable(service, error, settings)
    return f"cannot connect to the database server at {mask(settings.database_url)} (EHR_DATABASE_URL): {reason}"


def _broker_line(error: BaseException, environ) -> str:
    settings = _settings(environ)
    reason = getattr(error, "reply_text", None) or _reason(error)
    return f"cannot connect to the broker at {mask(settings.amqp_uri)} (EHR_AMQP_URI): {reason}"
