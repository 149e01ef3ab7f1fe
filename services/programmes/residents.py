"""The programmes' read model of residents, kept from the registry's events (and, for an archive
created before this service ran, from the registry's answer when a clinician first enrols it):
archive number (and every former one), village, managing institution, birth date, sex, 常住类型,
责任医生 and status. What happens to the enrolments follows here too:

    archive_created      the resident becomes known (a placeholder made by an earlier record is filled)
    identity_updated     the profile as it now is; a new 责任医生 takes over the enrolments the old one had
    archive_terminated   every active enrolment ends with the termination's reason and date
    archive_reactivated  the resident is active again; ended enrolments stay ended (a clinician resumes them)
    archive_transferred  the new number, village and managing institution; enrolments move with it
    archives_merged      the merged archive's enrolments, records and suggestions move to the survivor
                         (one the survivor has already: the merged one ends as `merged`), history kept
    archives_unmerged    what the merge moved goes back, and what it ended resumes

Every use case locks the residents it changes (`FOR UPDATE`), so two workers applying events of
one resident take turns, and a placeholder is created with `ON CONFLICT DO NOTHING`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from shared.actor import SYSTEM, Actor
from shared.contracts.events import ENROLMENT_ENDED
from shared import clock

from services.programmes import scheduling
from services.programmes.announce import announce
from services.programmes.models import Enrolment, EnrolmentEvent, Resident, ResidentNumber, ServiceRecord, Suggestion

ACTIVE, TERMINATED, MERGED = "active", "terminated", "merged"
MERGED_REASON = "merged"


def lookup(session: Session, archive_no: str, follow_merges: bool = True, lock: bool = True) -> Resident | None:
    """The resident an archive number (current or former) leads to; with `follow_merges`, the
    survivor of a merge rather than the merged archive."""
    resident_id = session.scalar(sa.select(ResidentNumber.resident_id).where(ResidentNumber.archive_no == archive_no))
    seen = set()
    while resident_id is not None and resident_id not in seen:
        seen.add(resident_id)
        stmt = sa.select(Resident).where(Resident.id == resident_id)
        resident = session.scalar(stmt.with_for_update() if lock else stmt)
        if not (follow_merges and resident.status == MERGED and resident.merged_into):
            return resident
        resident_id = resident.merged_into
    return None


def ensure(session: Session, archive_no: str, follow_merges: bool = True) -> Resident:
    """The resident of `archive_no`, locked; a placeholder (not `known`) when no registry event
    has named it yet (records' event came first)."""
    resident = lookup(session, archive_no, follow_merges)
    if resident is not None:
        return resident
    session.execute(pg_insert(Resident).values(archive_no=archive_no, village_code=archive_no[:12])
                    .on_conflict_do_nothing(index_elements=["archive_no"]))
    resident_id = session.scalar(sa.select(Resident.id).where(Resident.archive_no == archive_no))
    session.execute(pg_insert(ResidentNumber).values(archive_no=archive_no, resident_id=resident_id)
                    .on_conflict_do_nothing(index_elements=["archive_no"]))
    return lookup(session, archive_no, follow_merges)


def view(resident: Resident) -> dict[str, Any]:
    """The resident as eligibility reads it."""
    return {"archive_no": resident.archive_no, "status": resident.status, "birth_date": resident.birth_date,
            "sex": resident.sex, "residence_type": resident.residence_type,
            "institution_code": resident.institution_code, "village_code": resident.village_code,
            "responsible_doctor": resident.responsible_doctor}


def _touch(resident: Resident) -> None:
    resident.updated_at = datetime.now(timezone.utc)


def apply_profile(session: Session, resident: Resident, profile: Mapping[str, Any] | None) -> None:
    """The profile as the registry now has it; the enrolments the former 责任医生 had (or none had)
    pass to the new one."""
    if not profile:
        return
    former = resident.responsible_doctor
    resident.birth_date, resident.sex = profile.get("birth_date"), profile.get("sex")
    resident.residence_type = profile.get("residence_type")
    resident.responsible_doctor = profile.get("responsible_doctor")
    if resident.responsible_doctor != former:
        for enrolment in _enrolments(session, resident):
            if enrolment.responsible_doctor in (former, None):
                enrolment.responsible_doctor = resident.responsible_doctor
        scheduling.reroute(session, resident)


def adopt(session: Session, archive: Mapping[str, Any]) -> Resident:
    """Make the resident of an archive known from the registry's own description of it
    (`archive_created`'s payload, or `get_archive`'s answer for one created before this service)."""
    resident = ensure(session, archive["archive_no"], follow_merges=False)
    resident.village_code = archive.get("village_code") or resident.village_code
    resident.institution_code = archive.get("institution_code") or resident.institution_code
    if archive.get("status") in (ACTIVE, TERMINATED):
        resident.status = archive["status"]
    resident.known = True
    apply_profile(session, resident, archive.get("profile"))
    _touch(resident)
    return resident


# -- the registry's events ----------------------------------------------------------------------


def archive_created(session: Session, data: Mapping[str, Any]) -> int:
    adopt(session, {**data, "status": None})
    return 1


def identity_updated(session: Session, data: Mapping[str, Any]) -> int:
    resident = ensure(session, data["archive_no"], follow_merges=False)
    apply_profile(session, resident, data.get("profile"))
    _touch(resident)
    return 1


def _enrolments(session: Session, resident: Resident, status: str | None = None) -> list[Enrolment]:
    stmt = sa.select(Enrolment).where(Enrolment.resident_id == resident.id).order_by(Enrolment.id).with_for_update()
    if status:
        stmt = stmt.where(Enrolment.status == status)
    return list(session.scalars(stmt))


def record_step(session: Session, enrolment: Enrolment, resident: Resident, step: str, actor: Actor,
                on: date | None = None, reason: str | None = None, note: str | None = None) -> None:
    session.add(EnrolmentEvent(enrolment_id=enrolment.id, event=step, on_date=on, reason=reason, note=note,
                               archive_no=resident.archive_no, institution_code=enrolment.institution_code,
                               actor=actor.user))


def end_enrolment(session: Session, enrolment: Enrolment, resident: Resident, reason: str, on: date, actor: Actor,
                  note: str | None = None) -> None:
    """End an active enrolment (its history step and `enrolment_ended`)."""
    enrolment.status, enrolment.ended_on, enrolment.end_reason, enrolment.end_note = "ended", on, reason, note
    enrolment.updated_at = datetime.now(timezone.utc)
    record_step(session, enrolment, resident, "ended", actor, on, reason, note)
    announce(session, ENROLMENT_ENDED, {"archive_no": resident.archive_no, "programme": enrolment.programme,
                                        "reason": reason, "date": on, "institution_code": enrolment.institution_code},
             actor)


def archive_terminated(session: Session, data: Mapping[str, Any]) -> int:
    resident = ensure(session, data["archive_no"], follow_merges=False)
    resident.status = TERMINATED
    _touch(resident)
    ended = 0
    for enrolment in _enrolments(session, resident, "active"):
        end_enrolment(session, enrolment, resident, data["reason"], data["date"], SYSTEM,
                      note="档案终止 (archive terminated)")
        ended += 1
    scheduling.reroute(session, resident)
    return ended + 1


def archive_reactivated(session: Session, data: Mapping[str, Any]) -> int:
    resident = ensure(session, data["archive_no"], follow_merges=False)
    if resident.status == TERMINATED:
        resident.status = ACTIVE
    _touch(resident)
    scheduling.reroute(session, resident)
    return 1


def archive_transferred(session: Session, data: Mapping[str, Any]) -> int:
    former = data.get("former_archive_no")
    resident = (lookup(session, former, follow_merges=False) if former else None) \
        or ensure(session, data["archive_no"], follow_merges=False)
    new_no = data["archive_no"]
    placeholder = lookup(session, new_no, follow_merges=False)
    if placeholder is not None and placeholder.id != resident.id:
        _fold_placeholder(session, placeholder, resident)
    resident.archive_no, resident.village_code = new_no, data["village_code"]
    moved_institution = resident.institution_code != data["institution_code"]
    resident.institution_code = data["institution_code"]
    _touch(resident)
    session.execute(pg_insert(ResidentNumber).values(archive_no=new_no, resident_id=resident.id)
                    .on_conflict_do_update(index_elements=["archive_no"], set_={"resident_id": resident.id}))
    for enrolment in _enrolments(session, resident):
        if enrolment.institution_code != data["institution_code"]:
            enrolment.institution_code = data["institution_code"]
            if moved_institution:
                enrolment.responsible_doctor = None  # the former institution's doctor; the registry names the new one
            record_step(session, enrolment, resident, "transferred", SYSTEM, note="转出/转入 (archive transferred)")
    scheduling.reroute(session, resident)
    return 1


def _fold_placeholder(session: Session, placeholder: Resident, resident: Resident) -> None:
    """A placeholder made for the new number by a record heard of before the transfer: its records
    and suggestions are the resident's; the placeholder stays, merged into it."""
    session.execute(sa.update(ServiceRecord).where(ServiceRecord.resident_id == placeholder.id)
                    .values(resident_id=resident.id))
    session.execute(sa.update(Suggestion).where(Suggestion.resident_id == placeholder.id, Suggestion.status != "open")
                    .values(resident_id=resident.id))
    session.execute(sa.update(Suggestion).where(Suggestion.resident_id == placeholder.id)
                    .values(status="closed"))
    placeholder.status, placeholder.merged_into = MERGED, resident.id
    placeholder.archive_no = f"~{placeholder.id}"[:17]  # frees the number for the resident (unique)
    session.flush()


def archives_merged(session: Session, data: Mapping[str, Any]) -> int:
    first, second = sorted([data["archive_no"], data["merged_archive_no"]])  # one lock order for every worker
    ensure(session, first, follow_merges=False), ensure(session, second, follow_merges=False)
    survivor = lookup(session, data["archive_no"], follow_merges=False)
    merged = lookup(session, data["merged_archive_no"], follow_merges=False)
    merge_id = data["merge_id"]
    merged.status, merged.merged_into = MERGED, survivor.id
    _touch(merged), _touch(survivor)
    actor = SYSTEM
    theirs = {e.programme: e for e in _enrolments(session, survivor)}
    for enrolment in _enrolments(session, merged):
        if enrolment.programme in theirs:
            if enrolment.status == "active":
                end_enrolment(session, enrolment, merged, MERGED_REASON, clock.today(), actor,
                              note=f"合并入 {survivor.archive_no}")
            enrolment.merged_by = merge_id
            continue
        enrolment.resident_id, enrolment.merged_by, enrolment.moved_from = survivor.id, merge_id, merged.id
        record_step(session, enrolment, survivor, "moved", actor, note=f"合并自 {merged.archive_no}")
    session.execute(sa.update(ServiceRecord).where(ServiceRecord.resident_id == merged.id)
                    .values(resident_id=survivor.id, merged_by=merge_id, moved_from=merged.id))
    open_theirs = set(session.scalars(sa.select(Suggestion.programme).where(
        Suggestion.resident_id == survivor.id, Suggestion.status == "open")))
    for suggestion in session.scalars(sa.select(Suggestion).where(Suggestion.resident_id == merged.id,
                                                                  Suggestion.status == "open")):
        if suggestion.programme in open_theirs:
            suggestion.status = "closed"
        else:
            suggestion.resident_id = survivor.id
    session.flush()
    _refresh_all(session, survivor)
    scheduling.reroute(session, merged)
    return 1


def archives_unmerged(session: Session, data: Mapping[str, Any]) -> int:
    first, second = sorted([data["archive_no"], data["restored_archive_no"]])
    ensure(session, first, follow_merges=False), ensure(session, second, follow_merges=False)
    survivor = lookup(session, data["archive_no"], follow_merges=False)
    restored = lookup(session, data["restored_archive_no"], follow_merges=False)
    merge_id = data["merge_id"]
    restored.status, restored.merged_into = ACTIVE, None
    _touch(restored), _touch(survivor)
    actor = SYSTEM
    for enrolment in session.scalars(sa.select(Enrolment).where(Enrolment.merged_by == merge_id).with_for_update()):
        if enrolment.moved_from == restored.id and enrolment.resident_id == survivor.id:
            enrolment.resident_id, enrolment.merged_by, enrolment.moved_from = restored.id, None, None
            record_step(session, enrolment, restored, "moved_back", actor, note=f"撤销合并，自 {survivor.archive_no}")
        elif enrolment.resident_id == restored.id:
            enrolment.merged_by = None
            if enrolment.status == "ended" and enrolment.end_reason == MERGED_REASON:
                enrolment.status, enrolment.ended_on, enrolment.end_reason, enrolment.end_note = "active", None, None, None
                record_step(session, enrolment, restored, "resumed", actor, note="撤销合并")
    session.execute(sa.update(ServiceRecord).where(ServiceRecord.merged_by == merge_id,
                                                   ServiceRecord.moved_from == restored.id)
                    .values(resident_id=restored.id, merged_by=None, moved_from=None))
    session.flush()
    _refresh_all(session, survivor)
    _refresh_all(session, restored)
    return 1


def _refresh_all(session: Session, resident: Resident) -> None:
    facts = scheduling.facts_of(session, resident.id)
    for enrolment in _enrolments(session, resident):
        scheduling.refresh(session, enrolment, resident, facts)
