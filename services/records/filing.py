"""Filing partner messages into archives: the hot path, one transaction per batch, one pipeline
for every kind of message (`kinds`: hospital encounters from `ehr.encounters`, the insurer's
settlements from `ehr.insurance`), described here for encounters.

For a batch of deliveries from `ehr.encounters`:

1. parse each one: no larger than the bound (checked before the body is read), JSON, the
   `ehr.encounter/1` schema, a valid ID number consistent with the patient's sex and birth date,
   published by the broker account of the body's institution (`user_id`), a routing key that
   agrees with the body; failures become quarantine entries with a reason (a settlement: the
   `ehr.settlement/1` schema, published by the account of `source.insurer_code`, an institution
   of kind `insurer`);
2. reject encounters from institutions the registry does not know, and resolve all residents at
   once through the registry, by their exact identifiers (ID number, health and insurance cards,
   the sending hospital's MRN: `identity_query`). Both ask the registry before the transaction
   begins, so no lock is held while it answers;
3. claim each message's idempotency key (publishing institution + `message_id`) in
   `processed_messages`; a key already there means a repeat delivery, which changes nothing;
4. quarantine the rejected; file the matched encounters as records (a new record, or a new
   revision of the same hospital record), park the rest as pending; a record filed from a
   hospital outside the archive's county is flagged for a clinician's review (`rules.review_for`);
5. stage one archive update per filed revision in the outbox;

and commit once. The caller acknowledges the batch only after that commit.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from shared.claims import claim
from shared.config import DEFAULT_MAX_ENCOUNTER_BYTES
from shared.delivery import Delivery
from shared.messaging import BrokerAccounts
from shared.pii import PiiBox

from services.records import pending, quarantine
from services.records.kinds import ENCOUNTER, MessageKind
from services.records.models import processed_messages
from services.records.revisions import DivisionLookup, file_resolved

# What a resolver answers for each identity query: the archive, or None.
Resolver = Callable[[list[dict[str, Any]]], list[dict[str, Any] | None]]
InstitutionCheck = Callable[[set[str]], set[str]]
# The kind of each of these institutions the registry knows (`hospital`, `insurer`, ...).
InstitutionKinds = Callable[[set[str]], Mapping[str, str | None]]


@dataclass
class Incoming:
    delivery: Delivery
    key: tuple[str, str]
    data: Any = None  # the loaded message (an Encounter, a Settlement) once it passed its checks
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def reject(self, reason: str, details: dict[str, Any]) -> None:
        self.data, self.reason, self.details = None, reason, details


@dataclass(frozen=True)
class Intake:
    """What is checked of a hospital message before its content is trusted: its size, before the
    body is parsed (a few huge bodies must not exhaust a worker), and the broker account that
    published it, which must be the account of the body's institution (`BrokerAccounts`).

        Intake(BrokerAccounts(internal="guest"), max_bytes=256 * 1024)
    """

    accounts: BrokerAccounts
    max_bytes: int = DEFAULT_MAX_ENCOUNTER_BYTES


@dataclass
class FilingOutcome:
    filed: int = 0
    amended: int = 0
    pending: int = 0
    quarantined: int = 0
    duplicates: int = 0


_INSTITUTION = re.compile(r"[A-Za-z0-9]{4,22}")


def usable_message_id(message_id: str | None) -> bool:
    return bool(message_id) and len(message_id) <= 255 and "\x00" not in message_id


def parse_delivery(delivery: Delivery, intake: Intake, kind: MessageKind = ENCOUNTER) -> Incoming:
    parts = delivery.routing_key.split(".")
    routed_institution = parts[1] if len(parts) == 3 and parts[0] == kind.name else "?"
    if not _INSTITUTION.fullmatch(routed_institution):
        routed_institution = "?"  # it cannot match the body's, so the message is quarantined
    if not usable_message_id(delivery.message_id):
        digest = hashlib.sha256(delivery.body).hexdigest()
        incoming = Incoming(delivery, ("?", f"sha256:{digest}"))
        incoming.reject("missing_message_id", {"message_id": [
            "The AMQP message_id property must be set: 1 to 255 characters, no NUL."]})
        return incoming
    incoming = Incoming(delivery, (routed_institution, delivery.message_id))
    if len(delivery.body) > intake.max_bytes:
        incoming.reject("too_large", {"_body": [f"Longer than maximum length {intake.max_bytes} bytes."]})
        return incoming
    try:
        body = json.loads(delivery.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        incoming.reject("not_json", {"_body": [f"Not valid UTF-8 JSON: {type(exc).__name__}."]})
        return incoming
    if not isinstance(body, dict):
        incoming.reject("schema_invalid", {"_body": ["Must be a JSON object."]})
        return incoming
    try:
        data = kind.load(body, raw=delivery.body)
    except kind.invalid as exc:
        incoming.reject(exc.reason, exc.errors)
        return incoming
    if not intake.accounts.may_publish_for(delivery.user_id, kind.publisher(data)):
        published_by = f"published by {delivery.user_id!r}" if delivery.user_id else "not set"
        incoming.reject("publisher_mismatch", {"_user_id": [f"{kind.publisher_rule} ({published_by})."]})
        return incoming
    if (routed_institution, parts[2] if len(parts) == 3 else "?") != kind.routed(data):
        incoming.reject("routing_mismatch", {"_routing_key": [kind.routing_rule]})
        return incoming
    incoming.data = data
    return incoming


def file_encounters(session: Session, pii: PiiBox, deliveries: list[Delivery],
                    resolve: Resolver, known_institutions: InstitutionCheck, intake: Intake,
                    divisions: DivisionLookup | None = None) -> FilingOutcome:
    """File one batch of hospital encounters; commits (`file_messages` of `kinds.ENCOUNTER`)."""
    return file_messages(ENCOUNTER, session, pii, deliveries, resolve,
                         lambda codes: dict.fromkeys(known_institutions(codes)), intake, divisions)


def _check_institutions(items: list[Incoming], kind: MessageKind, institution_kinds: InstitutionKinds) -> None:
    """Refuse messages naming an institution the registry does not know (`unknown_institution`),
    or an insurer that is not one (`publisher_mismatch`: only an insurer's account settles)."""
    named = {item.key: kind.institutions(item.data) for item in items if item.data}
    codes = {code for checks in named.values() for code, _, _ in checks}
    known = institution_kinds(codes) if codes else {}
    for item in items:
        for code, required_kind, errors in named.get(item.key, ()):
            if code not in known:
                item.reject("unknown_institution", errors)
                break
            if required_kind is not None and known[code] != required_kind:
                item.reject("publisher_mismatch", {path: {field: [f"Not an institution of kind {required_kind}."]
                                                          for field in fields}
                                                   for path, fields in errors.items()})
                break


def file_messages(kind: MessageKind, session: Session, pii: PiiBox, deliveries: list[Delivery],
                  resolve: Resolver, institution_kinds: InstitutionKinds, intake: Intake,
                  divisions: DivisionLookup | None = None) -> FilingOutcome:
    """File one batch of messages of `kind`; commits. See the module docstring for the steps."""
    outcome = FilingOutcome()
    incoming: dict[tuple[str, str], Incoming] = {}
    for delivery in deliveries:
        item = parse_delivery(delivery, intake, kind)
        if item.key in incoming:
            outcome.duplicates += 1
        else:
            incoming[item.key] = item

    # Ask the registry first, before the transaction takes its first lock: a slow or restarting
    # registry then holds no connection and no claimed key that a redelivered copy would wait on.
    items = list(incoming.values())
    _check_institutions(items, kind, institution_kinds)
    valid = [i for i in items if i.data is not None]
    institutions = {kind.routed(i.data)[0] for i in valid}
    division_of = divisions(institutions) if divisions and institutions else {}
    answers = dict(zip([i.key for i in valid], resolve([kind.identity_query(i.data) for i in valid]))) if valid else {}

    fresh = claim(session, processed_messages, [(kind.claim_source(inst), mid) for inst, mid in incoming])
    outcome.duplicates += len(incoming) - len(fresh)
    items = [item for item in items if (kind.claim_source(item.key[0]), item.key[1]) in fresh]

    rejected = [(i.delivery, i.reason, i.details) for i in items if i.data is None]
    outcome.quarantined = quarantine.hold(session, pii, kind.queue, rejected)

    matched, unmatched = [], []
    for item in items:
        if item.data is None:
            continue
        answer = answers[item.key]
        if answer is None:
            unmatched.append(item)
        else:
            matched.append((item.data, answer["archive_no"], item.key[1]))

    filed, amended = file_resolved(session, pii, matched, division_of, kind)
    outcome.filed, outcome.amended = filed, amended
    outcome.pending = pending.park(session, pii, [(i.data, i.key[1], i.delivery) for i in unmatched], kind)
    session.commit()
    return outcome
