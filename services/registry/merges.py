"""Merging two archives of one person, journaled so that the merge can be undone.

    merge_archives(session, pii, "11010510110100003", "11010510110100007", "同一居民重复建档", actor) -> Merge
    unmerge_archives(session, 42, "并非同一人", actor)                                          -> Merge

A merge keeps both rows. The merged archive becomes `merged` with `merged_into` the survivor; its
number becomes an alias of the survivor, and its ID-number blind index moves off its row into the
journal (`merges.merged_id_number_index`), so that its number and its ID number both lead to the
survivor while the merge stands. The journal also keeps a snapshot of the merged archive's
identity columns as they were (ID and phone numbers as their ciphertexts), and the merged ID
number's mask (`id_number_masked`, the last four characters) for the journal's readers.

Unmerging restores the merged archive exactly from that snapshot (active, its own number, its
own ID number) and leaves the survivor as it is now: what was written to it since the merge
stays with it. It is refused (`Conflict`) if another archive has taken the ID number meanwhile
(`RegisteredElsewhere`, not naming it, if that archive lies outside the caller's scope).
Other services learn of both through `archives_merged` / `archives_unmerged` and re-point their
data (see `lifecycle`).
"""

from __future__ import annotations

import base64
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.contracts.events import ARCHIVES_MERGED, ARCHIVES_UNMERGED, event_message
from shared.db import commit_or_conflict
from shared.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from shared.outbox import stage
from shared.pii import PiiBox

from services.registry import aliases, lifecycle, revisions
from services.registry.models import ACTIVE, MERGED, Archive, ArchiveAlias, Merge, outbox
from services.registry.transfers import cancel_open_transfers
from services.registry.usecases import SERVICE, confined, masked_id_number

# The merged archive's columns that an unmerge puts back (its number, the key, never changes
# while it is merged; its version keeps counting revisions).
RESTORED = ("status", "name", "name_pinyin", "sex", "birth_date", "id_type", "id_number_enc", "id_number_index",
            "phone_enc", "phone_index", "village_code", "institution_code",
            "termination_reason", "termination_date", "termination_cause", "termination_destination",
            "termination_handover", "termination_note", "merged_into")
_BINARY = {"id_number_enc", "id_number_index", "phone_enc", "phone_index"}  # base64 in the snapshot
_DATES = {"birth_date", "termination_date"}


def _snapshot(archive: Archive) -> dict[str, Any]:
    """The identity columns, JSON-ready: ciphertexts and blind indexes in base64, never in clear."""
    values: dict[str, Any] = {"archive_no": archive.archive_no, "version": archive.version}
    for column in RESTORED:
        value = getattr(archive, column)
        if value is not None and column in _BINARY:
            value = base64.b64encode(bytes(value)).decode()
        elif isinstance(value, date):
            value = value.isoformat()
        values[column] = value
    return values


def _restore(archive: Archive, snapshot: dict[str, Any]) -> None:
    for column in RESTORED:
        value = snapshot.get(column)
        if value is not None and column in _BINARY:
            value = base64.b64decode(value)
        elif value is not None and column in _DATES:
            value = date.fromisoformat(value)
        setattr(archive, column, value)


def _lock_both(session: Session, first: str, second: str) -> tuple[Archive, Archive]:
    """Lock two archive rows in number order, so that two merges never wait on each other in a circle."""
    locked = {no: aliases.find(session, no, follow_merges=False, lock=True) for no in sorted({first, second})}
    return locked[first], locked[second]


def _indexes(index: bytes | None) -> list[str]:
    return [bytes(index).hex()] if index is not None else []


def merge_archives(session: Session, pii: PiiBox, surviving_no: str, merged_no: str, reason: str,
                   actor: Actor) -> Merge:
    """Merge `merged_no` into `surviving_no` (both active, not the same); journal, revisions, event, commit."""
    surviving_now = aliases.current_number(session, aliases.checked_number(surviving_no))
    merged_now = aliases.current_number(session, aliases.checked_number(merged_no))
    if surviving_now == merged_now:
        raise ValidationFailed("cannot merge an archive with itself",
                               {"merged_archive_no": ["Leads to the same archive as surviving_archive_no."]})
    survivor, merged = _lock_both(session, surviving_now, merged_now)
    lifecycle.require_status(survivor, (ACTIVE,), "merge into")
    lifecycle.require_status(merged, (ACTIVE,), "merge")

    snapshot, before = _snapshot(merged), revisions.tracked(merged)
    snapshot["id_number_masked"] = masked_id_number(pii, merged.id_number_enc, merged.archive_no)
    merged_before = aliases.aliases_of(session, survivor.archive_no, aliases.MERGE)
    index = merged.id_number_index
    merged.status, merged.merged_into, merged.id_number_index = MERGED, survivor.archive_no, None
    merge = Merge(surviving_archive_no=survivor.archive_no, merged_archive_no=merged.archive_no, reason=reason,
                  merged_by=actor.user, merged_by_institution=actor.institution_code, merged_by_role=actor.role,
                  merged_id_number_index=index, snapshot=snapshot)
    session.add(merge)
    session.flush()
    session.add(ArchiveAlias(old_archive_no=merged.archive_no, archive_no=survivor.archive_no,
                             kind=aliases.MERGE, merge_id=merge.id))
    cancel_open_transfers(session, merged.archive_no, actor, "archive merged")
    revisions.record(session, merged, revisions.MERGED, revisions.diff(before, revisions.tracked(merged)),
                     actor, reason)
    merged_after = sorted([*merged_before, merged.archive_no])
    revisions.record(session, survivor, revisions.MERGE_RECEIVED, {"merged_archive_nos": [merged_before, merged_after]},
                     actor, reason)
    stage(session, outbox, [event_message(SERVICE, ARCHIVES_MERGED, {
        "merge_id": merge.id, "archive_no": survivor.archive_no, "merged_archive_no": merged.archive_no,
        "merged_identity_keys": _indexes(index),
    }, actor)])
    session.commit()
    return merge


def unmerge_archives(session: Session, merge_id: int, reason: str, actor: Actor,
                     scope: dict[str, Any] | None = None) -> Merge:
    """Undo merge `merge_id`: restore the merged archive as it was; revisions, event, commit.
    An archive now holding the ID number is named only inside `scope` (`usecases.confined`)."""
    merge = get_merge(session, merge_id)
    survivor, merged = _lock_both(session, merge.surviving_archive_no, merge.merged_archive_no)
    merge = session.scalar(sa.select(Merge).where(Merge.id == merge_id).with_for_update()
                           .execution_options(populate_existing=True))
    if merge.unmerged_at is not None:
        raise InvalidTransition("the merge is already undone", {"merge_id": merge_id})
    if merged.status != MERGED or merged.merged_into != survivor.archive_no:
        raise InvalidTransition("the archive is no longer merged by this merge",
                                {"merge_id": merge_id, "archive_no": merged.archive_no, "status": merged.status})
    index = merge.merged_id_number_index
    holder = index is not None and session.scalar(
        sa.select(Archive.archive_no).where(Archive.id_number_index == index))
    if holder:
        raise confined(session, Conflict("another archive holds this ID number now", {
            "archive_no": holder, "id_number": merge.snapshot.get("id_number_masked")}), scope)

    before = revisions.tracked(merged)
    merged_before = aliases.aliases_of(session, survivor.archive_no, aliases.MERGE)
    _restore(merged, merge.snapshot)
    merge.unmerged_at, merge.unmerged_by, merge.unmerge_reason = datetime.now(timezone.utc), actor.user, reason
    session.execute(sa.delete(ArchiveAlias).where(ArchiveAlias.old_archive_no == merged.archive_no,
                                                  ArchiveAlias.kind == aliases.MERGE))
    revisions.record(session, merged, revisions.UNMERGED, revisions.diff(before, revisions.tracked(merged)),
                     actor, reason)
    revisions.record(session, survivor, revisions.MERGE_UNDONE,
                     {"merged_archive_nos": [merged_before, [n for n in merged_before if n != merged.archive_no]]},
                     actor, reason)
    stage(session, outbox, [event_message(SERVICE, ARCHIVES_UNMERGED, {
        "merge_id": merge.id, "archive_no": survivor.archive_no, "restored_archive_no": merged.archive_no,
        "restored_identity_keys": _indexes(index),
    }, actor)])
    # An archive may have taken the ID number between our check and our update.
    commit_or_conflict(session, "another archive holds this ID number now",
                       {"id_number": merge.snapshot.get("id_number_masked")})
    return merge


def get_merge(session: Session, merge_id: int) -> Merge:
    merge = session.get(Merge, merge_id)
    if merge is None:
        raise NotFound("no such merge", {"merge_id": merge_id})
    return merge


def list_merges(session: Session, archive_no: str) -> list[Merge]:
    """The merges an archive took part in, as survivor or as merged, oldest first."""
    archive = aliases.find(session, archive_no, follow_merges=False)
    return list(session.scalars(sa.select(Merge).where(sa.or_(
        Merge.surviving_archive_no == archive.archive_no, Merge.merged_archive_no == archive.archive_no,
    )).order_by(Merge.id)))
