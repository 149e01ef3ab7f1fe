"""Consultations (会诊): one institution asks another (or a named doctor there) a question about a
resident, naming the records it concerns; the answer (会诊意见, the consulting institution and
doctors) closes it and owes the archive its 会诊记录表 (`consultation`, filed through records like
the referral forms, `filings`). `requested` -> `answered`, once: the row is locked while it is
answered, so a second answer gets a 409 naming the state.

    request(session, archive, {"to_institution_code": "H1101050001", "question": "..."}, actor)
    answer(session, 3, {"opinion": "...", "consultants": [...]}, actor, side_code="H1101050001")
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.paging import page_by_id
from shared.db import get_or_not_found

from services.referrals import filings
from services.referrals.announce import announce, tell
from services.referrals.models import Consultation
from services.referrals.referrals import _china_date, now

REQUESTED, ANSWERED = "requested", "answered"


def get(session: Session, consultation_id: int, lock: bool = False) -> Consultation:
    return get_or_not_found(session, Consultation, consultation_id, "no such consultation",
                            {"consultation_id": consultation_id}, lock)


def visible(session: Session, consultation_id: int, actor: Actor) -> Consultation:
    row = get(session, consultation_id)
    if actor.institution_code is not None and actor.institution_code not in (row.from_institution_code,
                                                                             row.to_institution_code):
        raise NotFound("no such consultation", {"consultation_id": consultation_id})
    return row


def _event(session: Session, row: Consultation, event_type: str, actor: Actor, record_id: str | None = None) -> None:
    announce(session, event_type, {"consultation_id": row.id, "archive_no": row.archive_no, "state": row.state,
                                   "from_institution_code": row.from_institution_code,
                                   "to_institution_code": row.to_institution_code, "record_id": record_id}, actor)


def request(session: Session, archive: dict[str, Any], payload: dict[str, Any], actor: Actor) -> Consultation:
    if not actor.institution_code:
        raise ValidationFailed("who asks", {"institution_code": ["The acting institution is required."]})
    if payload["to_institution_code"] == actor.institution_code:
        raise ValidationFailed("ask elsewhere", {"to_institution_code": ["Must be another institution."]})
    row = Consultation(archive_no=archive["archive_no"], state=REQUESTED, from_institution_code=actor.institution_code,
                       from_doctor=actor.user, to_institution_code=payload["to_institution_code"],
                       to_doctor=payload.get("to_doctor"), question=payload["question"],
                       record_ids=payload.get("record_ids") or [], version=1)
    session.add(row)
    session.flush()
    _event(session, row, "consultation_requested", actor)
    tell(session, row.to_institution_code, "consultation_requested", {
        "consultation_id": row.id, "archive_no": row.archive_no, "sex": archive.get("sex"),
        "birth_date": archive.get("birth_date"), "from_institution_code": row.from_institution_code,
        "from_doctor": row.from_doctor, "to_doctor": row.to_doctor, "question": row.question,
        "record_ids": list(row.record_ids)}, key=f"consultation:{row.id}:1")
    session.commit()
    return row


def answer(session: Session, consultation_id: int, payload: dict[str, Any], actor: Actor,
           answering_code: str | None = None, commit: bool = True) -> Consultation:
    """Answer as the institution asked (`answering_code`, else the acting one); 404 for anyone
    else, 409 once it is answered."""
    row = get(session, consultation_id, lock=True)
    code = answering_code or actor.institution_code
    if code != row.to_institution_code:
        if code == row.from_institution_code:
            raise Conflict("the consultation is answered by the institution asked", {"state": row.state})
        raise NotFound("no such consultation", {"consultation_id": consultation_id})
    if row.state != REQUESTED:
        raise Conflict(f"the consultation is {row.state}; answer needs it requested",
                       {"state": row.state, "action": "answer", "allowed_from": [REQUESTED]})
    row.state, row.opinion, row.consultants = ANSWERED, payload["opinion"], payload["consultants"]
    row.answered_by, row.answered_at = actor.user, now()
    row.version += 1
    record_id = filings.owe(session, f"consultation:{row.id}", row.archive_no, "consultation", row.from_institution_code, {
        "occurred_on": _china_date(row.answered_at), "reason": row.question, "opinion": row.opinion,
        "consultants": row.consultants, "responsible_doctor": (row.from_doctor or "—")[:64]})
    _event(session, row, "consultation_answered", actor, record_id=record_id)
    if commit:
        session.commit()
    return row


def view(row: Consultation) -> dict[str, Any]:
    return {"consultation_id": row.id, "archive_no": row.archive_no, "state": row.state,
            "from_institution_code": row.from_institution_code, "from_doctor": row.from_doctor,
            "to_institution_code": row.to_institution_code, "to_doctor": row.to_doctor, "question": row.question,
            "record_ids": list(row.record_ids or []), "opinion": row.opinion, "consultants": row.consultants,
            "answered_by": row.answered_by, "answered_at": row.answered_at, "created_at": row.created_at}


def list_consultations(session: Session, institution_code: str | None, box: str, state: str | None, limit: int,
                       cursor: str | None) -> dict[str, Any]:
    if not institution_code:
        return {"items": [], "next": None}
    column = Consultation.to_institution_code if box == "inbox" else Consultation.from_institution_code
    filters = [column == institution_code] + ([Consultation.state == state] if state else [])
    return page_by_id(session, Consultation, filters, limit, cursor, view)
