"""What the sync service does with the suite's events (`sync.events` <- `ehr.events` `registry.#`
and `records.record_changed`), once each and only for events the suite signed
(`shared.events.EventConsumer`); the queue rows an event causes commit with its claim.

    archive_created      the archive's registration document (HSDA00.01), version 1 (unless a
                         record of the archive, heard of first, queued it already)
    identity_updated     a new version of it (the identity it documents changed)
    archive_transferred  a new version of it, and the archive's rows follow a new number
    record_changed       filed or amended: the record's documents (one per type it makes: an
                         integrated follow-up makes HSDB04.01 and HSDB04.02, sets
                         `record:<id>:<type>`), a new version per revision (replacing the one
                         before, rejected or not); its archive's registration first if it has
                         none yet; a record type without a document is noted in `not_buildable`.
                         The 个人基本信息表 (personal_info) is part of the registration: a new
                         version of it (unless one waits unsent), also when one is entered in
                         error (the registration then carries the archive's current one, if any).
                         entered in error: each of the record's sets withdrawn (`queue.withdraw`:
                         its versions never sent cancelled, a withdrawal of what the platform
                         holds queued after what is on its way; once, however often heard).

Other registry events (terminated, reactivated, merged, unmerged) change nothing sent.

    handle_events(session, service_key, deliveries)   -> 3 (rows queued or noted)
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from shared import quarantine_store
from shared.delivery import Delivery
from shared.events import EventConsumer
from shared.messaging import SYNC_EVENTS

from services.sync import building, queue
from services.sync.models import Document, NotBuildable, QuarantinedMessage, processed_messages

PERSONAL_INFO = "personal_info"  # the 个人基本信息表: part of the registration document (HSDA00.01)
ENTERED_IN_ERROR = "entered_in_error"  # records' action for a record marked a mistake


def registration_changed(session: Session, archive_no: str, custodian: str | None, cause: str = "event",
                         if_sent: bool = False) -> int:
    """Queue the next version of the archive's registration document (the first if none). With
    `if_sent`, not while its latest version waits unsent and untouched (built at send time, it will
    carry the change): a version a sender holds now, or has tried, may carry the old facts."""
    set_id = queue.registration_set(session, archive_no) or queue.archive_set(archive_no)
    if if_sent and queue.unsent(session, set_id):
        return 0
    row = queue.enqueue(session, set_id=set_id, source=queue.ARCHIVE, type_code=queue.REGISTRATION,
                        archive_no=archive_no, cause=cause, custodian=custodian)
    return 1 if row is not None else 0


def set_of(record_id: str, type_code: str, type_codes: list[str]) -> str:
    """One record, several documents (an integrated follow-up: HSDB04.01 and HSDB04.02): a set each."""
    return queue.record_set(record_id) if len(type_codes) == 1 else queue.record_set(record_id, type_code)


def record_withdrawn(session: Session, data: dict[str, Any], type_codes: list[str], cause: str = "event") -> int:
    """A record entered in error: each of its sets withdrawn (`queue.withdraw`), those of the
    types it makes and any queued under another; how many withdrawal rows were added."""
    record_id = data["record_id"]
    queued = session.execute(sa.select(Document.set_id, Document.type_code).distinct()
                             .where(Document.record_id == record_id, Document.source != queue.ARCHIVE)
                             .order_by(Document.set_id)).all()
    sets = {set_of(record_id, type_code, type_codes): type_code for type_code in type_codes} | dict(queued)
    changed = 0
    for set_id, type_code in sets.items():
        row = queue.withdraw(session, set_id=set_id, source=data["record_type"], type_code=type_code,
                             archive_no=data["archive_no"], record_id=record_id, revision=data.get("revision"),
                             cause=cause)
        changed += 1 if row is not None else 0
    return changed


def record_changed(session: Session, data: dict[str, Any], cause: str = "event") -> int:
    """Queue the documents of a record's revision, or their withdrawal (see the module doc); how
    many rows changed."""
    archive_no, record_id, record_type = data["archive_no"], data["record_id"], data["record_type"]
    if record_type == PERSONAL_INFO:
        return registration_changed(session, archive_no, None, cause, if_sent=True)
    type_codes = building.document_types(record_type, {"kind": data.get("kind")})
    if data.get("action") == ENTERED_IN_ERROR:
        return record_withdrawn(session, data, type_codes, cause)
    if not type_codes:
        stmt = pg_insert(NotBuildable).values(record_id=record_id, record_type=record_type, archive_no=archive_no,
                                              revision=data["revision"])
        session.execute(stmt.on_conflict_do_update(
            index_elements=[NotBuildable.record_id],
            set_={"revision": stmt.excluded.revision, "archive_no": stmt.excluded.archive_no, "noted_at": sa.func.now()}))
        return 1
    changed = 1 if queue.ensure_registration(session, archive_no, cause) is not None else 0
    for type_code in type_codes:
        row = queue.enqueue(session, set_id=set_of(record_id, type_code, type_codes), source=record_type,
                            type_code=type_code, archive_no=archive_no, record_id=record_id,
                            revision=data["revision"], cause=cause)
        changed += 1 if row is not None else 0
    return changed


class SyncEvents(EventConsumer):
    source, queue = "events", SYNC_EVENTS

    def __init__(self, service_key: bytes) -> None:
        super().__init__(processed_messages, service_key)

    def quarantine(self, session: Session, items: list[tuple[Delivery, str, dict]]) -> None:
        quarantine_store.hold(session, QuarantinedMessage, self.queue, items)

    def handle_archive_created(self, session: Session, event: Any) -> int:
        # A record heard of first (the two services' events are not ordered) queued it already.
        data = event.data
        return 1 if queue.ensure_registration(session, data["archive_no"], "event", data["institution_code"]) else 0

    def handle_identity_updated(self, session: Session, event: Any) -> int:
        return registration_changed(session, event.data["archive_no"], None)

    def handle_archive_transferred(self, session: Session, event: Any) -> int:
        data = event.data
        if data.get("former_archive_no"):
            queue.renumber(session, data["former_archive_no"], data["archive_no"])
        return registration_changed(session, data["archive_no"], data["institution_code"])

    def handle_record_changed(self, session: Session, event: Any) -> int:
        if event.service != "records":
            return 0
        return record_changed(session, event.data)


def handle_events(session: Session, service_key: bytes, deliveries: list[Delivery]) -> int:
    """Apply a batch of events once each; commits. Returns how many rows were queued or noted."""
    return SyncEvents(service_key).consume(session, deliveries)


def hold_dead_letters(session: Session, service_key: bytes, deliveries: list[Delivery]) -> None:
    quarantine_store.hold_dead_letters(session, QuarantinedMessage, service_key, SYNC_EVENTS, deliveries)
