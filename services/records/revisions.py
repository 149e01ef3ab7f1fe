"""A record's revisions and the archive update each one announces.

Nothing is overwritten: a record's content lives in numbered revisions and the record points at
its current one. Hospital encounters whose archive is known become records here
(`file_resolved`: the first message of a hospital record creates it, later ones add revisions);
forms add theirs through `entries`. Every revision filed is announced to the township systems with
one `ehr.archive-update/1` (`update_message`), and to the suite's services (the programmes) with
one `records.record_changed` event carrying the record's programme facts (`changed_message`,
`services.records.facts`), both staged in the outbox in the same transaction:

    {"schema": "ehr.archive-update/1", "update_id": "1f0b...", "archive_no": "11010500300100001",
     "record_id": "38b3...", "record_type": "hospital_encounter", "kind": "outpatient",
     "action": "filed", "revision": 1, "occurred_at": "2026-11-20T09:30:00+08:00",
     "recorded_at": "2026-11-20T01:31:02+00:00",
     "source": {"institution_code": "H1101050001", "record_id": "OP-20261120-0001"}}

A hospital revision that arrives late (an older `source.version` than the current one) changes
nothing the record stands for: it gets its archive update but no `record_changed`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from shared.actor import SYSTEM, Actor
from shared.contracts.archive_update import archive_update
from shared.contracts.events import RECORD_CHANGED, event_message
from shared.outbox import OutboxMessage, stage
from shared.pii import PiiBox

from services.records.facts import programme_facts
from services.records.kinds import ENCOUNTER, HOSPITAL_ENCOUNTER, RECORD_NAMESPACE, MessageKind, record_id_for
from services.records.models import Record, RecordRevision, outbox

log = logging.getLogger(__name__)

# Named here too (their home is `kinds`): what filing, pending and the tests take from revisions.
__all__ = ["HOSPITAL_ENCOUNTER", "DivisionLookup", "record_id_for", "next_revision", "update_message",
           "changed_message", "file_resolved"]


# Institution code -> its division code (the registry's institutions), for the codes asked about.
DivisionLookup = Callable[[set[str]], Mapping[str, str | None]]

# Core statements, compiled once and run as executemany: the ORM's bulk path and a fresh
# multi-VALUES statement per batch cost more than the inserts themselves on the hot path.
RECORDS, REVISIONS = Record.__table__, RecordRevision.__table__
_CREATE_RECORD = pg_insert(RECORDS).on_conflict_do_nothing(index_elements=["id"]).returning(RECORDS.c.id)


def next_revision(session: Session, record_id: str) -> int:
    """The number the record's next revision takes (the record is locked by the caller)."""
    return (session.scalar(sa.select(sa.func.max(RecordRevision.revision))
                           .where(RecordRevision.record_id == record_id)) or 0) + 1


def update_message(record_id: str, record: dict, action: str, revision: int, update_id: str | None = None,
                   former_archive_no: str | None = None) -> OutboxMessage:
    """The `ehr.archive-update/1` announcing one filed revision (identifiers only); a `moved` one
    names the archive the record left (`former_archive_no`) and has its own `update_id`."""
    update = {
        "update_id": update_id or str(uuid.uuid5(RECORD_NAMESPACE, f"{record_id}#{revision}")),
        "archive_no": record["archive_no"],
        "record_id": record_id,
        "record_type": record["record_type"],
        "kind": record["kind"],
        "action": action,
        "revision": revision,
        "occurred_at": record["occurred_at"],
        "recorded_at": datetime.now(timezone.utc),
        "source": {"institution_code": record["institution_code"], "record_id": record["source_record_id"]},
    }
    if former_archive_no is not None:
        update["former_archive_no"] = former_archive_no
    return archive_update(update)


def changed_message(record_id: str, record: dict, action: str, revision: int, facts: dict | None,
                    actor: Actor = SYSTEM) -> OutboxMessage:
    """The `records.record_changed` event of one filed, amended or entered-in-error revision, with
    the record's programme facts as it now stands (None when entered in error)."""
    return event_message("records", RECORD_CHANGED, {
        "archive_no": record["archive_no"], "record_id": record_id, "record_type": record["record_type"],
        "kind": record.get("kind"), "action": action, "revision": revision, "occurred_at": record["occurred_at"],
        "institution_code": record["institution_code"], "facts": facts,
    }, actor)


def file_resolved(session: Session, pii: PiiBox, items: list[tuple[Any, str, str]],
                  division_of: Mapping[str, str | None] | None = None,
                  kind: MessageKind = ENCOUNTER) -> tuple[int, int]:
    """File validated messages of one kind whose archive is known: `(message, archive_no, message_id)`.

    The first message of a partner's record (a hospital's encounter, the insurer's settlement)
    creates it; later ones add revisions, and the revision with the highest source version
    (`source.version`, `source.revision`; the latest arrival on a tie) is current, so arrival
    order does not change the result. What needs a clinician's look is the kind's rule
    (`kind.reviews`): with `division_of` (institution code -> division code), an encounter filed
    from a hospital outside the archive's county (`rules.review_for`); a settlement whose insurance
    type the 个人基本信息表 does not list (`rules.insurance_review`). Returns (records created,
    revisions added).
    """
    if not items:
        return 0, 0
    reviews = kind.reviews(session, items, division_of or {})
    firsts: dict[str, dict] = {}
    later: list[tuple[str, dict]] = []
    for (data, archive_no, message_id), review in zip(items, reviews):
        row = kind.rows(pii, data, archive_no, message_id, review)
        rid = row["record"]["id"]
        if rid in firsts:
            later.append((rid, row))
        else:
            firsts[rid] = row

    conn = session.connection()
    created = set(conn.execute(_CREATE_RECORD, [r["record"] for r in firsts.values()]).scalars())
    revisions, updates = [], []
    for rid, row in firsts.items():
        if rid in created:
            revisions.append({**row["revision"], "revision": 1})
            updates.append(update_message(rid, row["record"], "filed", 1))
            updates.append(changed_message(rid, row["record"], "filed", 1,
                                           programme_facts(kind.record_type, row["revision"]["content"])))
        else:
            later.append((rid, row))
    if revisions:
        conn.execute(REVISIONS.insert(), revisions)
    for rid, row in later:
        updates.extend(_add_revision(session, rid, row))
    stage(session, outbox, updates)
    for row in firsts.values():
        record = row["record"]
        if record["review"] and record["id"] in created:
            log.warning("filed, and flagged for a clinician's review", extra={
                "record_id": record["id"], "archive_no": record["archive_no"], "record_type": record["record_type"],
                "institution_code": record["institution_code"], "review": record["review"]})
    return len(created), len(later)


def _add_revision(session: Session, rid: str, row: dict) -> list[OutboxMessage]:
    record = session.execute(sa.select(Record).where(Record.id == rid).with_for_update()).scalar_one()
    revision = next_revision(session, rid)
    session.connection().execute(REVISIONS.insert(), [{**row["revision"], "revision": revision}])
    incoming_version = row["revision"]["source_version"]
    current = incoming_version >= record.current_source_version
    if current:
        record.current_revision = revision
        record.current_source_version = incoming_version
        if row["record"]["review"] and (record.archive_no != row["record"]["archive_no"]
                                        or record.review_details != row["record"]["review_details"]):
            # the record now goes to another archive, far from the hospital, or the insurer's
            # correction disagrees with the form anew: look again
            record.review, record.reviewed_by, record.reviewed_at = row["record"]["review"], None, None
            record.review_details = row["record"]["review_details"]
        record.archive_no = row["record"]["archive_no"]
        record.kind = row["record"]["kind"]
        record.occurred_at = row["record"]["occurred_at"]
        record.updated_at = sa.func.now()
    session.flush()
    standing = {**row["record"], "archive_no": record.archive_no, "occurred_at": record.occurred_at}
    messages = [update_message(rid, {**row["record"], "archive_no": record.archive_no}, "amended", revision)]
    if current:
        messages.append(changed_message(rid, standing, "amended", revision,
                                        programme_facts(row["record"]["record_type"], row["revision"]["content"])))
    return messages
