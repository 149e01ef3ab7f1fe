"""Schemas of the gateway's HTTP API (`/api/v1`): public contracts, shared by the gateway (which
documents them in its OpenAPI document) and the services that answer them.

    POST /api/v1/archives   body ArchiveCreateSchema  -> 201 ArchiveSchema
    GET  /api/v1/archives/{archive_no}                -> ArchiveSchema
    GET  /api/v1/archives/{archive_no}/records        -> RecordPageSchema
    GET  /api/v1/villages                             -> [DivisionSchema]
    GET  /api/v1/institutions                         -> [InstitutionSchema]
    GET  /api/v1/health                               -> HealthSchema
    POST /api/v1/auth/token  body TokenRequestSchema  -> TokenSchema
    POST /api/v1/archives/{archive_no}/access  body AccessGrantRequestSchema -> AccessGrantSchema
    GET  /api/v1/grants   query GrantQuerySchema      -> GrantPageSchema
    GET  /api/v1/stats                                -> StatsSchema
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate, validates, validates_schema

from shared.archive_no import InvalidArchiveNumber, parse_village_code
from shared.codes import IdType, Sex
from shared.identity import check_identity_document, normalise_name


def valid_village_code(value: str) -> None:
    """Field validator of a 12-digit village code (county, township, village segments)."""
    try:
        parse_village_code(value)
    except InvalidArchiveNumber as exc:
        raise ValidationError(f"Not a valid village code: {exc.reason}.") from None


class Name(fields.Str):
    """A person's name, loaded in its normal form (`shared.identity.normalise_name`: NFKC, no
    zero-width or direction characters, single spaces), so that validators (a length, not blank)
    judge what is stored and compared."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        return normalise_name(super()._deserialize(value, attr, data, **kwargs))


NAME = validate.Length(min=1, max=64, error="Must be 1 to 64 characters, not counting invisible ones.")


class BoundedText(validate.Validator):
    """A length check, then a pattern, in that order: untrusted text longer than `max` is refused
    before any regular expression sees it (marshmallow's `validate.And` and a list of validators
    run every one of them, whatever the first said). Keep `pattern` linear: no quantifier inside
    a quantifier, and no unbounded repeat followed by something that can match the same
    character (tests/unit/test_linear_patterns.py checks every pattern of the API schemas).

        CARD_NUMBER("1234 5678")        -> "1234 5678"
        CARD_NUMBER("x" * 100_000)      -> ValidationError("Length must be between 1 and 64.")
    """

    def __init__(self, pattern: str, error: str, min: int = 1, max: int = 64) -> None:
        self.length = validate.Length(min=min, max=max)
        self.pattern = validate.Regexp(pattern, error=error)

    def __call__(self, value: str) -> str:
        self.length(value)
        return self.pattern(value)


# A health or insurance card number: letters and digits, spaces and hyphens between them. The
# leading class excludes what the next one matches, so matching is linear in the length.
CARD_NUMBER = BoundedText(r"^[ \-]*[0-9A-Za-z][0-9A-Za-z \-]*$", error="Letters, digits, spaces and hyphens only.")


class ArchiveCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    name = Name(required=True, validate=NAME)
    sex = fields.Str(required=True, validate=validate.OneOf(Sex.codes()))
    birth_date = fields.Date(required=True)
    id_type = fields.Str(load_default=IdType.RESIDENT_ID_CARD.value, validate=validate.OneOf(IdType.codes()))
    id_number = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    phone = fields.Str(load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9+\- ]{5,20}$"))
    village_code = fields.Str(required=True, validate=valid_village_code)
    institution_code = fields.Str(required=True, validate=validate.Length(min=1, max=22))
    health_card_no = fields.Str(load_default=None, allow_none=True, validate=CARD_NUMBER, metadata={
        "description": "居民健康卡号; held by no other archive (409 naming the field)"})
    insurance_card_no = fields.Str(load_default=None, allow_none=True, validate=CARD_NUMBER, metadata={
        "description": "insurance card number; held by no other archive (409 naming the field)"})
    confirm_new = fields.Bool(load_default=False, metadata={
        "description": "create even though the registry found possible duplicates (409 `possible_duplicates`)"})

    @validates("birth_date")
    def _not_in_future(self, value: date, **kwargs) -> None:
        if value > date.today():
            raise ValidationError("Must not be in the future.")

    @validates_schema
    def _identity_document(self, data, **kwargs) -> None:
        _, errors = check_identity_document(data.get("id_type"), data.get("id_number"),
                                            birth_date=data.get("birth_date"), sex=data.get("sex"))
        if errors:
            raise ValidationError(errors)

    @post_load
    def _normalise(self, data, **kwargs):
        data["id_number"], _ = check_identity_document(data["id_type"], data["id_number"],
                                                       birth_date=None, sex=None)
        return data


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


class DivisionSchema(Schema):
    code = fields.Str()
    name = fields.Str()
    level = fields.Str()
    parent_code = fields.Str(allow_none=True)


class InstitutionSchema(Schema):
    code = fields.Str()
    name = fields.Str()
    kind = fields.Str()
    division_code = fields.Str()
    parent_code = fields.Str(allow_none=True)


class SourceRefSchema(Schema):
    institution_code = fields.Str()
    system = fields.Str(allow_none=True)
    record_id = fields.Str(allow_none=True)


class RecordSchema(Schema):
    """One record of an archive with its current revision."""

    record_id = fields.Str()
    archive_no = fields.Str()
    record_type = fields.Str(metadata={"example": "hospital_encounter"})
    kind = fields.Str(allow_none=True, metadata={"example": "outpatient"})
    status = fields.Str(metadata={"example": "active"})
    status_reason = fields.Str(allow_none=True)
    occurred_at = fields.Str(metadata={"format": "date-time"})
    revision = fields.Int()
    recorded_at = fields.Str(metadata={"format": "date-time"})
    origin = fields.Str(metadata={"example": "hospital_message"})
    source = fields.Nested(SourceRefSchema)
    content = fields.Dict()


class RecordCreateSchema(Schema):
    """A record entered on one of the archive's forms (record_type personal_info, health_exam,
    visit or consultation); `content` is validated against that form."""

    class Meta:
        unknown = RAISE

    record_type = fields.Str(required=True, metadata={"example": "visit"})
    content = fields.Dict(required=True, metadata={"example": {
        "occurred_on": "2026-11-20", "subjective": "头晕两天", "assessment": "高血压", "clinician": "李医生"}})
    institution_code = fields.Str(load_default=None, allow_none=True,
                                  metadata={"description": "the recording institution"})


class RecordAmendSchema(Schema):
    class Meta:
        unknown = RAISE

    content = fields.Dict(required=True)
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class EnteredInErrorSchema(Schema):
    class Meta:
        unknown = RAISE

    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class RevisionSchema(Schema):
    revision = fields.Int()
    origin = fields.Str(metadata={"example": "form"})
    author = fields.Str()
    reason = fields.Str(allow_none=True)
    recorded_at = fields.Str(metadata={"format": "date-time"})
    content = fields.Dict()


class RecordHistorySchema(Schema):
    """A record with every revision, oldest first."""

    record_id = fields.Str()
    archive_no = fields.Str()
    record_type = fields.Str()
    kind = fields.Str(allow_none=True)
    status = fields.Str()
    status_reason = fields.Str(allow_none=True)
    occurred_at = fields.Str(metadata={"format": "date-time"})
    current_revision = fields.Int()
    institution_code = fields.Str()
    revisions = fields.List(fields.Nested(RevisionSchema))


class ArchiveSummarySchema(Schema):
    """The archive's front page (首页), derived from its records."""

    archive_no = fields.Str()
    age = fields.Int()
    key_populations = fields.List(fields.Str(), metadata={"example": ["elderly", "hypertension"]})
    chronic_conditions = fields.List(fields.Dict())
    blood_type = fields.Dict(allow_none=True)
    drug_allergies = fields.List(fields.Str(), allow_none=True)
    drug_allergies_other = fields.Str(allow_none=True)
    last_service = fields.Dict(metadata={"description": "record_type -> when it last happened"})
    dynamic = fields.Bool(metadata={"description": "a service or linked record within the past 365 days"})
    dynamic_since = fields.Str(metadata={"format": "date"})


class RecordPageSchema(Schema):
    items = fields.List(fields.Nested(RecordSchema))
    next = fields.Str(allow_none=True, metadata={"description": "cursor of the next page; null on the last"})


class HealthSchema(Schema):
    status = fields.Str(metadata={"example": "ok"})
    checks = fields.Dict(keys=fields.Str(), values=fields.Str())


class ErrorDetailSchema(Schema):
    code = fields.Str(metadata={"example": "validation_failed"})
    message = fields.Str()
    details = fields.Dict(metadata={"description": "field name -> list of messages"})
    request_id = fields.Str()


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema)


class QuarantineEntrySchema(Schema):
    """A message the suite could not file. `details` names the failing fields, never values."""

    id = fields.Int()
    queue = fields.Str()
    routing_key = fields.Str()
    message_id = fields.Str(allow_none=True)
    reason = fields.Str(metadata={"example": "invalid_id_number"})
    details = fields.Dict()
    status = fields.Str(metadata={"example": "held"})
    received_at = fields.Str(metadata={"format": "date-time"})
    resolved_at = fields.Str(allow_none=True, metadata={"format": "date-time"})
    body = fields.Raw(metadata={"description": (
        "only on the single-entry read: `{size, json, fields}`, where `fields` shows codes, times and "
        "the hospital's record id, identifiers masked, and every other field of the contract only as "
        "its shape (`string(3)`, `number`, `array(2)`); a body that is not a JSON object shows only "
        "its size"), "example": {"size": 912, "json": True, "fields": {
            "source": {"institution_code": "H1101050001", "record_id": "MZ-1"},
            "patient": {"id_number": "110105********002X", "name": "string(3)", "birth_date": "string(10)"}}}})


class QuarantinePageSchema(Schema):
    items = fields.List(fields.Nested(QuarantineEntrySchema))
    next = fields.Str(allow_none=True)


class ReplaySchema(Schema):
    """`{}` replays the message as it was; `{"corrected": {...ehr.encounter/1...}}` a correction."""

    class Meta:
        unknown = RAISE

    corrected = fields.Dict(load_default=None, allow_none=True)


class DiscardSchema(Schema):
    class Meta:
        unknown = RAISE

    note = fields.Str(required=True, validate=validate.Length(min=1, max=500))


class PendingEncounterSchema(Schema):
    id = fields.Int()
    institution_code = fields.Str()
    message_id = fields.Str()
    status = fields.Str(metadata={"example": "pending"})
    received_at = fields.Str(metadata={"format": "date-time"})
    age_seconds = fields.Int()
    checked_at = fields.Str(allow_none=True)
    has_id_number = fields.Bool()
    candidates = fields.List(fields.Dict())
    filed_record_id = fields.Str(allow_none=True)
    proposed_archive_no = fields.Str(allow_none=True, metadata={"description": "an operator's proposal"})
    proposed_by = fields.Str(allow_none=True)
    proposed_at = fields.Str(allow_none=True, metadata={"format": "date-time"})
    linked_by = fields.Str(allow_none=True, metadata={"description": "who filed it by hand"})
    confirmed_by = fields.Str(allow_none=True, metadata={
        "description": "the clinician an operator named as having confirmed the match (`ehr pending link`)"})


class PendingPageSchema(Schema):
    items = fields.List(fields.Nested(PendingEncounterSchema))
    next = fields.Str(allow_none=True)


class LinkPendingSchema(Schema):
    """`{"archive_no": "11010500300100001"}`: the archive proposed (operators) or linked (clinicians)."""

    class Meta:
        unknown = RAISE

    archive_no = fields.Str(required=True, validate=validate.Regexp(r"^\d{17}$", error="Not a 17-digit archive number."))


class ReviewSchema(Schema):
    """A hospital encounter filed into an archive far from the hospital, waiting for a look."""

    record_id = fields.Str()
    archive_no = fields.Str()
    review = fields.Str(allow_none=True, metadata={"example": "hospital_outside_county"})
    institution_code = fields.Str(metadata={"description": "the hospital"})
    kind = fields.Str(allow_none=True)
    occurred_at = fields.Str(metadata={"format": "date-time"})
    filed_at = fields.Str(metadata={"format": "date-time"})
    reviewed_by = fields.Str(allow_none=True)
    reviewed_at = fields.Str(allow_none=True, metadata={"format": "date-time"})


class ReviewPageSchema(Schema):
    items = fields.List(fields.Nested(ReviewSchema))
    next = fields.Str(allow_none=True)


class TokenRequestSchema(Schema):
    """Sign in: `{"username": "doc01", "password": "..."}`."""

    class Meta:
        unknown = RAISE

    username = fields.Str(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9._-]{1,64}$", error="Letters, digits, '.', '_' or '-', at most 64."))
    password = fields.Str(required=True, validate=validate.Length(min=1, max=1024), load_only=True)


class TokenSchema(Schema):
    """A signed bearer token: send it as `Authorization: Bearer <access_token>` until it expires."""

    access_token = fields.Str(metadata={"example": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOi..."})
    token_type = fields.Str(metadata={"example": "Bearer"})
    expires_in = fields.Int(metadata={"description": "seconds", "example": 900})
    username = fields.Str()
    role = fields.Str(metadata={"example": "township_doctor"})
    institution_code = fields.Str(metadata={"example": "T1101051011"})


class AccessGrantRequestSchema(Schema):
    """Why an archive outside your scope is needed, e.g. `{"reason": "急诊：患者在本院就诊"}`."""

    class Meta:
        unknown = RAISE

    reason = fields.Str(required=True, validate=validate.Length(min=2, max=500))


class AccessGrantSchema(Schema):
    archive_no = fields.Str()
    out_of_scope = fields.Bool(metadata={"description": "false: the archive is in your scope, no grant needed"})
    reason = fields.Str()
    expires_at = fields.Str(allow_none=True, metadata={"format": "date-time"})


class GrantSchema(Schema):
    """A grant someone took on an archive of your jurisdiction (the archive's village and managing
    institution when it was granted; the reason masked like the audit trail):

        {"grant_id": 7, "archive_no": "11010520110100001", "village_code": "110105201101",
         "institution_code": "T1101052011", "granted_to": {"user": "doc01",
         "institution_code": "T1101051011", "role": "township_doctor"},
         "reason": "急诊：患者在本院就诊", "granted_at": "2026-12-04T06:00:00+00:00",
         "expires_at": "2026-12-04T10:00:00+00:00"}
    """

    grant_id = fields.Int(attribute="id")
    archive_no = fields.Str()
    village_code = fields.Str(attribute="archive_village_code")
    institution_code = fields.Str(attribute="archive_institution_code")
    granted_to = fields.Function(lambda g: {"user": g.actor, "institution_code": g.institution_code, "role": g.role},
                                 metadata={"type": "object"})
    reason = fields.Str()
    granted_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime()


class GrantPageSchema(Schema):
    items = fields.List(fields.Nested(GrantSchema))
    next = fields.Str(allow_none=True, metadata={"description": "cursor of the next page, or null"})


class ReasonSchema(Schema):
    """Why, in a sentence: `{"reason": "居民返回本村居住"}`."""

    class Meta:
        unknown = RAISE

    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class OptionalReasonSchema(ReasonSchema):
    reason = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=2000))


class MergeRequestSchema(ReasonSchema):
    """Merge `merged_archive_no` into `surviving_archive_no` (both in your scope), with the reason."""

    surviving_archive_no = fields.Str(required=True, validate=validate.Regexp(r"^\d{17}$", error="17 digits."))
    merged_archive_no = fields.Str(required=True, validate=validate.Regexp(r"^\d{17}$", error="17 digits."))


class VillageCountSchema(Schema):
    code = fields.Str(metadata={"example": "110105101101"})
    name = fields.Str()
    archives = fields.Int(metadata={"description": "archives whose resident lives in the village"})
    by_status = fields.Dict(keys=fields.Str(), values=fields.Int(), metadata={"example": {"active": 412}})


class StatsSchema(Schema):
    """Aggregate figures of the caller's jurisdiction: counts only, no personal data."""

    jurisdiction = fields.Str(allow_none=True, metadata={"example": "110105101"})
    total = fields.Int()
    villages = fields.List(fields.Nested(VillageCountSchema))


# -- query parameters of the gateway's list operations (unknown parameters are ignored) ------

_CODE = validate.Regexp(r"^[A-Za-z0-9_]{1,40}$", error="Letters, digits and '_' only, at most 40.")
_INSTITUTION = validate.Regexp(r"^[A-Za-z0-9]{1,22}$", error="An institution code: letters and digits, at most 22.")


class PageQuerySchema(Schema):
    """`?limit=50&cursor=...`: `cursor` is the `next` of the previous page."""

    class Meta:
        unknown = EXCLUDE

    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.Str(load_default=None, validate=validate.Length(min=1, max=200))


def _instant(value: str) -> None:
    """An ISO 8601 date-time with a real-world UTC offset (PostgreSQL refuses offsets past ±15:59)."""
    try:
        moment = datetime.fromisoformat(value)
        moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise ValidationError("Not a date-time with a UTC offset.") from None
    if moment.utcoffset() is None:
        raise ValidationError("Not a date-time with a UTC offset.")
    if abs(moment.utcoffset()) > timedelta(hours=14):
        raise ValidationError("The UTC offset must lie within ±14:00.")


def _bounded_instant(value: str) -> None:
    validate.Length(max=40)(value)  # before parsing: a list of validators would run both
    _instant(value)


class RecordQuerySchema(PageQuerySchema):
    """Filters of an archive's timeline: `?record_type=visit&since=2026-01-01T00:00:00+08:00`."""

    record_type = fields.Str(load_default=None, validate=_CODE)
    institution_code = fields.Str(load_default=None, validate=_INSTITUTION)
    since = fields.Str(load_default=None, validate=_bounded_instant)
    until = fields.Str(load_default=None, validate=_bounded_instant)


class GrantQuerySchema(PageQuerySchema):
    """`?since=2026-12-01T00:00:00+08:00&limit=50`: grants taken at or after `since`."""

    since = fields.Str(load_default=None, validate=[validate.Length(max=40), _instant])


class TransferQuerySchema(Schema):
    """`?status=requested&limit=50`: transfers addressed to your institution, newest first."""

    class Meta:
        unknown = EXCLUDE

    status = fields.Str(load_default=None, validate=validate.OneOf(["requested", "accepted", "rejected",
                                                                    "cancelled"]))
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=200))


class QuarantineQuerySchema(PageQuerySchema):
    status = fields.Str(load_default="held", validate=validate.OneOf(["held", "replayed", "discarded", "all"]))
    reason = fields.Str(load_default=None, validate=_CODE)
