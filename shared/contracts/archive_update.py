"""`ehr.archive-update/1`: what township systems hear on `ehr.archive-updates`, one message per
filed, amended, struck-out or moved revision (identifiers and references, no clinical content).
JSON Schema for integrators: `shared/schemas/archive-update-v1.schema.json` (docs/contracts.md).

    stage(session, outbox, [archive_update({"update_id": ..., "archive_no": "11010500300100042", ...})])
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from shared.archive_no import parse_archive_number, routing_key_for
from shared.messaging import ARCHIVE_UPDATES
from shared.outbox import OutboxMessage

from shared.contracts.fields import ArchiveNo, Lenient

ARCHIVE_UPDATE_V1 = "ehr.archive-update/1"
ACTIONS = ("filed", "amended", "entered_in_error", "moved")


class ArchiveUpdateSchema(Lenient):
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
    archive_no = ArchiveNo(required=True)
    record_id = fields.Str(required=True)
    record_type = fields.Str(required=True)
    kind = fields.Str(load_default=None, allow_none=True)
    action = fields.Str(required=True, validate=validate.OneOf(ACTIONS))
    former_archive_no = ArchiveNo(load_default=None, allow_none=True)
    revision = fields.Int(required=True)
    occurred_at = fields.AwareDateTime(required=True)
    recorded_at = fields.AwareDateTime(required=True)
    source = fields.Dict(load_default=None, allow_none=True)


_SCHEMA = ArchiveUpdateSchema()


def archive_update(update: dict[str, Any], routed_by: str | None = None) -> OutboxMessage:
    """The outbox message of one update (`update`: ArchiveUpdateSchema's fields, times as
    datetimes), its `update_id` as the AMQP `message_id`, routed by `archive_no` (or by
    `routed_by`, the former number a moved record left) and the record type."""
    body = _SCHEMA.dump(update)
    routing_key = routing_key_for(parse_archive_number(routed_by or body["archive_no"]), body["record_type"])
    return OutboxMessage(exchange=ARCHIVE_UPDATES, routing_key=routing_key, message_id=body["update_id"], body=body)
