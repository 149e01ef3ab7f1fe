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

    record_changed(session, event.data, actor)                 -> 1
    record_changed_many(session, [event.data, ...], actor)     -> 3   (a batch's, in order, in fewer statements)
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
from services.programmes.models import Enrolment, Resident, ResidentNumber, ServiceRecord
from services.programmes.residents import MERGED, ensure
from services.programmes.schedules import BACK_REFERRAL, CHRONIC_PROGRAMMES, REFERRAL_URGENT, Fact


def classifications(facts: Mapping[str, Any]) -> dict[str, str]:
    given = facts.get("classifications")
    if isinstance(given, Mapping) and given:
        return {str(p): str(code) for p, code in given.items() if code is not None}
    code = facts.get("classification")
    return {p: code for p in facts.get("programmes") or []} if code else {}


def _keep(session: Session, resident: Resident, data: Mapping[str, Any], row: ServiceRecord | None) -> ServiceRecord | None:
    """Store (or strike out) the record's facts (flushed with the batch); None when the event is
    stale or the record is of no programme's concern, else the row as it now stands."""
    if row is not None and data["revision"] < row.revision:
        return None
    facts = data.get("facts")
    if data["action"] == "entered_in_error" or facts is None:
        if row is None:
            return None
        row.status, row.revision, row.updated_at = "entered_in_error", data["revision"], datetime.now(timezone.utc)
        return row
    if not (facts.get("programmes") or facts.get("urgent") or data["record_type"] == BACK_REFERRAL) and row is None:
        return None
    values = dict(
        resident_id=resident.id, record_type=data["record_type"], revision=data["revision"], status="active",
        programmes=list(facts.get("programmes") or []), classifications=classifications(facts),
        visit_date=facts.get("visit_date") or data["occurred_at"].date(), visit_method=facts.get("visit_method"),
        next_visit_date=facts.get("next_visit_date"), referred=bool(facts.get("referred")),
        sbp=facts.get("sbp"), dbp=facts.get("dbp"), fbg=facts.get("fbg"), urgent=list(facts.get("urgent") or []),
        institution_code=data.get("institution_code"), updated_at=datetime.now(timezone.utc))
    if row is None:
        row = ServiceRecord(record_id=data["record_id"], announced_referrals=[], **values)
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    return row


def record_changed(session: Session, data: Mapping[str, Any], actor: Actor) -> int:
    return record_changed_many(session, [data], actor)


class _Batch:
    """What a batch of `record_changed` works on, loaded at once: the residents (locked, in id
    order), the records' rows (locked), each resident's facts, enrolments (locked) and schedule
    rows. The facts are kept up to date in memory as each event is applied, so every event sees
    its resident's records as the events before it in the batch left them."""

    def __init__(self, session: Session, batch: list[Mapping[str, Any]]) -> None:
        self.residents = _residents(session, [data["archive_no"] for data in batch])
        ids = [resident.id for resident in self.residents.values()]
        self.rows = {row.record_id: row for row in session.scalars(
            sa.select(ServiceRecord).where(ServiceRecord.record_id.in_([data["record_id"] for data in batch]))
            .order_by(ServiceRecord.record_id).with_for_update())}
        self.facts: dict[int, dict[str, Fact]] = {resident_id: {} for resident_id in ids}
        for row in session.scalars(sa.select(ServiceRecord).where(ServiceRecord.resident_id.in_(ids),
                                                                  ServiceRecord.status == "active")):
            self.facts[row.resident_id][row.record_id] = scheduling.fact_of(row)
        self.enrolments: dict[int, list[Enrolment]] = {resident_id: [] for resident_id in ids}
        for enrolment in session.scalars(sa.select(Enrolment).where(Enrolment.resident_id.in_(ids))
                                         .order_by(Enrolment.id).with_for_update()):
            self.enrolments[enrolment.resident_id].append(enrolment)
        self.schedules = scheduling.rows_of(session, [e.id for found in self.enrolments.values() for e in found])

    def kept(self, row: ServiceRecord) -> None:
        """`row` as `_keep` left it: its fact counts for its resident while it is active."""
        self.rows[row.record_id] = row
        for facts in self.facts.values():
            facts.pop(row.record_id, None)
        if row.status == "active" and row.resident_id in self.facts:
            self.facts[row.resident_id][row.record_id] = scheduling.fact_of(row)


def _residents(session: Session, archive_nos: list[str]) -> dict[str, Resident]:
    """archive number -> its resident, locked (as `ensure` finds them: current or former numbers,
    merges followed, a placeholder made for one not heard of); those found directly are locked
    in one statement, in id order, so that two workers take them in the same order."""
    wanted = sorted(set(archive_nos))
    by_number = dict(session.execute(sa.select(ResidentNumber.archive_no, ResidentNumber.resident_id)
                                     .where(ResidentNumber.archive_no.in_(wanted))).all())
    locked = {resident.id: resident for resident in session.scalars(
        sa.select(Resident).where(Resident.id.in_(set(by_number.values()))).order_by(Resident.id).with_for_update())}
    found = {}
    for archive_no in wanted:
        resident = locked.get(by_number.get(archive_no))
        if resident is None or (resident.status == MERGED and resident.merged_into):
            resident = ensure(session, archive_no)
        found[archive_no] = resident
    return found


def record_changed_many(session: Session, batch: list[Mapping[str, Any]], actor: Actor) -> int:
    """Apply the `record_changed` events of a batch, in order (as `record_changed` one by one
    would, in fewer statements); flushes once. Returns how many things changed."""
    if not batch:
        return 0
    loaded = _Batch(session, batch)
    changed = 0
    for data in batch:
        resident = loaded.residents[data["archive_no"]]
        changed += suggestions.suggest_from(session, resident, data)
        row = _keep(session, resident, data, loaded.rows.get(data["record_id"]))
        if row is None:
            continue
        changed += 1
        loaded.kept(row)
        facts = list(loaded.facts.setdefault(resident.id, {}).values())
        referrals: dict[str, dict[str, Any]] = {}
        for enrolment in loaded.enrolments.get(resident.id, []):
            rows = loaded.schedules.setdefault(enrolment.id, {})
            for due in scheduling.refresh(session, enrolment, resident, facts, rows, flush=False).values():
                if enrolment.status != "active":
                    continue
                for reason in due.referrals:
                    about = due.urgent_record_id if reason == REFERRAL_URGENT else due.last_record_id
                    if about == data["record_id"]:
                        entry = referrals.setdefault(reason, {"programmes": [], "triggers": list(due.urgent_triggers)})
                        entry["programmes"].append(enrolment.programme)
        _announce_referrals(session, resident, data, referrals, actor, row)
    session.flush()
    return changed


def _announce_referrals(session: Session, resident: Resident, data: Mapping[str, Any],
                        referrals: dict[str, dict[str, Any]], actor: Actor, row: ServiceRecord) -> None:
    """`referral_suggested` for each reason this record calls for that was not announced for it yet;
    an urgent trigger on a follow-up of a resident not enrolled yet is announced too."""
    if row.status != "active":
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
