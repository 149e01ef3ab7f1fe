"""Finding archives by what a clerk knows: filters combined with AND, keyset pages in archive-number
order, or in name (pinyin) order for a name (pinyin) search.

    search_archives(session, pii, {"pinyin": "zhangxiu", "village_code": "110105101101"}, limit=20)
    -> {"items": [{"archive_no": "11010510110100003", ..., "id_number_masked": "**************002X"}, ...],
        "next": "MTEwMTA1MTAxMTAxMDAwMjE="}

Filters come loaded by `ArchiveSearchSchema`. Every filter is served by an index:

    archive_no     17 digits: the primary key; 12 digits (village): a range on the primary key
    id_number      equality on the blind index (`uq_archives_id_number_index`)
    health_card_no the card's blind index in `resident_identifiers` (its unique index), then the
                   primary key of the archive holding it (a merged one's survivor)
    name, pinyin   LIKE 'prefix%' on `ix_archives_name_order` / `ix_archives_name_pinyin_order`,
                   btree indexes of (column COLLATE "C", archive_no): they match the prefix and give
                   the page order, so a common surname costs what a rare one does
    birth_date, village_code, institution_code   their own btree indexes
    status         `ix_archives_status_archive_no`, already in page order
    residence_type `ix_archives_residence_type_archive_no`, likewise
    ethnicity      no index of its own: with a village, the village's range or index; alone, the
                   archive-number walk stops at a page's worth of matches

A number that moved leads to where it is now: a 17-digit `archive_no` that is a former number
(transfer) or a merged archive's number finds the archive it leads to, and an ID number a merge
moved aside finds the survivor (`services.registry.aliases`).

A `scope` (`{"prefix": "110105101", "institution_code": "T1101051011"}`, see `review`) confines
the search to one jurisdiction: the gateway always passes its caller's, so nobody finds archives
outside it (a former number leading out of the scope finds nothing either).

The cursor is the last archive number of the page (with its name or pinyin for those searches),
so pages stay stable while archives are added: a page never repeats or skips an archive that
existed when paging began.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.archive_no import ARCHIVE_NO_PATTERN
from shared.errors import ValidationFailed
from shared.paging import check_limit, decode_cursor, encode_cursor
from shared.pii import PiiBox, identity_key

from services.registry import aliases, identifiers, review, usecases
from services.registry.models import Archive

_ARCHIVE_NO = re.compile(ARCHIVE_NO_PATTERN)


def _decode_cursor(cursor: str, keyed: bool) -> tuple[str, ...]:
    parts = decode_cursor(cursor, parts=2 if keyed else 1)
    if not _ARCHIVE_NO.fullmatch(parts[-1]):
        raise ValidationFailed("invalid cursor", {"cursor": ["Not a cursor this API returned."]})
    return tuple(parts)


def _prefix(value: str) -> str:
    """A LIKE pattern matching `value` literally at the start (backslash is LIKE's default escape)."""
    return re.sub(r"([\\%_])", r"\\\1", value) + "%"


def order_key(filters: dict[str, Any]) -> sa.ColumnElement | None:
    """The column a name or pinyin search pages by (C collation, the order of its index), or
    None: archive-number order."""
    if filters.get("pinyin"):
        return Archive.name_pinyin.collate("C")
    if filters.get("name"):
        return Archive.name.collate("C")
    return None


def filter_conditions(pii: PiiBox, filters: dict[str, Any]) -> list[sa.ColumnElement[bool]]:
    conditions = []
    archive_no = filters.get("archive_no")
    if archive_no and len(archive_no) == 17:
        conditions.append(Archive.archive_no == archive_no)
    elif archive_no:
        conditions.append(review.number_range(archive_no))  # a village's numbers: a key range
    if filters.get("id_holder"):
        conditions.append(Archive.archive_no == filters["id_holder"])
    elif filters.get("id_number"):
        conditions.append(Archive.id_number_index == identity_key(pii, filters["id_type"], filters["id_number"]))
    if "card_holders" in filters:
        conditions.append(Archive.archive_no.in_(filters["card_holders"]))
    if filters.get("name"):
        conditions.append(Archive.name.collate("C").like(_prefix(filters["name"])))
    if filters.get("pinyin"):
        conditions.append(Archive.name_pinyin.collate("C").like(_prefix(filters["pinyin"])))
    for column in ("birth_date", "village_code", "institution_code", "status", "residence_type", "ethnicity"):
        if filters.get(column) is not None:
            conditions.append(getattr(Archive, column) == filters[column])
    return conditions


def followed(session: Session, pii: PiiBox, filters: dict[str, Any]) -> dict[str, Any]:
    """`filters` with a 17-digit number replaced by the one it leads to now, `id_holder` set
    when the ID number was moved aside by a merge, and `card_holders` the archives (at most one,
    a merged one's survivor) holding the health card sought."""
    filters = dict(filters)
    if filters.get("health_card_no"):
        card = identifiers.sought(pii, identifiers.HEALTH_CARD, filters["health_card_no"])
        filters["card_holders"] = sorted(identifiers.holders(session, [card]).get(card.key, set()))
    if len(filters.get("archive_no") or "") == 17:
        filters["archive_no"] = aliases.current_number(session, filters["archive_no"])
    if filters.get("id_number"):
        index = identity_key(pii, filters["id_type"], filters["id_number"])
        holder = aliases.moved_indexes(session, {index}).get(index)
        if holder:
            filters["id_holder"] = holder
    return filters


def search_statement(pii: PiiBox, filters: dict[str, Any], limit: int, after: tuple[str, ...] | None = None,
                     scope: dict[str, Any] | None = None) -> sa.Select:
    conditions = filter_conditions(pii, filters)
    if scope is not None:
        conditions.append(review.scope_condition(scope))
    key = order_key(filters)
    if key is None:
        if after:
            conditions.append(Archive.archive_no > after[0])
        return sa.select(Archive).where(*conditions).order_by(Archive.archive_no).limit(limit + 1)
    # A name or pinyin prefix pages through its own index, (key COLLATE "C", archive_no): the
    # first page of even the commonest surname reads about `limit` index entries.
    if after:
        conditions.append(sa.tuple_(key, Archive.archive_no) > sa.tuple_(*after))
    return sa.select(Archive).where(*conditions).order_by(key, Archive.archive_no).limit(limit + 1)


def search_archives(session: Session, pii: PiiBox, filters: dict[str, Any], limit: int = 50,
                    cursor: str | None = None, scope: dict[str, Any] | None = None) -> dict[str, Any]:
    """One page of archives matching every filter (inside `scope` when given):
    `{"items": [archive values, ...], "next": cursor or None}` (`usecases.archive_values`)."""
    check_limit(limit)
    keyed = order_key(filters) is not None
    after = _decode_cursor(cursor, keyed) if cursor else None
    rows = list(session.scalars(search_statement(pii, followed(session, pii, filters), limit, after, scope)))
    page = rows[:limit]
    items = [usecases.archive_values(pii, archive) for archive in page]
    if len(rows) <= limit:
        return {"items": items, "next": None}
    last = page[-1]
    key = (last.name_pinyin if filters.get("pinyin") else last.name) if keyed else None
    return {"items": items, "next": encode_cursor(key, last.archive_no) if keyed else encode_cursor(last.archive_no)}


def archives_by_numbers(session: Session, pii: PiiBox, numbers: list[str],
                        scope: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The archives numbered `numbers` that lie inside `scope` (anywhere when None), in the order
    asked, each once (`usecases.archive_values`): one query on the primary key for a page of a
    work list. A number that is no current archive's, or one outside the scope, is left out."""
    wanted = list(dict.fromkeys(numbers))
    conditions = [Archive.archive_no.in_(wanted)]
    if scope is not None:
        conditions.append(review.scope_condition(scope))
    found = {archive.archive_no: archive for archive in session.scalars(sa.select(Archive).where(*conditions))}
    return [usecases.archive_values(pii, found[number]) for number in wanted if number in found]
