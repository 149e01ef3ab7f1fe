"""What the referrals service says, staged in the change's transaction (`shared.outbox`) and
published by the relay: its events on `ehr.events` (`referrals.<event_type>`, payloads in
`shared.contracts.events`), and the `ehr.referral/1` messages on `ehr.referrals` that tell the
institution a referral or consultation is addressed to (`referral.<code>.<message_type>`; the
message id is derived from the referral and its version, so a repeat of the same change carries
the same id).

    announce(session, "referral_accepted", {...}, actor)
    tell(session, "H1101050001", "referral_requested", referral_view_for_hospital, key="referral:7:2")
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.contracts.events import event_message
from shared.contracts.referral_messages import ReferralMessageSchema
from shared.messaging import REFERRALS, referral_routing_key
from shared.outbox import OutboxMessage, stage

from services.referrals.models import outbox

SERVICE = "referrals"
_NAMESPACE = uuid.UUID("6f1d2a8e-3b7c-4f0e-9a51-2c4d8e7f0b13")
_MESSAGE = ReferralMessageSchema()


def announce(session: Session, event_type: str, data: dict[str, Any], actor: Actor) -> None:
    stage(session, outbox, [event_message(SERVICE, event_type, data, actor)])


def tell(session: Session, institution_code: str, message_type: str, body: dict[str, Any], key: str) -> None:
    """Stage an `ehr.referral/1` for `institution_code` (its queue is declared by the caller)."""
    message = {**body, "message_type": message_type, "to_institution_code": institution_code,
               "sent_at": datetime.now(timezone.utc)}
    stage(session, outbox, [OutboxMessage(
        exchange=REFERRALS, routing_key=referral_routing_key(institution_code, message_type),
        message_id=str(uuid.uuid5(_NAMESPACE, key)), body=_MESSAGE.dump(message))])
