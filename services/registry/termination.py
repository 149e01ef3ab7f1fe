"""Terminating an archive (终止) and reactivating it.

    terminate_archive(session, "11010510110100007",
                      {"reason": "death", "date": date(2026, 11, 20), "cause": "脑梗死"}, actor)
    reactivate_archive(session, "11010510110100007", "居民返回本村居住", actor)

A terminated archive is kept with its reason, date and details, stays findable and resolvable
with its status, and takes no clinical writes (the records service refuses them). Reactivation
is allowed after loss to follow-up or migration out, never after death (`InvalidTransition`);
it clears the termination fields, which the revisions keep. An open transfer request of the
archive is cancelled by its termination.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.contracts.events import ARCHIVE_REACTIVATED, ARCHIVE_TERMINATED, event_message
from shared.outbox import stage

from services.registry import aliases, lifecycle, revisions
from services.registry.models import ACTIVE, TERMINATED, Archive, outbox
from services.registry.transfers import cancel_open_transfers
from services.registry.usecases import SERVICE

_DETAIL_COLUMNS = {"cause": "termination_cause", "destination": "termination_destination",
                   "handover": "termination_handover", "note": "termination_note"}


def terminate_archive(session: Session, archive_no: str, data: dict[str, Any], actor: Actor) -> Archive:
    """Terminate with validated `TerminationSchema` data; revision, event, commit."""
    archive = aliases.find(session, archive_no, lock=True)
    lifecycle.require_status(archive, (ACTIVE,), "terminate")
    lifecycle.check_termination_date(data["date"], archive.birth_date)
    before = revisions.tracked(archive)
    archive.status = TERMINATED
    archive.termination_reason, archive.termination_date = data["reason"], data["date"]
    for field, column in _DETAIL_COLUMNS.items():
        setattr(archive, column, data.get(field))
    cancel_open_transfers(session, archive.archive_no, actor, f"archive terminated ({data['reason']})")
    revisions.record(session, archive, revisions.TERMINATED, revisions.diff(before, revisions.tracked(archive)),
                     actor, reason=data["reason"])
    stage(session, outbox, [event_message(SERVICE, ARCHIVE_TERMINATED, {
        "archive_no": archive.archive_no, "reason": data["reason"], "date": data["date"],
    }, actor)])
    session.commit()
    return archive


def reactivate_archive(session: Session, archive_no: str, reason: str, actor: Actor) -> Archive:
    """Make a terminated archive active again (not after death); revision, event, commit."""
    archive = aliases.find(session, archive_no, lock=True)
    lifecycle.require_reactivatable(archive)
    before = revisions.tracked(archive)
    archive.status = ACTIVE
    archive.termination_reason = archive.termination_date = None
    for column in _DETAIL_COLUMNS.values():
        setattr(archive, column, None)
    revisions.record(session, archive, revisions.REACTIVATED, revisions.diff(before, revisions.tracked(archive)),
                     actor, reason=reason)
    stage(session, outbox, [event_message(SERVICE, ARCHIVE_REACTIVATED, {"archive_no": archive.archive_no}, actor)])
    session.commit()
    return archive
