"""The expiry sweep: a request the receiver did not answer by its deadline (24 hours when urgent,
3 days otherwise) expires, the sender is told (`referral_expired`) and so is the receiver (its
queue), and it leaves every inbox's open list. Nothing is lost while a receiver is down for days:
the referral says it expired, and when, in its history.

Safe with several processes (`--replicas referrals=2`): the sweep holds a transaction-level
advisory lock, so a second process finding it taken does nothing that round; each expiry goes
through `referrals.change` (the row locked, the state checked), so a referral accepted while the
sweep ran is not expired, and none is expired twice.

    sweep(session, now)  -> {"swept": True, "expired": 3}
    sweep(session, deadline, referral_id=7)   -> only that one (the demo's expired referral, tests)
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.actor import SYSTEM as SYSTEM_ACTOR
from shared.errors import Conflict

from services.referrals import lifecycle
from services.referrals.models import Referral
from services.referrals.referrals import change

LOCK_KEY = 0x72656672  # "refr": the sweep's advisory lock
CHUNK = 200


def sweep(session: Session, now: datetime, referral_id: int | None = None) -> dict:
    """Expire what is past its deadline at `now` (only `referral_id`, when given); commits."""
    if not session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(LOCK_KEY))):
        session.rollback()
        return {"swept": False, "expired": 0}
    where = [Referral.state == lifecycle.REQUESTED, Referral.deadline_at <= now]
    if referral_id is not None:
        where.append(Referral.id == referral_id)
    ids = session.scalars(sa.select(Referral.id).where(*where).order_by(Referral.id).limit(CHUNK)).all()
    expired = 0
    for referral_id in ids:
        try:
            referral = change(session, referral_id, lifecycle.EXPIRE, SYSTEM_ACTOR, side=lifecycle.SYSTEM,
                              reason="no answer by the deadline", commit=False)
        except Conflict:
            continue  # answered meanwhile
        expired += referral.state == lifecycle.EXPIRED
    session.commit()
    return {"swept": True, "expired": expired}
