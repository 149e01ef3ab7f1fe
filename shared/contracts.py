"""The suite's public message contracts, versioned, as marshmallow schemas.

`ehr.encounter/1`        hospital -> suite, on exchange `ehr.encounters` (docs/contracts.md)
`ehr.archive-update/1`   suite -> township systems, on exchange `ehr.archive-updates`
`ehr.event/1`            envelope of the domain events services announce on `ehr.events`

A hospital encounter, as `EncounterMessageSchema().load(body)` accepts it:

    {"schema": "ehr.encounter/1",
     "source": {"institution_code": "H3301020001", "system": "HIS", "record_id": "OP-20261126-0001"},
     "patient": {"id_type": "01", "id_number": "11010519491231002X", "name": "张秀英", "sex": "2",
                 "birth_date": "1949-12-31", "phone": "13800000000", "mrn": "MRN0001"},
     "encounter": {"kind": "outpatient", "started_at": "2026-11-26T09:30:00+08:00",
                   "diagnoses": [{"system": "ICD-10", "code": "I10", "name": "原发性高血压", "primary": true}],
                   "vital_signs": {"sbp": 150, "dbp": 95, "heart_rate": 80}}}

Validation messages never repeat the offending value, so a field error can be logged, stored
with a quarantined message and shown to an operator without exposing an ID number.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates_schema

from shared.codes import EncounterKind, IdType, Sex
from shared.identity import InvalidIdNumber, check_consistency, parse_id_number

ENCOUNTER_V1 = "ehr.encounter/1"
ARCHIVE_UPDATE_V1 = "ehr.archive-update/1"
EVENT_V1 = "ehr.event/1"

INSTITUTION_CODE = validate.Regexp(r"^[A-Za-z0-9]{4,22}$", error="Not a valid institution code.")



def validate_identity_document(data: dict) -> None:
    """Schema-level check of `id_type`/`id_number` against `birth_date` and `sex` (GB 11643)."""
    raw = data.get("id_number")
    if not raw or data.get("id_type") != IdType.RESIDENT_ID_CARD.value:
        return
    try:
        idn = parse_id_number(raw)
    except InvalidIdNumber as exc:
        raise ValidationError(f"Not a valid ID number: {exc.reason}.", "id_number") from None
    mismatches = check_consistency(idn, birth_date=data.get("birth_date"), sex=data.get("sex"))
    if mismatches:
        raise ValidationError({field: [f"Does not match the ID number: {msg}"] for field, msg in mismatches})


def normalise_identity_document(data: dict) -> dict:
    """Store resident ID numbers in their 18-character upper-case form."""
    raw = data.get("id_number")
    if raw and data.get("id_type") == IdType.RESIDENT_ID_CARD.value:
        data["id_number"] = parse_id_number(raw).value
    elif raw:
        data["id_number"] = raw.strip().upper()
    return data


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class SourceSchema(_Lenient):
    institution_code = fields.Str(required=True, validate=INSTITUTION_CODE)
    system = fields.Str(load_default=None, validate=validate.Length(max=64))
    record_id = fields.Str(required=True, validate=validate.Length(min=1, max=128))
    version = fields.Int(load_default=None, validate=validate.Range(min=0))


class PatientSchema(_Lenient):
    id_type = fields.Str(load_default=IdType.RESIDENT_ID_CARD.value, validate=validate.OneOf(IdType.codes()))
    id_number = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))
    name = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))
    sex = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(Sex.codes()))
    birth_date = fields.Date(load_default=None, allow_none=True)
    phone = fields.Str(load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9+\- ]{5,20}$"))
    health_card_no = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))
    insurance_card_no = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))
    mrn = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))

    @validates_schema
    def _id_number_is_valid(self, data, **kwargs):
        validate_identity_document(data)

    @post_load
    def _normalise(self, data, **kwargs):
        return normalise_identity_document(data)


class DiagnosisSchema(_Lenient):
    system = fields.Str(load_default="ICD-10", validate=validate.Length(max=32))
    code = fields.Str(required=True, validate=validate.Length(min=1, max=32))
    name = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=200))
    primary = fields.Bool(load_default=False)


class VitalSignsSchema(_Lenient):
    sbp = fields.Int(allow_none=True, validate=validate.Range(40, 300))
    dbp = fields.Int(allow_none=True, validate=validate.Range(20, 200))
    heart_rate = fields.Int(allow_none=True, validate=validate.Range(20, 300))
    respiratory_rate = fields.Int(allow_none=True, validate=validate.Range(4, 80))
    temperature = fields.Float(allow_none=True, validate=validate.Range(30, 45))
    height_cm = fields.Float(allow_none=True, validate=validate.Range(20, 260))
    weight_kg = fields.Float(allow_none=True, validate=validate.Range(0.5, 400))
    spo2 = fields.Int(allow_none=True, validate=validate.Range(50, 100))
    glucose_mmol = fields.Float(allow_none=True, validate=validate.Range(0.5, 60))


class PrescriptionSchema(_Lenient):
    drug = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    dose = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))
    route = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))
    frequency = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))
    days = fields.Int(load_default=None, allow_none=True, validate=validate.Range(0, 365))


class ResultSchema(_Lenient):
    """One lab or exam result."""

    code = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    value = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    unit = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=32))
    reference_range = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))
    abnormal_flag = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(["N", "H", "L", "A"]))


class EncounterSchema(_Lenient):
    kind = fields.Str(required=True, validate=validate.OneOf(EncounterKind.codes()))
    started_at = fields.AwareDateTime(required=True)
    ended_at = fields.AwareDateTime(load_default=None, allow_none=True)
    department = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))
    clinician = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))
    chief_complaint = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    diagnoses = fields.List(fields.Nested(DiagnosisSchema), load_default=list)
    vital_signs = fields.Nested(VitalSignsSchema, load_default=None, allow_none=True)
    prescriptions = fields.List(fields.Nested(PrescriptionSchema), load_default=list)
    results = fields.List(fields.Nested(ResultSchema), load_default=list)
    summary = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=20000))

    @validates_schema
    def _ends_after_start(self, data, **kwargs):
        if data.get("ended_at") and data["ended_at"] < data["started_at"]:
            raise ValidationError("Must not be before started_at.", "ended_at")


class EncounterMessageSchema(_Lenient):
    schema = fields.Str(required=True, validate=validate.Equal(ENCOUNTER_V1))
    source = fields.Nested(SourceSchema, required=True)
    patient = fields.Nested(PatientSchema, required=True)
    encounter = fields.Nested(EncounterSchema, required=True)


class ArchiveUpdateSchema(_Lenient):
    """One update to a township system: identifiers and references, no clinical content.

        {"schema": "ehr.archive-update/1", "update_id": "5b0c...", "archive_no": "11010500300100042",
         "record_id": "8f3e...", "record_type": "hospital_encounter", "kind": "outpatient",
         "action": "filed", "revision": 1, "occurred_at": "2026-11-26T01:30:00+00:00",
         "recorded_at": "2026-11-26T01:31:02+00:00",
         "source": {"institution_code": "H3301020001", "record_id": "OP-20261126-0001"}}
    """

    schema = fields.Constant(ARCHIVE_UPDATE_V1)
    update_id = fields.Str(required=True)
    archive_no = fields.Str(required=True, validate=validate.Regexp(r"^\d{17}$"))
    record_id = fields.Str(required=True)
    record_type = fields.Str(required=True)
    kind = fields.Str(load_default=None, allow_none=True)
    action = fields.Str(required=True, validate=validate.OneOf(["filed", "amended", "entered_in_error"]))
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


def field_errors(exc: ValidationError) -> dict:
    """marshmallow's nested error dict, as it is (its messages never echo the input)."""
    return exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}


def load_input(schema: Schema, payload, many: bool = False):
    """`schema.load`, turning marshmallow's error into the suite's `ValidationFailed`."""
    from shared.errors import ValidationFailed

    try:
        return schema.load(payload, many=many)
    except ValidationError as exc:
        raise ValidationFailed("invalid input", field_errors(exc)) from None
