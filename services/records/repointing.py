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
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from services.records.models import ArchiveMerge, Record, RecordMove

MERGED, UNMERGED = "merged", "unmerged"


def transfer(session: Session, data: dict) -> int:
    if not data.get("former_archive_no"):
        return 0  # the institution changed, the number did not
    result = session.execute(sa.update(Record).where(Record.archive_no == data["former_archive_no"])
                             .values(archive_no=data["archive_no"], updated_at=sa.func.now()))
    return result.rowcount


def merge(session: Session, data: dict) -> int:
    merge_id, survivor, merged = str(data["merge_id"]), data["archive_no"], data["merged_archive_no"]
    session.execute(pg_insert(ArchiveMerge).values(
        merge_id=merge_id, surviving_archive_no=survivor, merged_archive_no=merged, state=MERGED,
    ).on_conflict_do_nothing())
    state = session.scalar(sa.select(ArchiveMerge.state).where(ArchiveMerge.merge_id == merge_id)
                           .with_for_update())
    if state != MERGED:
        return 0  # already undone
    moved = session.scalars(sa.update(Record).where(Record.archive_no == merged)
                            .values(archive_no=survivor, updated_at=sa.func.now()).returning(Record.id)).all()
    if moved:
        session.execute(pg_insert(RecordMove).on_conflict_do_nothing(), [
            {"merge_id": merge_id, "record_id": rid, "from_archive_no": merged, "to_archive_no": survivor}
            for rid in moved])
    return len(moved)


def unmerge(session: Session, data: dict) -> int:
    merge_id, survivor, restored = str(data["merge_id"]), data["archive_no"], data["restored_archive_no"]
    keys = [bytes.fromhex(k) for k in data.get("restored_identity_keys") or []]
    session.execute(pg_insert(ArchiveMerge).values(
        merge_id=merge_id, surviving_archive_no=survivor, merged_archive_no=restored, state=UNMERGED,
    ).on_conflict_do_update(index_elements=[ArchiveMerge.merge_id],
                            set_={"state": UNMERGED, "updated_at": sa.func.now()}))
    journaled = sa.select(RecordMove.record_id).where(RecordMove.merge_id == merge_id)
    belongs = sa.or_(Record.id.in_(journaled), Record.identity_key.in_(keys)) if keys else Record.id.in_(journaled)
    moved = session.execute(sa.update(Record).where(Record.archive_no == survivor, belongs)
                            .values(archive_no=restored, updated_at=sa.func.now()))
    return moved.rowcount
