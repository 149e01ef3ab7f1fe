"""What a jurisdiction may see of the registry as a whole: its archives' counts, and the archives
that look like one of its archives (possible-duplicate review before a merge).

A scope is what the gateway passes for its caller: `{"prefix": "110105101", "institution_code":
"T1101051011"}`. An archive is inside it when its number starts with the division prefix (an
archive's number begins with its village code) or the institution manages it; a scope with
neither holds nothing.

    count_archives(session, "110105101")
    -> [{"village_code": "110105101101", "status": "active", "archives": 1832}, ...]
    possible_duplicates_of(session, pii, "11010510110100007", scope)
    -> [{"archive_no": "11010510110100031", "score": 0.75, "reasons": ["name", "birth_date", "sex"]}]
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.pii import PiiBox

from services.registry import aliases, matching
from services.registry.keys import ID_NUMBER_SEALED_IN, PHONE_SEALED_IN
from services.registry.models import Archive

ARCHIVE_NO_DIGITS = 17


def number_range(prefix: str) -> sa.ColumnElement[bool]:
    """Archives numbered under a division prefix: a range on the primary key (all digits, so the
    range holds in every collation)."""
    return Archive.archive_no.between(prefix.ljust(ARCHIVE_NO_DIGITS, "0"), prefix.ljust(ARCHIVE_NO_DIGITS, "9"))


def scope_condition(scope: dict[str, Any]) -> sa.ColumnElement[bool]:
    inside = []
    if scope.get("prefix"):
        inside.append(number_range(scope["prefix"]))
    if scope.get("institution_code"):
        inside.append(Archive.institution_code == scope["institution_code"])
    return sa.or_(*inside) if inside else sa.false()


def visible(session: Session, scope: dict[str, Any], numbers: list[str]) -> set[str]:
    """Which of the archive numbers `numbers` lie inside `scope`."""
    if not numbers:
        return set()
    return set(session.scalars(sa.select(Archive.archive_no).where(Archive.archive_no.in_(numbers),
                                                                   scope_condition(scope))))


def count_archives(session: Session, prefix: str) -> list[dict[str, Any]]:
    """Archives per village and status under a division prefix, from the primary key's range."""
    rows = session.execute(
        sa.select(Archive.village_code, Archive.status, sa.func.count())
        .where(number_range(prefix))
        .group_by(Archive.village_code, Archive.status)
        .order_by(Archive.village_code, Archive.status))
    return [{"village_code": village, "status": status, "archives": n} for village, status, n in rows]


def archive_months(session: Session, prefix: str) -> list[dict[str, Any]]:
    """Active archives per village under a division prefix by the month of their 建档日期: what
    the 建档率's trend by month accumulates."""
    month = sa.func.to_char(Archive.archive_date, "YYYY-MM")
    rows = session.execute(
        sa.select(Archive.village_code, month, sa.func.count())
        .where(number_range(prefix), Archive.status == "active")
        .group_by(Archive.village_code, month)
        .order_by(Archive.village_code, month))
    return [{"village_code": village, "month": m, "archives": n} for village, m, n in rows]


def possible_duplicates_of(session: Session, pii: PiiBox, archive_no: str,
                           scope: dict[str, Any] | None = None) -> dict[str, Any]:
    """Active archives that look like the archive `archive_no` leads to (same name, sex and birth
    date; same pinyin and birth date; same name and phone), best first, confined to `scope` when
    given (the five best inside it, not those of the five best overall that happen to be).

    The same rules as at creation (`matching.possible_duplicates`); an archive with the same ID
    number cannot exist (the ID number is unique), and the archive itself is left out."""
    archive = aliases.find(session, archive_no)
    identity = {
        "name": archive.name, "sex": archive.sex, "birth_date": archive.birth_date,
        "phone": (pii.decrypt(archive.phone_enc, PHONE_SEALED_IN, archive.archive_no)
                  if archive.phone_enc is not None else None),
        "id_type": archive.id_type,
        "id_number": (pii.decrypt(archive.id_number_enc, ID_NUMBER_SEALED_IN, archive.archive_no)
                      if archive.id_number_enc is not None else None),
    }
    within = sa.and_(Archive.archive_no != archive.archive_no,
                     scope_condition(scope) if scope is not None else sa.true())
    found = matching.possible_duplicates(session, pii, identity, within)
    return {"archive_no": archive.archive_no, "possible_duplicates": found}
