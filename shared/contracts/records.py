"""The records service's RPC contracts: the request schemas it loads and the answer schemas it
dumps (the gateway passes the answers through as its HTTP answers, and documents them with these
same schemas), and the bodies and queries of the gateway's record routes. `RPC` names the pair
of each method; `services/records/service.py` loads and dumps with exactly those
(tests/unit/test_contracts.py holds it to that).

    GET  /api/v1/archives/{archive_no}/records   -> list_records        -> RecordPageSchema (records and attachments)
    POST /api/v1/archives/{archive_no}/records   body RecordCreateSchema -> RecordFiledSchema
    GET  /api/v1/quarantine                      -> list_quarantine     -> QuarantinePageSchema
"""

from __future__ import annotations

from datetime import date

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from shared.codes import Sex
from shared.contracts.forms import CONTENT_DESCRIPTION, form_references
from shared.contracts.fields import (
    CODE, INSTITUTION, REASON, ArchiveNo, Limit, Id, NoArgumentsSchema, PageQuerySchema, PingSchema, Rpc, Strict,
    bounded_instant, not_in_future,
)


class SourceRefSchema(Schema):
    institution_code = fields.Str()
    system = fields.Str(allow_none=True)
    record_id = fields.Str(allow_none=True)


def _flags() -> fields.List:
    return fields.List(fields.Str(), metadata={
        "description": "what the record's content points out: `urgent_referral` when a follow-up or hospital "
                       "encounter meets an urgent-referral trigger (shared/follow_ups.py)",
        "example": ["urgent_referral"]})


class AttachmentSchema(Schema):
    """A file kept with an archive, without its bytes (those are `GET .../attachments/{id}`)."""

    attachment_id = fields.Int()
    archive_no = fields.Str()
    record_id = fields.Str(allow_none=True)
    attachment_type = fields.Str(metadata={"example": "check_report"})
    content_type = fields.Str(metadata={"example": "application/pdf"})
    filename = fields.Str(allow_none=True)
    size_bytes = fields.Int()
    sha256 = fields.Str(metadata={"description": "hex SHA-256 of the file"})
    source = fields.Str(allow_none=True)
    document_date = fields.Str(metadata={"format": "date"})
    institution_code = fields.Str()
    added_by = fields.Str()
    added_at = fields.Str(metadata={"format": "date-time"})
    status = fields.Str(metadata={"example": "active", "description": "active or entered_in_error"})
    status_reason = fields.Str(allow_none=True)


class TimelineEntrySchema(Schema):
    """One entry of an archive's timeline (`entry`): a record with its current revision, or a
    file kept with the archive, placed at 00:00 北京时间 of the date the document bears, with
    `record_type` "attachment", `kind` its attachment type, its status (an attachment marked
    entered-in-error stays, flagged) and its metadata under `attachment` (no `record_id`,
    `revision`, `origin` or `content`: the file is `GET .../attachments/{attachment_id}`)."""

    entry = fields.Str(metadata={"enum": ["record", "attachment"], "example": "record"})
    record_id = fields.Str()
    archive_no = fields.Str()
    record_type = fields.Str(metadata={"example": "hospital_encounter",
                                       "description": "the form or message type; `attachment` for a file"})
    kind = fields.Str(allow_none=True, metadata={"example": "outpatient",
                                                 "description": "a record's kind, or an attachment's type"})
    status = fields.Str(metadata={"example": "active", "description": "active or entered_in_error"})
    status_reason = fields.Str(allow_none=True)
    occurred_at = fields.Str(metadata={"format": "date-time"})
    revision = fields.Int()
    recorded_at = fields.Str(metadata={"format": "date-time", "description": "an attachment: when it was added"})
    origin = fields.Str(metadata={"example": "hospital_message"})
    source = fields.Nested(SourceRefSchema)
    content = fields.Dict()
    attachment = fields.Nested(AttachmentSchema, metadata={"description": "only on an attachment's entry"})
    flags = _flags()


class RecordCreateSchema(Schema):
    """A record entered on one of the archive's forms (record_type personal_info, health_exam,
    visit, consultation, hypertension_follow_up, diabetes_follow_up, integrated_follow_up,
    elderly_self_care or elderly_tcm); `content` is validated against that form."""

    class Meta:
        unknown = RAISE

    record_type = fields.Str(required=True, metadata={"example": "visit"})
    content = fields.Dict(required=True, metadata={"description": CONTENT_DESCRIPTION, "x-forms": form_references(),
                                                   "example": {
        "occurred_on": "2026-11-20", "subjective": "头晕两天", "assessment": "高血压", "clinician": "李医生"}})
    institution_code = fields.Str(load_default=None, allow_none=True,
                                  metadata={"description": "the recording institution"})


class RecordAmendSchema(Schema):
    class Meta:
        unknown = RAISE

    content = fields.Dict(required=True, metadata={"description": CONTENT_DESCRIPTION, "x-forms": form_references()})
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
    flags = _flags()
    revisions = fields.List(fields.Nested(RevisionSchema))


class SuggestionSchema(Schema):
    """What a filing found that belongs on another form, offered to the clinician (nothing is
    changed by itself): a condition newly found under the 健康体检表's 现存主要健康问题, for the
    既往史 of the 个人基本信息表."""

    form = fields.Str(metadata={"example": "personal_info"})
    field = fields.Str(metadata={"example": "past_history"})
    code = fields.Str(metadata={"example": "7", "description": "the 既往史 disease code"})
    label = fields.Str(metadata={"example": "脑卒中"})
    found_in = fields.Str(metadata={"example": "health_problems.cerebrovascular"})


class RecordFiledSchema(RecordHistorySchema):
    """A record filed or amended, with every revision, and what it offers other forms."""

    suggestions = fields.List(fields.Nested(SuggestionSchema))


class AbnormalFindingSchema(Schema):
    item = fields.Str(metadata={"example": "ecg"})
    label = fields.Str(metadata={"example": "心电图"})
    description = fields.Str(allow_none=True, metadata={"example": "ST段压低"})


class LastExamSchema(Schema):
    """The newest standing 健康体检表 and its coded results (心电图, 胸部X线片, B超, 宫颈涂片) that
    are 2 异常; results kept in their former free-text shape are not counted."""

    record_id = fields.Str()
    occurred_on = fields.Str(metadata={"format": "date"})
    abnormal_findings = fields.List(fields.Nested(AbnormalFindingSchema))


class InsuranceSummarySchema(Schema):
    """The insurer's settlements on the 首页: those of the past 12 months (from `since`), their
    total and out-of-pocket amounts in yuan (decimal strings), and the last one's date,
    institution visited and type."""

    settlements = fields.Int(metadata={"description": "settlements of the past 12 months", "example": 3})
    total = fields.Str(metadata={"description": "医疗费用总额 of those, yuan", "example": "1523.40"})
    out_of_pocket = fields.Str(metadata={"description": "个人自付 of those, yuan", "example": "312.80"})
    since = fields.Str(metadata={"format": "date"})
    last_settled_at = fields.Str(metadata={"format": "date-time"})
    last_institution_code = fields.Str(metadata={"description": "the institution visited", "example": "H3301020001"})
    last_type = fields.Str(metadata={"example": "outpatient"})
    last_insurance_type = fields.Str(metadata={"description": "医疗费用支付方式 (CV07.10.003)", "example": "1"})


class ArchiveSummarySchema(Schema):
    """The archive's front page (首页), derived from its records."""

    archive_no = fields.Str()
    age = fields.Int()
    key_populations = fields.List(fields.Str(), metadata={"example": ["elderly", "hypertension"]})
    chronic_conditions = fields.List(fields.Dict())
    blood_type = fields.Dict(allow_none=True)
    drug_allergies = fields.List(fields.Str(), allow_none=True)
    drug_allergies_other = fields.Str(allow_none=True)
    last_exam = fields.Nested(LastExamSchema, allow_none=True)
    last_service = fields.Dict(metadata={"description": "record_type -> when it last happened"})
    dynamic = fields.Bool(metadata={"description": "a service or linked record within the past 365 days"})
    dynamic_since = fields.Str(metadata={"format": "date"})
    insurance = fields.Nested(InsuranceSummarySchema, allow_none=True, metadata={
        "description": "the insurer's settlements (医保结算) of the past 12 months; null without any settlement"})


class RecordPageSchema(Schema):
    items = fields.List(fields.Nested(TimelineEntrySchema))
    next = fields.Str(allow_none=True, metadata={"description": "cursor of the next page; null on the last"})


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
    message_kind = fields.Str(metadata={"description": "encounter (ehr.encounter/1) or settlement (ehr.settlement/1)",
                                        "example": "encounter"})
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

    archive_no = ArchiveNo(required=True)


class ReviewSchema(Schema):
    """A filing waiting for a clinician's look: a hospital encounter filed into an archive far from
    the hospital (`hospital_outside_county`), an insurance settlement whose insurance type the
    个人基本信息表 does not list (`insurance_type_differs`, `details` naming both)."""

    record_id = fields.Str()
    archive_no = fields.Str()
    record_type = fields.Str(metadata={"example": "hospital_encounter"})
    review = fields.Str(allow_none=True, metadata={"example": "hospital_outside_county"})
    details = fields.Dict(allow_none=True, metadata={
        "description": "what to look at, when the flag alone does not say",
        "example": {"settlement_insurance_type": "1", "form_payment_methods": ["3"], "form_record_id": "8f3e..."}})
    institution_code = fields.Str(metadata={"description": "the hospital, or the insurer of a settlement"})
    kind = fields.Str(allow_none=True)
    occurred_at = fields.Str(metadata={"format": "date-time"})
    filed_at = fields.Str(metadata={"format": "date-time"})
    reviewed_by = fields.Str(allow_none=True)
    reviewed_at = fields.Str(allow_none=True, metadata={"format": "date-time"})


class ReviewPageSchema(Schema):
    items = fields.List(fields.Nested(ReviewSchema))
    next = fields.Str(allow_none=True)


# -- attachments, the resident's copy, retention -----------------------------------------------------

# What a file kept with an archive is (四(五): 检查报告, 转诊单 and scans of the paper archive).
ATTACHMENT_TYPES = {"check_report": "检查报告", "referral": "转诊单", "paper_scan": "纸质档案扫描", "other": "其他"}
ATTACHMENT_CONTENT_TYPES = ("application/pdf", "image/jpeg", "image/png")


def past_date(value: str) -> None:
    """An ISO date (`2026-11-20`), not in the future; kept as the string (it crosses RPC as JSON)."""
    try:
        day = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise ValidationError("Not a valid date (YYYY-MM-DD).")
    not_in_future(day)


class AttachmentCreateSchema(Schema):
    """A file to keep with the archive, its bytes in base64 (PDF, JPEG or PNG, at most
    EHR_MAX_ATTACHMENT_BYTES once decoded; the type is read from the bytes, not from `filename`):

        {"attachment_type": "check_report", "content": "JVBERi0xLjcK...", "filename": "血常规.pdf",
         "source": "朝阳区医院检验科", "document_date": "2026-11-20", "record_id": null}
    """

    class Meta:
        unknown = RAISE

    attachment_type = fields.Str(required=True, validate=validate.OneOf(list(ATTACHMENT_TYPES)), metadata={
        "description": "; ".join(f"{code} {label}" for code, label in ATTACHMENT_TYPES.items())})
    content = fields.Str(required=True, metadata={"format": "byte", "description": "the file, base64"})
    filename = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=255))
    source = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200),
                        metadata={"description": "who produced the document"})
    document_date = fields.Str(required=True, validate=past_date,
                               metadata={"format": "date", "description": "the date the document bears"})
    record_id = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64),
                           metadata={"description": "the record of this archive it belongs to, if any"})
    institution_code = fields.Str(load_default=None, allow_none=True, validate=INSTITUTION,
                                  metadata={"description": "the adding institution (API keys; users add for their own)"})


class AttachmentFileSchema(AttachmentSchema):
    """An attachment with its bytes, base64 (the RPC answer the gateway serves as the file)."""

    content = fields.Str()


class AttachmentListSchema(Schema):
    items = fields.List(fields.Nested(AttachmentSchema))


class ArchiveExportSchema(Schema):
    """The resident's copy (`ehr.archive-export/1`): the archive as the registry holds it, every
    record with every revision, and every attachment with its file (base64; an attachment marked
    entered-in-error is listed without its file: it may be somebody else's). The records service's
    `export_archive` answers it without the files; the gateway adds each (`get_attachment`)."""

    format = fields.Str(metadata={"example": "ehr.archive-export/1"})
    exported_at = fields.Str(metadata={"format": "date-time"})
    archive = fields.Dict(metadata={"description": "the archive, as `GET /api/v1/archives/{archive_no}` answers"})
    records = fields.List(fields.Nested(RecordHistorySchema))
    attachments = fields.List(fields.Nested(AttachmentFileSchema))


class RetentionSchema(Schema):
    """Until when the archive must be kept (domain.md section 8); nothing is deleted after it."""

    archive_no = fields.Str()
    status = fields.Str(metadata={"example": "active"})
    retain_until = fields.Str(metadata={"format": "date", "example": "2041-11-20"})
    basis = fields.Str(metadata={"description": "last_service, inpatient or termination: the rule that decides"})
    last_service = fields.Str(metadata={"format": "date"})
    last_inpatient = fields.Str(allow_none=True, metadata={"format": "date"})
    terminated_on = fields.Str(allow_none=True, metadata={"format": "date"})
    rule = fields.Str()
    deletes = fields.Bool(metadata={"description": "always false: the suite deletes no archive"})


# -- query parameters of the gateway's record lists (unknown parameters are ignored) ------------


class RecordQuerySchema(PageQuerySchema):
    """Filters of an archive's timeline: `?record_type=visit&since=2026-01-01T00:00:00+08:00`,
    `?record_type=attachment` (the files only), `?kind=check_report`."""

    record_type = fields.Str(load_default=None, validate=CODE)
    kind = fields.Str(load_default=None, validate=CODE)
    institution_code = fields.Str(load_default=None, validate=INSTITUTION)
    since = fields.Str(load_default=None, validate=bounded_instant)
    until = fields.Str(load_default=None, validate=bounded_instant)


class QuarantineQuerySchema(PageQuerySchema):
    status = fields.Str(load_default="held", validate=validate.OneOf(["held", "replayed", "discarded", "all"]))
    reason = fields.Str(load_default=None, validate=CODE)


# -- the RPC requests (each method's arguments, by name) -------------------------------------------


RECORD_ID = validate.Length(min=1, max=64)
CURSOR = validate.Length(min=1, max=200)
DIVISION = validate.Regexp(r"^[0-9]{1,12}$", error="A division code: at most 12 digits.")


class PageRequestSchema(Strict):
    limit = Limit(load_default=50)
    cursor = fields.Str(load_default=None, allow_none=True, validate=CURSOR)


class ListRecordsRequestSchema(PageRequestSchema):
    """`list_records("11010500300100001", limit=50, cursor=None, record_type="visit", kind=None,
    institution_code=None, since="2026-01-01T00:00:00+08:00", until=None,
    archive_nos=["11010500300100001", "11010520110100007"])`: `archive_nos` are every number
    leading to the archive (its attachments stay under the number they were added with); the
    gateway passes those of the archive it fetched, and without them the records service asks
    the registry."""

    archive_no = ArchiveNo(required=True)
    record_type = fields.Str(load_default=None, allow_none=True, validate=CODE)
    kind = fields.Str(load_default=None, allow_none=True, validate=CODE)
    institution_code = fields.Str(load_default=None, allow_none=True, validate=INSTITUTION)
    since = fields.Str(load_default=None, allow_none=True, validate=bounded_instant)
    until = fields.Str(load_default=None, allow_none=True, validate=bounded_instant)
    archive_nos = fields.List(ArchiveNo(), load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))


class ArchiveRequestSchema(Strict):
    """`list_attachments("11010500300100001")`"""

    archive_no = ArchiveNo(required=True)


class ArchiveSummaryRequestSchema(ArchiveRequestSchema):
    """`archive_summary("11010500300100001", birth_date="1949-12-31", sex="2")`: the birth date
    (the age, the key populations by age) and sex of the archive the gateway fetched, so that the
    records service need not ask the registry again (as `list_records`' `archive_nos`); without a
    birth date it asks the registry, and `archive_no` is then any number leading to the archive."""

    birth_date = fields.Date(load_default=None, allow_none=True)
    sex = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(Sex.codes()))


class RecordRequestSchema(Strict):
    """`get_record("8f3e...")`"""

    record_id = fields.Str(required=True, validate=RECORD_ID)


class RecordsRequestSchema(Strict):
    """`get_records(["8f3e...", ...])`: at most 500 ids (the sync sender's batch)."""

    record_ids = fields.List(fields.Str(validate=RECORD_ID), required=True, validate=validate.Length(min=1, max=500))


class LatestContentsRequestSchema(Strict):
    """`latest_contents(["11010510110100007", ...], "personal_info")`: at most 500 archives."""

    archive_nos = fields.List(ArchiveNo(), required=True, validate=validate.Length(min=1, max=500))
    record_type = fields.Str(required=True, validate=CODE)


class FileRecordRequestSchema(ArchiveRequestSchema):
    """`file_record("11010500300100001", {"record_type": "visit", "content": {...}})`; another
    service filing what it is the source of names the `origin` (`referral`: the referrals service's
    转出单, 回转单 and 会诊记录表) and chooses the `record_id`, so asking again after a lost answer
    files nothing twice (the record already filed under that id is answered)."""

    payload = fields.Nested(RecordCreateSchema, required=True)
    record_id = fields.UUID(load_default=None, allow_none=True)
    origin = fields.Str(load_default="form", validate=validate.OneOf(("form", "referral")))


class AmendRecordRequestSchema(ArchiveRequestSchema, RecordRequestSchema):
    """`amend_record("11010500300100001", "8f3e...", {"content": {...}, "reason": "血压值录入错误"})`"""

    payload = fields.Nested(RecordAmendSchema, required=True)


class EnteredInErrorRequestSchema(ArchiveRequestSchema, RecordRequestSchema):
    """`mark_entered_in_error("11010500300100001", "8f3e...", "录入了他人的随访")`"""

    reason = fields.Str(required=True, validate=REASON)


class ListQuarantineRequestSchema(PageRequestSchema):
    """`list_quarantine(status="held", reason="invalid_id_number")`; `status` None: any."""

    status = fields.Str(load_default="held", allow_none=True,
                        validate=validate.OneOf(["held", "replayed", "discarded"]))
    reason = fields.Str(load_default=None, allow_none=True, validate=CODE)


class QuarantinedRequestSchema(Strict):
    """`show_quarantined(12)` (records' quarantine and the referrals' alike)"""

    quarantine_id = Id(required=True)


class ReplayRequestSchema(QuarantinedRequestSchema):
    """`replay_quarantined(12, corrected={...the message as its contract has it...} | None)`"""

    corrected = fields.Dict(load_default=None, allow_none=True)


class DiscardRequestSchema(QuarantinedRequestSchema):
    """`discard_quarantined(12, "vendor test message")`"""

    note = fields.Str(required=True, validate=validate.Length(min=1, max=500))


class ListPendingRequestSchema(PageRequestSchema):
    """`list_pending(status="pending")`; `status` None: any."""

    status = fields.Str(load_default="pending", allow_none=True, validate=validate.Length(min=1, max=16))


class ProposeLinkRequestSchema(Strict):
    """`propose_link(7, "11010500300100001")`"""

    pending_id = Id(required=True)
    archive_no = ArchiveNo(required=True)


class LinkPendingRequestSchema(ProposeLinkRequestSchema):
    """`link_pending(7, "11010500300100001", confirmed_by="doc01")`"""

    confirmed_by = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=80))


class LinkProposalsRequestSchema(PageRequestSchema):
    """`list_link_proposals("110105003")`: proposals into archives numbered under a jurisdiction."""

    prefix = fields.Str(required=True, validate=DIVISION)


class ListReviewsRequestSchema(PageRequestSchema):
    """`list_reviews(prefix="110105003")`; `prefix` None: every flagged filing (operators)."""

    prefix = fields.Str(load_default=None, allow_none=True, validate=DIVISION)


class ClearReviewRequestSchema(ArchiveRequestSchema, RecordRequestSchema):
    """`clear_review("11010500300100001", "8f3e...")`"""


class AddAttachmentRequestSchema(ArchiveRequestSchema):
    """`add_attachment("11010500300100001", {"attachment_type": "check_report", "content": "...", ...})`"""

    payload = fields.Nested(AttachmentCreateSchema, required=True)


class AttachmentRequestSchema(ArchiveRequestSchema):
    """`get_attachment("11010500300100001", 12)`"""

    attachment_id = Id(required=True)


class AttachmentInErrorRequestSchema(AttachmentRequestSchema):
    """`mark_attachment_entered_in_error("11010500300100001", 12, "扫描了别人的化验单")`"""

    reason = fields.Str(required=True, validate=REASON)


class ArchiveActivityRequestSchema(Strict):
    """`archive_activity("110105101", ["2026-11-30", "2026-12-31"])`: counts per village under a
    division, the dynamic archives at each month's end (at most 24)."""

    prefix = fields.Str(required=True, validate=DIVISION)
    month_ends = fields.List(fields.Date(), required=True, validate=validate.Length(min=1, max=24))


class VillageArchivesSchema(Schema):
    village_code = fields.Str()
    archives = fields.Int()


class VillageMonthArchivesSchema(VillageArchivesSchema):
    month_end = fields.Str(metadata={"format": "date"})


class ArchiveActivitySchema(Schema):
    """Archives with their 个人基本信息表 filed (electronic) and archives with a standing record in
    the 365 days before each month's end (dynamic), per village; counts only."""

    electronic = fields.List(fields.Nested(VillageArchivesSchema))
    dynamic = fields.List(fields.Nested(VillageMonthArchivesSchema))


# -- the table: each RPC method's request and answer ------------------------------------------------


_HISTORY, _FILED = RecordHistorySchema(), RecordFiledSchema()


class RecordsSchema(Schema):
    """`get_records`: each record found as `get_record` answers it, in the order asked, and the
    ids of no record: `{"records": [...], "missing": ["..."]}`."""

    records = fields.List(fields.Nested(RecordHistorySchema))
    missing = fields.List(fields.Str())


class LatestContentsSchema(Schema):
    """`latest_contents`: the current content of each archive's latest record of the type (not
    entered in error), by archive number; archives with none are left out:
    `{"contents": {"11010510110100007": {...}}}`."""

    contents = fields.Dict(keys=fields.Str(), values=fields.Dict())
_ENTRY, _PENDING = QuarantineEntrySchema(), PendingEncounterSchema()

RPC: dict[str, Rpc] = {
    "list_records": Rpc(ListRecordsRequestSchema(), RecordPageSchema()),
    "file_record": Rpc(FileRecordRequestSchema(), _FILED),
    "amend_record": Rpc(AmendRecordRequestSchema(), _FILED),
    "mark_entered_in_error": Rpc(EnteredInErrorRequestSchema(), _HISTORY),
    "archive_summary": Rpc(ArchiveSummaryRequestSchema(), ArchiveSummarySchema()),
    "get_record": Rpc(RecordRequestSchema(), _HISTORY),
    "get_records": Rpc(RecordsRequestSchema(), RecordsSchema()),
    "latest_contents": Rpc(LatestContentsRequestSchema(), LatestContentsSchema()),
    "list_quarantine": Rpc(ListQuarantineRequestSchema(), QuarantinePageSchema()),
    "show_quarantined": Rpc(QuarantinedRequestSchema(), _ENTRY),
    "replay_quarantined": Rpc(ReplayRequestSchema(), _ENTRY),
    "discard_quarantined": Rpc(DiscardRequestSchema(), _ENTRY),
    "list_pending": Rpc(ListPendingRequestSchema(), PendingPageSchema()),
    "propose_link": Rpc(ProposeLinkRequestSchema(), _PENDING),
    "list_link_proposals": Rpc(LinkProposalsRequestSchema(), PendingPageSchema()),
    "link_pending": Rpc(LinkPendingRequestSchema(), _PENDING),
    "list_reviews": Rpc(ListReviewsRequestSchema(), ReviewPageSchema()),
    "clear_review": Rpc(ClearReviewRequestSchema(), ReviewSchema()),
    "add_attachment": Rpc(AddAttachmentRequestSchema(), AttachmentSchema()),
    "list_attachments": Rpc(ArchiveRequestSchema(), AttachmentListSchema()),
    "get_attachment": Rpc(AttachmentRequestSchema(), AttachmentFileSchema()),
    "mark_attachment_entered_in_error": Rpc(AttachmentInErrorRequestSchema(), AttachmentSchema()),
    "export_archive": Rpc(ArchiveRequestSchema(), ArchiveExportSchema()),
    "archive_retention": Rpc(ArchiveRequestSchema(), RetentionSchema()),
    "archive_activity": Rpc(ArchiveActivityRequestSchema(), ArchiveActivitySchema()),
    "health": Rpc(NoArgumentsSchema(), PingSchema()),
}
