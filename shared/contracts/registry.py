"""The registry's RPC contracts: the request schemas it loads and the answer schemas it dumps,
for archives, identity resolution, search, the lifecycle (identity corrections, termination,
transfer, merge) and reference data. `RPC` names the pair of each method; `services/registry/service.py`
loads and dumps with exactly those (tests/unit/test_contracts.py holds it to that).

The gateway's document shows these too: it passes the lifecycle's bodies and answers through.
Validation messages never repeat the value they refuse, so an error can be logged or shown
without exposing an ID number.
"""

from __future__ import annotations

import re
from datetime import date

from marshmallow import (
    EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate, validates, validates_schema,
)

from shared.codes import ArchiveConsent, ArchiveSource, Ethnicity, IdType, ResidenceType, Sex
from shared.identity import check_identity_document
from shared.contracts.identity import identity_problems

from shared.contracts.fields import (
    CARD_NUMBER, IDENTIFIER, INSTITUTION_CODE, NAME, PHONE, REASON, ArchiveNo, Id, Limit, Name, NoArgumentsSchema,
    PingSchema, Rpc, Strict, not_in_future, valid_village_code,
)
from shared.archive_no import InvalidArchiveNumber, parse_archive_number, parse_village_code
from shared.paging import MAX_PAGE
from shared import clock

TEXT = validate.Length(min=1, max=2000)

# Termination (终止): the reasons, and what the form asks for each (填表说明): the cause of death;
# where the resident moved and the handover record of the archive; why the resident was lost.
# The others are refused. The rules of the lifecycle are in services/registry/lifecycle.py.
DEATH, MIGRATION_OUT, LOSS_TO_FOLLOW_UP = "death", "migration_out", "loss_to_follow_up"
TERMINATION_REASONS = (DEATH, MIGRATION_OUT, LOSS_TO_FOLLOW_UP)
TERMINATION_DETAILS = {
    DEATH: ("cause",),
    MIGRATION_OUT: ("destination", "handover"),
    LOSS_TO_FOLLOW_UP: ("note",),
}
DETAIL_FIELDS = ("cause", "destination", "handover", "note")


# -- archives ----------------------------------------------------------------------------------

ADDRESS = validate.Length(min=1, max=200)
EMPLOYER = validate.Length(min=1, max=100)
ETHNICITY_NAME = validate.Length(min=1, max=20)
# A gateway username (services.gateway.accounts.USERNAME): who the 责任医生 is.
USERNAME = validate.Regexp(r"^[A-Za-z0-9._-]{3,64}$", error="A username: 3 to 64 letters, digits, '.', '_' or '-'.")


def _coded(table, description: str):
    """A field holding a code of `table` (`shared.codes`), its meanings in the OpenAPI document."""
    meanings = "; ".join(f"{m.value} {m.label}" for m in table)

    def field(**kwargs) -> fields.Str:
        return fields.Str(allow_none=True, validate=validate.OneOf(table.codes()),
                          metadata={"description": f"{description}: {meanings}"}, **kwargs)
    return field


ResidenceTypeField = _coded(ResidenceType, "常住类型")
EthnicityField = _coded(Ethnicity, "民族 (GB 3304 as the form collapses it; 99 with ethnicity_name)")
ArchiveSourceField = _coded(ArchiveSource, "建档方式, how the archive was built")
ConsentField = _coded(ArchiveConsent, "the resident's answer (自愿与引导相结合), with consent_date")


# Why a 责任医生 is refused, at creation (the gateway, where users live) and at an import (`ehr
# import residents`, from the gateway's users): one wording.
NOT_RESPONSIBLE_DOCTOR = "Not a clinician (village or township doctor, archive manager) of the managing institution."


class ArchiveCreateSchema(Strict):
    """A new archive (`create_archive`, `POST /api/v1/archives`): who the resident is, the cover
    (封面) and the header of the 个人基本信息表:

        {"name": "张秀英", "sex": "2", "birth_date": "1949-12-31", "id_type": "01",
         "id_number": "11010519491231002X", "phone": "13800000000", "village_code": "110105003001",
         "institution_code": "C1101050031", "health_card_no": null, "confirm_new": false,
         "residence_type": "1", "ethnicity": "01", "archive_source": "2",
         "consent": "given", "consent_date": "2026-11-20", "archive_date": "2026-11-20",
         "current_address": "北京市朝阳区呼家楼北街3号院2-301", "registered_address": "同现住址",
         "responsible_doctor": "doc01", "employer": "退休（原北京第一机床厂）",
         "contact_name": "李建国", "contact_phone": "13900000000"}

    A newborn (新生儿家庭访视) has no ID number yet: leave `id_number` out and name a guardian,
    `guardian_archive_no` or `guardian_id_number`, with the 出生医学证明编号 when known:

        {"name": "李小宝", "sex": "1", "birth_date": "2026-11-18", "village_code": "110105003001",
         "institution_code": "C1101050031", "guardian_archive_no": "11010500300100001",
         "birth_certificate_no": "P110123456"}

    The ID number is attached later (`attach_id_number`). `archive_date` (建档日期) defaults to
    today; a paper archive entered later gives its own (not in the future, not before birth). The
    rules across fields are `shared.contracts.identity`. Addresses, employer, contact and the
    guardian's ID number are personal data: stored encrypted, like the ID and phone numbers.
    """

    name = Name(required=True, validate=NAME)
    sex = fields.Str(required=True, validate=validate.OneOf(Sex.codes()))
    birth_date = fields.Date(required=True)
    id_type = fields.Str(load_default=IdType.RESIDENT_ID_CARD.value, validate=validate.OneOf(IdType.codes()),
                         metadata={"description": "CV02.01.101; 01 居民身份证 and 02 居民户口簿 carry the same "
                                                  "公民身份号码, validated and matched alike"})
    id_number = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "required unless a guardian is named (a newborn's archive; attach it later)"})
    phone = fields.Str(load_default=None, allow_none=True, validate=PHONE)
    village_code = fields.Str(required=True, validate=valid_village_code)
    institution_code = fields.Str(required=True, validate=INSTITUTION_CODE, metadata={
        "description": "管理单位: a township or community centre, village clinic or community station serving "
                       "the village (a hospital or the health commission is refused)"})
    health_card_no = fields.Str(load_default=None, allow_none=True, validate=CARD_NUMBER, metadata={
        "description": "居民健康卡号; held by no other archive (409 naming the field)"})
    insurance_card_no = fields.Str(load_default=None, allow_none=True, validate=CARD_NUMBER, metadata={
        "description": "insurance card number; held by no other archive (409 naming the field)"})
    confirm_new = fields.Bool(load_default=False, metadata={
        "description": "create even though the registry found possible duplicates (409 `possible_duplicates`)"})
    residence_type = ResidenceTypeField(load_default=None)
    ethnicity = EthnicityField(load_default=None)
    ethnicity_name = fields.Str(load_default=None, allow_none=True, validate=ETHNICITY_NAME, metadata={
        "description": "the minority's name (e.g. 回族), with ethnicity 99 only"})
    archive_source = ArchiveSourceField(load_default=None)
    consent = ConsentField(load_default=None)
    consent_date = fields.Date(load_default=None, allow_none=True, metadata={
        "description": "the day of the consent or refusal: not in the future, not before birth"})
    archive_date = fields.Date(load_default=None, allow_none=True, metadata={
        "description": "建档日期, default today: not in the future, not before birth"})
    current_address = fields.Str(load_default=None, allow_none=True, validate=ADDRESS, metadata={
        "description": "现住址 (encrypted at rest)"})
    registered_address = fields.Str(load_default=None, allow_none=True, validate=ADDRESS, metadata={
        "description": "户籍地址 (encrypted at rest)"})
    responsible_doctor = fields.Str(load_default=None, allow_none=True, validate=USERNAME, metadata={
        "description": "责任医生: the username of a clinician of the managing institution (the gateway checks it)"})
    employer = fields.Str(load_default=None, allow_none=True, validate=EMPLOYER, metadata={
        "description": "工作单位; retired: the last employer; unemployed: say so (encrypted at rest)"})
    contact_name = Name(load_default=None, allow_none=True, validate=NAME, metadata={
        "description": "联系人姓名 (encrypted at rest)"})
    contact_phone = fields.Str(load_default=None, allow_none=True, validate=PHONE, metadata={
        "description": "联系人电话 (encrypted at rest)"})
    guardian_archive_no = ArchiveNo(load_default=None, allow_none=True, metadata={
        "description": "the guardian's archive, of your jurisdiction (an archive without an ID number names one)"})
    guardian_id_type = fields.Str(load_default=IdType.RESIDENT_ID_CARD.value,
                                  validate=validate.OneOf(IdType.codes()))
    guardian_id_number = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64),
                                    metadata={"description": "the guardian's ID number (encrypted at rest)"})
    birth_certificate_no = fields.Str(load_default=None, allow_none=True, validate=CARD_NUMBER, metadata={
        "description": "出生医学证明编号; held by no other archive (409 naming the field)"})

    @validates("birth_date")
    def _not_in_future(self, value: date, **kwargs) -> None:
        if value > clock.today():
            raise ValidationError("Must not be in the future.")

    @validates_schema
    def _identity_document(self, data, **kwargs) -> None:
        _, errors = check_identity_document(data.get("id_type"), data.get("id_number"),
                                            birth_date=data.get("birth_date"), sex=data.get("sex"))
        errors.update(_guardian_errors(data))
        for field, messages in identity_problems(data).items():
            errors.setdefault(field, messages)
        if errors:
            raise ValidationError(errors)

    @post_load
    def _normalise(self, data, **kwargs):
        data["id_number"], _ = check_identity_document(data["id_type"], data["id_number"],
                                                       birth_date=None, sex=None)
        if not data["id_number"]:
            data["id_type"] = None
        data["guardian_id_number"], _ = check_identity_document(data["guardian_id_type"], data["guardian_id_number"],
                                                                birth_date=None, sex=None)
        if not data["guardian_id_number"]:
            data["guardian_id_type"] = None
        return data


def _guardian_errors(data: dict) -> dict[str, list[str]]:
    """The guardian's ID number checked as any ID number is, its errors under its own field."""
    _, errors = check_identity_document(data.get("guardian_id_type"), data.get("guardian_id_number"),
                                        birth_date=None, sex=None)
    return {"guardian_id_number": errors["id_number"]} if "id_number" in errors else {}


class ArchiveSchema(Schema):
    """An archive as the registry answers it: the ID number only masked, its last four characters
    (`**************002X`), derived when read."""

    archive_no = fields.Str()
    status = fields.Str()
    name = fields.Str()
    sex = fields.Str()
    birth_date = fields.Date()
    id_type = fields.Str()
    id_number_masked = fields.Str(metadata={"example": "**************002X"})
    village_code = fields.Str()
    institution_code = fields.Str()
    created_by = fields.Str()
    created_at = fields.AwareDateTime()
    version = fields.Int()
    residence_type = fields.Str(allow_none=True, metadata={"example": "1"})
    ethnicity = fields.Str(allow_none=True, metadata={"example": "01"})
    ethnicity_name = fields.Str(allow_none=True)
    archive_source = fields.Str(allow_none=True, metadata={"example": "2"})
    consent = fields.Str(allow_none=True, metadata={"example": "given"})
    consent_date = fields.Date(allow_none=True)
    archive_date = fields.Date(metadata={"description": "建档日期"})
    responsible_doctor = fields.Str(allow_none=True, metadata={"example": "doc01"})
    guardian_archive_no = fields.Str(allow_none=True)


class DivisionSchema(Schema):
    code = fields.Str()
    name = fields.Str()
    level = fields.Str()
    parent_code = fields.Str(allow_none=True)
    population = fields.Int(allow_none=True, metadata={"description": "常住人口 from the reference data, if given"})


class InstitutionSchema(Schema):
    code = fields.Str()
    name = fields.Str()
    kind = fields.Str()
    division_code = fields.Str()
    parent_code = fields.Str(allow_none=True)


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
                                  validate=INSTITUTION_CODE)

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
    """An MRN a confirmed match taught, or an insurance card number the insurer sent of a resident
    its ID number found (`link_identifier`; a card has no issuer):

        {"archive_no": "11010510110100007", "kind": "mrn", "value": "MZ0012345",
         "issuer": "H1101050001", "source": "learned_from_match"}
        {"archive_no": "11010510110100007", "kind": "insurance_card", "value": "110105A00012345",
         "issuer": null, "source": "learned_from_match"}
    """

    class Meta:
        unknown = RAISE

    archive_no = fields.Str(required=True, validate=validate.Length(min=1, max=17))
    kind = fields.Str(required=True, validate=validate.OneOf(["mrn", "insurance_card"]))
    value = fields.Str(required=True, validate=validate.Regexp(r"\S", error="Must not be blank."))
    issuer = fields.Str(required=True, allow_none=True, validate=INSTITUTION_CODE)
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

SEARCH_FILTERS = ("archive_no", "id_number", "health_card_no", "name", "pinyin", "birth_date", "village_code",
                  "institution_code", "status", "residence_type", "ethnicity")


class ArchiveSearchSchema(Schema):
    """Filters of `search_archives`, combined with AND; at least one (`id_type` alone is none):

        {"name": "张"}                         names starting with 张
        {"pinyin": "Zhang Xiu"}                pinyin starting with "zhangxiu" (case, spaces ignored)
        {"archive_no": "110105101101"}         every archive numbered in that village
        {"archive_no": "11010510110100007"}    that archive
        {"id_type": "01", "id_number": "11010519491231002X"}   exact, through the blind index
        {"birth_date": "1949-12-31", "village_code": "110105101101", "status": "active"}
        {"health_card_no": "H11010500012"}     exact, through the card's blind index (居民健康卡)
        {"village_code": "110105101101", "residence_type": "1"}   户籍 residents of the village
        {"ethnicity": "99"}                    minority residents
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
    institution_code = fields.Str(validate=INSTITUTION_CODE)
    status = fields.Str(validate=validate.Length(min=1, max=16))
    health_card_no = fields.Str(validate=CARD_NUMBER, metadata={"description": "居民健康卡号, exact"})
    residence_type = fields.Str(validate=validate.OneOf(ResidenceType.codes()), metadata={
        "description": "常住类型: 1 户籍, 2 非户籍"})
    ethnicity = fields.Str(validate=validate.OneOf(Ethnicity.codes()), metadata={
        "description": "民族: 01 汉族, 99 少数民族"})

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


class ArchiveNumbersSchema(Strict):
    """`archives_by_numbers(["11010510110100007", "11010510110100012"], scope=...)`: the archives
    of a page of archive numbers (a work list's) in one call, at most `MAX_PAGE` of them."""

    archive_nos = fields.List(ArchiveNo(), required=True, validate=validate.Length(min=1, max=MAX_PAGE))


class ArchivePageSchema(Schema):
    """One page of `search_archives`: `{"items": [Archive, ...], "next": "MTEwMTA1..."}`,
    `next` the cursor of the following page, null on the last."""

    items = fields.List(fields.Nested(ArchiveSchema))
    next = fields.Str(allow_none=True)


# -- lifecycle: requests -----------------------------------------------------------------------


class ReasonSchema(Strict):
    """Why, in a sentence: `{"reason": "居民返回本村居住"}`."""

    reason = fields.Str(required=True, validate=REASON)


class OptionalReasonSchema(ReasonSchema):
    """Why, if you like: `{"reason": null}` or `{}` as well."""

    reason = fields.Str(load_default=None, allow_none=True, validate=REASON)


class MergeRequestSchema(ReasonSchema):
    """Merge `merged_archive_no` into `surviving_archive_no` (both in your scope), with the reason:

        {"surviving_archive_no": "11010510110100003", "merged_archive_no": "11010510110100007",
         "reason": "同一居民重复建档"}
    """

    surviving_archive_no = ArchiveNo(required=True)
    merged_archive_no = ArchiveNo(required=True)


class IdentityUpdateSchema(Strict):
    """The identity fields to correct, any of:

        {"name": "张秀瑛", "sex": "2", "birth_date": "1949-12-31", "id_type": "01",
         "id_number": "11010519491231002X", "phone": "13900000000",
         "health_card_no": "H11010500012", "insurance_card_no": null}

    and any field of the cover and the 个人基本信息表 header (as `ArchiveCreateSchema` takes
    them): `{"residence_type": "2", "current_address": "...", "responsible_doctor": "doc02"}`.

    `phone: null` clears the phone, a card number `null` removes the card, `null` clears any
    other optional field. The result is checked as a whole (ID number against sex and birth date;
    cards held by no other archive; `shared.contracts.identity`) by the use case. Village and
    institution change only through a transfer; an archive without an ID number gets one through
    `attach_id_number`.
    """

    name = Name(validate=NAME)
    sex = fields.Str(validate=validate.OneOf(Sex.codes()))
    birth_date = fields.Date(validate=not_in_future)
    id_type = fields.Str(validate=validate.OneOf(IdType.codes()))
    id_number = fields.Str(validate=validate.Length(min=1, max=64))
    phone = fields.Str(allow_none=True, validate=PHONE)
    health_card_no = fields.Str(allow_none=True, validate=CARD_NUMBER)
    insurance_card_no = fields.Str(allow_none=True, validate=CARD_NUMBER)
    birth_certificate_no = fields.Str(allow_none=True, validate=CARD_NUMBER)
    residence_type = ResidenceTypeField()
    ethnicity = EthnicityField()
    ethnicity_name = fields.Str(allow_none=True, validate=ETHNICITY_NAME)
    archive_source = ArchiveSourceField()
    consent = ConsentField()
    consent_date = fields.Date(allow_none=True)
    archive_date = fields.Date()
    current_address = fields.Str(allow_none=True, validate=ADDRESS)
    registered_address = fields.Str(allow_none=True, validate=ADDRESS)
    responsible_doctor = fields.Str(allow_none=True, validate=USERNAME)
    employer = fields.Str(allow_none=True, validate=EMPLOYER)
    contact_name = Name(allow_none=True, validate=NAME)
    contact_phone = fields.Str(allow_none=True, validate=PHONE)
    guardian_archive_no = ArchiveNo(allow_none=True)
    guardian_id_type = fields.Str(validate=validate.OneOf(IdType.codes()))
    guardian_id_number = fields.Str(allow_none=True, validate=validate.Length(min=1, max=64))

    @validates_schema
    def _something(self, data, **kwargs) -> None:
        if not data:
            raise ValidationError("Give at least one field to change.", "_schema")


class IdNumberAttachmentSchema(Strict):
    """The ID number of an archive created without one (a newborn's, `attach_id_number`,
    `POST /api/v1/archives/{archive_no}/id-number`):

        {"id_type": "01", "id_number": "110105202611180017"}

    Checked against the archive's sex and birth date; an ID number another archive holds is
    refused with the same 409 as a creation. Correcting an ID number the archive has is an
    identity correction (`PATCH`), with its reason.
    """

    id_type = fields.Str(load_default=IdType.RESIDENT_ID_CARD.value, validate=validate.OneOf(IdType.codes()))
    id_number = fields.Str(required=True, validate=validate.Length(min=1, max=64))

    @post_load
    def _normalise(self, data, **kwargs):
        return _normalised_id_number(data)


class TerminationSchema(Strict):
    """A termination (终止) with the facts its reason requires, one of:

        {"reason": "death", "date": "2026-11-20", "cause": "脑梗死"}
        {"reason": "migration_out", "date": "2026-11-20", "destination": "河北省保定市莲池区",
         "handover": "纸质档案及电子档案交莲池区五四路社区卫生服务中心王医生"}
        {"reason": "loss_to_follow_up", "date": "2026-11-20", "note": "连续三次入户未见，电话停机"}
    """

    reason = fields.Str(required=True, validate=validate.OneOf(TERMINATION_REASONS))
    date = fields.Date(required=True, validate=not_in_future)
    cause = fields.Str(validate=TEXT)
    destination = fields.Str(validate=TEXT)
    handover = fields.Str(validate=TEXT)
    note = fields.Str(validate=TEXT)

    @validates_schema
    def _details_of_the_reason(self, data, **kwargs) -> None:
        wanted = TERMINATION_DETAILS.get(data.get("reason"))
        if wanted is None:
            return
        errors = {f: [f"Required when the reason is {data['reason']}."] for f in wanted if not data.get(f)}
        errors.update({f: [f"Only when the reason is {', '.join(r for r, w in TERMINATION_DETAILS.items() if f in w)}."]
                       for f in DETAIL_FIELDS if f not in wanted and f in data})
        if errors:
            raise ValidationError(errors)


class TransferRequestSchema(Strict):
    """Move an archive to another village or institution of the suite:

        {"to_village_code": "110105201101", "to_institution_code": "T1101052011", "reason": "迁居东窑村"}
    """

    to_village_code = fields.Str(required=True, validate=valid_village_code)
    to_institution_code = fields.Str(required=True, validate=INSTITUTION_CODE)
    reason = fields.Str(required=True, validate=REASON)


# -- answers -----------------------------------------------------------------------------------


class TerminationViewSchema(Schema):
    reason = fields.Str(metadata={"example": "migration_out"})
    date = fields.Date()
    cause = fields.Str(allow_none=True)
    destination = fields.Str(allow_none=True)
    handover = fields.Str(allow_none=True)
    note = fields.Str(allow_none=True)


class ArchiveDetailSchema(ArchiveSchema):
    """An archive with its lifecycle, as `get_archive` answers it:

        {"archive_no": "11010520110100012", "status": "terminated", ..., "updated_at": "...",
         "current_address": "北京市朝阳区呼家楼北街3号院2-301", "registered_address": "同现住址",
         "employer": "退休", "contact_name": "李建国", "contact_phone_masked": "139****0000",
         "guardian_id_number_masked": null,
         "termination": {"reason": "death", "date": "2026-11-20", "cause": "脑梗死",
                         "destination": null, "handover": null, "note": null},
         "merged_into": null, "former_archive_nos": ["11010510110100007"], "merged_archive_nos": []}

    The cover's personal data (addresses, employer, contact) is answered here only, not in search
    pages; the contact's phone and a guardian's ID number only masked.
    `termination` is null unless terminated; `former_archive_nos` are the numbers the archive had
    before transfers, `merged_archive_nos` those of the archives merged into it. All of them lead
    here.
    """

    updated_at = fields.AwareDateTime()
    current_address = fields.Str(allow_none=True)
    registered_address = fields.Str(allow_none=True)
    employer = fields.Str(allow_none=True)
    contact_name = fields.Str(allow_none=True)
    contact_phone_masked = fields.Str(allow_none=True, metadata={"example": "139****0000"})
    guardian_id_number_masked = fields.Str(allow_none=True, metadata={"example": "**************002X"})
    termination = fields.Nested(TerminationViewSchema, allow_none=True)
    merged_into = fields.Str(allow_none=True)
    former_archive_nos = fields.List(fields.Str())
    merged_archive_nos = fields.List(fields.Str())


class ActorViewSchema(Schema):
    user = fields.Str()
    institution_code = fields.Str(allow_none=True)
    role = fields.Str(allow_none=True)


class ArchiveRevisionSchema(Schema):
    """One revision (see `services.registry.revisions`):

        {"archive_no": "11010510110100007", "revision": 2, "changed_at": "2026-11-28T02:10:00+00:00",
         "actor": {"user": "doc01", "institution_code": "T1101051011", "role": "doctor"},
         "action": "terminated", "reason": "death",
         "changes": {"status": ["active", "terminated"], "termination_reason": [null, "death"]}}
    """

    archive_no = fields.Str()
    revision = fields.Int()
    changed_at = fields.AwareDateTime()
    actor = fields.Function(lambda r: {"user": r.actor_user, "institution_code": r.actor_institution,
                                       "role": r.actor_role})
    action = fields.Str()
    reason = fields.Str(allow_none=True)
    changes = fields.Dict()


class TransferSchema(Schema):
    """A transfer request and its decision:

        {"transfer_id": 7, "archive_no": "11010520110100012", "status": "accepted",
         "from_archive_no": "11010510110100007", "new_archive_no": "11010520110100012",
         "from_village_code": "110105101101", "from_institution_code": "T1101051011",
         "to_village_code": "110105201101", "to_institution_code": "T1101052011", "reason": "迁居东窑村",
         "requested_by": "doc01", "requested_at": "...", "decided_by": "doc07", "decided_at": "...",
         "decision_reason": null}
    """

    transfer_id = fields.Int(attribute="id")
    archive_no = fields.Str()
    status = fields.Str()
    from_archive_no = fields.Str()
    new_archive_no = fields.Str(allow_none=True)
    from_village_code = fields.Str(attribute="from_village")
    from_institution_code = fields.Str(attribute="from_institution")
    to_village_code = fields.Str(attribute="to_village")
    to_institution_code = fields.Str(attribute="to_institution")
    reason = fields.Str()
    requested_by = fields.Str()
    requested_by_institution = fields.Str(allow_none=True)
    requested_at = fields.AwareDateTime()
    decided_by = fields.Str(allow_none=True)
    decided_by_institution = fields.Str(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    decision_reason = fields.Str(allow_none=True)


class MergeSchema(Schema):
    """A merge from the journal (the snapshot of identity columns is not answered):

        {"merge_id": 42, "archive_no": "11010510110100003", "merged_archive_no": "11010510110100007",
         "merged_id_number_masked": "**************0021", "reason": "同一居民重复建档",
         "merged_by": "doc01", "merged_at": "...", "unmerged_at": null, "unmerged_by": null,
         "unmerge_reason": null}
    """

    merge_id = fields.Int(attribute="id")
    archive_no = fields.Str(attribute="surviving_archive_no")
    merged_archive_no = fields.Str()
    merged_id_number_masked = fields.Function(lambda m: m.snapshot.get("id_number_masked"))
    reason = fields.Str()
    merged_by = fields.Str()
    merged_by_institution = fields.Str(allow_none=True)
    merged_at = fields.AwareDateTime()
    unmerged_at = fields.AwareDateTime(allow_none=True)
    unmerged_by = fields.Str(allow_none=True)
    unmerge_reason = fields.Str(allow_none=True)


# -- the caller's jurisdiction -------------------------------------------------------------------

DIVISION_PREFIX = validate.Regexp(r"^(\d{6}|\d{9}|\d{12})$", error="A 6-, 9- or 12-digit division code.")


class ScopeSchema(Strict):
    """A jurisdiction: `{"prefix": "110105101", "institution_code": "T1101051011"}` (either may be null)."""

    prefix = fields.Str(load_default=None, allow_none=True, validate=DIVISION_PREFIX)
    institution_code = fields.Str(load_default=None, allow_none=True, validate=INSTITUTION_CODE)


class PrefixSchema(Schema):
    prefix = fields.Str(required=True, validate=DIVISION_PREFIX)


class ArchiveCountSchema(Schema):
    """Archives of one village in one status (`count_archives`):
    `{"village_code": "110105101101", "status": "active", "archives": 1832}`."""

    village_code = fields.Str()
    status = fields.Str()
    archives = fields.Int()


class ArchiveMonthSchema(Schema):
    """Active archives of one village by the month of their 建档日期 (`archive_months`):
    `{"village_code": "110105101101", "month": "2026-03", "archives": 41}`."""

    village_code = fields.Str()
    month = fields.Str()
    archives = fields.Int()


# -- requests naming an archive or a journal entry -------------------------------------------------


class ArchiveRefSchema(Strict):
    """`get_archive("11010510110100007")`: a current number, or one that leads to an archive (a
    former number after a transfer, a merged one)."""

    archive_no = ArchiveNo(required=True)


class TransferRefSchema(Strict):
    """`get_transfer(7)`, `accept_transfer(7)`"""

    transfer_id = Id(required=True)


class TransferDecisionRequestSchema(TransferRefSchema):
    """`reject_transfer(7, "本村无此居民")`"""

    reason = fields.Str(required=True, validate=REASON)


class TransferCancelRequestSchema(TransferRefSchema):
    """`cancel_transfer(7, "申请有误")`, the reason optional."""

    reason = fields.Str(load_default=None, allow_none=True, validate=REASON)


class TransferListRequestSchema(Strict):
    """`list_transfers(archive_no=None, to_institution_code="T1101052011", status="requested", limit=50)`"""

    archive_no = ArchiveNo(load_default=None, allow_none=True)
    to_institution_code = fields.Str(load_default=None, allow_none=True, validate=INSTITUTION_CODE)
    status = fields.Str(load_default=None, allow_none=True,
                        validate=validate.OneOf(["requested", "accepted", "rejected", "cancelled"]))
    limit = Limit(load_default=50)


class MergeRefSchema(Strict):
    """`get_merge(42)`"""

    merge_id = Id(required=True)


class UnmergeRequestSchema(MergeRefSchema):
    """`unmerge_archives(42, "并非同一人")`"""

    reason = fields.Str(required=True, validate=REASON)


class DivisionQuerySchema(Strict):
    """`list_divisions(level="village")`; no level: every division."""

    level = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(["county", "township", "village"]))


# -- more answers ------------------------------------------------------------------------------


class ResolvedIdentitySchema(Schema):
    """What `resolve_identities` answers for a query its exact identifiers decide (None otherwise):

        {"archive_no": "11010500300100001", "status": "active", "village_code": "110105003001",
         "matched_by": "id_number"}

    `teaches_mrn: true` when the match was by ID number and the query carried a medical record
    number that archive does not hold yet: the caller may teach it afterwards with
    `learn_medical_record_numbers` (absent otherwise).
    """

    archive_no = fields.Str()
    status = fields.Str()
    village_code = fields.Str()
    matched_by = fields.Str()
    teaches_mrn = fields.Bool()
    teaches_insurance_card = fields.Bool(metadata={"description": (
        "the match was by ID number and the query carried an insurance card number the archive does not "
        "hold: the caller may link it with `link_identifier` (absent otherwise)")})


class PossibleDuplicatesSchema(Schema):
    """`possible_duplicates`: active archives that look like this one, best first.

        {"archive_no": "11010510110100007", "possible_duplicates": [{"archive_no": "11010510110100031",
         "score": 0.75, "reasons": ["name", "birth_date", "sex"]}]}
    """

    archive_no = fields.Str()
    possible_duplicates = fields.List(fields.Dict(), metadata={
        "description": "active archives of your jurisdiction that look like this one, best first",
        "example": [{"archive_no": "11010510110100031", "score": 0.75, "reasons": ["name", "birth_date", "sex"]}]})


class TransferAcceptedSchema(Schema):
    """`accept_transfer`: the decided transfer and the archive, under its new number when the
    village changed: `{"transfer": Transfer, "archive": ArchiveDetail}`."""

    transfer = fields.Nested(TransferSchema)
    archive = fields.Nested(ArchiveDetailSchema, metadata={
        "description": "the archive under its new number when the village changed; the old number still leads here"})


# -- the 居民健康档案信息卡 (services/registry/cards.py) -------------------------------------------------


class CardIssueRequestSchema(Strict):
    """`issue_card("11010510110100007", reason=None)`: the first issue; a reissue says why
    (`"卡片遗失"`). The archive number is the one on the card or any that leads to the archive."""

    archive_no = ArchiveNo(required=True)
    reason = fields.Str(load_default=None, allow_none=True, validate=REASON,
                        metadata={"description": "required for a reissue: why the card is issued again",
                                  "example": "卡片遗失"})


class CardIssueSchema(Schema):
    """One issue of the card: `issue_no` 1 is the first, 2 and on reissues (with their reason).

        {"issue_no": 2, "printed_archive_no": "11010510110100007", "reason": "卡片遗失",
         "issued_at": "2026-12-01T09:30:00+08:00", "issued_by": "li.yisheng",
         "issued_by_institution": "T1101051011", "issued_by_role": "township_doctor"}
    """

    issue_no = fields.Int()
    printed_archive_no = fields.Str(metadata={"description": "the archive number printed on the card"})
    reason = fields.Str(allow_none=True)
    issued_at = fields.AwareDateTime()
    issued_by = fields.Str()
    issued_by_institution = fields.Str(allow_none=True)
    issued_by_role = fields.Str(allow_none=True)


class CardIdentitySchema(Schema):
    """`get_card`: the registry's half of the card (front: name, sex, birth date, archive number;
    back: phone, address, emergency contact, the archiving institution, the responsible doctor)
    and its issues, oldest first. `address`, `emergency_contact` and `responsible_doctor` are null
    until the identity keeps them (issue 18). `reissue_needed`: the newest card shows a number
    that is no longer the archive's (a transfer changed it)."""

    archive_no = fields.Str()
    status = fields.Str()
    name = fields.Str()
    sex = fields.Str()
    birth_date = fields.Date()
    phone = fields.Str(allow_none=True, metadata={"description": "the resident's phone, printed on the card"})
    village_code = fields.Str()
    village_name = fields.Str(allow_none=True)
    institution_code = fields.Str()
    institution_name = fields.Str(allow_none=True)
    address = fields.Str(allow_none=True)
    emergency_contact = fields.Dict(allow_none=True)
    responsible_doctor = fields.Str(allow_none=True)
    issues = fields.List(fields.Nested(CardIssueSchema))
    reissue_needed = fields.Bool()


class DocumentIdentityRequestSchema(Strict):
    """`identity_for_document("11010510110100007", proof)`: `proof` is
    `shared.signing.document_identity_proof(EHR_SYNC_KEY, archive_no)`, which only the sync
    service can make; any other caller is refused (`CallRefused`)."""

    archive_no = ArchiveNo(required=True)
    proof = fields.Dict(required=True)


class DocumentIdentitiesRequestSchema(Strict):
    """`identities_for_documents(["11010510110100007", ...], proof)`: at most 500 numbers; `proof`
    is `shared.signing.documents_identity_proof(EHR_SYNC_KEY, archive_nos)` over the numbers in
    the order given (the sync service only; any other caller is refused, `CallRefused`)."""

    archive_nos = fields.List(ArchiveNo(), required=True, validate=validate.Length(min=1, max=500))
    proof = fields.Dict(required=True)


class FullIdentitySchema(Schema):
    """The identifiers a standard document carries in full (WS/T 483 header: 身份证号 OID
    2.16.156.10011.1.3, 居民健康卡号 2.16.156.10011.1.19): only ever inside a document sent to the
    configured platform, never logged."""

    id_type = fields.Str(allow_none=True)
    id_number = fields.Str(allow_none=True)
    health_card_no = fields.Str(allow_none=True)
    phone = fields.Str(allow_none=True)


class DocumentIdentitySchema(Schema):
    """`identity_for_document`: the archive as `get_archive` answers it (the number it is kept
    under now, `archive_no`), its resident's full identifiers, and the keeping institution's name.

        {"archive": {"archive_no": "11010510110100007", "name": "张秀英", ...},
         "identity": {"id_type": "01", "id_number": "11010519491231002X", "health_card_no": null,
                      "phone": "13800000000"},
         "institution_name": "东风乡卫生院"}
    """

    archive = fields.Nested(ArchiveDetailSchema)
    identity = fields.Nested(FullIdentitySchema)
    institution_name = fields.Str(allow_none=True)


class DocumentIdentitiesSchema(Schema):
    """`identities_for_documents`: each number asked that leads to an archive, with what
    `identity_for_document` answers for it (keyed by the number asked; the archive's current
    number is `archive.archive_no`), and the numbers that lead nowhere.

        {"identities": {"11010510110100007": {"archive": {...}, "identity": {...}, "institution_name": ...}},
         "missing": ["11010510110199999"]}
    """

    identities = fields.Dict(keys=fields.Str(), values=fields.Nested(DocumentIdentitySchema))
    missing = fields.List(fields.Str())


# -- the table: each RPC method's request and answer ------------------------------------------------
#
# `request` loads the method's input: its body where it takes one (create_archive's payload,
# terminate_archive's termination), else its arguments by name. A caller's `scope` is loaded with
# `ScopeSchema` wherever a method takes one; `update_identity`'s reason with `OptionalReasonSchema`.

_DETAIL, _TRANSFER, _MERGE, _ARCHIVE_REF = ArchiveDetailSchema(), TransferSchema(), MergeSchema(), ArchiveRefSchema()

RPC: dict[str, Rpc] = {
    "create_archive": Rpc(ArchiveCreateSchema(), ArchiveSchema()),
    "get_archive": Rpc(_ARCHIVE_REF, _DETAIL),
    "identity_for_document": Rpc(DocumentIdentityRequestSchema(), DocumentIdentitySchema()),
    "identities_for_documents": Rpc(DocumentIdentitiesRequestSchema(), DocumentIdentitiesSchema()),
    "resolve_identities": Rpc(IdentityQuerySchema(), ResolvedIdentitySchema()),
    "learn_medical_record_numbers": Rpc(IdentityQuerySchema(), LinkOutcomeSchema()),
    "resolve": Rpc(ResolveQuerySchema(), ResolutionSchema()),
    "resolve_many": Rpc(ResolveQuerySchema(), ResolutionSchema()),
    "search_archives": Rpc(ArchiveSearchSchema(), ArchivePageSchema()),
    "archives_by_numbers": Rpc(ArchiveNumbersSchema(), ArchiveSchema()),
    "count_archives": Rpc(PrefixSchema(), ArchiveCountSchema()),
    "archive_months": Rpc(PrefixSchema(), ArchiveMonthSchema()),
    "possible_duplicates": Rpc(_ARCHIVE_REF, PossibleDuplicatesSchema()),
    "list_revisions": Rpc(_ARCHIVE_REF, ArchiveRevisionSchema()),
    "update_identity": Rpc(IdentityUpdateSchema(), _DETAIL),
    "attach_id_number": Rpc(IdNumberAttachmentSchema(), _DETAIL),
    "terminate_archive": Rpc(TerminationSchema(), _DETAIL),
    "reactivate_archive": Rpc(ReasonSchema(), _DETAIL),
    "request_transfer": Rpc(TransferRequestSchema(), _TRANSFER),
    "accept_transfer": Rpc(TransferRefSchema(), TransferAcceptedSchema()),
    "reject_transfer": Rpc(TransferDecisionRequestSchema(), _TRANSFER),
    "cancel_transfer": Rpc(TransferCancelRequestSchema(), _TRANSFER),
    "get_transfer": Rpc(TransferRefSchema(), _TRANSFER),
    "list_transfers": Rpc(TransferListRequestSchema(), _TRANSFER),
    "merge_archives": Rpc(MergeRequestSchema(), _MERGE),
    "unmerge_archives": Rpc(UnmergeRequestSchema(), _MERGE),
    "get_merge": Rpc(MergeRefSchema(), _MERGE),
    "list_merges": Rpc(_ARCHIVE_REF, _MERGE),
    "link_identifier": Rpc(LinkIdentifierSchema(), LinkOutcomeSchema()),
    "list_identifiers": Rpc(_ARCHIVE_REF, IdentifierSchema()),
    "issue_card": Rpc(CardIssueRequestSchema(), CardIssueSchema()),
    "get_card": Rpc(_ARCHIVE_REF, CardIdentitySchema()),
    "list_divisions": Rpc(DivisionQuerySchema(), DivisionSchema()),
    "list_institutions": Rpc(NoArgumentsSchema(), InstitutionSchema()),
    "health": Rpc(NoArgumentsSchema(), PingSchema()),
}
