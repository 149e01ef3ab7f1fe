"""A caller's scope as a SQL condition: what the gateway passes (`{"institution_code": ...,
"prefix": ...}`, `services/gateway/access.py`) covers the residents the institution manages and
those living in the jurisdiction (the village codes under `prefix`); nothing when it names neither."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa


def in_scope(scope: Mapping[str, Any], institution_code, village_code):
    """`institution_code` and `village_code`: the columns of the rows asked about."""
    clauses = []
    if scope.get("institution_code"):
        clauses.append(institution_code == scope["institution_code"])
    if scope.get("prefix"):
        clauses.append(village_code.startswith(scope["prefix"], autoescape=True))
    return sa.or_(*clauses) if clauses else sa.false()
