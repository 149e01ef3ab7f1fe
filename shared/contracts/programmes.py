"""The programmes service's RPC contracts (request and answer schemas, `RPC`) and the bodies and
queries of the gateway's programme routes, which pass the answers through and document them with
these same schemas.

    POST /api/v1/archives/{no}/programmes              body EnrolSchema    -> enrol            -> ArchiveProgrammesSchema
    GET  /api/v1/archives/{no}/programmes                                  -> list_programmes  -> ArchiveProgrammesSchema
    POST /api/v1/archives/{no}/programmes/{p}/end      body EndSchema      -> end_enrolment
    POST /api/v1/archives/{no}/programmes/{p}/resume   body ResumeSchema   -> resume_enrolment
    GET  /api/v1/worklist                              WorklistQuerySchema -> worklist         -> WorklistPageSchema
    GET  /api/v1/programme-suggestions                 SuggestionQuerySchema -> list_suggestions
    POST /api/v1/programme-suggestions/{id}/confirm    body ConfirmSchema  -> confirm_suggestion
    POST /api/v1/programme-suggestions/{id}/dismiss    body DismissSchema  -> dismiss_suggestion
    GET  /api/v1/programme-figures                     FiguresQuerySchema  -> programme_figures -> FiguresSchema
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.contracts.fields import (
    INSTITUTION, REASON, ArchiveNo, Id, Lenient, Limit, NoArgumentsSchema, PingSchema, Rpc, Strict,
    not_in_future, valid_village_code,
)

PROGRAMMES = ("hypertension", "type2_diabetes", "elderly")  # those this service runs (schedules.SCHEDULES)
END_REASONS = ("death", "migration_out", "loss_to_follow_up", "cured", "not_eligible")
KINDS = ("all", "urgent", "overdue", "due")
SUGGESTION_STATUSES = ("open", "confirmed", "dismissed", "closed")
USERNAME = validate.Regexp(r"^[A-Za-z0-9_.-]{1,80}$", error="A username of the suite.")
DIVISION = validate.Regexp(r"^(\d{6}|\d{9}|\d{12})$", error="A division code: 6, 9 or 12 digits.")

_PROGRAMME = dict(validate=validate.OneOf(PROGRAMMES), metadata={"example": "hypertension"})


# -- bodies --------------------------------------------------------------------------------------------


class EnrolSchema(Strict):
    """Enrol the archive's resident (纳入管理): `{"programme": "hypertension", "enrolled_on": "2026-12-01"}`;
    the managing institution and 责任医生 default to the archive's."""

    programme = fields.Str(required=True, **_PROGRAMME)
    enrolled_on = fields.Date(load_default=None, allow_none=True, validate=not_in_future)
    institution_code = fields.Str(load_default=None, allow_none=True, validate=INSTITUTION)
    responsible_doctor = fields.Str(load_default=None, allow_none=True, validate=USERNAME)


class EndSchema(Strict):
    """End an enrolment: `{"reason": "cured", "date": "2026-12-20", "note": "..."}`."""

    reason = fields.Str(required=True, validate=validate.OneOf(END_REASONS), metadata={"example": "loss_to_follow_up"})
    date = fields.Date(required=True, validate=not_in_future)
    note = fields.Str(load_default=None, allow_none=True, validate=REASON)


class ResumeSchema(Strict):
    """Resume an ended enrolment: `{"date": "2027-01-05"}` (today when absent)."""

    date = fields.Date(load_default=None, allow_none=True, validate=not_in_future)
    responsible_doctor = fields.Str(load_default=None, allow_none=True, validate=USERNAME)
    note = fields.Str(load_default=None, allow_none=True, validate=REASON)


class ConfirmSchema(Strict):
    """Confirm a suggestion (the resident is enrolled): `{"enrolled_on": "2026-12-01"}`."""

    enrolled_on = fields.Date(load_default=None, allow_none=True, validate=not_in_future)
    responsible_doctor = fields.Str(load_default=None, allow_none=True, validate=USERNAME)


class DismissSchema(Strict):
    """Dismiss a suggestion, with the reason: `{"reason": "诊断已排除"}`."""

    reason = fields.Str(required=True, validate=REASON)


# -- queries -------------------------------------------------------------------------------------------


class WorklistQuerySchema(Lenient):
    """`?kind=overdue&responsible_doctor=doc01&village_code=110105101101&programme=hypertension&limit=50`"""

    kind = fields.Str(load_default="all", validate=validate.OneOf(KINDS))
    responsible_doctor = fields.Str(load_default=None, validate=USERNAME)
    village_code = fields.Str(load_default=None, validate=valid_village_code)
    programme = fields.Str(load_default=None, **_PROGRAMME)
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.Str(load_default=None, validate=validate.Length(min=1, max=200))


class SuggestionQuerySchema(Lenient):
    """`?status=open&programme=type2_diabetes&village_code=...&limit=50`"""

    status = fields.Str(load_default="open", validate=validate.OneOf(SUGGESTION_STATUSES))
    programme = fields.Str(load_default=None, **_PROGRAMME)
    village_code = fields.Str(load_default=None, validate=valid_village_code)
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.Str(load_default=None, validate=validate.Length(min=1, max=200))


class FiguresQuerySchema(Lenient):
    """`?year=2026&division=110105101` or `?institution_code=T1101051011` (within your jurisdiction)."""

    year = fields.Int(load_default=None, validate=validate.Range(min=2000, max=2100))
    division = fields.Str(load_default=None, validate=DIVISION)
    institution_code = fields.Str(load_default=None, validate=INSTITUTION)


# -- answers -------------------------------------------------------------------------------------------


class ProgrammeScheduleSchema(Schema):
    service = fields.Str(metadata={"example": "follow_up"})
    label = fields.Str(allow_none=True, metadata={"example": "高血压患者随访"})
    due_date = fields.Date(allow_none=True)
    reason = fields.Str(allow_none=True, metadata={"example": "routine"})
    reason_text = fields.Str(allow_none=True)
    last_date = fields.Date(allow_none=True)
    consecutive_unsatisfactory = fields.Int()
    urgent = fields.Bool()
    urgent_triggers = fields.List(fields.Str())


class EnrolmentStepSchema(Schema):
    event = fields.Str(metadata={"example": "enrolled", "description": "enrolled, ended, resumed, moved, moved_back, transferred"})
    date = fields.Date(allow_none=True)
    reason = fields.Str(allow_none=True)
    note = fields.Str(allow_none=True)
    archive_no = fields.Str()
    institution_code = fields.Str(allow_none=True)
    actor = fields.Str()
    at = fields.AwareDateTime()


class EnrolmentSchema(Schema):
    """One enrolment with its schedules and history (oldest first)."""

    programme = fields.Str(metadata={"example": "hypertension"})
    status = fields.Str(metadata={"example": "active"})
    enrolled_on = fields.Date()
    institution_code = fields.Str()
    responsible_doctor = fields.Str(allow_none=True)
    source = fields.Str(metadata={"example": "suggestion"})
    ended_on = fields.Date(allow_none=True)
    end_reason = fields.Str(allow_none=True)
    schedules = fields.List(fields.Nested(ProgrammeScheduleSchema))
    history = fields.List(fields.Nested(EnrolmentStepSchema))


class ArchiveProgrammesSchema(Schema):
    """An archive's programmes: `{"archive_no": "11010510110100007", "programmes": [{...}]}`."""

    archive_no = fields.Str()
    programmes = fields.List(fields.Nested(EnrolmentSchema))


class WorklistItemSchema(Schema):
    archive_no = fields.Str()
    village_code = fields.Str()
    institution_code = fields.Str()
    responsible_doctor = fields.Str(allow_none=True)
    programme = fields.Str()
    service = fields.Str()
    service_label = fields.Str(allow_none=True)
    status = fields.Str(metadata={"description": "urgent, overdue or due"})
    due_date = fields.Date()
    days_overdue = fields.Int()
    reason = fields.Str(allow_none=True)
    reason_text = fields.Str(allow_none=True, metadata={"description": "why it is due"})
    urgent = fields.Bool()
    urgent_triggers = fields.List(fields.Str())
    last_date = fields.Date(allow_none=True)
    consecutive_unsatisfactory = fields.Int()


class WorklistPageSchema(Schema):
    """Urgent first, then by due date: `{"today": "2026-12-07", "items": [...], "next": null}`."""

    today = fields.Date()
    items = fields.List(fields.Nested(WorklistItemSchema))
    next = fields.Str(allow_none=True)


class SuggestionEvidenceSchema(Schema):
    record_id = fields.Str()
    record_type = fields.Str(metadata={"example": "hospital_encounter"})
    date = fields.Str(metadata={"format": "date"})
    code = fields.Str(metadata={"example": "hypertension"})
    kind = fields.Str(metadata={"description": "diagnosis or screening"})


class ProgrammeSuggestionSchema(Schema):
    """A resident suggested for a programme, with the evidence."""

    suggestion_id = fields.Int()
    archive_no = fields.Str()
    village_code = fields.Str()
    institution_code = fields.Str(allow_none=True)
    programme = fields.Str()
    status = fields.Str(metadata={"example": "open"})
    evidence = fields.List(fields.Nested(SuggestionEvidenceSchema))
    created_at = fields.AwareDateTime()
    decided_by = fields.Str(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    dismiss_reason = fields.Str(allow_none=True)


class ProgrammeSuggestionPageSchema(Schema):
    items = fields.List(fields.Nested(ProgrammeSuggestionSchema))
    next = fields.Str(allow_none=True)


class ChronicFiguresSchema(Schema):
    under_management = fields.Int()
    standard_managed = fields.Int(metadata={"description": "≥4 face-to-face follow-ups in the year"})
    standard_rate = fields.Float(allow_none=True, metadata={"description": "规范管理率, %"})
    controlled = fields.Int()
    control_rate = fields.Float(allow_none=True, metadata={"description": "血压/血糖控制率, %"})


class ElderlyFiguresSchema(Schema):
    under_management = fields.Int()
    checked = fields.Int()
    health_management_rate = fields.Float(allow_none=True, metadata={"description": "老年人健康管理率, %"})
    tcm = fields.Int()
    tcm_rate = fields.Float(allow_none=True, metadata={"description": "老年人中医药健康管理率, %"})


class FiguresSchema(Schema):
    """Counts and rates of one year, for a division or an institution; no personal data."""

    year = fields.Int()
    division = fields.Str(allow_none=True)
    institution_code = fields.Str(allow_none=True)
    hypertension = fields.Nested(ChronicFiguresSchema)
    type2_diabetes = fields.Nested(ChronicFiguresSchema)
    elderly = fields.Nested(ElderlyFiguresSchema)


class SweepSchema(Schema):
    swept = fields.Bool()
    enrolled = fields.Int()
    due = fields.Int()
    overdue = fields.Int()


# -- RPC requests ------------------------------------------------------------------------------------


class ScopeSchema(Strict):
    """Whose work: the institution's and the jurisdiction's (a division code prefix)."""

    institution_code = fields.Str(load_default=None, allow_none=True, validate=INSTITUTION)
    prefix = fields.Str(load_default=None, allow_none=True, validate=DIVISION)


class ArchiveRequestSchema(Strict):
    archive_no = ArchiveNo(required=True)


class EnrolRequestSchema(ArchiveRequestSchema):
    """`enrol("11010510110100007", {"programme": "hypertension"})`"""

    payload = fields.Nested(EnrolSchema, required=True)


class EndRequestSchema(ArchiveRequestSchema):
    programme = fields.Str(required=True, **_PROGRAMME)
    payload = fields.Nested(EndSchema, required=True)


class ResumeRequestSchema(ArchiveRequestSchema):
    programme = fields.Str(required=True, **_PROGRAMME)
    payload = fields.Nested(ResumeSchema, required=True)


class WorklistRequestSchema(Strict):
    """`worklist({"institution_code": "T1101051011", "prefix": "110105101"}, kind="overdue")`"""

    scope = fields.Nested(ScopeSchema, required=True)
    kind = fields.Str(load_default="all", validate=validate.OneOf(KINDS))
    responsible_doctor = fields.Str(load_default=None, allow_none=True, validate=USERNAME)
    village_code = fields.Str(load_default=None, allow_none=True, validate=valid_village_code)
    programme = fields.Str(load_default=None, allow_none=True, **_PROGRAMME)
    limit = Limit(load_default=50)
    cursor = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    today = fields.Date(load_default=None, allow_none=True)


class SuggestionsRequestSchema(Strict):
    scope = fields.Nested(ScopeSchema, required=True)
    status = fields.Str(load_default="open", validate=validate.OneOf(SUGGESTION_STATUSES))
    programme = fields.Str(load_default=None, allow_none=True, **_PROGRAMME)
    village_code = fields.Str(load_default=None, allow_none=True, validate=valid_village_code)
    limit = Limit(load_default=50)
    cursor = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))


class SuggestionRequestSchema(Strict):
    suggestion_id = Id(required=True)


class ConfirmRequestSchema(SuggestionRequestSchema):
    payload = fields.Nested(ConfirmSchema, required=True)


class DismissRequestSchema(SuggestionRequestSchema):
    reason = fields.Str(required=True, validate=REASON)


class FiguresRequestSchema(Strict):
    scope = fields.Nested(ScopeSchema, required=True)
    year = fields.Int(required=True, strict=True, validate=validate.Range(min=2000, max=2100))


class SweepRequestSchema(Strict):
    """`run_sweep(today="2027-01-01")` (today when null)."""

    today = fields.Date(load_default=None, allow_none=True)


_PROGRAMMES = ArchiveProgrammesSchema()
_SUGGESTION = ProgrammeSuggestionSchema()

RPC: dict[str, Rpc] = {
    "enrol": Rpc(EnrolRequestSchema(), _PROGRAMMES),
    "list_programmes": Rpc(ArchiveRequestSchema(), _PROGRAMMES),
    "end_enrolment": Rpc(EndRequestSchema(), _PROGRAMMES),
    "resume_enrolment": Rpc(ResumeRequestSchema(), _PROGRAMMES),
    "worklist": Rpc(WorklistRequestSchema(), WorklistPageSchema()),
    "list_suggestions": Rpc(SuggestionsRequestSchema(), ProgrammeSuggestionPageSchema()),
    "get_suggestion": Rpc(SuggestionRequestSchema(), _SUGGESTION),
    "confirm_suggestion": Rpc(ConfirmRequestSchema(), _PROGRAMMES),
    "dismiss_suggestion": Rpc(DismissRequestSchema(), _SUGGESTION),
    "programme_figures": Rpc(FiguresRequestSchema(), FiguresSchema()),
    "run_sweep": Rpc(SweepRequestSchema(), SweepSchema()),
    "health": Rpc(NoArgumentsSchema(), PingSchema()),
}
