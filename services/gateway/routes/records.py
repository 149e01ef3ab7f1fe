"""An archive's records: its front page (首页), its timeline, and the form records clinicians
enter, amend and mark as entered in error (the records service). The forms a record may be entered
on are named from the forms' published schemas (`shared.contracts.forms`), so that the summary
cannot fall behind a new form."""

from __future__ import annotations

from shared.contracts.records import (
    ArchiveSummarySchema, EnteredInErrorSchema, RecordAmendSchema, RecordCreateSchema, RecordFiledSchema,
    RecordHistorySchema, RecordPageSchema, RecordQuerySchema,
)
from shared.archive_no import archive_numbers
from shared.contracts.forms import entered_forms
from shared.errors import NotFound, ValidationFailed
from shared.follow_ups import FORM_ENROLMENTS

from services.gateway import access
from services.gateway.routes.route import NEXT_PAGE, Answer, Body, Call, Route, area, documented

RecordQuery = documented(
    RecordQuerySchema, cursor=NEXT_PAGE,
    since={"format": "date-time", "description": "records that happened at or after this instant (with a UTC offset)"},
    until={"format": "date-time", "description": "records that happened before this instant"},
    record_type={"description": "one form or message type; `attachment` for the files kept with the archive"},
    kind={"description": "a record's kind (outpatient, inpatient, ...) or an attachment's type (check_report, ...)"})


def _not_before_enrolment(c: Call) -> None:
    """A programme's form dated before the resident's enrolment in it is refused, naming
    `content.occurred_on` (issue 12: "dates not before enrolment"); the programmes service
    knows the enrolments. A resident not enrolled may be seen first and enrolled after. Should the
    programmes service not answer, the request is answered 503 like any other that needs it:
    nothing is stored, and the clerk's client sends it again."""
    programmes = FORM_ENROLMENTS.get(c.body.get("record_type"))
    day = (c.body.get("content") or {}).get("occurred_on") if isinstance(c.body.get("content"), dict) else None
    if not programmes or not isinstance(day, str) or len(day) != 10:
        return  # the form's own rules answer a missing or malformed date
    try:
        enrolments = c.programmes.list_programmes(c.path["archive_no"])["programmes"]
    except NotFound:
        return  # records answers for an archive that is not there
    for enrolment in enrolments:
        if enrolment["programme"] in programmes and enrolment["status"] == "active" and enrolment["enrolled_on"] > day:
            raise ValidationFailed(f"invalid {c.body['record_type']}", {"content": {"occurred_on": [
                f"Before the enrolment in {enrolment['programme']} on {enrolment['enrolled_on']}."]}})


def file_record(c: Call):
    _not_before_enrolment(c)
    record = c.records.file_record(c.path["archive_no"], c.body)
    c.gate.note(target=f"record:{record['record_id']}")
    return 201, record


def get_record(c: Call):
    record = c.records.get_record(c.record_id())
    if record["archive_no"] != c.archive["archive_no"]:
        raise NotFound("no such record", {"record_id": c.path["record_id"]})
    return record


def archive_summary(c: Call) -> dict:
    """The 首页 of the archive the call fetched, with its birth date and sex (records need not ask
    the registry again)."""
    archive = c.archive
    return c.records.archive_summary(archive["archive_no"], birth_date=archive["birth_date"], sex=archive.get("sex"))


ROUTES = area(
    "records",
    Route("GET", "/api/v1/archives/<string:archive_no>/summary", "archive_summary", access.SUMMARY_READ,
          lambda c: archive_summary(c),
          summary="The archive's front page (首页): key populations, chronic conditions, allergies, "
                  "blood type, the last exam's abnormal results, last service per type, whether it is dynamic",
          answers=(Answer(200, "The summary", ArchiveSummarySchema),), errors=(400, 404, 503)),
    # A former (transferred) or merged-away number lists the records of the archive it leads to.
    Route("GET", "/api/v1/archives/<string:archive_no>/records", "list_records", access.RECORDS_LIST,
          lambda c: c.records.list_records(c.archive["archive_no"], archive_nos=archive_numbers(c.archive),
                                           **c.query),
          summary="The archive's timeline, newest first, paged: its records, and the files kept with it "
                  "(`record_type` attachment, placed on the date the document bears)",
          query=RecordQuery,
          answers=(Answer(200, "One page", RecordPageSchema),), errors=(400, 404, 503)),
    Route("POST", "/api/v1/archives/<string:archive_no>/records", "file_record", access.RECORD_CREATE, file_record,
          summary=f"Enter a record on one of the archive's forms ({', '.join(entered_forms())})",
          body=Body(RecordCreateSchema),
          answers=(Answer(201, "Filed, with what it offers other forms", RecordFiledSchema),),
          errors=(400, 404, 409, 422, 503)),
    Route("GET", "/api/v1/archives/<string:archive_no>/records/<string:record_id>", "get_record",
          access.RECORD_READ, get_record,
          summary="A record with every revision, oldest first",
          answers=(Answer(200, "The record", RecordHistorySchema),), errors=(400, 404, 503)),
    Route("POST", "/api/v1/archives/<string:archive_no>/records/<string:record_id>/revisions", "amend_record",
          access.RECORD_AMEND,
          lambda c: (201, c.records.amend_record(c.path["archive_no"], c.record_id(), c.body)),
          summary="Amend a form record: a new revision becomes current, the old ones stay",
          body=Body(RecordAmendSchema),
          answers=(Answer(201, "Amended", RecordFiledSchema),), errors=(400, 404, 422, 503)),
    Route("POST", "/api/v1/archives/<string:archive_no>/records/<string:record_id>/entered-in-error",
          "mark_entered_in_error", access.RECORD_MARK_IN_ERROR,
          lambda c: c.records.mark_entered_in_error(c.path["archive_no"], c.record_id(), c.body["reason"]),
          summary="Mark a record as entered in error (it is kept, flagged, with the reason)",
          body=Body(EnteredInErrorSchema),
          answers=(Answer(200, "Marked", RecordHistorySchema),), errors=(400, 404, 422, 503)),
)
