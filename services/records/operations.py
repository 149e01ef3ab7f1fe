"""What operators do with messages the suite could not file: the quarantine store and the
pending encounters. Operators see reasons, field errors and a whitelist of each message's fields
(`message_view`: codes and times, identifiers masked, everything else as its shape), never a
name, an unmasked ID number or clinical content; every action is kept (nothing is deleted). An
operator proposes the archive of a pending encounter; a clinician links it (`link_pending`).

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

from shared.contracts.encounter import MESSAGE_SHAPE, Encounter, InvalidEncounter, load_encounter
from shared.errors import InvalidTransition, NotFound, ValidationFailed
from shared.identity import mask_id_number, mask_phone
from shared.logs import scrub
from shared.messaging import ENCOUNTERS, encounter_routing_key
from shared.paging import check_limit, decode_cursor, encode_cursor
from shared.pii import PiiBox

from services.records.filing import (
    file_resolved, headers_of, pending_encounter, quarantined_body, record_id_for,
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


# What an operator sees of a message, field by field: these values as they are (codes, times, the
# hospital's own record id), the identifiers masked, and of every other field of the contract
# only its shape (a string's length, a number, an array's size). Names, birth dates, cards,
# MRNs, diagnoses and free text are personal or clinical: an operator needs to know that they are
# there and how long, not what they say. Fields the contract does not define are counted, not named.
_SHOWN = {("schema",), ("source", "institution_code"), ("source", "system"), ("source", "record_id"),
          ("source", "version"), ("patient", "id_type"), ("patient", "sex"), ("encounter", "kind"),
          ("encounter", "started_at"), ("encounter", "ended_at")}
_MASKED = {("patient", "id_number"): mask_id_number, ("patient", "phone"): mask_phone}
_SHOWN_MAX = 128  # longer values of shown fields are shapes too: nobody writes a name into a code
_ITEMS_SHOWN = 20


def _form(value: Any) -> Any:
    """The shape of a value without its content: "string(18)", "number", "array(3)", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return f"string({len(value)})"
    if isinstance(value, list):
        return f"array({len(value)})"
    return f"object({len(value)} fields)"


def _view(value: Any, shape: Any, path: tuple[str, ...]) -> Any:
    if path in _MASKED and isinstance(value, str):
        return _MASKED[path](value[:64])
    if path in _SHOWN and isinstance(value, (str, int, float)) and not isinstance(value, bool) \
            and len(str(value)) <= _SHOWN_MAX:
        return value
    if isinstance(shape, dict) and isinstance(value, dict):
        view = {k: _view(v, shape[k], (*path, k)) for k, v in value.items() if k in shape}
        unknown = sum(1 for k in value if k not in shape)
        return {**view, "_unknown_fields": unknown} if unknown else view
    if isinstance(shape, list) and isinstance(value, list):
        items = [_view(v, shape[0], path) for v in value[:_ITEMS_SHOWN]]
        return items + [f"... {len(value) - _ITEMS_SHOWN} more"] if len(value) > _ITEMS_SHOWN else items
    return _form(value)


def message_view(raw: bytes) -> dict[str, Any]:
    """A message as an operator may see it: a whitelist of fields (see `_SHOWN`), identifiers
    masked, the rest as shapes. A body that is not a JSON object shows only its size.

        {"size": 912, "json": True, "fields": {"source": {"institution_code": "H1101050001", ...},
         "patient": {"id_number": "110105********002X", "name": "string(3)", ...}, ...}}
    """
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return {"size": len(raw), "json": False}
    if not isinstance(body, dict):
        return {"size": len(raw), "json": True, "fields": _form(body)}
    return {"size": len(raw), "json": True, "fields": _view(body, MESSAGE_SHAPE, ())}


def _quarantined(session: Session, quarantine_id: int, lock: bool = False) -> QuarantinedMessage:
    stmt = sa.select(QuarantinedMessage).where(QuarantinedMessage.id == quarantine_id)
    row = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        raise NotFound("no such quarantined message", {"id": quarantine_id})
    return row


def show_quarantined(session: Session, pii: PiiBox, quarantine_id: int) -> dict:
    row = _quarantined(session, quarantine_id)
    return {**_quarantine_view(row), "body": message_view(quarantined_body(pii, row))}


def _original_routing_key(pii: PiiBox, row: QuarantinedMessage) -> str:
    if row.reason == "dead_lettered":
        deaths = headers_of(pii, row).get("x-death") or []
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
    routing_key = _original_routing_key(pii, row)
    if corrected is not None:
        try:
            encounter = load_encounter(corrected)
        except InvalidEncounter as exc:
            raise ValidationFailed("the corrected message is still invalid", exc.errors) from None
        routing_key = encounter_routing_key(encounter.institution_code, encounter.kind)
        body = json.dumps(corrected, ensure_ascii=False)
    else:
        try:
            body = quarantined_body(pii, row).decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed("the original is not UTF-8 text",
                                   {"body": ["Replay it with a corrected body."]}) from None
    parts = routing_key.split(".")
    if len(parts) == 3 and row.message_id:
        # Release the idempotency key this message claimed when it was quarantined.
        session.execute(sa.delete(ProcessedMessage).where(
            ProcessedMessage.source == f"encounter:{parts[1]}", ProcessedMessage.message_id == row.message_id))
    session.execute(outbox.insert(), [{
        "message_id": row.message_id or f"replay-{row.id}", "exchange": ENCOUNTERS,
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
        "proposed_archive_no": p.proposed_archive_no, "proposed_by": p.proposed_by,
        "proposed_at": p.proposed_at.isoformat() if p.proposed_at else None,
        "linked_by": p.linked_by, "confirmed_by": p.confirmed_by,
    }


def list_pending(session: Session, status: str | None = "pending", limit: int = 50,
                 cursor: str | None = None) -> dict:
    filters = [PendingEncounter.status == status] if status else []
    return _page(session, PendingEncounter, filters, limit, cursor, _pending_view)


def list_link_proposals(session: Session, prefix: str, limit: int = 50, cursor: str | None = None) -> dict:
    """Pending encounters an operator proposed to file into an archive numbered under `prefix`
    (a clinician's jurisdiction): what that clinician is asked to confirm (or not)."""
    filters = [PendingEncounter.status == "pending",
               PendingEncounter.proposed_archive_no.startswith(prefix, autoescape=True)]
    return _page(session, PendingEncounter, filters, limit, cursor, _pending_view)


def _pending(session: Session, pending_id: int) -> PendingEncounter:
    row = session.scalars(sa.select(PendingEncounter).where(PendingEncounter.id == pending_id)
                          .with_for_update()).first()
    if row is None:
        raise NotFound("no such pending encounter", {"id": pending_id})
    if row.status != "pending":
        raise InvalidTransition(f"this encounter was already {row.status}", {"status": row.status})
    return row


def propose_link(session: Session, pending_id: int, archive_no: str, operator: str) -> dict:
    """An operator proposes the archive a pending encounter belongs to; commits. Nothing is filed:
    a clinician in that archive's scope confirms it by linking (see `link_pending`)."""
    row = _pending(session, pending_id)
    row.proposed_archive_no, row.proposed_by = archive_no, operator[:80]
    row.proposed_at = datetime.now(timezone.utc)
    session.commit()
    return _pending_view(row)


def link_pending(session: Session, pii: PiiBox, pending_id: int, archive_no: str, linked_by: str,
                 confirmed_by: str | None = None, learn: LinkIdentifier | None = None) -> dict:
    """File a pending encounter into an archive somebody identified; commits.

    Who may is the caller's rule (the gateway: a clinician with the archive in scope; `ehr pending
    link` on the server: the operator naming the clinician who confirmed, `confirmed_by`); both
    are kept on the row. The match is a confirmed one: when the message carried the hospital's
    MRN, it is then linked to the archive through `learn` (the registry's `link_identifier`), so
    that the hospital's next message with that MRN alone finds the archive. Learning is advisory:
    if the registry cannot be reached, or another archive holds the MRN (the registry marks the
    conflict and never re-points it), the encounter stays filed and a masked warning is logged."""
    row = _pending(session, pending_id)
    encounter = pending_encounter(pii, row)
    file_resolved(session, pii, [(encounter, archive_no, row.message_id)])
    row.status, row.filed_at = "filed", datetime.now(timezone.utc)
    row.filed_record_id = record_id_for(encounter.institution_code, encounter.record_id, encounter.kind)
    row.linked_by, row.confirmed_by = linked_by[:80], confirmed_by[:80] if confirmed_by else None
    session.commit()
    log.info("pending encounter linked by hand", extra={
        "pending_id": pending_id, "archive_no": archive_no, "linked_by": row.linked_by,
        "confirmed_by": row.confirmed_by})
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
