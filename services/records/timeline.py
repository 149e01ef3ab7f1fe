"""Reading an archive's timeline: its records and the files kept with it (四(五): attachments are
"listed on the timeline"), newest first, in one keyset paging.

An attachment takes its place on the timeline by the date the document bears (a scan of a 2019
paper archive added today sits in 2019), at 00:00 北京时间 of that day; it is an entry with
`record_type` "attachment", its `kind` the attachment type (check_report, referral, ...), its
status (entered_in_error ones stay, flagged) and its metadata under `attachment`:

    list_records(session, "11010510110100007", limit=2)
      -> {"items": [{"entry": "record", "record_id": "8f3e...", "record_type": "visit", ...},
                    {"entry": "attachment", "record_type": "attachment", "kind": "check_report",
                     "status": "entered_in_error", "attachment": {"attachment_id": 12, ...}, ...}],
          "next": "MjAyNi0..."}

The order is (occurred_at, entry, id) descending, records before attachments at one instant; the
cursor carries all three. Records are re-pointed when archives are transferred or merged, but
attachments stay under the number they were added with (their row is immutable), so the
attachments are read under every number that leads to the archive (`archive_nos`).

Two queries, each at most a page and one long, merged here: the records' query is the indexed
one it always was, and an archive has few attachments.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.errors import ValidationFailed
from shared.paging import check_limit, decode_cursor, encode_cursor

from services.records.attachments import attachment_view
from services.records.entries import CHINA_TIME
from services.records.facts import record_flags
from services.records.models import Attachment, Record, RecordRevision

RECORD, ATTACHMENT = "record", "attachment"
# At one instant, records come first (newest first means the higher rank first).
_RANK = {RECORD: 1, ATTACHMENT: 0}


def _instant(value: str | None) -> datetime | None:
    # Checked at the RPC boundary (shared.contracts.fields.instant: a UTC offset within ±14:00).
    return None if value is None else datetime.fromisoformat(value)


def attachment_instant(document_date: date) -> datetime:
    """Where an attachment sits on the timeline: 00:00 北京时间 of the date the document bears."""
    return datetime.combine(document_date, time(), CHINA_TIME)


def list_records(session: Session, archive_no: str, limit: int = 50, cursor: str | None = None,
                 record_type: str | None = None, kind: str | None = None, institution_code: str | None = None,
                 since: str | None = None, until: str | None = None,
                 archive_nos: list[str] | None = None) -> dict:
    """One page of an archive's timeline, newest first: its records with their current revision
    and its attachments, optionally of one `record_type` ("attachment" for the files only), of
    one `kind` (a record's kind, or an attachment's type), from one institution, or within
    [since, until): {"items": [...], "next": cursor}. `archive_nos` are the numbers whose
    attachments are listed (every number leading to the archive; by default `archive_no`)."""
    check_limit(limit)
    after = _decode(cursor) if cursor else None
    since_at, until_at = _instant(since), _instant(until)
    rows: list[tuple[tuple, dict]] = []
    if record_type != ATTACHMENT:
        rows += _records(session, archive_no, limit, after, record_type, kind, institution_code, since_at, until_at)
    if record_type in (None, ATTACHMENT):
        rows += _attachments(session, archive_nos or [archive_no], limit, after, kind, institution_code,
                             since_at, until_at)
    # By instant and kind only: the ids of one kind keep the order their query gave (the
    # database's collation orders record ids, which Python's string order need not match).
    rows.sort(key=lambda row: row[0][:2], reverse=True)
    page = rows[:limit]
    next_cursor = _encode(page[-1][0]) if len(rows) > limit else None
    return {"items": [item for _, item in page], "next": next_cursor}


# -- the cursor: (occurred_at, rank of the entry, id) of the last item of a page -------------------

def _encode(key: tuple) -> str:
    occurred_at, rank, entry_id = key
    return encode_cursor(occurred_at.isoformat(), RECORD if rank == _RANK[RECORD] else ATTACHMENT, entry_id)


def _decode(cursor: str) -> tuple:
    occurred, entry, entry_id = decode_cursor(cursor, parts=3)
    try:
        occurred_at = datetime.fromisoformat(occurred)
        if occurred_at.tzinfo is None or entry not in _RANK or (entry == ATTACHMENT and not entry_id.isdigit()):
            raise ValueError(cursor)
    except ValueError:
        raise ValidationFailed("invalid cursor", {"cursor": ["Not a cursor this API returned."]}) from None
    return occurred_at, _RANK[entry], int(entry_id) if entry == ATTACHMENT else entry_id


def _after(occurred_at, entry_id, rank: int, after: tuple | None):
    """The condition "comes after the cursor" for the entries of one kind (`rank`)."""
    if after is None:
        return sa.true()
    at, after_rank, after_id = after
    if after_rank == rank:
        return sa.tuple_(occurred_at, entry_id) < sa.tuple_(at, after_id)
    # The other kind at the same instant: records (higher rank) all come before attachments.
    return occurred_at < at if rank > after_rank else occurred_at <= at


# -- records: plain rows, not ORM objects (the gateway reads a page for every request; loading
# objects cost about as much as the query) -------------------------------------------------------

_RECORDS, _REVISIONS = Record.__table__, RecordRevision.__table__
_PAGE = (
    sa.select(_RECORDS.c.id, _RECORDS.c.archive_no, _RECORDS.c.record_type, _RECORDS.c.kind, _RECORDS.c.status,
              _RECORDS.c.status_reason, _RECORDS.c.occurred_at, _RECORDS.c.institution_code,
              _RECORDS.c.source_system, _RECORDS.c.source_record_id, _REVISIONS.c.revision,
              _REVISIONS.c.recorded_at, _REVISIONS.c.origin, _REVISIONS.c.content)
    .join(_REVISIONS, sa.and_(_REVISIONS.c.record_id == _RECORDS.c.id,
                              _REVISIONS.c.revision == _RECORDS.c.current_revision))
    .where(_RECORDS.c.archive_no == sa.bindparam("archive_no"))
    .order_by(_RECORDS.c.occurred_at.desc(), _RECORDS.c.id.desc())
)


def _records(session, archive_no, limit, after, record_type, kind, institution_code, since_at, until_at):
    stmt = _PAGE.where(_after(_RECORDS.c.occurred_at, _RECORDS.c.id, _RANK[RECORD], after)).limit(limit + 1)
    if record_type:
        stmt = stmt.where(_RECORDS.c.record_type == record_type)
    if kind:
        stmt = stmt.where(_RECORDS.c.kind == kind)
    if institution_code:
        stmt = stmt.where(_RECORDS.c.institution_code == institution_code)
    if since_at:
        stmt = stmt.where(_RECORDS.c.occurred_at >= since_at)
    if until_at:
        stmt = stmt.where(_RECORDS.c.occurred_at < until_at)
    return [((row.occurred_at, _RANK[RECORD], row.id), _record_view(row))
            for row in session.execute(stmt, {"archive_no": archive_no})]


def _record_view(row) -> dict:
    return {
        "entry": RECORD,
        "record_id": row.id,
        "archive_no": row.archive_no,
        "record_type": row.record_type,
        "kind": row.kind,
        "status": row.status,
        "status_reason": row.status_reason,
        "occurred_at": row.occurred_at.isoformat(),
        "revision": row.revision,
        "recorded_at": row.recorded_at.isoformat(),
        "origin": row.origin,
        "source": {
            "institution_code": row.institution_code,
            "system": row.source_system,
            "record_id": row.source_record_id,
        },
        "content": row.content,
        "flags": record_flags(row.record_type, row.content, row.status),
    }


# -- attachments ------------------------------------------------------------------------------------

# 00:00 北京时间 of the document's date, in SQL (as attachment_instant in Python).
_ATTACHMENT_AT = sa.func.timezone("Asia/Shanghai", sa.cast(Attachment.document_date, sa.DateTime))


def _attachments(session, archive_nos, limit, after, kind, institution_code, since_at, until_at):
    stmt = (sa.select(Attachment).where(Attachment.archive_no.in_(archive_nos),
                                        _after(_ATTACHMENT_AT, Attachment.id, _RANK[ATTACHMENT], after))
            .order_by(Attachment.document_date.desc(), Attachment.id.desc()).limit(limit + 1))
    if kind:
        stmt = stmt.where(Attachment.attachment_type == kind)
    if institution_code:
        stmt = stmt.where(Attachment.institution_code == institution_code)
    if since_at:
        stmt = stmt.where(_ATTACHMENT_AT >= since_at)
    if until_at:
        stmt = stmt.where(_ATTACHMENT_AT < until_at)
    entries = []
    for attachment in session.scalars(stmt):
        at = attachment_instant(attachment.document_date)
        entries.append(((at, _RANK[ATTACHMENT], attachment.id), attachment_entry(attachment_view(attachment), at)))
    return entries


def attachment_entry(attachment: dict[str, Any], at: datetime) -> dict:
    """An attachment as an entry of the timeline: the fields every entry has, and its metadata."""
    return {
        "entry": ATTACHMENT,
        "archive_no": attachment["archive_no"],
        "record_type": ATTACHMENT,
        "kind": attachment["attachment_type"],
        "status": attachment["status"],
        "status_reason": attachment["status_reason"],
        "occurred_at": at.isoformat(),
        "recorded_at": attachment["added_at"],
        "source": {"institution_code": attachment["institution_code"], "system": None, "record_id": None},
        "attachment": attachment,
    }
