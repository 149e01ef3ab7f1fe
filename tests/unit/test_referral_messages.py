"""The published JSON Schemas of the referral messages (shared/schemas/referral-v1 and
referral-answer-v1) are valid, their examples validate, and the suite's reader of answers accepts
and refuses what the schema does, naming the field; what the suite tells a hospital validates."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from shared.contracts.referral_messages import InvalidAnswer, ReferralMessageSchema, load_answer

SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "schemas"


def schema(name):
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["referral-v1.schema.json", "referral-answer-v1.schema.json"])
def test_the_schemas_are_valid_and_their_examples_validate(name):
    doc = schema(name)
    Draft202012Validator.check_schema(doc)
    Draft202012Validator(doc).validate(doc["examples"][0])


def test_the_example_answer_loads_with_the_suites_reader():
    answer = load_answer(json.dumps(schema("referral-answer-v1.schema.json")["examples"][0]).encode())
    assert (answer.kind, answer.referral_id, answer.data["back_referral"]["plan"]) == (
        "back_referral", 7, "氨氯地平5mg qd，两周后社区随访")


@pytest.mark.parametrize("body,field", [
    ({"kind": "reject", "referral_id": 7}, "reason"),
    ({"kind": "back_referral", "referral_id": 7}, "back_referral"),
    ({"kind": "consultation_answer", "consultation_id": 3, "opinion": "x"}, "consultants"),
    ({"kind": "accept"}, "referral_id"),
    ({"kind": "approve", "referral_id": 7}, "kind"),
])
def test_an_incomplete_answer_is_refused_by_both_naming_the_field(body, field):
    full = {"schema": "ehr.referral-answer/1", "institution_code": "H1101050001", **body}
    assert not Draft202012Validator(schema("referral-answer-v1.schema.json")).is_valid(full)
    with pytest.raises(InvalidAnswer) as refused:
        load_answer(json.dumps(full).encode())
    assert refused.value.reason == "schema_invalid" and field in refused.value.errors


def test_not_json_is_its_own_reason():
    with pytest.raises(InvalidAnswer) as refused:
        load_answer(b"\xff not json")
    assert refused.value.reason == "not_json"


def test_what_the_suite_tells_a_hospital_validates_against_the_published_schema():
    example = schema("referral-v1.schema.json")["examples"][0]
    dumped = ReferralMessageSchema().dump({**example, "sent_at": datetime.now(timezone.utc),
                                           "deadline_at": datetime.fromisoformat(example["deadline_at"])})
    Draft202012Validator(schema("referral-v1.schema.json")).validate(json.loads(json.dumps(dumped)))
