"""Re-keying the ID numbers stored under ID type 02 (居民户口簿), once, for `ehr registry
rekey-id-numbers`.

A 公民身份号码 entered under type 02 is the same number as under type 01, and both are found by
one blind index (`shared.identity.identity_namespace`: namespace `id:01`). Archives stored
before the two types became one identity kept an index computed in the namespace `id:02`, so
the number does not find them (search, matching, a hospital's encounter). This walk recomputes
the index of every type-02 archive through `shared.pii.identity_key`, and that of the merged
archives a standing merge keeps aside (`merges.merged_id_number_index` and the snapshot an
unmerge writes back), so that an unmerge does not bring the old index back.

    rekey_id_numbers(engine, pii, batch_size=500)
      -> RekeyReport(checked=3, rekeyed=2, unchanged=1, busy=0,
                     collisions=[("11010500300100007", "11010500300100002")])

Each batch is one transaction; rows another transaction holds are skipped and counted as busy
(run again). Running it again changes nothing: an index already right is left alone. Where the
recomputed index is held by another archive (the same person registered twice, once under each
type), nothing is changed for that archive and the pair is reported by archive numbers only:
merge them (`merge_archives`), then run it again.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from shared.identity import HOUSEHOLD_REGISTER_ID_TYPE
from shared.pii import PiiBox, identity_key

from services.registry.keys import ID_NUMBER_SEALED_IN, unseal
from services.registry.models import Archive, Merge


@dataclass
class RekeyReport:
    """What one walk did: `collisions` are (archive left as it was, archive holding its number)."""

    checked: int = 0
    rekeyed: int = 0
    unchanged: int = 0
    busy: int = 0
    collisions: list[tuple[str, str]] = field(default_factory=list)


def rekey_id_numbers(engine: Engine, pii: PiiBox, batch_size: int = 500, dry_run: bool = False) -> RekeyReport:
    """Recompute the ID-number index of every archive of ID type 02, and of every merged archive
    of type 02 a standing merge keeps aside; with `dry_run`, count what would change."""
    report = RekeyReport()
    _walk_archives(engine, pii, batch_size, dry_run, report)
    _walk_merges(engine, pii, batch_size, dry_run, report)
    return report


def _holder(session: Session, key: bytes, archive_no: str, survivor: str | None) -> str | None:
    """Another archive `key` already leads to: one holding it, or the survivor of a standing
    merge that keeps it aside. A merged archive's own survivor holding it is no collision: the
    number led there while the merge stands (an unmerge is then refused, as for any number
    another archive holds)."""
    mine = [archive_no, survivor] if survivor else [archive_no]
    holder = session.scalar(sa.select(Archive.archive_no).where(Archive.id_number_index == key,
                                                                Archive.archive_no.not_in(mine)))
    return holder or session.scalar(sa.select(Merge.surviving_archive_no).where(
        Merge.merged_id_number_index == key, Merge.unmerged_at.is_(None), Merge.merged_archive_no != archive_no))


def _settle(session: Session, report: RekeyReport, archive_no: str, current: bytes | None, key: bytes,
            dry_run: bool, survivor: str | None = None) -> bool:
    """Count one row; True when its index should be written."""
    report.checked += 1
    if current is not None and bytes(current) == key:
        report.unchanged += 1
        return False
    holder = _holder(session, key, archive_no, survivor)
    if holder:
        report.collisions.append((archive_no, holder))
        return False
    report.rekeyed += 1
    return not dry_run


# A merged archive's row holds no index (its journal does, below).
_TYPE_02 = sa.and_(Archive.id_type == HOUSEHOLD_REGISTER_ID_TYPE, Archive.id_number_enc.is_not(None),
                   Archive.id_number_index.is_not(None))


def _walk(engine: Engine, column, condition, batch_size: int, report: RekeyReport, settle_row) -> None:
    """Walk the rows of `column`'s table that meet `condition`, in keyset batches of one
    transaction each: the rows another transaction holds are skipped and counted as busy,
    `settle_row(session, row)` settles each of the others."""
    model = column.class_
    last = None
    while True:
        with Session(engine) as session:
            page = sa.select(column).where(condition).order_by(column).limit(batch_size)
            seen = session.scalars(page if last is None else page.where(column > last)).all()
            if not seen:
                return
            rows = session.scalars(sa.select(model).where(column.in_(seen), condition)
                                   .order_by(column).with_for_update(skip_locked=True)).all()
            report.busy += len(seen) - len(rows)
            for row in rows:
                settle_row(session, row)
            session.commit()
            last = seen[-1]


def _walk_archives(engine: Engine, pii: PiiBox, batch_size: int, dry_run: bool, report: RekeyReport) -> None:
    def settle(session: Session, archive: Archive) -> None:
        number = unseal(pii, archive.archive_no, "id_number_enc", archive.id_number_enc)
        key = identity_key(pii, archive.id_type, number)
        if _settle(session, report, archive.archive_no, archive.id_number_index, key, dry_run):
            archive.id_number_index = key
            session.flush()  # the next archive's check sees it

    _walk(engine, Archive.archive_no, _TYPE_02, batch_size, report, settle)


def _walk_merges(engine: Engine, pii: PiiBox, batch_size: int, dry_run: bool, report: RekeyReport) -> None:
    standing = sa.and_(Merge.unmerged_at.is_(None), Merge.merged_id_number_index.is_not(None),
                       Merge.snapshot["id_type"].astext == HOUSEHOLD_REGISTER_ID_TYPE)

    def settle(session: Session, merge: Merge) -> None:
        snapshot = merge.snapshot
        token = base64.b64decode(snapshot["id_number_enc"])
        number = pii.decrypt(token, ID_NUMBER_SEALED_IN, snapshot["archive_no"])
        key = identity_key(pii, snapshot["id_type"], number)
        if _settle(session, report, merge.merged_archive_no, merge.merged_id_number_index, key, dry_run,
                   survivor=merge.surviving_archive_no):
            merge.merged_id_number_index = key
            merge.snapshot = {**snapshot, "id_number_index": base64.b64encode(key).decode()}
            session.flush()

    _walk(engine, Merge.id, standing, batch_size, report, settle)
