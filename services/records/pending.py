"""Encounters parked as pending, filed when the registry announces their resident's archive,
and the handling of registry events (which also re-point records, see `repointing`).

A registry event is acted on only if the suite signed it (`shared.signing`: the registry's
outbox signs with EHR_SERVICE_KEY): one published by anyone else, say by hand to `ehr.events`
with a broker account that should not have been able to, is quarantined as `unauthenticated`
and logged with its message id and the failed check, and changes nothing."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from shared.delivery import Delivery
from shared.contracts.encounter import Encounter
from shared.contracts.events import (
    ARCHIVE_CREATED, ARCHIVE_TRANSFERRED, ARCHIVES_MERGED, ARCHIVES_UNMERGED, InvalidEvent, load_event,
)
from shared.messaging import EVENTS
from shared.pii import PiiBox
from shared.signing import Refused, check_event

from services.records import repointing
from services.records.filing import (
    QUARANTINE, DivisionLookup, file_resolved, identity_query, pending_encounter, quarantine_rows, record_id_for,
)
from services.records.models import PendingEncounter, ProcessedMessage

log = logging.getLogger(__name__)

REGISTRY_EVENTS_QUEUE = "records.registry-events"
REPOINTING = {
    ARCHIVE_TRANSFERRED: repointing.transfer,
    ARCHIVES_MERGED: repointing.merge,
    ARCHIVES_UNMERGED: repointing.unmerge,
}


def _file(session: Session, pii: PiiBox, matched: list[tuple[PendingEncounter, Encounter, str]],
          divisions: DivisionLookup | None = None) -> int:
    """File pending encounters whose archive is now known: (pending row, message, archive_no).

    Those from hospitals outside the archive's county are flagged for review (`divisions`: see
    `filing.review_for`): registering a person's ID number files all their waiting encounters."""
    if not matched:
        return 0
    division_of = divisions({enc.institution_code for _, enc, _ in matched}) if divisions else None
    file_resolved(session, pii, [(enc, archive_no, p.message_id) for p, enc, archive_no in matched], division_of)
    now = datetime.now(timezone.utc)
    for p, enc, _ in matched:
        p.status, p.filed_at = "filed", now
        p.filed_record_id = record_id_for(enc.institution_code, enc.record_id, enc.kind)
    return len(matched)


def file_pending_for(session: Session, pii: PiiBox, identity_keys: list[bytes], archive_no: str,
                     divisions: DivisionLookup | None = None) -> int:
    """File every pending encounter of these identities into `archive_no`; returns how many.

    Waits for rows another transaction holds (rather than skipping them), so none is missed."""
    if not identity_keys:
        return 0
    rows = session.scalars(
        sa.select(PendingEncounter)
        .where(PendingEncounter.identity_key.in_(identity_keys), PendingEncounter.status == "pending")
        .order_by(PendingEncounter.id)
        .with_for_update()
    ).all()
    return _file(session, pii, [(p, pending_encounter(pii, p), archive_no) for p in rows], divisions)


def retry_pending(session: Session, pii: PiiBox, resolve, limit: int = 500,
                  divisions: DivisionLookup | None = None) -> int:
    """Re-resolve the pending encounters checked longest ago and file those now matched; commits.

    The safety net behind `archive_created`: an encounter parked while its archive was being
    created (the event handled before the pending row was committed) is filed here, and so is one
    without an ID number whose card or MRN the registry has learned since (oldest checked first,
    so every pending encounter takes its turn)."""
    rows = session.scalars(
        sa.select(PendingEncounter)
        .where(PendingEncounter.status == "pending")
        .order_by(PendingEncounter.checked_at.asc().nulls_first(), PendingEncounter.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return 0
    payloads = [pending_encounter(pii, p) for p in rows]
    answers = resolve([identity_query(e) for e in payloads])
    now = datetime.now(timezone.utc)
    for p in rows:
        p.checked_at = now
    filed = _file(session, pii, [(p, d, a["archive_no"]) for p, d, a in zip(rows, payloads, answers) if a],
                  divisions)
    session.commit()
    return filed


def _authentic(session: Session, pii: PiiBox, service_key: bytes, delivery: Delivery) -> bool:
    """Whether the suite signed this event; quarantines (`unauthenticated`) and logs it if not."""
    try:
        check_event(service_key, EVENTS, delivery)
    except Refused as exc:
        log.warning("registry event refused", extra={
            "queue": REGISTRY_EVENTS_QUEUE, "routing_key": delivery.routing_key,
            "message_id": delivery.message_id, "reason": str(exc)})
        session.connection().execute(QUARANTINE.insert(), quarantine_rows(
            session, pii, REGISTRY_EVENTS_QUEUE, [(delivery, "unauthenticated", {"_signature": [f"{exc}."]})]))
        return False
    return True


def handle_registry_events(session: Session, pii: PiiBox, service_key: bytes, deliveries: list[Delivery],
                           divisions: DivisionLookup | None = None) -> int:
    """Apply registry events once each (files pending encounters, re-points records and stages
    their `moved` updates); commits. Returns how many records were filed or moved."""
    changed = 0
    for delivery in deliveries:
        if not _authentic(session, pii, service_key, delivery):
            continue
        try:
            event = load_event(delivery.body)
        except InvalidEvent as exc:
            session.connection().execute(QUARANTINE.insert(), quarantine_rows(session, pii, REGISTRY_EVENTS_QUEUE, [
                (delivery, "schema_invalid", {"_body": ["Not an ehr.event/1."], **exc.errors})]))
            continue
        event_id, event_type, data = event.event_id, event.event_type, event.data
        claimed = session.execute(
            pg_insert(ProcessedMessage).values(source="registry", message_id=event_id)
            .on_conflict_do_nothing().returning(ProcessedMessage.message_id)
        ).first()
        if claimed is None:
            continue
        if event_type == ARCHIVE_CREATED:
            keys = [bytes.fromhex(k) for k in data.get("identity_keys", [])]
            changed += file_pending_for(session, pii, keys, data["archive_no"], divisions)
        elif event_type in REPOINTING:
            changed += REPOINTING[event_type](session, data, event_id)
    session.commit()
    return changed


def quarantine_dead_letters(session: Session, pii: PiiBox, queue: str, deliveries: list[Delivery]) -> None:
    """Move what a queue gave up on into the quarantine store, with the broker's reason."""
    rows = []
    for d in deliveries:
        deaths = d.headers.get("x-death") or [{}]
        details = {"_delivery": [f"Dead-lettered by the broker ({deaths[0].get('reason', 'unknown')}) "
                                 f"after failing in the consumer."]}
        rows.append((d, "dead_lettered", details))
    session.connection().execute(QUARANTINE.insert(), quarantine_rows(session, pii, queue, rows))
    session.commit()
