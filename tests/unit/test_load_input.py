"""`load_input`: marshmallow's field errors as the suite's ValidationFailed, and NUL characters
(which PostgreSQL text cannot hold) refused for the field that carries them, at any depth."""

import pytest
from marshmallow import RAISE, Schema, fields

from shared.contracts.fields import NUL_REFUSED, load_input
from shared.errors import ValidationFailed


class Payload(Schema):
    class Meta:
        unknown = RAISE

    reason = fields.Str(required=True)
    details = fields.Dict()
    count = fields.Int()


def test_a_valid_payload_loads():
    assert load_input(Payload(), {"reason": "迁居", "details": {"a": ["b"]}}) == {"reason": "迁居", "details": {"a": ["b"]}}


@pytest.mark.parametrize("payload, field", [
    ({"reason": "迁\x00居"}, "reason"),
    ({"reason": "ok", "details": {"a": ["b", "c\x00"]}}, "details"),
    ({"reason": "ok", "details": {"k\x00": 1}}, "details"),
])
def test_a_nul_character_is_refused_for_its_field(payload, field):
    with pytest.raises(ValidationFailed) as caught:
        load_input(Payload(), payload)
    assert caught.value.details == {field: [NUL_REFUSED]}


def test_nul_errors_join_the_schemas_own_errors():
    with pytest.raises(ValidationFailed) as caught:
        load_input(Payload(), {"reason": "a\x00", "count": "many"})
    assert set(caught.value.details) == {"reason", "count"}


def test_many_names_the_item():
    with pytest.raises(ValidationFailed) as caught:
        load_input(Payload(), [{"reason": "ok"}, {"reason": "\x00"}], many=True)
    assert caught.value.details == {1: {"reason": [NUL_REFUSED]}}
