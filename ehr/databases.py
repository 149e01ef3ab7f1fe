"""The databases the `ehr` commands open on the server: only a service's own database, and only
through that service's own use cases (`services.gateway.accounts`, `services.registry.usecases`,
...), never SQL against its tables from here.

    with service_session("gateway", expire_on_commit=False) as session:
        accounts.list_users(session)

A database that cannot be reached is `Unavailable` (exit status 69), worded by
`ehr.unreachable.database_unreachable` (the one wording of a connection failure): its URL with the
password masked, the setting to check, and libpq's reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ehr.exit_codes import Unavailable
from ehr.unreachable import database_unreachable


@contextmanager
def service_engine(service: str, settings=None, **options) -> Iterator:
    """An engine on SERVICE's database (one connection unless `options` say otherwise), tried
    once before it is handed out; disposed at the end."""
    import sqlalchemy as sa

    from shared.config import load_settings
    from shared.db import make_engine

    settings = settings or load_settings()
    url = settings.database_url_for(service)
    options.setdefault("pool_size", 1)
    options.setdefault("max_overflow", 0)
    engine = make_engine(url, **options)
    try:
        try:
            engine.connect().close()
        except sa.exc.OperationalError as exc:
            raise Unavailable(database_unreachable(service, exc, settings)) from None
        yield engine
    finally:
        engine.dispose()


@contextmanager
def service_session(service: str, **session_options) -> Iterator:
    """A session on SERVICE's database (see `service_engine`)."""
    from sqlalchemy.orm import Session

    with service_engine(service) as engine, Session(engine, **session_options) as session:
        yield session
