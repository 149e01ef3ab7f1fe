"""The messages hospitals exchange with the suite about referrals and consultations, over AMQP
(published JSON Schemas: shared/schemas/referral-v1.schema.json and
referral-answer-v1.schema.json; docs/contracts.md):

`ehr.referral/1`, what the suite tells the institution a referral or consultation is addressed
to, on `ehr.referrals` with routing key `referral.<its code>.<message_type>` (its queue
`referrals.<code>` binds only its own); the AMQP `message_id` is stable per change:

    {"schema": "ehr.referral/1", "message_type": "referral_requested", "referral_id": 7,
     "archive_no": "11010510110100007", "sex": "1", "birth_date": "1956-03-01", "urgency": "urgent",
     "from_institution_code": "T1101051011", "from_doctor": "doc01", "to_institution_code": "H1101050001",
     "reason": {"impression": "..."}, "record_ids": ["8f3e..."], "deadline_at": "...", "sent_at": "..."}

`ehr.referral-answer/1`, a hospital's answer, on `ehr.referral-answers` with routing key
`answer.<its code>.<kind>`, `message_id` set (the idempotency key) and `user_id` its broker
account (RabbitMQ checks it):

    {"schema": "ehr.referral-answer/1", "kind": "accept", "institution_code": "H1101050001",
     "referral_id": 7, "note": "已安排床位"}

Kinds: `accept`, `reject` (`reason`), `arrived`, `back_referral` (`back_referral`: the 回转单),
`close` (`reason`), `consultation_answer` (`consultation_id`, `opinion`, `consultants`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.contracts.fields import INSTITUTION, REASON, field_errors
from shared.contracts.referrals import BackReferralSchema, ConsultantSchema

REFERRAL_V1 = "ehr.referral/1"
ANSWER_V1 = "ehr.referral-answer/1"
MESSAGE_TYPES = ("referral_requested", "referral_cancelled", "referral_expired", "referral_closed",
                 "consultation_requested")
KINDS = ("accept", "reject", "arrived", "back_referral", "close", "consultation_answer")
# What each kind must carry besides `institution_code` (`referral_id` or `consultation_id`).
REQUIRES = {"accept": ("referral_id",), "reject": ("referral_id", "reason"), "arrived": ("referral_id",),
            "back_referral": ("referral_id", "back_referral"), "close": ("referral_id", "reason"),
            "consultation_answer": ("consultation_id", "opinion", "consultants")}


class ReferralMessageSchema(Schema):
    schema = fields.Constant(REFERRAL_V1)
    message_type = fields.Str()
    referral_id = fields.Int(allow_none=True)
    consultation_id = fields.Int(allow_none=True)
    archive_no = fields.Str()
    sex = fields.Str(allow_none=True)
    birth_date = fields.Str(allow_none=True)
    urgency = fields.Str(allow_none=True)
    from_institution_code = fields.Str()
    from_doctor = fields.Str(allow_none=True)
    to_institution_code = fields.Str()
    to_department = fields.Str(allow_none=True)
    to_doctor = fields.Str(allow_none=True)
    reason = fields.Dict(allow_none=True)
    question = fields.Str(allow_none=True)
    record_ids = fields.List(fields.Str())
    deadline_at = fields.AwareDateTime(allow_none=True)
    sent_at = fields.AwareDateTime()


class AnswerSchema(Schema):
    """`ehr.referral-answer/1` (see the module doc); unknown fields are ignored."""

    class Meta:
        unknown = "exclude"

    schema = fields.Str(required=True, validate=validate.Equal(ANSWER_V1))
    kind = fields.Str(required=True, validate=validate.OneOf(KINDS))
    institution_code = fields.Str(required=True, validate=INSTITUTION)
    referral_id = fields.Int(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1))
    consultation_id = fields.Int(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1))
    note = fields.Str(load_default=None, allow_none=True, validate=REASON)
    reason = fields.Str(load_default=None, allow_none=True, validate=REASON)
    back_referral = fields.Nested(BackReferralSchema, load_default=None, allow_none=True)
    opinion = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=2000))
    consultants = fields.List(fields.Nested(ConsultantSchema), load_default=None, allow_none=True,
                              validate=validate.Length(min=1, max=10))

    @validates_schema
    def _complete(self, data, **kwargs):
        errors = {name: ["Missing data for required field."] for name in REQUIRES.get(data.get("kind"), ())
                  if data.get(name) is None}
        if errors:
            raise ValidationError(errors)


_ANSWER = AnswerSchema()


@dataclass(frozen=True)
class Answer:
    kind: str
    institution_code: str
    referral_id: int | None
    consultation_id: int | None
    data: dict[str, Any]


class InvalidAnswer(ValueError):
    """Not an `ehr.referral-answer/1`: `reason` (`not_json`, `schema_invalid`) and field errors."""

    def __init__(self, reason: str, errors: dict) -> None:
        super().__init__(reason)
        self.reason, self.errors = reason, errors


def load_answer(body: bytes) -> Answer:
    try:
        decoded = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidAnswer("not_json", {"_body": [f"Not valid UTF-8 JSON: {type(exc).__name__}."]}) from None
    if not isinstance(decoded, dict):
        raise InvalidAnswer("schema_invalid", {"_body": ["Must be a JSON object."]})
    try:
        data = _ANSWER.load(decoded)
    except ValidationError as exc:
        raise InvalidAnswer("schema_invalid", field_errors(exc)) from None
    return Answer(data["kind"], data["institution_code"], data["referral_id"], data["consultation_id"], data)
