"""`ehr.event/1`: the domain events services announce on `ehr.events` (routing key
`<service>.<event_type>`), built by one builder and read by one reader.

    stage(session, outbox, [event_message("registry", ARCHIVE_CREATED, {"archive_no": ..., ...}, actor)])
    event = load_event(delivery.body)      # Event(event_id=..., event_type="archive_created", data={...})
                                           # InvalidEvent(errors) if it is not an ehr.event/1

`event_message` dumps the envelope through `EventSchema` and the `data` through the event's own
payload schema (`PAYLOADS`), so only what a payload schema declares leaves a service; `load_event`
loads both, so a consumer reads only what the contract promises. Payloads carry no ID or phone
number: archive numbers, codes, and `identity_keys` (hex blind indexes of ID numbers, which let
records find what it parked without the ID number leaving the registry).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from shared.actor import Actor
from shared.messaging import EVENTS, event_routing_key
from shared.outbox import OutboxMessage

from shared.contracts.fields import ArchiveNo, Lenient, field_errors, valid_village_code

EVENT_V1 = "ehr.event/1"

# -- Registry events (routing key `registry.<event_type>`; the rules behind each in
# `services/registry/lifecycle.py`) ---------------------------------------------------------------

ARCHIVE_CREATED = "archive_created"
IDENTITY_UPDATED = "identity_updated"
ARCHIVE_TERMINATED = "archive_terminated"
ARCHIVE_REACTIVATED = "archive_reactivated"
ARCHIVE_TRANSFERRED = "archive_transferred"
ARCHIVES_MERGED = "archives_merged"
ARCHIVES_UNMERGED = "archives_unmerged"

# -- Gateway events (routing key `gateway.<event_type>`): what the owners of an archive must hear
# of. `access_granted`: a user outside their scope opened it with a stated reason. -------------

ACCESS_GRANTED = "access_granted"


class EventSchema(Lenient):
    """Envelope of a domain event on `ehr.events`, routing key `<service>.<event_type>`.

        {"schema": "ehr.event/1", "event_id": "0d5e...", "event_type": "archive_created",
         "service": "registry", "occurred_at": "2026-11-26T01:31:02+00:00",
         "actor": {"user": "system", "institution_code": "H3301020001", "role": null},
         "data": {"archive_no": "11010500300100042", "village_code": "110105003001",
                  "institution_code": "C1101050031", "identity_keys": ["9c1f..."]}}
    """

    schema = fields.Constant(EVENT_V1)
    event_id = fields.Str(required=True, validate=validate.Length(min=1, max=255))
    event_type = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    service = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    occurred_at = fields.AwareDateTime(required=True)
    actor = fields.Dict(load_default=dict)
    data = fields.Dict(required=True)


IDENTITY_KEY = validate.Regexp(r"^[0-9a-f]{2,128}$", error="Hex digits (a blind index).")


def _identity_keys(**kwargs) -> fields.List:
    return fields.List(fields.Str(validate=IDENTITY_KEY), **kwargs)


class ArchiveCreatedSchema(Lenient):
    """`archive_created`: an archive was created.

        {"archive_no": "11010510110100007", "village_code": "110105101101",
         "institution_code": "T1101051011", "identity_keys": ["9c1f...64 hex"]}
    """

    archive_no = ArchiveNo(required=True)
    village_code = fields.Str(required=True, validate=valid_village_code)
    institution_code = fields.Str(required=True)
    identity_keys = _identity_keys(required=True)


class IdentityUpdatedSchema(Lenient):
    """`identity_updated`: identity fields were corrected; `fields` names them, never their
    values; `identity_keys` is the blind index of the archive's ID number as it is now.

        {"archive_no": "11010510110100007", "fields": ["name", "phone"], "identity_keys": ["9c1f..."]}
    """

    archive_no = ArchiveNo(required=True)
    fields_ = fields.List(fields.Str(), required=True, data_key="fields", attribute="fields")
    identity_keys = _identity_keys(required=True)


class ArchiveTerminatedSchema(Lenient):
    """`archive_terminated`: the archive was terminated (终止) for `reason` (`death`,
    `migration_out` or `loss_to_follow_up`) on `date`.

        {"archive_no": "11010510110100007", "reason": "death", "date": "2026-11-20"}
    """

    archive_no = ArchiveNo(required=True)
    reason = fields.Str(required=True)
    date = fields.Date(required=True)


class ArchiveReactivatedSchema(Lenient):
    """`archive_reactivated`: a terminated archive is active again: `{"archive_no": "11010510110100007"}`."""

    archive_no = ArchiveNo(required=True)


class ArchiveTransferredSchema(Lenient):
    """`archive_transferred`: a transfer was accepted; the archive is managed by
    `institution_code` in `village_code`. `former_archive_no` is the number it had when the
    village changed (it still leads here), null when only the institution changed.

        {"archive_no": "11010520110100012", "former_archive_no": "11010510110100007",
         "village_code": "110105201101", "institution_code": "T1101052011"}
    """

    archive_no = ArchiveNo(required=True)
    former_archive_no = ArchiveNo(required=True, allow_none=True)
    village_code = fields.Str(required=True, validate=valid_village_code)
    institution_code = fields.Str(required=True)


class ArchivesMergedSchema(Lenient):
    """`archives_merged`: `merged_archive_no` was merged into `archive_no` (merge `merge_id`);
    records filed under `merged_identity_keys` belong to the merged person.

        {"merge_id": 42, "archive_no": "11010510110100003", "merged_archive_no": "11010510110100007",
         "merged_identity_keys": ["5be0..."]}
    """

    merge_id = fields.Int(required=True, strict=True)
    archive_no = ArchiveNo(required=True)
    merged_archive_no = ArchiveNo(required=True)
    merged_identity_keys = _identity_keys(required=True)


class ArchivesUnmergedSchema(Lenient):
    """`archives_unmerged`: merge `merge_id` was undone; `restored_archive_no` is active again.

        {"merge_id": 42, "archive_no": "11010510110100003", "restored_archive_no": "11010510110100007",
         "restored_identity_keys": ["5be0..."]}
    """

    merge_id = fields.Int(required=True, strict=True)
    archive_no = ArchiveNo(required=True)
    restored_archive_no = ArchiveNo(required=True)
    restored_identity_keys = _identity_keys(required=True)


class AccessGrantedSchema(Lenient):
    """`access_granted` (gateway): a user opened an archive outside their scope, with a reason;
    the envelope's `actor` is the grantee. The archive's village and managing institution are
    those when it was granted.

        {"grant_id": 7, "archive_no": "11010520110100001", "village_code": "110105201101",
         "institution_code": "T1101052011", "reason": "急诊：患者在本院就诊",
         "granted_at": "2026-12-04T06:00:00+00:00", "expires_at": "2026-12-04T10:00:00+00:00"}
    """

    grant_id = fields.Int(required=True, strict=True)
    archive_no = ArchiveNo(required=True)
    village_code = fields.Str(required=True, allow_none=True)
    institution_code = fields.Str(required=True, allow_none=True)
    reason = fields.Str(required=True)
    granted_at = fields.AwareDateTime(required=True)
    expires_at = fields.AwareDateTime(required=True)


# event_type -> the schema of its `data`: an event without one cannot be built.
PAYLOADS: dict[str, Schema] = {
    ARCHIVE_CREATED: ArchiveCreatedSchema(),
    IDENTITY_UPDATED: IdentityUpdatedSchema(),
    ARCHIVE_TERMINATED: ArchiveTerminatedSchema(),
    ARCHIVE_REACTIVATED: ArchiveReactivatedSchema(),
    ARCHIVE_TRANSFERRED: ArchiveTransferredSchema(),
    ARCHIVES_MERGED: ArchivesMergedSchema(),
    ARCHIVES_UNMERGED: ArchivesUnmergedSchema(),
    ACCESS_GRANTED: AccessGrantedSchema(),
}
_ENVELOPE = EventSchema()


def event_message(service: str, event_type: str, data: dict[str, Any], actor: Actor) -> OutboxMessage:
    """An `ehr.event/1` for a service's outbox: exchange `ehr.events`, routing key
    `<service>.<event_type>`, the event id as the AMQP `message_id`; `data` dumped through the
    event's payload schema (dates and times as Python values, written ISO 8601)."""
    event_id = str(uuid.uuid4())
    return OutboxMessage(
        exchange=EVENTS,
        routing_key=event_routing_key(service, event_type),
        message_id=event_id,
        body=_ENVELOPE.dump({
            "event_id": event_id,
            "event_type": event_type,
            "service": service,
            "occurred_at": datetime.now(timezone.utc),
            "actor": actor.as_dict(),
            "data": PAYLOADS[event_type].dump(data),
        }),
    )


class InvalidEvent(ValueError):
    """Not an `ehr.event/1` (or its `data` not its event's contract); `errors` names the fields."""

    def __init__(self, errors: dict) -> None:
        super().__init__("not an ehr.event/1")
        self.errors = errors


@dataclass(frozen=True)
class Event:
    event_id: str
    event_type: str
    service: str
    occurred_at: datetime
    actor: dict[str, Any]
    data: dict[str, Any]


def load_event(body: bytes | str | dict) -> Event:
    """The event in a message body (JSON, or already decoded), envelope and payload validated; an
    event type without a payload schema (a later one) keeps its `data` as sent. Raises `InvalidEvent`."""
    try:
        decoded = json.loads(body) if isinstance(body, (bytes, str)) else body
        envelope = _ENVELOPE.load(decoded)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidEvent({"_body": ["Not UTF-8 JSON."]}) from None
    except ValidationError as exc:
        raise InvalidEvent(field_errors(exc)) from None
    payload = PAYLOADS.get(envelope["event_type"])
    try:
        data = payload.load(envelope["data"]) if payload is not None else envelope["data"]
    except ValidationError as exc:
        raise InvalidEvent({"data": field_errors(exc)}) from None
    return Event(envelope["event_id"], envelope["event_type"], envelope["service"], envelope["occurred_at"],
                 envelope["actor"], data)
