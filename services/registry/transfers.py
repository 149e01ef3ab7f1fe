"""Transfers inside the suite (迁出/迁入): a request, then the receiving side's decision.

    request_transfer(session, "11010510110100007", {"to_village_code": "110105201101",
                     "to_institution_code": "T1101052011", "reason": "迁居东窑村"}, actor)  -> Transfer
    accept_transfer(session, pii, 7, actor) -> (Transfer, Archive)  # by the receiving side
    reject_transfer(session, 7, "本村无此居民", actor)              # by the receiving side
    cancel_transfer(session, 7, "申请有误", actor)                  # by the requesting side

Only an active archive is transferred, with at most one open request at a time. The receiving
institution must be able to manage the receiving village's archives, as at creation
(`usecases.management_problem`: a primary-care unit whose division is that village or its township).

On acceptance into another village the archive gets a new number from that village's counter
(the same gapless allocation as creation) and the row is re-keyed: every table referring to it
follows (`ON UPDATE CASCADE`), and the old number becomes an alias that keeps leading to it. A
transfer to another institution of the same village keeps the number.

Who may act: when the caller names an institution (the gateway always does), requesting needs the
sending side, the institution that manages the archive or one above it, or one whose division
holds the archive's village (its clinic, township centre or county); accepting and rejecting need
the receiving institution or one above it (its township centre), cancelling the requesting or the
sending institution or one above it. Callers naming none (operators, system jobs) may do any.
The gateway decides the same from its own rules first; this is the registry's own check, so that
an archive cannot be sent away by someone who does not hold it, whatever reaches the registry.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.archive_no import make_archive_number
from shared.contracts.events import ARCHIVE_TRANSFERRED, event_message
from shared.db import commit_or_conflict
from shared.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from shared.outbox import stage
from shared.paging import check_limit
from shared.pii import PiiBox

from services.registry import aliases, lifecycle, revisions
from services.registry.keys import reseal_identity
from services.registry.lifecycle import ACCEPTED, CANCELLED, REJECTED, REQUESTED
from services.registry.models import ACTIVE, Archive, ArchiveAlias, Institution, Transfer, outbox
from services.registry.usecases import SERVICE, allocate_serial, check_manager, check_references



def _now() -> datetime:
    return datetime.now(timezone.utc)


def _open_request(session: Session, archive_no: str) -> Transfer | None:
    return session.scalar(sa.select(Transfer).where(Transfer.archive_no == archive_no, Transfer.status == REQUESTED))


def request_transfer(session: Session, archive_no: str, data: dict[str, Any], actor: Actor) -> Transfer:
    """Record a request from validated `TransferRequestSchema` data; commits."""
    archive = aliases.find(session, archive_no, lock=True)
    _require_side(session, actor, (archive.institution_code,), "sending", village=archive.village_code)
    lifecycle.require_status(archive, (ACTIVE,), "transfer")
    to_village, to_institution = data["to_village_code"], data["to_institution_code"]
    check_references(session, to_village, to_institution)
    check_manager(session, to_village, to_institution, "to_institution_code")
    if (to_village, to_institution) == (archive.village_code, archive.institution_code):
        raise ValidationFailed("invalid transfer", {"to_institution_code": ["The archive is already managed there."]})
    pending = _open_request(session, archive.archive_no)
    if pending is not None:
        raise Conflict("a transfer of this archive is already requested", {"transfer_id": pending.id})
    transfer = Transfer(
        archive_no=archive.archive_no, from_archive_no=archive.archive_no,
        from_village=archive.village_code, from_institution=archive.institution_code,
        to_village=to_village, to_institution=to_institution, status=REQUESTED, reason=data["reason"],
        requested_by=actor.user, requested_by_institution=actor.institution_code,
    )
    session.add(transfer)
    commit_or_conflict(session, "a transfer of this archive is already requested", {"archive_no": archive.archive_no})
    return transfer


def _institution_and_above(session: Session, code: str | None) -> set[str]:
    found: set[str] = set()
    while code and code not in found:
        found.add(code)
        institution = session.get(Institution, code)
        code = institution.parent_code if institution else None
    return found


def _require_side(session: Session, actor: Actor, institutions: tuple[str | None, ...], side: str,
                  village: str | None = None) -> None:
    """The actor's institution is one of `institutions` or above one, or (given a `village`) its
    division holds that village; else InvalidTransition. Actors naming no institution pass."""
    if actor.institution_code is None:
        return
    allowed = set().union(*(_institution_and_above(session, code) for code in institutions))
    acting = session.get(Institution, actor.institution_code) if village else None
    if actor.institution_code not in allowed and not (acting and village.startswith(acting.division_code)):
        raise InvalidTransition(f"only the {side} side can do this",
                                {"institution_code": actor.institution_code})


def _locked_request(session: Session, transfer_id: int) -> Transfer:
    transfer = session.scalar(sa.select(Transfer).where(Transfer.id == transfer_id).with_for_update()
                              .execution_options(populate_existing=True))
    if transfer is None:
        raise NotFound("no such transfer", {"transfer_id": transfer_id})
    lifecycle.require_open(transfer)
    return transfer


def _decide(transfer: Transfer, status: str, actor: Actor, reason: str | None) -> None:
    transfer.status, transfer.decision_reason = status, reason
    transfer.decided_by, transfer.decided_by_institution = actor.user, actor.institution_code
    transfer.decided_at = _now()


def accept_transfer(session: Session, pii: PiiBox, transfer_id: int, actor: Actor) -> tuple[Transfer, Archive]:
    """Move the archive (renumbering it when the village changes, its ciphertexts then bound to the
    new number); revision, event, commit."""
    requested = session.get(Transfer, transfer_id)
    if requested is None:
        raise NotFound("no such transfer", {"transfer_id": transfer_id})
    # The archive before the request, as termination and merge do: one lock order, no deadlock.
    archive = aliases.find(session, requested.archive_no, follow_merges=False, lock=True)
    transfer = _locked_request(session, transfer_id)
    _require_side(session, actor, (transfer.to_institution,), "receiving")
    lifecycle.require_status(archive, (ACTIVE,), "transfer")

    before, former = revisions.tracked(archive), archive.archive_no
    if transfer.to_village != archive.village_code:
        serial = allocate_serial(session, transfer.to_village)
        archive.archive_no = make_archive_number(transfer.to_village, serial).value
    archive.village_code, archive.institution_code = transfer.to_village, transfer.to_institution
    session.flush()  # re-keys the row; what refers to it follows (ON UPDATE CASCADE)
    session.expire(transfer, ["archive_no"])
    renumbered = archive.archive_no != former
    if renumbered:
        reseal_identity(pii, archive, former)
        session.add(ArchiveAlias(old_archive_no=former, archive_no=archive.archive_no, kind=aliases.TRANSFER))
        transfer.new_archive_no = archive.archive_no
    _decide(transfer, ACCEPTED, actor, None)
    revisions.record(session, archive, revisions.TRANSFERRED, revisions.diff(before, revisions.tracked(archive)),
                     actor, reason=transfer.reason)
    stage(session, outbox, [event_message(SERVICE, ARCHIVE_TRANSFERRED, {
        "archive_no": archive.archive_no, "former_archive_no": former if renumbered else None,
        "village_code": archive.village_code, "institution_code": archive.institution_code,
    }, actor)])
    session.commit()
    return transfer, archive


def reject_transfer(session: Session, transfer_id: int, reason: str, actor: Actor) -> Transfer:
    transfer = _locked_request(session, transfer_id)
    _require_side(session, actor, (transfer.to_institution,), "receiving")
    _decide(transfer, REJECTED, actor, reason)
    session.commit()
    return transfer


def cancel_transfer(session: Session, transfer_id: int, reason: str | None, actor: Actor) -> Transfer:
    transfer = _locked_request(session, transfer_id)
    _require_side(session, actor, (transfer.requested_by_institution, transfer.from_institution), "requesting")
    _decide(transfer, CANCELLED, actor, reason)
    session.commit()
    return transfer


def cancel_open_transfers(session: Session, archive_no: str, actor: Actor, reason: str) -> None:
    """Cancel the archive's open request, inside the caller's transaction (termination, merge)."""
    pending = _open_request(session, archive_no)
    if pending is not None:
        _decide(pending, CANCELLED, actor, reason)


def get_transfer(session: Session, transfer_id: int) -> Transfer:
    transfer = session.get(Transfer, transfer_id)
    if transfer is None:
        raise NotFound("no such transfer", {"transfer_id": transfer_id})
    return transfer


def list_transfers(session: Session, archive_no: str | None = None, to_institution_code: str | None = None,
                   status: str | None = None, limit: int = 50) -> list[Transfer]:
    """Newest first: an archive's transfers, or a receiving institution's work list."""
    check_limit(limit)
    stmt = sa.select(Transfer).order_by(Transfer.id.desc()).limit(limit)
    if archive_no:
        stmt = stmt.where(Transfer.archive_no == aliases.find(session, archive_no, follow_merges=False).archive_no)
    if to_institution_code:
        stmt = stmt.where(Transfer.to_institution == to_institution_code)
    if status:
        stmt = stmt.where(Transfer.status == status)
    return list(session.scalars(stmt))
