"""The databases the `ehr` commands open on the server: only a service's own database, and only
through that service's own use cases (`services.gateway.accounts`, `services.registry.usecases`,
...), never SQL against its tables from here.

    with service_session("gateway", expire_on_commit=False) as session:
        accounts.list_users(session)

A database that cannot be reached is `Unavailable` (exit status 69), with the setting to check.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ehr.exit_codes import Unavailable


def unreachable(service: str, url: str, exc: Exception) -> Unavailable:
    """The one-line refusal for a database that did not answer (the URL without its password)."""
    from sqlalchemy.engine import make_url

    shown = make_url(url).render_as_string(hide_password=True)
    reason = str(getattr(exc, "orig", exc) or type(exc).__name__).strip().splitlines()[0]
    return Unavailable(f"cannot connect to the {service} database at {shown} ({reason}); check "
                       f"EHR_{service.upper()}_DATABASE_URL or EHR_DATABASE_URL, and that PostgreSQL is up "
                       "and `ehr migrate` was run")


@contextmanager
def service_engine(service: str, settings=None, **options) -> Iterator:
    """An engine on SERVICE's database (one connection unless `options` say otherwise), tried
    once before it is handed out; disposed at the end."""
    import sqlalchemy as sa

    from shared.config import load_settings
    from shared.db import make_engine

    url = (settings or load_settings()).database_url_for(service)
    options.setdefault("pool_size", 1)
    options.setdefault("max_overflow", 0)
    engine = make_engine(url, **options)
    try:
        try:
            engine.connect().close()
        except sa.exc.OperationalError as exc:
            raise unreachable(service, url, exc) from None
        yield engine
    finally:
        engine.dispose()


@contextmanager
def service_session(service: str, **session_options) -> Iterator:
    """A session on SERVICE's database (see `service_engine`)."""
    from sqlalchemy.orm import Session

    with service_engine(service) as engine, Session(engine, **session_options) as session:
        yield session
