"""Reading a service's database in assertions."""

from __future__ import annotations

import sqlalchemy as sa

from shared.config import load_settings
from shared.db import make_engine

_engines: dict[str, sa.Engine] = {}


def query(service: str, sql: str, **params) -> list:
    url = load_settings().database_url_for(service)
    engine = _engines.get(url)
    if engine is None:
        engine = _engines[url] = make_engine(url, pool_size=2)
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).all()
