"""The programmes' events, staged in the change's transaction (`shared.outbox`) and published by
the relay: `enrolled`, `enrolment_ended`, `follow_up_due`, `follow_up_overdue`,
`referral_suggested` (payloads in `shared.contracts.events`).

    announce(session, ENROLLED, {"archive_no": ..., "programme": "elderly", ...}, actor)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.contracts.events import event_message
from shared.outbox import stage

from services.programmes.models import outbox

SERVICE = "programmes"


def announce(session: Session, event_type: str, data: dict[str, Any], actor: Actor) -> None:
    stage(session, outbox, [event_message(SERVICE, event_type, data, actor)])
