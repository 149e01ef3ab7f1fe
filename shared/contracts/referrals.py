"""The referrals service's RPC contracts (request and answer schemas, `RPC`) and the bodies and
queries of the gateway's referral routes, which pass the answers through and document them with
these same schemas.

    POST /api/v1/referrals                          body ReferralCreateSchema -> create_referral -> ReferralSchema
    GET  /api/v1/referrals?box=inbox&state=requested&overdue=true            -> list_referrals  -> ReferralPageSchema
    GET  /api/v1/referrals/{id}                                              -> get_referral
    POST /api/v1/referrals/{id}/send|accept|reject|cancel|arrived|back-referral|close
    POST /api/v1/consultations                      body ConsultationCreateSchema -> request_consultation
    GET  /api/v1/consultations, /api/v1/consultations/{id}; POST /api/v1/consultations/{id}/answer

Operators (system_operator), the referrals service's own quarantine and what it owes the archive:

    GET  /api/v1/referral-quarantine?status=held&reason=not_the_receiver     -> list_quarantine
    GET  /api/v1/referral-quarantine/{id}                                     -> show_quarantined
    POST /api/v1/referral-quarantine/{id}/replay   body ReplayAnswerSchema    -> replay_quarantined
    POST /api/v1/referral-quarantine/{id}/discard  body QuarantineDiscardSchema -> discard_quarantined
    GET  /api/v1/referral-filings?status=pending                              -> list_filings
    POST /api/v1/referral-filings/retry            body RetryFilingsSchema    -> retry_filings

The caller's side (sender or receiver) is the acting institution the gateway puts in the call's
context (`shared.actor`); the service answers 404 to a caller on neither side.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.contracts.records import DiscardRequestSchema, QuarantinedRequestSchema, RecordHistorySchema, \
    ReplayRequestSchema
from shared.contracts.fields import CODE, INSTITUTION, REASON, ArchiveNo, Id, Lenient, Limit, NoArgumentsSchema, \
    PageQuerySchema, PingSchema, Rpc, Strict

STATES = ("draft", "requested", "accepted", "rejected", "expired", "cancelled", "arrived", "back_referred", "closed")
URGENCIES = ("routine", "urgent")
BOXES = ("inbox", "sent")
CONSULTATION_STATES = ("requested", "answered")
QUARANTINE_STATUSES = ("held", "replayed", "discarded")
FILING_STATUSES = ("pending", "filed")
USERNAME = validate.Regexp(r"^[A-Za-z0-9_.-]{1,80}$", error="A username of the suite.")
RECORD_ID = validate.Length(min=1, max=64)
TEXT = validate.Length(min=1, max=2000)
SHORT = validate.Length(min=1, max=100)


# -- bodies --------------------------------------------------------------------------------------------


class ReferralReasonSchema(Strict):
    """The 转出单's clinical part: 初步印象 (required), 主要现病史, 主要既往史, 治疗经过."""

    impression = fields.Str(required=True, validate=TEXT, metadata={"example": "高血压3级，血压控制不佳"})
    present_illness = fields.Str(load_default=None, allow_none=True, validate=TEXT)
    past_history = fields.Str(load_default=None, allow_none=True, validate=TEXT)
    treatment = fields.Str(load_default=None, allow_none=True, validate=TEXT)


class ReferralCreateSchema(Strict):
    """A referral out (转出): `{"archive_no": ..., "to_institution_code": "H1101050001", "urgency": "urgent",
    "reason": {"impression": "..."}, "record_ids": ["8f3e..."]}`. The records named are the
    attachments (the last follow-up, a 体检表, results) the receiver may read while it is open."""

    archive_no = ArchiveNo(required=True)
    to_institution_code = fields.Str(required=True, validate=INSTITUTION)
    to_department = fields.Str(load_default=None, allow_none=True, validate=SHORT)
    to_doctor = fields.Str(load_default=None, allow_none=True, validate=SHORT)
    urgency = fields.Str(load_default="routine", validate=validate.OneOf(URGENCIES))
    reason = fields.Nested(ReferralReasonSchema, required=True)
    record_ids = fields.List(fields.Str(validate=RECORD_ID), load_default=list, validate=validate.Length(max=20))


class SendSchema(Strict):
    """Send a draft (the follow-ups suggested it): whatever it still lacks, at least the receiver."""

    to_institution_code = fields.Str(load_default=None, allow_none=True, validate=INSTITUTION)
    to_department = fields.Str(load_default=None, allow_none=True, validate=SHORT)
    to_doctor = fields.Str(load_default=None, allow_none=True, validate=SHORT)
    urgency = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(URGENCIES))
    reason = fields.Nested(ReferralReasonSchema, load_default=None, allow_none=True)
    record_ids = fields.List(fields.Str(validate=RECORD_ID), load_default=None, allow_none=True)


class NoteSchema(Strict):
    """An answer with an optional note: `{"note": "已安排心内科床位"}`."""

    note = fields.Str(load_default=None, allow_none=True, validate=REASON)


class ReasonRequiredSchema(Strict):
    """An answer that must say why: `{"reason": "本院无相应专科"}`."""

    reason = fields.Str(required=True, validate=REASON)


class BackReferralSchema(Strict):
    """The 回转单: 诊断结果, 主要检查结果, 治疗经过, 下一步治疗方案及康复建议."""

    diagnosis = fields.Str(required=True, validate=TEXT, metadata={"example": "原发性高血压3级"})
    findings = fields.Str(load_default=None, allow_none=True, validate=TEXT)
    treatment = fields.Str(required=True, validate=TEXT)
    plan = fields.Str(required=True, validate=TEXT, metadata={"example": "氨氯地平5mg qd，两周后社区随访"})
    doctor = fields.Str(load_default=None, allow_none=True, validate=SHORT)


class ConsultationCreateSchema(Strict):
    """A consultation request (会诊): `{"archive_no": ..., "to_institution_code": "H1101050001",
    "question": "血糖控制不佳，请协助调整方案", "record_ids": [...]}`."""

    archive_no = ArchiveNo(required=True)
    to_institution_code = fields.Str(required=True, validate=INSTITUTION)
    to_doctor = fields.Str(load_default=None, allow_none=True, validate=SHORT)
    question = fields.Str(required=True, validate=TEXT)
    record_ids = fields.List(fields.Str(validate=RECORD_ID), load_default=list, validate=validate.Length(max=20))


class ConsultantSchema(Strict):
    institution = fields.Str(required=True, validate=SHORT)
    doctor = fields.Str(required=True, validate=validate.Length(min=1, max=64))


class ConsultationAnswerSchema(Strict):
    """The answer (会诊意见) and who gave it: `{"opinion": "...", "consultants": [{"institution": "县医院",
    "doctor": "王医生"}]}`."""

    opinion = fields.Str(required=True, validate=TEXT)
    consultants = fields.List(fields.Nested(ConsultantSchema), required=True, validate=validate.Length(min=1, max=10))


# -- queries -------------------------------------------------------------------------------------------


class ReferralQuerySchema(Lenient):
    """`?box=inbox&state=requested&overdue=true&limit=50`: `inbox` those addressed to you,
    `sent` those you sent (drafts included); `overdue` the requests past their deadline."""

    box = fields.Str(load_default="inbox", validate=validate.OneOf(BOXES))
    state = fields.Str(load_default=None, validate=validate.OneOf(STATES))
    overdue = fields.Bool(load_default=False)
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.Str(load_default=None, validate=validate.Length(min=1, max=200))


class ConsultationQuerySchema(Lenient):
    box = fields.Str(load_default="inbox", validate=validate.OneOf(BOXES))
    state = fields.Str(load_default=None, validate=validate.OneOf(CONSULTATION_STATES))
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.Str(load_default=None, validate=validate.Length(min=1, max=200))


# -- answers -------------------------------------------------------------------------------------------


class StepSchema(Schema):
    action = fields.Str(metadata={"example": "accept"})
    from_state = fields.Str(allow_none=True)
    to_state = fields.Str()
    actor = fields.Str()
    institution_code = fields.Str(allow_none=True)
    reason = fields.Str(allow_none=True)
    message_id = fields.Str(allow_none=True)
    at = fields.AwareDateTime()


class ReferralSchema(Schema):
    referral_id = fields.Int()
    archive_no = fields.Str()
    state = fields.Str(metadata={"example": "requested"})
    urgency = fields.Str()
    from_institution_code = fields.Str()
    from_doctor = fields.Str(allow_none=True)
    to_institution_code = fields.Str(allow_none=True)
    to_department = fields.Str(allow_none=True)
    to_doctor = fields.Str(allow_none=True)
    reason = fields.Dict()
    record_ids = fields.List(fields.Str())
    trigger = fields.Dict(allow_none=True)
    back_referral = fields.Dict(allow_none=True)
    requested_at = fields.AwareDateTime(allow_none=True)
    deadline_at = fields.AwareDateTime(allow_none=True)
    overdue = fields.Bool()
    version = fields.Int()
    filings = fields.List(fields.Dict())
    history = fields.List(fields.Nested(StepSchema))


class ReferralPageSchema(Schema):
    items = fields.List(fields.Nested(ReferralSchema))
    next = fields.Str(allow_none=True)


class ConsultationSchema(Schema):
    consultation_id = fields.Int()
    archive_no = fields.Str()
    state = fields.Str()
    from_institution_code = fields.Str()
    from_doctor = fields.Str(allow_none=True)
    to_institution_code = fields.Str()
    to_doctor = fields.Str(allow_none=True)
    question = fields.Str()
    record_ids = fields.List(fields.Str())
    opinion = fields.Str(allow_none=True)
    consultants = fields.List(fields.Dict(), allow_none=True)
    answered_by = fields.Str(allow_none=True)
    answered_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


class ConsultationPageSchema(Schema):
    items = fields.List(fields.Nested(ConsultationSchema))
    next = fields.Str(allow_none=True)


class OpenReferralSchema(Schema):
    """Whether `institution_code` has an open referral of the archive addressed to it: the
    gateway opens the archive's records to it while it does (`referral:<id>`)."""

    referral_id = fields.Int(allow_none=True)
    record_ids = fields.List(fields.Str())


class ReferralRecordsSchema(Schema):
    """What an open referral opens to its receiver: the records of the archive it names."""

    referral_id = fields.Int()
    archive_no = fields.Str()
    items = fields.List(fields.Nested(RecordHistorySchema))


class SweepSchema(Schema):
    swept = fields.Bool()
    expired = fields.Int()


class RetrySchema(Schema):
    filed = fields.Int()
    pending = fields.Int()


# -- operators: the quarantine and the filings owed --------------------------------------------------


class ReplayAnswerSchema(Strict):
    """`{}` replays a hospital's answer as it was; `{"corrected": {...ehr.referral-answer/1...}}` a
    correction (it must speak for an institution the original publisher's account may answer for)."""

    corrected = fields.Dict(load_default=None, allow_none=True)


class QuarantineDiscardSchema(Strict):
    """`{"note": "医院测试消息"}`: why it is set aside (kept with the entry)."""

    note = fields.Str(required=True, validate=validate.Length(min=1, max=500))


class RetryFilingsSchema(Strict):
    """`{}` tries every filing owed now, whatever its pause; `{"filing_id": 4}` that one."""

    filing_id = Id(load_default=None, allow_none=True)


class QuarantineQuerySchema(PageQuerySchema):
    """`?status=held&reason=not_the_receiver`; `status=all` for every status."""

    status = fields.Str(load_default="held", validate=validate.OneOf([*QUARANTINE_STATUSES, "all"]))
    reason = fields.Str(load_default=None, validate=CODE)


class FilingQuerySchema(PageQuerySchema):
    """`?status=pending` (the default; `filed`, or `all`)."""

    status = fields.Str(load_default="pending", validate=validate.OneOf([*FILING_STATUSES, "all"]))


class QuarantinedAnswerSchema(Schema):
    """A hospital's answer (or an event) the referrals service would not act on: the reason and
    the field errors (names of fields, never values); `body` only on the single-entry read."""

    id = fields.Int()
    queue = fields.Str(metadata={"example": "referrals.answers"})
    routing_key = fields.Str(allow_none=True)
    message_id = fields.Str(allow_none=True)
    user_id = fields.Str(allow_none=True, metadata={"description": "the broker account that published it"})
    reason = fields.Str(metadata={"example": "not_the_receiver"})
    errors = fields.Dict()
    status = fields.Str(metadata={"example": "held"})
    received_at = fields.AwareDateTime()
    resolved_at = fields.AwareDateTime(allow_none=True)
    resolved_by = fields.Str(allow_none=True)
    body = fields.Dict(metadata={"description": (
        "only on the single-entry read: `{kept, size, json, fields}`, where `fields` shows the schema, kind, "
        "institution code and referral or consultation id as they are and every other field (notes, reasons, "
        "the 回转单, the 会诊意见) only as its shape (`string(12)`, `object(4 fields)`)")})


class QuarantinedAnswerPageSchema(Schema):
    items = fields.List(fields.Nested(QuarantinedAnswerSchema))
    next = fields.Str(allow_none=True)


class FilingSchema(Schema):
    """A record a referral or consultation owes the archive (转出单 `referral_out`, 回转单
    `referral_back`, 会诊记录表 `consultation`), filed through records: `pending` until it is,
    with the attempts made, the last error and when it is tried next. Not the form's content."""

    id = fields.Int()
    subject = fields.Str(metadata={"example": "referral:7"})
    archive_no = fields.Str()
    record_type = fields.Str(metadata={"example": "referral_back"})
    record_id = fields.Str()
    institution_code = fields.Str()
    status = fields.Str(metadata={"example": "pending"})
    attempts = fields.Int()
    last_error = fields.Str(allow_none=True, metadata={"example": "ServiceUnavailable"})
    next_attempt_at = fields.AwareDateTime()
    created_at = fields.AwareDateTime()
    filed_at = fields.AwareDateTime(allow_none=True)


class FilingPageSchema(Schema):
    items = fields.List(fields.Nested(FilingSchema))
    next = fields.Str(allow_none=True)


# -- RPC requests --------------------------------------------------------------------------------------


class CreateRequestSchema(Strict):
    payload = fields.Nested(ReferralCreateSchema, required=True)


class ReferralRequestSchema(Strict):
    referral_id = Id(required=True)


class SendRequestSchema(ReferralRequestSchema):
    payload = fields.Nested(SendSchema, required=True)


class NoteRequestSchema(ReferralRequestSchema):
    payload = fields.Nested(NoteSchema, required=True)


class ReasonRequestSchema(ReferralRequestSchema):
    payload = fields.Nested(ReasonRequiredSchema, required=True)


class BackReferRequestSchema(ReferralRequestSchema):
    payload = fields.Nested(BackReferralSchema, required=True)


class ListRequestSchema(Strict):
    box = fields.Str(load_default="inbox", validate=validate.OneOf(BOXES))
    state = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(STATES))
    overdue = fields.Bool(load_default=False)
    limit = Limit(load_default=50)
    cursor = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))


class ConsultationCreateRequestSchema(Strict):
    payload = fields.Nested(ConsultationCreateSchema, required=True)


class ConsultationRequestSchema(Strict):
    consultation_id = Id(required=True)


class AnswerRequestSchema(ConsultationRequestSchema):
    payload = fields.Nested(ConsultationAnswerSchema, required=True)


class ListConsultationsRequestSchema(Strict):
    box = fields.Str(load_default="inbox", validate=validate.OneOf(BOXES))
    state = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(CONSULTATION_STATES))
    limit = Limit(load_default=50)
    cursor = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))


class OpenReferralRequestSchema(Strict):
    archive_no = ArchiveNo(required=True)
    institution_code = fields.Str(required=True, validate=INSTITUTION)


class SweepRequestSchema(Strict):
    """`run_sweep(now=None, referral_id=None)`: as of `now` (now when null), only `referral_id` when given."""

    now = fields.AwareDateTime(load_default=None, allow_none=True)
    referral_id = Id(load_default=None, allow_none=True)


class ListQuarantineRequestSchema(Strict):
    """`list_quarantine(status="held", reason=None)`; `status` None: every status."""

    status = fields.Str(load_default="held", allow_none=True, validate=validate.OneOf(QUARANTINE_STATUSES))
    reason = fields.Str(load_default=None, allow_none=True, validate=CODE)
    limit = Limit(load_default=50)
    cursor = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))


class ListFilingsRequestSchema(Strict):
    """`list_filings(status="pending")`; `status` None: both."""

    status = fields.Str(load_default="pending", allow_none=True, validate=validate.OneOf(FILING_STATUSES))
    limit = Limit(load_default=50)
    cursor = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))


class RetryFilingsRequestSchema(Strict):
    """`retry_filings(filing_id=None)`: every filing owed, now, or that one."""

    filing_id = Id(load_default=None, allow_none=True)


_REFERRAL = ReferralSchema()
_CONSULTATION = ConsultationSchema()
_QUARANTINED = QuarantinedAnswerSchema()

RPC: dict[str, Rpc] = {
    "create_referral": Rpc(CreateRequestSchema(), _REFERRAL),
    "get_referral": Rpc(ReferralRequestSchema(), _REFERRAL),
    "list_referrals": Rpc(ListRequestSchema(), ReferralPageSchema()),
    "send_referral": Rpc(SendRequestSchema(), _REFERRAL),
    "accept_referral": Rpc(NoteRequestSchema(), _REFERRAL),
    "reject_referral": Rpc(ReasonRequestSchema(), _REFERRAL),
    "cancel_referral": Rpc(ReasonRequestSchema(), _REFERRAL),
    "mark_arrived": Rpc(NoteRequestSchema(), _REFERRAL),
    "back_refer": Rpc(BackReferRequestSchema(), _REFERRAL),
    "close_referral": Rpc(ReasonRequestSchema(), _REFERRAL),
    "request_consultation": Rpc(ConsultationCreateRequestSchema(), _CONSULTATION),
    "answer_consultation": Rpc(AnswerRequestSchema(), _CONSULTATION),
    "get_consultation": Rpc(ConsultationRequestSchema(), _CONSULTATION),
    "list_consultations": Rpc(ListConsultationsRequestSchema(), ConsultationPageSchema()),
    "open_referral": Rpc(OpenReferralRequestSchema(), OpenReferralSchema()),
    "run_sweep": Rpc(SweepRequestSchema(), SweepSchema()),
    "retry_filings": Rpc(RetryFilingsRequestSchema(), RetrySchema()),
    "list_filings": Rpc(ListFilingsRequestSchema(), FilingPageSchema()),
    "list_quarantine": Rpc(ListQuarantineRequestSchema(), QuarantinedAnswerPageSchema()),
    "show_quarantined": Rpc(QuarantinedRequestSchema(), _QUARANTINED),
    "replay_quarantined": Rpc(ReplayRequestSchema(), _QUARANTINED),
    "discard_quarantined": Rpc(DiscardRequestSchema(), _QUARANTINED),
    "health": Rpc(NoArgumentsSchema(), PingSchema()),
}
