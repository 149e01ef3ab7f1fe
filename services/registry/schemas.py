"""Schemas of the registry's internal RPC inputs and answers (its public ones are in `shared.api`).

Validation messages never repeat the value they refuse, so an error can be logged or shown
without exposing an ID number.
"""

from __future__ import annotations

import re

from marshmallow import (
    EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate, validates, validates_schema,
)

from shared.api import NAME, ArchiveSchema, Name, valid_village_code
from shared.archive_no import InvalidArchiveNumber, parse_archive_number, parse_village_code
from shared.codes import IdType, Sex
from shared.identity import check_identity_document

PHONE = validate.Regexp(r"^[0-9+\- ]{5,20}$")
IDENTIFIER = validate.Length(min=1, max=64)  # a card number or MRN as a hospital sends it


class IdentityQuerySchema(Schema):
    """One patient to find by exact identifiers (`resolve_identities`, the filing hot path):

        {"id_type": "01", "id_number": "11010519491231002X", "health_card_no": null,
         "insurance_card_no": null, "mrn": "MZ0012345", "institution_code": "H1101050001",
         "sex": "2", "birth_date": "1949-12-31"}

    Only `id_number` (or nothing) is required of old callers; the rest is what the hospital's
    message carried. The institution is the one sending the message, which issued the MRN. Sex
    and birth date only serve to notice a card or MRN naming somebody else. Lenient on purpose:
    the messages were validated against their contract before, and one odd value must not fail
    the resolution of a whole batch.
    """

    class Meta:
        unknown = EXCLUDE

    id_type = fields.Str(load_default=IdType.RESIDENT_ID_CARD.value)
    id_number = fields.Str(load_default=None, allow_none=True)
    health_card_no = fields.Str(load_default=None, allow_none=True)
    insurance_card_no = fields.Str(load_default=None, allow_none=True)
    mrn = fields.Str(load_default=None, allow_none=True)
    institution_code = fields.Str(load_default=None, allow_none=True)
    sex = fields.Str(load_default=None, allow_none=True)
    birth_date = fields.Date(load_default=None, allow_none=True)


def _normalised_id_number(data: dict) -> dict:
    """Check a resident ID card number (15 digits upgraded, `x` as `X`); errors name the field only."""
    number, errors = check_identity_document(data.get("id_type"), data.get("id_number"),
                                             birth_date=None, sex=None)
    if errors:
        raise ValidationError(errors)
    return {**data, "id_number": number}


class ResolveQuerySchema(Schema):
    """What a hospital knows about a patient, for `resolve` / `resolve_many`:

        {"id_type": "01", "id_number": "11010519491231002X", "name": "张秀英", "sex": "2",
         "birth_date": "1949-12-31", "phone": "13800000000",
         "health_card_no": null, "insurance_card_no": null, "mrn": "MZ0012345",
         "institution_code": "H1101050001"}

    At least one of id_number, name, birth_date, phone, health_card_no, insurance_card_no, or an
    mrn with the institution_code of the hospital that gave it (the sender): an MRN alone names
    nobody and is ignored. Unknown fields are ignored, as they are in hospital messages.
    """

    class Meta:
        unknown = EXCLUDE

    id_type = fields.Str(load_default=IdType.RESIDENT_ID_CARD.value, validate=validate.OneOf(IdType.codes()))
    id_number = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    name = Name(load_default=None, allow_none=True, validate=validate.Length(max=64))  # blank: no name
    sex = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(Sex.codes()))
    birth_date = fields.Date(load_default=None, allow_none=True)
    phone = fields.Str(load_default=None, allow_none=True, validate=PHONE)
    health_card_no = fields.Str(load_default=None, allow_none=True, load_only=True, validate=IDENTIFIER)
    insurance_card_no = fields.Str(load_default=None, allow_none=True, load_only=True, validate=IDENTIFIER)
    mrn = fields.Str(load_default=None, allow_none=True, load_only=True, validate=IDENTIFIER)
    institution_code = fields.Str(load_default=None, allow_none=True, load_only=True,
                                  validate=validate.Length(min=1, max=22))

    @validates_schema
    def _something_to_match_on(self, data, **kwargs) -> None:
        keys = ("id_number", "name", "birth_date", "phone", "health_card_no", "insurance_card_no")
        if not any(data.get(f) for f in keys) and not (data.get("mrn") and data.get("institution_code")):
            raise ValidationError("Give at least one of id_number, name, birth_date, phone, health_card_no, "
                                  "insurance_card_no, or mrn with institution_code.", "_schema")
        _normalised_id_number(data)

    @post_load
    def _normalise(self, data, **kwargs):
        data = _normalised_id_number(data)
        data["name"] = data["name"] or None
        return data


class LinkIdentifierSchema(Schema):
    """An MRN a confirmed match taught (`link_identifier`):

        {"archive_no": "11010510110100007", "kind": "mrn", "value": "MZ0012345",
         "issuer": "H1101050001", "source": "learned_from_match"}
    """

    class Meta:
        unknown = RAISE

    archive_no = fields.Str(required=True, validate=validate.Length(min=1, max=17))
    kind = fields.Str(required=True, validate=validate.OneOf(["mrn"]))
    value = fields.Str(required=True, validate=validate.Regexp(r"\S", error="Must not be blank."))
    issuer = fields.Str(required=True, validate=validate.Length(min=1, max=22))
    source = fields.Str(load_default="learned_from_match",
                        validate=validate.OneOf(["learned_from_match", "entered"]))

    @validates("value")
    def _length(self, value: str, **kwargs) -> None:
        if len(value) > 64:
            raise ValidationError("Longer than maximum length 64.")


class IdentifierSchema(Schema):
    """One identifier of an archive, masked (`list_identifiers`):

        {"kind": "mrn", "issuer": "H1101050001", "value_masked": "MZ***2345",
         "source": "learned_from_match", "linked_by": "system", "linked_by_institution": "H1101050001",
         "linked_at": "2026-11-29T02:10:00+00:00"}
    """

    kind = fields.Str()
    issuer = fields.Str(allow_none=True)
    value_masked = fields.Str()
    source = fields.Str()
    linked_by = fields.Str()
    linked_by_institution = fields.Str(allow_none=True)
    linked_at = fields.Str()


class LinkOutcomeSchema(Schema):
    """What `link_identifier` did: `linked`, `already_linked`, or `conflict` (another archive,
    `held_by`, holds it; nothing was re-pointed):

        {"status": "linked", "archive_no": "11010510110100007", "kind": "mrn", "issuer": "H1101050001",
         "value_masked": "MZ***2345", "source": "learned_from_match", "held_by": null}
    """

    status = fields.Str(validate=validate.OneOf(["linked", "already_linked", "conflict"]))
    archive_no = fields.Str()
    kind = fields.Str()
    issuer = fields.Str(allow_none=True)
    value_masked = fields.Str()
    source = fields.Str()
    held_by = fields.Str(allow_none=True)


class CandidateSchema(Schema):
    archive_no = fields.Str()
    score = fields.Float(metadata={"example": 0.65})
    reasons = fields.List(fields.Str(), metadata={"example": ["name_pinyin", "birth_date", "sex"]})
    archive_status = fields.Str(metadata={"example": "active"})


class ResolutionSchema(Schema):
    """The answer of `resolve`, one of:

        {"status": "matched", "archive_no": "11010500300100001", "score": 1.0,
         "reasons": ["id_number"], "archive_status": "active"}
        {"status": "candidates", "candidates": [{"archive_no": "11010500300100001", "score": 0.65,
         "reasons": ["name_pinyin", "birth_date", "sex"], "archive_status": "active"}]}
        {"status": "none"}

    A match's reason is the identifier that decided: `id_number`, `health_card`,
    `insurance_card` or `mrn`. A card or MRN the query contradicts comes first among the
    candidates, scored 0.5: `"reasons": ["mrn", "sex_differs", "birth_date_differs"]`.
    """

    status = fields.Str(validate=validate.OneOf(["matched", "candidates", "none"]))
    archive_no = fields.Str()
    score = fields.Float()
    reasons = fields.List(fields.Str())
    archive_status = fields.Str()
    candidates = fields.List(fields.Nested(CandidateSchema))


_ARCHIVE_NO_OR_VILLAGE = re.compile(r"^\d{12}(\d{5})?$")
_PINYIN = re.compile(r"^[a-z]+$")

SEARCH_FILTERS = ("archive_no", "id_number", "name", "pinyin", "birth_date", "village_code",
                  "institution_code", "status")


class ArchiveSearchSchema(Schema):
    """Filters of `search_archives`, combined with AND; at least one (`id_type` alone is none):

        {"name": "张"}                         names starting with 张
        {"pinyin": "Zhang Xiu"}                pinyin starting with "zhangxiu" (case, spaces ignored)
        {"archive_no": "110105101101"}         every archive numbered in that village
        {"archive_no": "11010510110100007"}    that archive
        {"id_type": "01", "id_number": "11010519491231002X"}   exact, through the blind index
        {"birth_date": "1949-12-31", "village_code": "110105101101", "status": "active"}
    """

    class Meta:
        unknown = RAISE

    archive_no = fields.Str(validate=validate.Regexp(_ARCHIVE_NO_OR_VILLAGE,
                                                     error="Give 17 digits, or a 12-digit village code."))
    id_type = fields.Str(validate=validate.OneOf(IdType.codes()))
    id_number = fields.Str(validate=validate.Length(min=1, max=64))
    name = Name(validate=NAME)
    pinyin = fields.Str(validate=validate.Length(min=1, max=200))
    birth_date = fields.Date()
    village_code = fields.Str(validate=valid_village_code)
    institution_code = fields.Str(validate=validate.Length(min=1, max=22))
    status = fields.Str(validate=validate.Length(min=1, max=16))

    @validates("archive_no")
    def _archive_no(self, value: str, **kwargs) -> None:
        try:
            parse_archive_number(value) if len(value) == 17 else parse_village_code(value)
        except InvalidArchiveNumber as exc:
            raise ValidationError(f"Not a valid archive number or village code: {exc.reason}.") from None

    @validates("pinyin")
    def _pinyin(self, value: str, **kwargs) -> None:
        if not _PINYIN.fullmatch(_normalised_pinyin(value)):
            raise ValidationError("Letters a-z only (ü may be written v).")

    @validates_schema
    def _at_least_one(self, data, **kwargs) -> None:
        if not any(f in data for f in SEARCH_FILTERS):
            raise ValidationError(f"Give at least one filter of {', '.join(SEARCH_FILTERS)}.", "_schema")
        if "id_type" in data and "id_number" not in data:
            raise ValidationError("Only with id_number.", "id_type")
        if "id_number" in data:
            _normalised_id_number({"id_type": data.get("id_type"), "id_number": data["id_number"]})

    @post_load
    def _normalise(self, data, **kwargs):
        if "id_number" in data:
            data["id_type"] = data.get("id_type") or IdType.RESIDENT_ID_CARD.value
            data.update(_normalised_id_number(data))
        if "pinyin" in data:
            data["pinyin"] = _normalised_pinyin(data["pinyin"])
        return data


def _normalised_pinyin(value: str) -> str:
    # pypinyin writes ü as v (吕 -> lv), so a searcher typing lü finds it.
    return re.sub(r"\s+", "", value).lower().replace("ü", "v")


class ArchivePageSchema(Schema):
    """One page of `search_archives`: `{"items": [Archive, ...], "next": "MTEwMTA1..."}`,
    `next` the cursor of the following page, null on the last."""

    items = fields.List(fields.Nested(ArchiveSchema))
    next = fields.Str(allow_none=True)
