"""Referrals out and back (双向转诊): create, send a draft, answer, move along, read, list.

Every change goes through `change`: the referral row is locked (`SELECT ... FOR UPDATE`), the
move checked against `lifecycle` from the state it has now (so of two racing answers the second,
waiting on the lock, finds the first one's state and gets a 409 naming both), the version
raised, the step written to `referral_history` (who, institution, when, why, the hospital's
message id), the event staged in the outbox and, where the move owes the archive a record (the
转出单 when sent, the 回转单 when back-referred), the filing noted; all in one transaction.

The caller's side comes from the acting institution (`side_of`): the referring institution is
the sender, the one the referral is addressed to the receiver; on neither side, the referral is
not found (404).

    create(session, archive, {"to_institution_code": "H1101050001", ...}, actor)  -> Referral (requested)
    change(session, 7, ACCEPT, actor, side=RECEIVER)                            -> Referral (accepted)
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.errors import NotFound, ValidationFailed
from shared.paging import page_by_id
from shared.db import get_or_not_found

from services.referrals import filings, lifecycle
from services.referrals.announce import announce, tell
from services.referrals.lifecycle import (
    ACCEPTED, ARRIVED, BACK_REFER, BACK_REFERRED, CANCEL, CANCELLED, DRAFT, EXPIRED, RECEIVER, REQUESTED, SEND,
    SENDER, SYSTEM,
)
from services.referrals.models import Referral, ReferralStep

# What the receiver hears of on its queue (`ehr.referral/1`), by the state a change led to.
TOLD = {REQUESTED: "referral_requested", CANCELLED: "referral_cancelled", EXPIRED: "referral_expired"}


def now() -> datetime:
    return datetime.now(timezone.utc)


def side_of(referral: Referral, institution_code: str | None) -> set[str]:
    sides = set()
    if institution_code and institution_code == referral.from_institution_code:
        sides.add(SENDER)
    if institution_code and institution_code == referral.to_institution_code:
        sides.add(RECEIVER)
    return sides


def get(session: Session, referral_id: int, lock: bool = False) -> Referral:
    return get_or_not_found(session, Referral, referral_id, "no such referral", {"referral_id": referral_id}, lock)


def visible(session: Session, referral_id: int, actor: Actor) -> Referral:
    """The referral, if the acting institution stands on a side of it (a draft: the sender only)."""
    referral = get(session, referral_id)
    sides = side_of(referral, actor.institution_code)
    if referral.state == DRAFT:
        sides.discard(RECEIVER)
    if not sides and actor.institution_code is not None:
        raise NotFound("no such referral", {"referral_id": referral_id})
    return referral


def _step(session: Session, referral: Referral, action: str, before: str | None, actor: Actor,
          reason: str | None, message_id: str | None) -> None:
    session.add(ReferralStep(referral_id=referral.id, action=action, from_state=before, to_state=referral.state,
                             actor=actor.user, institution_code=actor.institution_code, reason=reason,
                             message_id=message_id))


def _event(session: Session, referral: Referral, before: str | None, actor: Actor, reason: str | None = None,
           record_id: str | None = None) -> None:
    event_type = lifecycle.EVENT_OF.get(referral.state)
    if event_type is None:
        return
    announce(session, event_type, {
        "referral_id": referral.id, "archive_no": referral.archive_no, "state": referral.state, "from_state": before,
        "urgency": referral.urgency, "from_institution_code": referral.from_institution_code,
        "from_doctor": referral.from_doctor, "to_institution_code": referral.to_institution_code, "reason": reason,
        "record_id": record_id, "deadline_at": referral.deadline_at}, actor)


def hospital_view(referral: Referral, archive: dict[str, Any] | None) -> dict[str, Any]:
    """What the receiver is told (`ehr.referral/1`): the clinical part, no identity."""
    archive = archive or {}
    return {"referral_id": referral.id, "archive_no": referral.archive_no, "sex": archive.get("sex"),
            "birth_date": archive.get("birth_date"), "urgency": referral.urgency,
            "from_institution_code": referral.from_institution_code, "from_doctor": referral.from_doctor,
            "to_department": referral.to_department, "to_doctor": referral.to_doctor, "reason": referral.reason,
            "record_ids": list(referral.record_ids or []), "deadline_at": referral.deadline_at}


def _out_form(referral: Referral) -> dict[str, Any]:
    reason = referral.reason or {}
    return {"occurred_on": _china_date(referral.requested_at), "referral_id": referral.id,
            "urgency": referral.urgency, "from_institution": referral.from_institution_code,
            "from_doctor": referral.from_doctor, "to_institution": referral.to_institution_code,
            "to_department": referral.to_department, "to_doctor": referral.to_doctor,
            "impression": reason.get("impression"), "present_illness": reason.get("present_illness"),
            "past_history": reason.get("past_history"), "treatment": reason.get("treatment"),
            "record_ids": list(referral.record_ids or [])}


def _back_form(referral: Referral, back: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {"occurred_on": _china_date(at), "referral_id": referral.id,
            "from_institution": referral.to_institution_code, "doctor": back.get("doctor"),
            "to_institution": referral.from_institution_code, "diagnosis": back["diagnosis"],
            "findings": back.get("findings"), "treatment": back["treatment"], "plan": back["plan"]}


def _china_date(at: datetime | None) -> str:
    from shared.clock import CHINA_TIME

    return (at or now()).astimezone(CHINA_TIME).date().isoformat()


def _send(session: Session, referral: Referral, archive: dict | None, before: str, actor: Actor,
          message_id: str | None = None) -> None:
    """The move to `requested`: the deadline set, the receiver told, the 转出单 owed."""
    if not referral.to_institution_code:
        raise ValidationFailed("whom to refer to", {"to_institution_code": ["Missing data for required field."]})
    if not (referral.reason or {}).get("impression"):
        raise ValidationFailed("why", {"reason": {"impression": ["Missing data for required field."]}})
    referral.requested_at = now()
    referral.deadline_at = lifecycle.deadline(referral.urgency, referral.requested_at)
    record_id = filings.owe(session, f"referral:{referral.id}", referral.archive_no, "referral_out",
                            referral.from_institution_code, _out_form(referral))
    _step(session, referral, SEND, before, actor, None, message_id)
    _event(session, referral, before, actor, record_id=record_id)
    tell(session, referral.to_institution_code, TOLD[REQUESTED], hospital_view(referral, archive),
         key=f"referral:{referral.id}:{referral.version}")


def create(session: Session, archive: dict[str, Any], payload: dict[str, Any], actor: Actor) -> Referral:
    """A referral out, sent at once (`requested`); commits. The caller checked the receiver is a
    known institution and the archive in the sender's scope."""
    if not actor.institution_code:
        raise ValidationFailed("who refers", {"institution_code": ["The acting institution is required."]})
    if payload["to_institution_code"] == actor.institution_code:
        raise ValidationFailed("refer elsewhere", {"to_institution_code": ["Must be another institution."]})
    referral = Referral(archive_no=archive["archive_no"], state=REQUESTED, urgency=payload["urgency"],
                        from_institution_code=actor.institution_code, from_doctor=actor.user,
                        to_institution_code=payload["to_institution_code"], to_department=payload.get("to_department"),
                        to_doctor=payload.get("to_doctor"), reason=payload["reason"],
                        record_ids=payload.get("record_ids") or [], version=1)
    session.add(referral)
    session.flush()
    _send(session, referral, archive, None, actor)
    session.commit()
    return referral


def draft(session: Session, data: dict[str, Any], actor: Actor) -> Referral | None:
    """A draft from the follow-ups' `referral_suggested`, in the referring institution's inbox with
    the trigger as its reason; one open draft per archive and record (a repeat adds nothing)."""
    if not data.get("institution_code"):
        return None
    exists = session.scalar(sa.select(Referral.id).where(
        Referral.archive_no == data["archive_no"], Referral.state == DRAFT,
        Referral.trigger["record_id"].astext == data["record_id"], Referral.trigger["reason"].astext == data["reason"]))
    if exists:
        return None
    urgency = "urgent" if data["reason"] == "urgent" else "routine"
    triggers = ", ".join(data.get("triggers") or [])
    words = {"urgent": "随访发现紧急转诊指征", "two_unsatisfactory": "连续两次随访控制不满意",
             "complications": "随访发现新的并发症或原有并发症加重"}[data["reason"]]
    trigger = {"reason": data["reason"], "triggers": data.get("triggers") or [], "record_id": data["record_id"],
               "record_type": data["record_type"], "visit_date": data["visit_date"].isoformat(),
               "programmes": data.get("programmes") or []}
    referral = Referral(archive_no=data["archive_no"], state=DRAFT, urgency=urgency,
                        from_institution_code=data["institution_code"], from_doctor=None,
                        reason={"impression": words + (f"（{triggers}）" if triggers else "")},
                        record_ids=[data["record_id"]], trigger=trigger, version=1)
    session.add(referral)
    session.flush()
    _step(session, referral, "suggest", None, actor, words, None)
    return referral


def send(session: Session, referral_id: int, archive: dict | None, payload: dict[str, Any], actor: Actor) -> Referral:
    """Send a draft (what it lacks given now); commits."""
    referral = get(session, referral_id, lock=True)
    lifecycle.require_side(SEND, _sides(referral, actor), referral_id)
    before = referral.state
    referral.state = lifecycle.next_state(before, SEND)
    for key in ("to_institution_code", "to_department", "to_doctor", "urgency", "reason", "record_ids"):
        if payload.get(key) is not None:
            setattr(referral, key, payload[key])
    if referral.to_institution_code == referral.from_institution_code:
        raise ValidationFailed("refer elsewhere", {"to_institution_code": ["Must be another institution."]})
    referral.from_doctor = referral.from_doctor or actor.user
    referral.version += 1
    referral.updated_at = now()
    _send(session, referral, archive, before, actor)
    session.commit()
    return referral


def _sides(referral: Referral, actor: Actor, system: bool = False) -> set[str]:
    sides = side_of(referral, actor.institution_code)
    if referral.state == DRAFT:
        sides.discard(RECEIVER)
    if system:
        sides.add(SYSTEM)
    return sides


def change(session: Session, referral_id: int, action: str, actor: Actor, reason: str | None = None,
           back: dict[str, Any] | None = None, side: str | None = None, message_id: str | None = None,
           commit: bool = True) -> Referral:
    """Move the referral by `action` (accept, reject, cancel, arrive, back_refer, close, expire) as
    `actor`, on `side` when the caller established it (a hospital's answer, the suite), else on the
    side the acting institution stands on. 409 when the state does not allow it."""
    referral = get(session, referral_id, lock=True)
    sides = {side} if side else _sides(referral, actor)
    lifecycle.require_side(action, sides, referral_id)
    before = referral.state
    referral.state = lifecycle.next_state(before, action)
    referral.version += 1
    referral.updated_at = now()
    referral.last_reason = reason
    record_id = None
    if action == BACK_REFER:
        referral.back_referral = back
        record_id = filings.owe(session, f"referral:{referral.id}", referral.archive_no, "referral_back",
                                referral.to_institution_code, _back_form(referral, back, referral.updated_at))
    _step(session, referral, action, before, actor, reason, message_id)
    _event(session, referral, before, actor, reason=reason, record_id=record_id)
    if referral.state in TOLD and before != DRAFT:
        tell(session, referral.to_institution_code, TOLD[referral.state],
             {**hospital_view(referral, None), "reason": referral.reason},
             key=f"referral:{referral.id}:{referral.version}")
    if commit:
        session.commit()
    return referral


def arrived_by_encounter(session: Session, data: dict[str, Any], actor: Actor) -> int:
    """A hospital encounter of the resident at the institution an accepted referral is addressed to,
    dated the day it was sent or later (in 北京时间: a hospital's system may keep the minute, not
    the second), marks that referral arrived; returns how many it marked."""
    from datetime import time, timedelta

    from shared.clock import CHINA_TIME

    day_after = datetime.combine(data["occurred_at"].astimezone(CHINA_TIME).date() + timedelta(days=1), time(0),
                                 CHINA_TIME)
    rows = session.scalars(sa.select(Referral).where(
        Referral.archive_no == data["archive_no"], Referral.to_institution_code == data.get("institution_code"),
        Referral.state == ACCEPTED, Referral.requested_at < day_after).with_for_update()).all()
    for referral in rows:
        change(session, referral.id, lifecycle.ARRIVE, actor, reason=f"hospital_encounter:{data['record_id']}",
               side=SYSTEM, commit=False)
    return len(rows)


def view(session: Session, referral: Referral, history: bool = True) -> dict[str, Any]:
    steps = session.scalars(sa.select(ReferralStep).where(ReferralStep.referral_id == referral.id)
                            .order_by(ReferralStep.id)).all() if history else []
    return {
        "referral_id": referral.id, "archive_no": referral.archive_no, "state": referral.state,
        "urgency": referral.urgency, "from_institution_code": referral.from_institution_code,
        "from_doctor": referral.from_doctor, "to_institution_code": referral.to_institution_code,
        "to_department": referral.to_department, "to_doctor": referral.to_doctor, "reason": referral.reason,
        "record_ids": list(referral.record_ids or []), "trigger": referral.trigger,
        "back_referral": referral.back_referral, "requested_at": referral.requested_at,
        "deadline_at": referral.deadline_at, "version": referral.version,
        "overdue": referral.state == REQUESTED and referral.deadline_at is not None and referral.deadline_at < now(),
        "filings": filings.of_subject(session, f"referral:{referral.id}") if history else [],
        "history": [{"action": s.action, "from_state": s.from_state, "to_state": s.to_state, "actor": s.actor,
                     "institution_code": s.institution_code, "reason": s.reason, "message_id": s.message_id,
                     "at": s.at} for s in steps],
    }


def list_referrals(session: Session, institution_code: str | None, box: str, state: str | None, overdue: bool,
                   limit: int, cursor: str | None) -> dict[str, Any]:
    """The inbox (addressed to the institution; drafts are the sender's) or the sent box (drafts
    included), by state; `overdue`: requests past their deadline. Newest first, paged."""
    if not institution_code:
        return {"items": [], "next": None}
    if box == "inbox":
        filters = [Referral.to_institution_code == institution_code, Referral.state != DRAFT]
    else:
        filters = [Referral.from_institution_code == institution_code]
    if state:
        filters.append(Referral.state == state)
    if overdue:
        filters += [Referral.state == REQUESTED, Referral.deadline_at < now()]
    return page_by_id(session, Referral, filters, limit, cursor, lambda r: view(session, r, history=False))


def open_for(session: Session, archive_no: str, institution_code: str) -> dict[str, Any]:
    """The newest open referral of the archive addressed to `institution_code`, if any."""
    referral = session.scalars(sa.select(Referral).where(
        Referral.archive_no == archive_no, Referral.to_institution_code == institution_code,
        Referral.state.in_(lifecycle.OPEN)).order_by(Referral.id.desc()).limit(1)).first()
    if referral is None:
        return {"referral_id": None, "record_ids": []}
    return {"referral_id": referral.id, "record_ids": list(referral.record_ids or [])}


__all__ = ["ARRIVED", "BACK_REFERRED", "CANCEL", "change", "create", "draft", "send", "view"]
