"""What the referrals service does with the suite's events (`referrals.events` <- `ehr.events`
`records.record_changed` and `programmes.referral_suggested`), once each and only for events the
suite signed (`shared.events.EventConsumer`); the effects and the events they announce commit
together.

    record_changed (a hospital_encounter filed)  -> an accepted referral of the resident to that
                                                    institution, sent before it, is arrived
    referral_suggested                           -> a draft in the referring institution's inbox,
                                                    the trigger as its reason

Other event types are acknowledged and ignored; what it cannot read, or an unsigned event, is
kept in `quarantined_messages` and changes nothing.

    handle_events(session, service_key, deliveries)   -> 2 (things changed)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.actor import SYSTEM
from shared.delivery import Delivery
from shared.events import EventConsumer
from shared.messaging import REFERRALS_EVENTS

from services.referrals import quarantine, referrals
from services.referrals.models import processed_messages


class ReferralEvents(EventConsumer):
    source, queue = "events", REFERRALS_EVENTS

    def __init__(self, service_key: bytes) -> None:
        super().__init__(processed_messages, service_key)

    def quarantine(self, session: Session, items: list[tuple[Delivery, str, dict]]) -> None:
        quarantine.hold(session, self.queue, items)

    def handle_record_changed(self, session: Session, event: Any) -> int:
        data = event.data
        if event.service != "records" or data["record_type"] != "hospital_encounter" or data["action"] != "filed":
            return 0
        return referrals.arrived_by_encounter(session, data, SYSTEM)

    def handle_referral_suggested(self, session: Session, event: Any) -> int:
        if event.service != "programmes":
            return 0
        return 1 if referrals.draft(session, event.data, SYSTEM) is not None else 0


def handle_events(session: Session, service_key: bytes, deliveries: list[Delivery]) -> int:
    """Apply a batch of events once each; commits. Returns how many things changed."""
    return ReferralEvents(service_key).consume(session, deliveries)
