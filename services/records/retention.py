"""Until when an archive must be kept (domain.md section 8), and nothing is ever deleted.

Resident archives have no retention period of their own: they are kept "with reference to" the
medical-record periods (医疗机构病历管理规定 2013, Art. 29): at least 15 years from the last
service (门(急)诊病历), at least 30 years from the last inpatient stay (住院病历) where hospital
inpatient documents are embedded. An archive is therefore kept until the latest of

    its last service or document   + 15 years   (any record, any attachment, its creation)
    its last inpatient record      + 30 years   (a hospital's inpatient_admission / _discharge)
    its termination date           + 15 years   (死亡 / 迁出 / 失访: kept by the unit that held it)

and, while it is active, that date moves with every new service. The answer is information for
the archive's keepers; the suite deletes nothing before or after it.

    retain_until(last_service=date(2026, 11, 20), last_inpatient=None, terminated_on=None)
        -> (date(2041, 11, 20), "last_service")
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.archive_no import archive_numbers

from services.records.entries import CHINA_TIME
from services.records.models import Attachment, Record

SERVICE_YEARS, INPATIENT_YEARS = 15, 30
INPATIENT_KINDS = ("inpatient_admission", "inpatient_discharge")
RULE = ("at least 15 years from the last service or termination, 30 from the last inpatient record "
        "(医疗机构病历管理规定 Art. 29, by reference); nothing is deleted")


def years_after(day: date, years: int) -> date:
    """`day` plus whole years; 29 February lands on 1 March of a common year (never earlier)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return date(day.year + years, 3, 1)


def retain_until(last_service: date, last_inpatient: date | None,
                 terminated_on: date | None) -> tuple[date, str]:
    """The date the archive must be kept until, and which of the three rules decides it (the
    first in this order when two give the same day): last_service, inpatient, termination."""
    candidates = [(years_after(last_service, SERVICE_YEARS), "last_service")]
    if last_inpatient is not None:
        candidates.append((years_after(last_inpatient, INPATIENT_YEARS), "inpatient"))
    if terminated_on is not None:
        candidates.append((years_after(terminated_on, SERVICE_YEARS), "termination"))
    best = candidates[0]
    for candidate in candidates[1:]:
        if candidate[0] > best[0]:
            best = candidate
    return best


# -- reading it from an archive's records and attachments -----------------------------------------

def archive_retention(session: Session, archive: dict) -> dict:
    """The retention of `archive` (as the registry answers it), from everything filed under any
    of its numbers (former and merged ones included):

        {"archive_no": "11010510110100007", "retain_until": "2041-11-20", "basis": "last_service",
         "last_service": "2026-11-20", "last_inpatient": null, "terminated_on": null,
         "status": "active", "rule": "at least 15 years ...", "deletes": false}
    """
    numbers = archive_numbers(archive)
    last_record, last_inpatient = session.execute(
        sa.select(sa.func.max(Record.occurred_at),
                  sa.func.max(Record.occurred_at).filter(Record.kind.in_(INPATIENT_KINDS)))
        .where(Record.archive_no.in_(numbers))).one()
    last_document, last_added = session.execute(
        sa.select(sa.func.max(Attachment.document_date), sa.func.max(Attachment.added_at))
        .where(Attachment.archive_no.in_(numbers))).one()
    created = china_date(_instant(archive["created_at"]))
    last_service = max(filter(None, [created, last_record and china_date(last_record), last_document,
                                     last_added and china_date(last_added)]))
    inpatient = last_inpatient and china_date(last_inpatient)
    termination = archive.get("termination") or {}
    terminated_on = date.fromisoformat(termination["date"]) if termination.get("date") else None
    until, basis = retain_until(last_service, inpatient, terminated_on)
    return {"archive_no": archive["archive_no"], "status": archive.get("status"), "retain_until": until.isoformat(),
            "basis": basis, "last_service": last_service.isoformat(),
            "last_inpatient": inpatient.isoformat() if inpatient else None,
            "terminated_on": terminated_on.isoformat() if terminated_on else None, "rule": RULE, "deletes": False}


def china_date(instant: datetime) -> date:
    """The day an instant falls on in China (where services and documents are dated)."""
    return instant.astimezone(CHINA_TIME).date()


def _instant(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
