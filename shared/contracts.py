"""The suite's versioned message contracts.

`ehr.encounter/1`        hospital -> suite, on exchange `ehr.encounters`: defined by the JSON
                         Schema `shared/schemas/encounter-v1.schema.json` and validated by
                         `shared.encounter.load_encounter` (the filing hot path)
`ehr.archive-update/1`   suite -> township systems, on `ehr.archive-updates` (ArchiveUpdateSchema;
                         JSON Schema `shared/schemas/archive-update-v1.schema.json`)
`ehr.event/1`            envelope of the domain events services announce on `ehr.events`

Validation messages never repeat the offending value, so a field error can be logged, stored
with a quarantined message and shown to an operator without exposing an ID number.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from shared.actor import Actor
from shared.messaging import EVENTS, event_routing_key
from shared.outbox import OutboxMessage


ENCOUNTER_V1 = "ehr.encounter/1"
ARCHIVE_UPDATE_V1 = "ehr.archive-update/1"
EVENT_V1 = "ehr.event/1"



class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class ArchiveUpdateSchema(_Lenient):
    """One update to a township system: identifiers and references, no clinical content.

        {"schema": "ehr.archive-update/1", "update_id": "5b0c...", "archive_no": "11010500300100042",
         "record_id": "8f3e...", "record_type": "hospital_encounter", "kind": "outpatient",
         "action": "filed", "revision": 1, "occurred_at": "2026-11-26T01:30:00+00:00",
         "recorded_at": "2026-11-26T01:31:02+00:00",
         "source": {"institution_code": "H3301020001", "record_id": "OP-20261126-0001"}}

    A record that a transfer, merge or unmerge moved to another archive: action `moved`,
    `archive_no` the new number, `former_archive_no` the old (only in `moved` updates).
    """

    schema = fields.Constant(ARCHIVE_UPDATE_V1)
    update_id = fields.Str(required=True)
    archive_no = fields.Str(required=True, validate=validate.Regexp(r"^\d{17}$"))
    record_id = fields.Str(required=True)
    record_type = fields.Str(required=True)
    kind = fields.Str(load_default=None, allow_none=True)
    action = fields.Str(required=True, validate=validate.OneOf(["filed", "amended", "entered_in_error", "moved"]))
    former_archive_no = fields.Str(load_default=None, allow_none=True, validate=validate.Regexp(r"^\d{17}$"))
    revision = fields.Int(required=True)
    occurred_at = fields.AwareDateTime(required=True)
    recorded_at = fields.AwareDateTime(required=True)
    source = fields.Dict(load_default=None, allow_none=True)


class EventSchema(_Lenient):
    """Envelope of a domain event on `ehr.events`, routing key `<service>.<event_type>`.

        {"schema": "ehr.event/1", "event_id": "0d5e...", "event_type": "archive_created",
         "service": "registry", "occurred_at": "2026-11-26T01:31:02+00:00",
         "actor": {"user": "system", "institution_code": "H3301020001"},
         "data": {"archive_no": "11010500300100042", "village_code": "110105003001",
                  "institution_code": "C1101050031", "identity_keys": ["9c1f..."]}}
    """

    schema = fields.Constant(EVENT_V1)
    event_id = fields.Str(required=True)
    event_type = fields.Str(required=True)
    service = fields.Str(required=True)
    occurred_at = fields.AwareDateTime(required=True)
    actor = fields.Dict(load_default=dict)
    data = fields.Dict(required=True)


def event_message(service: str, event_type: str, data: dict[str, Any], actor: Actor) -> OutboxMessage:
    """An `ehr.event/1` (see `EventSchema`) for a service's outbox: exchange `ehr.events`, routing
    key `<service>.<event_type>`, the event id as the AMQP `message_id`."""
    event_id = str(uuid.uuid4())
    return OutboxMessage(
        exchange=EVENTS,
        routing_key=event_routing_key(service, event_type),
        message_id=event_id,
        body={
            "schema": EVENT_V1,
            "event_id": event_id,
            "event_type": event_type,
            "service": service,
            "occurred_at": datetime.now(timezone.utc).isoformat(),
            "actor": actor.as_dict(),
            "data": data,
        },
    )


def field_errors(exc: ValidationError) -> dict:
    """marshmallow's nested error dict, as it is (its messages never echo the input)."""
    return exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}


NUL_REFUSED = "Must not contain NUL characters."


def holds_nul(value) -> bool:
    """Whether a NUL character is anywhere in the value, keys included (no PostgreSQL text, nor
    any Chinese health standard, takes one)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(holds_nul(v) for v in value)
    return False


def _nul_errors(payload, many: bool) -> dict:
    """Fields holding a NUL character anywhere (PostgreSQL text cannot store one)."""
    if many and isinstance(payload, (list, tuple)):
        return {i: errors for i, item in enumerate(payload) if (errors := _nul_errors(item, False))}
    if isinstance(payload, dict):
        return {str(k).replace("\x00", ""): [NUL_REFUSED] for k, v in payload.items() if holds_nul(k) or holds_nul(v)}
    return {"_schema": [NUL_REFUSED]} if holds_nul(payload) else {}


def load_input(schema: Schema, payload, many: bool = False):
    """`schema.load`, turning marshmallow's error into the suite's `ValidationFailed`; a NUL
    character anywhere in the input is refused for its field too."""
    from shared.errors import ValidationFailed

    refused = _nul_errors(payload, many)
    try:
        data = schema.load(payload, many=many)
    except ValidationError as exc:
        raise ValidationFailed("invalid input", {**field_errors(exc), **refused}) from None
    if refused:
        raise ValidationFailed("invalid input", refused)
    return data


# -- Registry events ------------------------------------------------------------------------
#
# The `event_type` of every event the registry announces on `ehr.events` (routing key
# `registry.<event_type>`, envelope `ehr.event/1`). Their `data` payloads are documented in
# `services/registry/lifecycle.py`; none carries an ID or phone number, only archive numbers,
# codes and `identity_keys` (hex blind indexes of ID numbers).

ARCHIVE_CREATED = "archive_created"
IDENTITY_UPDATED = "identity_updated"
ARCHIVE_TERMINATED = "archive_terminated"
ARCHIVE_REACTIVATED = "archive_reactivated"
ARCHIVE_TRANSFERRED = "archive_transferred"
ARCHIVES_MERGED = "archives_merged"
ARCHIVES_UNMERGED = "archives_unmerged"


# -- Gateway events -------------------------------------------------------------------------
#
# The gateway announces on `ehr.events` (routing key `gateway.<event_type>`) what the owners of an
# archive must hear of: `access_granted`, a user outside their scope opened it with a stated
# reason (data documented in docs/contracts.md and `services/gateway/accounts.py`).

ACCESS_GRANTED = "access_granted"
