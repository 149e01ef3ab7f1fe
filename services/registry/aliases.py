"""Which archive a number or an ID number leads to now, after transfers and merges.

An archive is keyed by its current number. Two things make other keys lead to it:

* `archive_aliases`: a former number after a transfer (kind `transfer`, for good), and the number
  of an archive merged into it (kind `merge`, until the merge is undone). Aliases always name an
  archive's current number (their foreign key follows re-keying), but one may lead to a number
  that is itself an alias (a former number of an archive since merged), hence the short chase.
* `merges.merged_id_number_index`: the ID number of a merged archive, moved off its row while
  the merge stands, leads to the survivor.

    current_number(session, "11010510110100007")          -> "11010520110200031"
    current_number(session, "11010510110100007", follow_merges=False)   # the archive itself
    moved_indexes(session, {index})                        -> {index: "11010510110100003"}
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.archive_no import InvalidArchiveNumber, parse_archive_number
from shared.errors import NotFound, ValidationFailed

from services.registry.models import MERGED, Archive, ArchiveAlias, Merge

TRANSFER, MERGE = "transfer", "merge"

# Each hop is a transfer or a merge of an archive that was active then; a longer chain is a bug.
_MAX_HOPS = 16


def checked_number(archive_no: str) -> str:
    """`archive_no` if it is a well-formed 17-digit archive number, else `ValidationFailed`."""
    try:
        parse_archive_number(archive_no)
    except (InvalidArchiveNumber, AttributeError) as exc:
        reason = exc.reason if isinstance(exc, InvalidArchiveNumber) else "not a string"
        raise ValidationFailed("invalid archive number", {"archive_no": [reason]}) from None
    return archive_no.strip()


def current_number(session: Session, archive_no: str, follow_merges: bool = True) -> str:
    """The number of the archive `archive_no` leads to now (itself when it is no alias)."""
    kinds = (TRANSFER, MERGE) if follow_merges else (TRANSFER,)
    for _ in range(_MAX_HOPS):
        target = session.scalar(sa.select(ArchiveAlias.archive_no).where(
            ArchiveAlias.old_archive_no == archive_no, ArchiveAlias.kind.in_(kinds)))
        if target is None:
            return archive_no
        archive_no = target
    raise RuntimeError("archive aliases form a chain too long to be real")


def find(session: Session, archive_no: str, follow_merges: bool = True, lock: bool = False) -> Archive:
    """The archive `archive_no` leads to; `NotFound` when none.

    With `lock`, the row is locked until the transaction ends. A transfer committing while we
    wait re-keys the row under us, so the lookup is retried through the new alias.
    """
    archive_no = checked_number(archive_no)
    if not lock:
        # Most numbers are current and not merged away: one query answers them.
        archive = session.scalar(sa.select(Archive).where(Archive.archive_no == archive_no))
        if archive is not None and not (follow_merges and archive.status == MERGED):
            return archive
    for _ in range(3):
        current = current_number(session, archive_no, follow_merges)
        stmt = sa.select(Archive).where(Archive.archive_no == current)
        if lock:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        archive = session.scalar(stmt)
        if archive is not None:
            return archive
        if not lock:
            break
    raise NotFound("no such archive", {"archive_no": archive_no})


def aliases_of(session: Session, archive_no: str, kind: str) -> list[str]:
    """The numbers that lead straight to `archive_no`: former numbers, or merged archives'."""
    return all_aliases_of(session, archive_no)[kind]


def all_aliases_of(session: Session, archive_no: str) -> dict[str, list[str]]:
    """`{TRANSFER: [former numbers], MERGE: [merged archives' numbers]}` in one query."""
    found: dict[str, list[str]] = {TRANSFER: [], MERGE: []}
    for old, kind in session.execute(sa.select(ArchiveAlias.old_archive_no, ArchiveAlias.kind).where(
            ArchiveAlias.archive_no == archive_no).order_by(ArchiveAlias.old_archive_no)):
        found.setdefault(kind, []).append(old)
    return found


def moved_indexes(session: Session, indexes: set[bytes]) -> dict[bytes, str]:
    """For each ID-number blind index a standing merge moved aside, the survivor's current number."""
    if not indexes:
        return {}
    rows = session.execute(sa.select(Merge.merged_id_number_index, Merge.surviving_archive_no).where(
        Merge.merged_id_number_index.in_(indexes), Merge.unmerged_at.is_(None)))
    # The survivor may itself have been merged since: follow it to where it leads now.
    return {bytes(index): current_number(session, survivor) for index, survivor in rows}


def holder_of_index(session: Session, index: bytes) -> str | None:
    """The current number of the archive an ID number belongs to, directly or through a merge.

    The archives are read before the merges: a merge moves an index from an archive to the journal
    in one commit, so this order cannot miss an index a merge is moving. An unmerge moves it back;
    what slips between the two reads then meets the archives' unique constraint.
    """
    holder = session.scalar(sa.select(Archive.archive_no).where(Archive.id_number_index == index))
    return holder if holder is not None else moved_indexes(session, {index}).get(index)
