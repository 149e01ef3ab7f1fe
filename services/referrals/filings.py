"""The records a referral owes the archive: the 转出单 (`referral_out`) when it is sent, the 回转单
(`referral_back`) when the receiver sends the resident back, the 会诊记录表 (`consultation`)
when a consultation is answered. They are filed through the records service's `file_record`
(origin `referral`), so the timeline and the township updates show them.

A filing is written to `filings` in the transaction of the change that owes it, with the record
id chosen then, and filed after that commit; what cannot be filed now (records down, a timeout)
stays `pending` and the timer retries it with a growing pause. The records service answers a
second filing under the same id with the record filed the first time, so a lost answer files
nothing twice. Several processes retry side by side without taking the same row
(`FOR UPDATE SKIP LOCKED`).

    owe(session, "referral:7", "11010510110100007", "referral_out", "T1101051011", {...})  -> record id
    file_due(session, file_record)   -> {"filed": 2, "pending": 0}

Operators see what is owed (`list_filings`: subject, record type and id, attempts, the last
error, when it is tried next; never the form's content) and may have it tried now, pause or not
(`file_due(..., every=True)`, `ehr referrals filings --retry`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.db import get_or_not_found
from shared.errors import EhrError
from shared.paging import page_by_id

from services.referrals.models import Filing

log = logging.getLogger(__name__)

MAX_PAUSE = timedelta(minutes=30)
FileRecord = Callable[[str, dict, str], Any]  # (archive_no, payload, record_id) -> the record


def owe(session: Session, subject: str, archive_no: str, record_type: str, institution_code: str,
        content: dict[str, Any]) -> str:
    """Note a record owed to the archive, in the caller's transaction; returns its record id."""
    record_id = str(uuid.uuid4())
    session.add(Filing(subject=subject, archive_no=archive_no, record_type=record_type, record_id=record_id,
                       institution_code=institution_code, content=content))
    session.flush()
    return record_id


def pause(attempts: int) -> timedelta:
    return min(MAX_PAUSE, timedelta(seconds=5 * 2 ** min(attempts, 12)))


def file_due(session: Session, file_record: FileRecord, limit: int = 50, subject: str | None = None,
             every: bool = False, filing_id: int | None = None) -> dict[str, int]:
    """File what is owed and due (with `subject`, what that referral owes; with `every`, all that
    is owed, or with `filing_id` that one, whatever the pause), now; commits."""
    filed = 0
    now = datetime.now(timezone.utc)
    where = [Filing.status == "pending"]
    if filing_id is not None:
        where.append(Filing.id == filing_id)
    elif subject:
        where.append(Filing.subject == subject)
    elif not every:
        where.append(Filing.next_attempt_at <= now)
    rows = session.scalars(sa.select(Filing).where(*where).order_by(Filing.id).limit(limit)
                           .with_for_update(skip_locked=True)).all()
    for row in rows:
        payload = {"record_type": row.record_type, "content": row.content, "institution_code": row.institution_code}
        try:
            file_record(row.archive_no, payload, row.record_id)
        except EhrError as exc:
            # Refused by records (the archive terminated, a form it will not take): kept with the
            # reason for an operator; retried less and less often.
            _failed(row, f"{type(exc).__name__}: {exc}")
            log.warning("referral filing refused", extra={"subject": row.subject, "record_type": row.record_type,
                                                          "error": str(exc)})
            continue
        except Exception as exc:  # noqa: BLE001 - records unreachable, a timeout: retried later
            _failed(row, type(exc).__name__)
            continue
        row.status, row.filed_at = "filed", sa.func.now()
        filed += 1
    session.commit()
    pending = session.scalar(sa.select(sa.func.count()).select_from(Filing).where(Filing.status == "pending"))
    return {"filed": filed, "pending": pending or 0}


def _failed(row: Filing, error: str) -> None:
    row.attempts += 1
    row.last_error = error[:500]
    row.next_attempt_at = datetime.now(timezone.utc) + pause(row.attempts)


def of_subject(session: Session, subject: str) -> list[dict[str, Any]]:
    rows = session.scalars(sa.select(Filing).where(Filing.subject == subject).order_by(Filing.id)).all()
    return [{"record_type": r.record_type, "record_id": r.record_id, "status": r.status} for r in rows]


def get(session: Session, filing_id: int) -> Filing:
    return get_or_not_found(session, Filing, filing_id, "no such filing", {"filing_id": filing_id})


def filing_view(row: Filing) -> dict[str, Any]:
    """A filing as an operator sees it: what, whose, how it went; not the form's content."""
    return {"id": row.id, "subject": row.subject, "archive_no": row.archive_no, "record_type": row.record_type,
            "record_id": row.record_id, "institution_code": row.institution_code, "status": row.status,
            "attempts": row.attempts, "last_error": row.last_error, "next_attempt_at": row.next_attempt_at,
            "created_at": row.created_at, "filed_at": row.filed_at}


def list_filings(session: Session, status: str | None = "pending", limit: int = 50,
                 cursor: str | None = None) -> dict[str, Any]:
    """The filings owed (`pending`; `filed`; None: both), newest first."""
    return page_by_id(session, Filing, [Filing.status == status] if status else [], limit, cursor, filing_view)
