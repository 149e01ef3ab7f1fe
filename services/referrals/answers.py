"""Hospitals' answers to referrals and consultations (`referrals.answers` <- `ehr.referral-answers`
`answer.#`), in the style of encounters: for a batch of deliveries, in one transaction,

1. parse each one: an AMQP `message_id` (the idempotency key), JSON, `ehr.referral-answer/1`
   (`shared.contracts.referral_messages`), published by the broker account of the body's
   institution (`user_id`, which RabbitMQ has checked; `BrokerAccounts.may_publish_for`), under
   the routing key `answer.<institution_code>.<kind>` of the body;
2. claim `(answer:<institution>, message_id)`: a repeat delivery changes nothing;
3. find the referral or consultation; an answer from an institution that is not its receiver is
   refused (`not_the_receiver`), an unknown one is `unknown_referral` / `unknown_consultation`;
4. apply it as the receiver (accept, reject, arrived, back_referral, close, consultation_answer)
   through the same rules as the HTTP side (`referrals.change`, `consultations.answer`); one the
   state no longer allows (a second, racing answer) is `invalid_transition`, naming both states;

each answer in a savepoint of its own, and everything refused is quarantined with its reason and
field errors (`quarantined_messages`). The caller acknowledges the batch after the commit.

    handle_answers(session, deliveries, BrokerAccounts(internal="guest"))  -> {"applied": 1, "quarantined": 0, ...}
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.claims import claim
from shared.contracts.referral_messages import Answer, InvalidAnswer, load_answer
from shared.delivery import Delivery
from shared.errors import Conflict, EhrError, NotFound
from shared.messaging import REFERRALS_ANSWERS, BrokerAccounts

from services.referrals import consultations, lifecycle, quarantine, referrals
from services.referrals.models import processed_messages

MAX_BYTES = 256 * 1024
_INSTITUTION = re.compile(r"[A-Za-z0-9]{1,22}")
ACTIONS = {"accept": lifecycle.ACCEPT, "reject": lifecycle.REJECT, "arrived": lifecycle.ARRIVE,
           "back_referral": lifecycle.BACK_REFER, "close": lifecycle.CLOSE}


class Refused(Exception):
    def __init__(self, reason: str, errors: dict[str, Any]) -> None:
        super().__init__(reason)
        self.reason, self.errors = reason, errors


def _usable(message_id: str | None) -> bool:
    return bool(message_id) and len(message_id) <= 255 and "\x00" not in message_id


def parse(delivery: Delivery, accounts: BrokerAccounts) -> Answer:
    """The answer a delivery carries, or Refused with the reason and field errors."""
    if not _usable(delivery.message_id):
        raise Refused("missing_message_id", {"message_id": [
            "The AMQP message_id property must be set: 1 to 255 characters, no NUL."]})
    if len(delivery.body) > MAX_BYTES:
        raise Refused("too_large", {"_body": [f"Longer than maximum length {MAX_BYTES} bytes."]})
    try:
        answer = load_answer(delivery.body)
    except InvalidAnswer as exc:
        raise Refused(exc.reason, exc.errors) from None
    if not accounts.may_publish_for(delivery.user_id, answer.institution_code):
        published_by = f"published by {delivery.user_id!r}" if delivery.user_id else "not set"
        raise Refused("publisher_mismatch", {"_user_id": [
            f"Must be the broker account of institution_code ({published_by})."]})
    if delivery.routing_key != f"answer.{answer.institution_code}.{answer.kind}":
        raise Refused("routing_mismatch", {"_routing_key": ["Must be answer.<institution_code>.<kind> of the body."]})
    return answer


def apply(session: Session, answer: Answer, message_id: str) -> None:
    """Apply one answer as its institution, the receiver; Refused when it may not."""
    code = answer.institution_code
    actor = Actor(user=f"institution:{code}", institution_code=code)
    data = answer.data
    try:
        if answer.kind == "consultation_answer":
            row = consultations.get(session, answer.consultation_id)
            if row.to_institution_code != code:
                raise Refused("not_the_receiver", {"institution_code": [
                    "Not the institution this consultation was asked of."]})
            consultations.answer(session, row.id, {"opinion": data["opinion"], "consultants": data["consultants"]},
                                 actor, answering_code=code, commit=False)
            return
        referral = referrals.get(session, answer.referral_id)
        if referral.to_institution_code != code or referral.state == lifecycle.DRAFT:
            raise Refused("not_the_receiver", {"institution_code": [
                "Not the institution this referral is addressed to."]})
        back = data.get("back_referral")
        referrals.change(session, referral.id, ACTIONS[answer.kind], actor,
                         reason=data.get("reason") or data.get("note"), back=back, side=lifecycle.RECEIVER,
                         message_id=message_id, commit=False)
    except NotFound as exc:
        field = "consultation_id" if answer.kind == "consultation_answer" else "referral_id"
        raise Refused(f"unknown_{field.split('_')[0]}", {field: [exc.message]}) from None
    except Conflict as exc:
        raise Refused("invalid_transition", {"_state": [exc.message]}) from None
    except EhrError as exc:
        raise Refused("schema_invalid", exc.details or {"_body": [exc.message]}) from None


def handle_answers(session: Session, deliveries: list[Delivery], accounts: BrokerAccounts) -> dict[str, int]:
    """Apply one batch; commits (see the module doc)."""
    outcome = {"applied": 0, "quarantined": 0, "duplicates": 0}
    for delivery in deliveries:
        try:
            answer = parse(delivery, accounts)
        except Refused as exc:
            quarantine.hold(session, REFERRALS_ANSWERS, [(delivery, exc.reason, exc.errors)])
            outcome["quarantined"] += 1
            continue
        if not claim(session, processed_messages, [(f"answer:{answer.institution_code}", delivery.message_id)]):
            outcome["duplicates"] += 1
            continue
        savepoint = session.begin_nested()
        try:
            apply(session, answer, delivery.message_id)
            savepoint.commit()
            outcome["applied"] += 1
        except Refused as exc:
            savepoint.rollback()
            quarantine.hold(session, REFERRALS_ANSWERS, [(delivery, exc.reason, exc.errors)])
            outcome["quarantined"] += 1
    session.commit()
    return outcome
