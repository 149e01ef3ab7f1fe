"""What operators do with messages the suite could not file: the quarantine store and the
pending encounters. Operators see reasons, field errors and masked content, never an
unmasked ID number; every action is kept (nothing is deleted).

Replaying a quarantined message (as it was, or corrected) releases its idempotency key and
publishes it again to `ehr.encounters` through the outbox, in one transaction: it is then
processed like any new message, filed, pending or quarantined again with a fresh reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.encounter import Encounter, InvalidEncounter, load_encounter
from shared.errors import InvalidTransition, NotFound, ValidationFailed
from shared.identity import mask_id_number, mask_phone
from shared.logs import scrub
from shared.messaging import ENCOUNTERS, encounter_routing_key
from shared.paging import check_limit, decode_cursor, encode_cursor
from shared.pii import PiiBox

from services.records.filing import (
    PENDING_SEALED_IN, QUARANTINE_SEALED_IN, file_resolved, pending_row_key, record_id_for,
)
from services.records.models import PendingEncounter, ProcessedMessage, QuarantinedMessage, outbox

log = logging.getLogger(__name__)

HELD, REPLAYED, DISCARDED = "held", "replayed", "discarded"

# The registry's `link_identifier(archive_no, kind, value, issuer, source=...)` -> its outcome.
LinkIdentifier = Callable[..., dict]


def _page(session: Session, model, filters: list, limit: int, cursor: str | None, view) -> dict:
    check_limit(limit)
    stmt = sa.select(model).where(*filters).order_by(model.id.desc()).limit(limit + 1)
    if cursor:
        (last_id,) = decode_cursor(cursor, parts=1)
        if not last_id.isdigit():
            raise ValidationFailed("invalid cursor", {"cursor": ["Not a cursor this API returned."]})
        stmt = stmt.where(model.id < int(last_id))
    rows = session.scalars(stmt).all()
    page = rows[:limit]
    return {"items": [view(r) for r in page], "next": encode_cursor(page[-1].id) if len(rows) > limit else None}


def _quarantine_view(q: QuarantinedMessage) -> dict:
    return {
        "id": q.id, "queue": q.queue, "routing_key": q.routing_key, "message_id": q.message_id,
        "reason": q.reason, "details": q.details, "status": q.status,
        "received_at": q.received_at.isoformat(),
        "resolved_at": q.resolved_at.isoformat() if q.resolved_at else None,
    }


def list_quarantine(session: Session, status: str | None = HELD, reason: str | None = None,
                    limit: int = 50, cursor: str | None = None) -> dict:
    filters = []
    if status:
        filters.append(QuarantinedMessage.status == status)
    if reason:
        filters.append(QuarantinedMessage.reason == reason)
    return _page(session, QuarantinedMessage, filters, limit, cursor, _quarantine_view)


def _masked_body(raw: bytes) -> Any:
    """The message as an operator may see it: identifiers masked, names removed."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return scrub(raw.decode("utf-8", errors="replace"))
    if isinstance(body, dict) and isinstance(body.get("patient"), dict):
        patient = dict(body["patient"])
        if isinstance(patient.get("id_number"), str):
            patient["id_number"] = mask_id_number(patient["id_number"])
        if isinstance(patient.get("phone"), str):
            patient["phone"] = mask_phone(patient["phone"])
        if patient.get("name"):
            patient["name"] = "*" * len(str(patient["name"]))
        body = {**body, "patient": patient}
    return json.loads(scrub(json.dumps(body, ensure_ascii=False)))


def _quarantined(session: Session, quarantine_id: int, lock: bool = False) -> QuarantinedMessage:
    stmt = sa.select(QuarantinedMessage).where(QuarantinedMessage.id == quarantine_id)
    row = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        raise NotFound("no such quarantined message", {"id": quarantine_id})
    return row


def show_quarantined(session: Session, pii: PiiBox, quarantine_id: int) -> dict:
    row = _quarantined(session, quarantine_id)
    return {**_quarantine_view(row), "body": _masked_body(
        pii.decrypt_bytes(row.body_enc, QUARANTINE_SEALED_IN, str(row.id)))}


def _original_routing_key(row: QuarantinedMessage) -> str:
    if row.reason == "dead_lettered":
        deaths = (row.headers or {}).get("x-death") or []
        keys = deaths[0].get("routing-keys") if deaths and isinstance(deaths[0], dict) else None
        if keys:
            return keys[0]
    return row.routing_key


def replay_quarantined(session: Session, pii: PiiBox, quarantine_id: int, corrected: dict | None,
                       operator: str) -> dict:
    """Publish the message again, as it was or corrected, for filing; commits.

    A corrected body must pass the contract first (else ValidationFailed names its fields);
    its routing key follows the corrected institution and kind."""
    row = _quarantined(session, quarantine_id, lock=True)
    if row.status != HELD:
        raise InvalidTransition(f"this message was already {row.status}", {"status": row.status})
    routing_key = _original_routing_key(row)
    if corrected is not None:
        try:
            encounter = load_encounter(corrected)
        except InvalidEncounter as exc:
            raise ValidationFailed("the corrected message is still invalid", exc.errors) from None
        routing_key = encounter_routing_key(encounter.institution_code, encounter.kind)
        body = json.dumps(corrected, ensure_ascii=False)
    else:
        try:
            body = pii.decrypt_bytes(row.body_enc, QUARANTINE_SEALED_IN, str(row.id)).decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed("the original is not UTF-8 text",
                                   {"body": ["Replay it with a corrected body."]}) from None
    parts = routing_key.split(".")
    if len(parts) == 3 and row.message_id:
        # Release the idempotency key this message claimed when it was quarantined.
        session.execute(sa.delete(ProcessedMessage).where(
            ProcessedMessage.source == f"encounter:{parts[1]}", ProcessedMessage.message_id == row.message_id))
    session.execute(outbox.insert(), [{
        "message_id": row.message_id or f"replay-{row.id}", "exchange": ENCOUNTERS.name,
        "routing_key": routing_key, "body": body,
        "headers": {"x-replayed-from-quarantine": row.id, "x-replayed-by": operator},
    }])
    row.status, row.resolved_at = REPLAYED, datetime.now(timezone.utc)
    session.commit()
    return _quarantine_view(row)


def discard_quarantined(session: Session, quarantine_id: int, operator: str, note: str) -> dict:
    row = _quarantined(session, quarantine_id, lock=True)
    if row.status != HELD:
        raise InvalidTransition(f"this message was already {row.status}", {"status": row.status})
    row.status, row.resolved_at = DISCARDED, datetime.now(timezone.utc)
    row.details = {**row.details, "_discarded": [f"by {operator}: {scrub(note)[:500]}"]}
    session.commit()
    return _quarantine_view(row)


def _pending_view(p: PendingEncounter) -> dict:
    now = datetime.now(timezone.utc)
    return {
        "id": p.id, "institution_code": p.institution_code, "message_id": p.message_id,
        "status": p.status, "received_at": p.received_at.isoformat(),
        "age_seconds": int((now - p.received_at).total_seconds()),
        "checked_at": p.checked_at.isoformat() if p.checked_at else None,
        "has_id_number": p.identity_key is not None, "candidates": p.candidates,
        "filed_record_id": p.filed_record_id,
    }


def list_pending(session: Session, status: str | None = "pending", limit: int = 50,
                 cursor: str | None = None) -> dict:
    filters = [PendingEncounter.status == status] if status else []
    return _page(session, PendingEncounter, filters, limit, cursor, _pending_view)


def link_pending(session: Session, pii: PiiBox, pending_id: int, archive_no: str,
                 learn: LinkIdentifier | None = None) -> dict:
    """An operator files a pending encounter into an archive they identified; commits.

    The operator's match is a confirmed one: when the message carried the hospital's MRN, it is
    then linked to the archive through `learn` (the registry's `link_identifier`), so that the
    hospital's next message with that MRN alone finds the archive. Learning is advisory: if the
    registry cannot be reached, or another archive holds the MRN (the registry marks the
    conflict and never re-points it), the encounter stays filed and a masked warning is logged."""
    row = session.scalars(sa.select(PendingEncounter).where(PendingEncounter.id == pending_id)
                          .with_for_update()).first()
    if row is None:
        raise NotFound("no such pending encounter", {"id": pending_id})
    if row.status != "pending":
        raise InvalidTransition(f"this encounter was already {row.status}", {"status": row.status})
    encounter = load_encounter(json.loads(pii.decrypt_bytes(
        row.payload_enc, PENDING_SEALED_IN, pending_row_key(row.institution_code, row.message_id))))
    file_resolved(session, pii, [(encounter, archive_no, row.message_id)])
    row.status, row.filed_at = "filed", datetime.now(timezone.utc)
    row.filed_record_id = record_id_for(encounter.institution_code, encounter.record_id, encounter.kind)
    session.commit()
    if learn is not None:
        _learn_mrn(learn, encounter, archive_no, pending_id)
    return _pending_view(row)


def _learn_mrn(learn: LinkIdentifier, encounter: Encounter, archive_no: str, pending_id: int) -> None:
    mrn = (encounter.body.get("patient") or {}).get("mrn")
    if not isinstance(mrn, str) or not mrn.strip():
        return
    try:
        outcome = learn(archive_no, kind="mrn", value=mrn, issuer=encounter.institution_code,
                        source="learned_from_match")
    except Exception:  # noqa: BLE001 - the link stands; only the learning is lost
        log.warning("could not teach the registry the MRN of a linked encounter", exc_info=True,
                    extra={"pending_id": pending_id, "archive_no": archive_no})
        return
    if outcome.get("status") == "conflict":
        log.warning("the MRN of a linked encounter belongs to another archive; not re-pointed", extra={
            "pending_id": pending_id, "archive_no": archive_no, "held_by": outcome.get("held_by"),
            "issuer": outcome.get("issuer"), "identifier": outcome.get("value_masked")})
