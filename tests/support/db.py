"""Reading a service's database in assertions, and changing it where a test stands in for time."""

from __future__ import annotations

import sqlalchemy as sa

from shared.config import load_settings
from shared.db import make_engine

_engines: dict[str, sa.Engine] = {}


def server_url(database: str) -> str:
    """The URL of `database` on the configured server (EHR_DATABASE_URL, as its owner; by default
    postgres at 127.0.0.1:5432, with the password of the state directory where there is one)."""
    return f"{load_settings().database_url.rstrip('/')}/{database}"


def _engine(service: str) -> sa.Engine:
    url = load_settings().database_url_for(service)
    engine = _engines.get(url)
    if engine is None:
        engine = _engines[url] = make_engine(url, pool_size=2)
    return engine


def query(service: str, sql: str, **params) -> list:
    with _engine(service).connect() as conn:
        return conn.execute(sa.text(sql), params).all()


def execute(service: str, sql: str, **params) -> None:
    """Run one statement and commit it (e.g. move a lock-out's end into the past)."""
    with _engine(service).begin() as conn:
        conn.execute(sa.text(sql), params)


def audit_outcome(request_id: str):
    """The outcome entry the gateway wrote for one request, by the request id it answered with
    (a write also has an `attempt` entry before it); exactly one, or the unpacking fails."""
    [entry] = query("gateway", "SELECT * FROM audit_entries WHERE request_id = :r AND outcome <> 'attempt'",
                    r=request_id)
    return entry
