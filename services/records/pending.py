"""Encounters parked as pending, filed when the registry announces their resident's archive,
and the registry events that trigger it."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from shared.consumer import Delivery
from shared.contracts import EncounterMessageSchema
from shared.pii import PiiBox

from services.records.filing import file_resolved, quarantine_rows, record_id_for
from services.records.models import PendingEncounter, ProcessedMessage, QuarantinedMessage

REGISTRY_EVENTS_QUEUE = "records.registry-events"
_message_schema = EncounterMessageSchema()


def file_pending_for(session: Session, pii: PiiBox, identity_keys: list[bytes], archive_no: str) -> int:
    """File every pending encounter of these identities into `archive_no`; returns how many."""
    if not identity_keys:
        return 0
    pending = session.scalars(
        sa.select(PendingEncounter)
        .where(PendingEncounter.identity_key.in_(identity_keys), PendingEncounter.status == "pending")
        .order_by(PendingEncounter.id)
        .with_for_update(skip_locked=True)
    ).all()
    if not pending:
        return 0
    items = [
        (_message_schema.load(json.loads(pii.decrypt_bytes(p.payload_enc))), archive_no, p.message_id)
        for p in pending
    ]
    file_resolved(session, items)
    now = datetime.now(timezone.utc)
    for p, (data, _, _) in zip(pending, items):
        p.status = "filed"
        p.filed_at = now
        p.filed_record_id = record_id_for(
            data["source"]["institution_code"], data["source"]["record_id"], data["encounter"]["kind"])
    return len(pending)


def handle_registry_events(session: Session, pii: PiiBox, deliveries: list[Delivery]) -> int:
    """Apply registry events once each; returns how many pending encounters were filed."""
    filed = 0
    for delivery in deliveries:
        try:
            event = json.loads(delivery.body)
            event_id, event_type, data = event["event_id"], event["event_type"], event["data"]
        except (ValueError, KeyError, TypeError):
            session.execute(sa.insert(QuarantinedMessage), quarantine_rows(
                pii, REGISTRY_EVENTS_QUEUE, [(delivery, "schema_invalid", {"_body": ["Not an ehr.event/1."]})]))
            continue
        claimed = session.execute(
            pg_insert(ProcessedMessage).values(source="registry", message_id=event_id)
            .on_conflict_do_nothing().returning(ProcessedMessage.message_id)
        ).first()
        if claimed is None:
            continue
        if event_type == "archive_created":
            keys = [bytes.fromhex(k) for k in data.get("identity_keys", [])]
            filed += file_pending_for(session, pii, keys, data["archive_no"])
    session.commit()
    return filed


def quarantine_dead_letters(session: Session, pii: PiiBox, queue: str, deliveries: list[Delivery]) -> None:
    """Move what a queue gave up on into the quarantine store, with the broker's reason."""
    rows = []
    for d in deliveries:
        deaths = d.headers.get("x-death") or [{}]
        details = {"_delivery": [f"Dead-lettered by the broker ({deaths[0].get('reason', 'unknown')}) "
                                 f"after failing in the consumer."]}
        rows.append((d, "dead_lettered", details))
    session.execute(sa.insert(QuarantinedMessage), quarantine_rows(pii, queue, rows))
    session.commit()
