"""What records' `record_changed` does here: the record's programme facts are kept (as its latest
revision has them; an entered-in-error record is struck out), the resident's schedules are
recomputed, suggestions are made from its diagnoses and screening, and the referrals it calls for
are announced (`referral_suggested`), once per record and reason.

A record is kept when it names a programme (a follow-up, an integrated visit, the elderly's
check or TCM service) or met an urgent-referral trigger (a hospital encounter's readings): it
satisfies the schedules of every programme it names, and a trigger flags the resident's chronic
follow-ups urgent. `facts.classifications` ({programme: code}, an integrated visit's) is used
when present, else `classification` for every programme the record names.

An event older than the revision kept (redelivered after a newer one) changes nothing.

    record_changed(session, event.data, actor)   -> 1
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.contracts.events import REFERRAL_SUGGESTED

from services.programmes import scheduling, suggestions
from services.programmes.announce import announce
from services.programmes.models import Enrolment, Resident, ServiceRecord
from services.programmes.residents import ensure
from services.programmes.schedules import CHRONIC_PROGRAMMES, REFERRAL_URGENT


def classifications(facts: Mapping[str, Any]) -> dict[str, str]:
    given = facts.get("classifications")
    if isinstance(given, Mapping) and given:
        return {str(p): str(code) for p, code in given.items() if code is not None}
    code = facts.get("classification")
    return {p: code for p in facts.get("programmes") or []} if code else {}


def _keep(session: Session, resident: Resident, data: Mapping[str, Any], row: ServiceRecord | None) -> bool:
    """Store (or strike out) the record's facts; False when the event is stale or the record is
    of no programme's concern."""
    if row is not None and data["revision"] < row.revision:
        return False
    facts = data.get("facts")
    if data["action"] == "entered_in_error" or facts is None:
        if row is None:
            return False
        row.status, row.revision, row.updated_at = "entered_in_error", data["revision"], datetime.now(timezone.utc)
        return True
    if not (facts.get("programmes") or facts.get("urgent")) and row is None:
        return False
    values = dict(
        resident_id=resident.id, record_type=data["record_type"], revision=data["revision"], status="active",
        programmes=list(facts.get("programmes") or []), classifications=classifications(facts),
        visit_date=facts.get("visit_date") or data["occurred_at"].date(), visit_method=facts.get("visit_method"),
        next_visit_date=facts.get("next_visit_date"), referred=bool(facts.get("referred")),
        sbp=facts.get("sbp"), dbp=facts.get("dbp"), fbg=facts.get("fbg"), urgent=list(facts.get("urgent") or []),
        institution_code=data.get("institution_code"), updated_at=datetime.now(timezone.utc))
    if row is None:
        session.add(ServiceRecord(record_id=data["record_id"], announced_referrals=[], **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.flush()
    return True


def record_changed(session: Session, data: Mapping[str, Any], actor: Actor) -> int:
    resident = ensure(session, data["archive_no"])
    row = session.scalar(sa.select(ServiceRecord).where(ServiceRecord.record_id == data["record_id"]).with_for_update())
    changed = suggestions.suggest_from(session, resident, data)
    if _keep(session, resident, data, row):
        changed += 1
        facts = scheduling.facts_of(session, resident.id)
        referrals: dict[str, dict[str, Any]] = {}
        for enrolment in session.scalars(sa.select(Enrolment).where(Enrolment.resident_id == resident.id)
                                         .order_by(Enrolment.id).with_for_update()):
            for due in scheduling.refresh(session, enrolment, resident, facts).values():
                if enrolment.status != "active":
                    continue
                for reason in due.referrals:
                    about = due.urgent_record_id if reason == REFERRAL_URGENT else due.last_record_id
                    if about == data["record_id"]:
                        entry = referrals.setdefault(reason, {"programmes": [], "triggers": list(due.urgent_triggers)})
                        entry["programmes"].append(enrolment.programme)
        _announce_referrals(session, resident, data, referrals, actor)
    return changed


def _announce_referrals(session: Session, resident: Resident, data: Mapping[str, Any],
                        referrals: dict[str, dict[str, Any]], actor: Actor) -> None:
    """`referral_suggested` for each reason this record calls for that was not announced for it yet;
    an urgent trigger on a follow-up of a resident not enrolled yet is announced too."""
    row = session.get(ServiceRecord, data["record_id"])
    if row is None or row.status != "active":
        return
    facts = data.get("facts") or {}
    if facts.get("urgent") and REFERRAL_URGENT not in referrals and facts.get("programmes"):
        chronic = [p for p in facts["programmes"] if p in CHRONIC_PROGRAMMES]
        if chronic:
            referrals[REFERRAL_URGENT] = {"programmes": chronic, "triggers": list(facts["urgent"])}
    fresh = [reason for reason in referrals if reason not in (row.announced_referrals or [])]
    for reason in fresh:
        announce(session, REFERRAL_SUGGESTED, {
            "archive_no": resident.archive_no, "programmes": sorted(set(referrals[reason]["programmes"])),
            "record_id": row.record_id, "record_type": row.record_type, "visit_date": row.visit_date,
            "reason": reason, "triggers": referrals[reason]["triggers"] if reason == REFERRAL_URGENT else [],
            "institution_code": resident.institution_code or row.institution_code}, actor)
    if fresh:
        row.announced_referrals = [*(row.announced_referrals or []), *fresh]
        session.flush()
