"""Records follow the registry: when archives are transferred, merged or unmerged, the records
are re-pointed in the same transaction that records the event as processed.

- `archive_transferred` {archive_no, former_archive_no, ...}: every record of the former number
  moves to the new one (the registry keeps the old number as an alias).
- `archives_merged` {merge_id, archive_no (survivor), merged_archive_no, merged_identity_keys}:
  every record of the merged archive moves to the survivor, each move journaled.
- `archives_unmerged` {merge_id, archive_no (survivor), restored_archive_no, restored_identity_keys}:
  the journaled records go back, and so do hospital records filed into the survivor after the
  merge whose patient identity is the restored archive's; records entered on forms after the
  merge stay with the survivor (nothing says whom they were about).

Events of one merge may be handled out of order by competing workers: an unmerge handled first
marks the merge undone, and the late merge then moves nothing.

Every record moved is announced to the township systems in the same transaction: one
`ehr.archive-update/1` with action `moved`, `archive_no` the new number and `former_archive_no`
the old, routed by the new number; when the record leaves another village, the same update (same
`update_id`) is routed by the former number too, so the township that held it learns it left.

    {"schema": "ehr.archive-update/1", "update_id": "1f0b...", "action": "moved",
     "archive_no": "11010500300100042", "former_archive_no": "11010520110100007",
     "record_id": "38b3...", "record_type": "hospital_encounter", "revision": 2, ...}
"""

from __future__ import annotations

import uuid
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from shared.archive_no import parse_archive_number, routing_key_for
from shared.outbox import OutboxMessage, stage

from services.records.revisions import RECORD_NAMESPACE, update_message
from services.records.models import ArchiveMerge, Record, RecordMove, outbox

MERGED, UNMERGED = "merged", "unmerged"
MOVED = "moved"
# What a re-pointing UPDATE returns of each record it moved, for its `moved` update.
_MOVED_RECORD = (Record.id, Record.archive_no, Record.record_type, Record.kind, Record.institution_code,
                 Record.source_record_id, Record.occurred_at, Record.current_revision)


def moved_messages(record: dict, former_archive_no: str, cause: str) -> list[OutboxMessage]:
    """The `moved` update of one record now in `record["archive_no"]`, routed by the new number,
    and by the former one as well when that is another village. `cause` (the registry event's
    id) makes the update's id: a record moved back and forth gets a new update each time."""
    update_id = str(uuid.uuid5(RECORD_NAMESPACE, f"{record['id']}#{MOVED}#{cause}"))
    message = update_message(record["id"], record, MOVED, record["current_revision"], update_id=update_id,
                             former_archive_no=former_archive_no)
    if former_archive_no[:12] == record["archive_no"][:12]:
        return [message]
    former_key = routing_key_for(parse_archive_number(former_archive_no), record["record_type"])
    return [message, replace(message, routing_key=former_key)]


def _announce(session: Session, moved: list, former_archive_no: str, cause: str) -> int:
    stage(session, outbox, [m for row in moved for m in moved_messages(row._asdict(), former_archive_no, cause)])
    return len(moved)


def _move(session: Session, where, to_archive_no: str) -> list:
    return session.execute(sa.update(Record).where(where).values(archive_no=to_archive_no, updated_at=sa.func.now())
                           .returning(*_MOVED_RECORD)).all()


def transfer(session: Session, data: dict, cause: str) -> int:
    former = data.get("former_archive_no")
    if not former:
        return 0  # the institution changed, the number did not
    return _announce(session, _move(session, Record.archive_no == former, data["archive_no"]), former, cause)


def merge(session: Session, data: dict, cause: str) -> int:
    merge_id, survivor, merged = str(data["merge_id"]), data["archive_no"], data["merged_archive_no"]
    session.execute(pg_insert(ArchiveMerge).values(
        merge_id=merge_id, surviving_archive_no=survivor, merged_archive_no=merged, state=MERGED,
    ).on_conflict_do_nothing())
    state = session.scalar(sa.select(ArchiveMerge.state).where(ArchiveMerge.merge_id == merge_id)
                           .with_for_update())
    if state != MERGED:
        return 0  # already undone
    moved = _move(session, Record.archive_no == merged, survivor)
    if moved:
        session.execute(pg_insert(RecordMove).on_conflict_do_nothing(), [
            {"merge_id": merge_id, "record_id": row.id, "from_archive_no": merged, "to_archive_no": survivor}
            for row in moved])
    return _announce(session, moved, merged, cause)


def unmerge(session: Session, data: dict, cause: str) -> int:
    merge_id, survivor, restored = str(data["merge_id"]), data["archive_no"], data["restored_archive_no"]
    keys = [bytes.fromhex(k) for k in data.get("restored_identity_keys") or []]
    session.execute(pg_insert(ArchiveMerge).values(
        merge_id=merge_id, surviving_archive_no=survivor, merged_archive_no=restored, state=UNMERGED,
    ).on_conflict_do_update(index_elements=[ArchiveMerge.merge_id],
                            set_={"state": UNMERGED, "updated_at": sa.func.now()}))
    journaled = sa.select(RecordMove.record_id).where(RecordMove.merge_id == merge_id)
    belongs = sa.or_(Record.id.in_(journaled), Record.identity_key.in_(keys)) if keys else Record.id.in_(journaled)
    return _announce(session, _move(session, sa.and_(Record.archive_no == survivor, belongs), restored),
                     survivor, cause)
