"""Finding archives by what a clerk knows: filters combined with AND, keyset pages in archive-number order.

    search_archives(session, pii, {"pinyin": "zhangxiu", "village_code": "110105101101"}, limit=20)
    -> {"items": [<Archive 11010510110100003>, ...], "next": "MTEwMTA1MTAxMTAxMDAwMjE="}

Filters come loaded by `ArchiveSearchSchema`. Every filter is served by an index:

    archive_no     17 digits: the primary key; 12 digits (village): a range on the primary key
    id_number      equality on the blind index (`uq_archives_id_number_index`)
    name, pinyin   LIKE 'prefix%' on `ix_archives_name_pattern` / `ix_archives_name_pinyin_pattern`
                   (btree, varchar_pattern_ops: prefix matching in any collation, no extension)
    birth_date, village_code, institution_code   their own btree indexes
    status         `ix_archives_status_archive_no`, already in page order

A number that moved leads to where it is now: a 17-digit `archive_no` that is a former number
(transfer) or a merged archive's number finds the archive it leads to, and an ID number a merge
moved aside finds the survivor (`services.registry.aliases`).

A `scope` (`{"prefix": "110105101", "institution_code": "T1101051011"}`, see `review`) confines
the search to one jurisdiction: the gateway always passes its caller's, so nobody finds archives
outside it (a former number leading out of the scope finds nothing either).

The cursor is the last archive number of the page, so pages stay stable while archives are
added: a page never repeats or skips an archive that existed when paging began.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from shared.errors import ValidationFailed
from shared.paging import check_limit, decode_cursor, encode_cursor
from shared.pii import PiiBox

from services.registry import aliases, review
from services.registry.keys import id_index
from services.registry.models import Archive

_ARCHIVE_NO = re.compile(r"^\d{17}$")


def _decode_cursor(cursor: str) -> str:
    (archive_no,) = decode_cursor(cursor, parts=1)
    if not _ARCHIVE_NO.fullmatch(archive_no):
        raise ValidationFailed("invalid cursor", {"cursor": ["Not a cursor this API returned."]})
    return archive_no


def _prefix(value: str) -> str:
    """A LIKE pattern matching `value` literally at the start (backslash is LIKE's default escape)."""
    return re.sub(r"([\\%_])", r"\\\1", value) + "%"


def filter_conditions(pii: PiiBox, filters: dict[str, Any]) -> list[sa.ColumnElement[bool]]:
    conditions = []
    archive_no = filters.get("archive_no")
    if archive_no and len(archive_no) == 17:
        conditions.append(Archive.archive_no == archive_no)
    elif archive_no:
        # All digits and equal length, so the range holds in every collation and uses the key.
        conditions.append(Archive.archive_no.between(archive_no + "00000", archive_no + "99999"))
    if filters.get("id_holder"):
        conditions.append(Archive.archive_no == filters["id_holder"])
    elif filters.get("id_number"):
        conditions.append(Archive.id_number_index == id_index(pii, filters["id_type"], filters["id_number"]))
    if filters.get("name"):
        conditions.append(Archive.name.like(_prefix(filters["name"])))
    if filters.get("pinyin"):
        conditions.append(Archive.name_pinyin.like(_prefix(filters["pinyin"])))
    for column in ("birth_date", "village_code", "institution_code", "status"):
        if filters.get(column) is not None:
            conditions.append(getattr(Archive, column) == filters[column])
    return conditions


def followed(session: Session, pii: PiiBox, filters: dict[str, Any]) -> dict[str, Any]:
    """`filters` with a 17-digit number replaced by the one it leads to now, and `id_holder` set
    when the ID number was moved aside by a merge."""
    filters = dict(filters)
    if len(filters.get("archive_no") or "") == 17:
        filters["archive_no"] = aliases.current_number(session, filters["archive_no"])
    if filters.get("id_number"):
        index = id_index(pii, filters["id_type"], filters["id_number"])
        holder = aliases.moved_indexes(session, {index}).get(index)
        if holder:
            filters["id_holder"] = holder
    return filters


def search_statement(pii: PiiBox, filters: dict[str, Any], limit: int, after: str | None = None,
                     scope: dict[str, Any] | None = None) -> sa.Select:
    conditions = filter_conditions(pii, filters)
    if scope is not None:
        conditions.append(review.scope_condition(scope))
    if after:
        conditions.append(Archive.archive_no > after)
    if filters.get("name") or filters.get("pinyin"):
        # The matches of a name prefix are few and spread over the whole number range: walking the
        # primary key in order (what the planner picks for ORDER BY ... LIMIT) would read most of
        # the table. Collect them through the name index first, then order that small set.
        matches = sa.select(Archive).where(*conditions).cte("matches").prefix_with("MATERIALIZED")
        found = aliased(Archive, matches)
        return sa.select(found).order_by(found.archive_no).limit(limit + 1)
    return sa.select(Archive).where(*conditions).order_by(Archive.archive_no).limit(limit + 1)


def search_archives(session: Session, pii: PiiBox, filters: dict[str, Any], limit: int = 50,
                    cursor: str | None = None, scope: dict[str, Any] | None = None) -> dict[str, Any]:
    """One page of archives matching every filter (inside `scope` when given):
    `{"items": [Archive, ...], "next": cursor or None}`."""
    check_limit(limit)
    after = _decode_cursor(cursor) if cursor else None
    rows = list(session.scalars(search_statement(pii, followed(session, pii, filters), limit, after, scope)))
    page = rows[:limit]
    return {"items": page, "next": encode_cursor(page[-1].archive_no) if len(rows) > limit else None}
