"""Referrals (双向转诊) and consultations (会诊), the referrals service's: the sender refers a
resident of its scope up and sees what it sent (drafts the follow-ups suggested included), the
receiver sees what is addressed to it and answers (accept, reject, arrived, back-referral, close),
and while a referral is open the receiver reads the records of the referred archive that the
referral names (`GET /api/v1/referrals/{id}/records`): an access grant tied to the referral,
audited as such (the entry names the archive, `out_of_scope` and the reason `referral:<id>`), that
ends when the referral does.

Scope: a referral or consultation is made only for an archive in the caller's own scope (404
otherwise, as for an unknown one); the referrals service answers a caller on neither side of a
referral with 404, and a move the state or side does not allow with 409 naming both states.

Operators (`OPERATOR_ROUTES`, tagged `operations` like records' quarantine): the hospitals' answers
the referrals service quarantined (`/api/v1/referral-quarantine`: list, show with the free text
masked as shapes, replay, discard) and the records it still owes the archive
(`/api/v1/referral-filings`: attempts, last error; retry now).
"""

from __future__ import annotations

from shared.contracts.referrals import (
    BackReferralSchema, ConsultationAnswerSchema, ConsultationCreateSchema, ConsultationPageSchema,
    ConsultationQuerySchema, ConsultationSchema, FilingPageSchema, FilingQuerySchema, NoteSchema,
    QuarantineDiscardSchema, QuarantinedAnswerPageSchema, QuarantinedAnswerSchema, QuarantineQuerySchema,
    ReasonRequiredSchema, ReferralCreateSchema, ReferralPageSchema, ReferralQuerySchema, ReferralRecordsSchema,
    ReferralSchema, ReplayAnswerSchema, RetryFilingsSchema, RetrySchema, SendSchema,
)
from shared.errors import NotFound, ValidationFailed

from services.gateway import access
from services.gateway.routes.route import NEXT_PAGE, Answer, Body, Call, Route, area, documented

ReferralQuery = documented(ReferralQuerySchema, cursor=NEXT_PAGE)
ConsultationQuery = documented(ConsultationQuerySchema, cursor=NEXT_PAGE)
QuarantineQuery = documented(QuarantineQuerySchema, cursor=NEXT_PAGE)
FilingQuery = documented(FilingQuerySchema, cursor=NEXT_PAGE)
QUARANTINED = "/api/v1/referral-quarantine/<int:quarantine_id>"
REFERRAL = "/api/v1/referrals/<int:referral_id>"
CONSULTATION = "/api/v1/consultations/<int:consultation_id>"


def _noted(c: Call, answer: dict, what: str) -> dict:
    c.gate.note(archive_no=answer.get("archive_no"), target=f"{what}:{answer.get(f'{what}_id')}")
    return answer


def _archive_in_scope(c: Call) -> None:
    """The body's archive (the service loads the rest of the body by its contract), in the
    caller's scope: a missing or malformed number is the caller's 400, not the gate's error."""
    archive_no = c.body.get("archive_no")
    if not isinstance(archive_no, str):
        raise ValidationFailed("invalid input", {"archive_no": ["Missing data for required field." if archive_no is None
                                                                else "Not a valid string."]})
    c.gate.note(archive_no=archive_no)
    c.gate.archive_in_scope(archive_no, "archive_no")


def create_referral(c: Call):
    _archive_in_scope(c)
    return 201, _noted(c, c.referrals.create_referral(c.body), "referral")


def _move(method: str):
    def handler(c: Call):
        return _noted(c, getattr(c.referrals, method)(c.entry_id("referral"), c.body or {}), "referral")
    return handler


def referral_records(c: Call):
    """The records the open referral names, to its receiver; the audit entry says under which referral."""
    referral_id = c.entry_id("referral")
    referral = c.referrals.get_referral(referral_id)
    c.gate.note(archive_no=referral["archive_no"], target=f"referral:{referral_id}")
    if referral["to_institution_code"] != c.gate.caller.institution_code or referral["state"] not in (
            "requested", "accepted", "arrived"):
        raise NotFound("no open referral addressed to you", {"referral_id": referral_id})
    c.gate.under_referral(referral_id)
    items = []
    for record_id in referral["record_ids"]:
        try:
            record = c.records.get_record(record_id)
        except NotFound:
            continue
        if record.get("archive_no") == referral["archive_no"]:
            items.append(record)
    return {"referral_id": referral_id, "archive_no": referral["archive_no"], "items": items}


def _all(status: str) -> str | None:
    return None if status == "all" else status


def list_quarantine(c: Call):
    return c.referrals.list_quarantine(**{**c.query, "status": _all(c.query["status"])})


def list_filings(c: Call):
    return c.referrals.list_filings(**{**c.query, "status": _all(c.query["status"])})


def request_consultation(c: Call):
    _archive_in_scope(c)
    return 201, _noted(c, c.referrals.request_consultation(c.body), "consultation")


ROUTES = area(
    "referrals",
    Route("POST", "/api/v1/referrals", "create_referral", access.REFERRAL_CREATE, create_referral,
          summary="Refer a resident of your scope to another institution (转出): urgency, the 转出单's 初步印象, "
                  "主要现病史, 主要既往史, 治疗经过, and the records it attaches; the receiver is told on its queue "
                  "and the 转出单 is filed into the archive",
          body=Body(ReferralCreateSchema, passthrough=True),
          answers=(Answer(201, "Requested", ReferralSchema),), errors=(400, 404, 409, 503)),
    Route("GET", "/api/v1/referrals", "list_referrals", access.REFERRALS_LIST,
          lambda c: c.referrals.list_referrals(**c.query),
          summary="Your referrals: `box=inbox` addressed to you, `box=sent` sent by you (drafts the follow-ups "
                  "suggested included); by state; `overdue=true` the requests past their deadline",
          query=ReferralQuery, answers=(Answer(200, "One page, newest first", ReferralPageSchema),),
          errors=(400, 503)),
    Route("GET", REFERRAL, "get_referral", access.REFERRAL_READ,
          lambda c: _noted(c, c.referrals.get_referral(c.entry_id("referral")), "referral"),
          summary="A referral with its history (who, when, why) and the records it filed, to either side",
          answers=(Answer(200, "The referral", ReferralSchema),), errors=(404, 503)),
    Route("POST", REFERRAL + "/send", "send_referral", access.REFERRAL_SEND, _move("send_referral"),
          summary="Send a draft (the sender): what it lacks, at least the receiving institution",
          body=Body(SendSchema, required=False, passthrough=True),
          answers=(Answer(200, "Requested", ReferralSchema),), errors=(400, 404, 409, 503)),
    Route("POST", REFERRAL + "/cancel", "cancel_referral", access.REFERRAL_CANCEL, _move("cancel_referral"),
          summary="Cancel a draft or a request not yet accepted (the sender), with the reason",
          body=Body(ReasonRequiredSchema), answers=(Answer(200, "Cancelled", ReferralSchema),),
          errors=(400, 404, 409, 503)),
    Route("POST", REFERRAL + "/accept", "accept_referral", access.REFERRAL_ACCEPT, _move("accept_referral"),
          summary="Accept a referral (the receiver)", body=Body(NoteSchema, required=False, passthrough=True),
          answers=(Answer(200, "Accepted", ReferralSchema),), errors=(400, 404, 409, 503)),
    Route("POST", REFERRAL + "/reject", "reject_referral", access.REFERRAL_REJECT, _move("reject_referral"),
          summary="Reject a referral (the receiver), with the reason", body=Body(ReasonRequiredSchema),
          answers=(Answer(200, "Rejected", ReferralSchema),), errors=(400, 404, 409, 503)),
    Route("POST", REFERRAL + "/arrived", "mark_arrived", access.REFERRAL_ARRIVED, _move("mark_arrived"),
          summary="The patient came (the receiver); a hospital encounter of the resident there says so on its own",
          body=Body(NoteSchema, required=False, passthrough=True),
          answers=(Answer(200, "Arrived", ReferralSchema),), errors=(400, 404, 409, 503)),
    Route("POST", REFERRAL + "/back-referral", "back_refer", access.REFERRAL_BACK_REFER, _move("back_refer"),
          summary="Send the resident back (回转单: 诊断结果, 主要检查结果, 治疗经过, 下一步治疗方案及康复建议); filed "
                  "into the archive, and the referring institution is told",
          body=Body(BackReferralSchema), answers=(Answer(200, "Back-referred", ReferralSchema),),
          errors=(400, 404, 409, 503)),
    Route("POST", REFERRAL + "/close", "close_referral", access.REFERRAL_CLOSE, _move("close_referral"),
          summary="Close a referral without back-referral (treated and discharged), with the reason",
          body=Body(ReasonRequiredSchema), answers=(Answer(200, "Closed", ReferralSchema),),
          errors=(400, 404, 409, 503)),
    Route("GET", REFERRAL + "/records", "referral_records", access.REFERRAL_RECORDS, referral_records,
          summary="The records the referral names, to its receiver while it is open (audited as read under "
                  "`referral:<id>`)",
          answers=(Answer(200, "The records", ReferralRecordsSchema),), errors=(404, 503)),
    Route("POST", "/api/v1/consultations", "request_consultation", access.CONSULTATION_REQUEST,
          request_consultation,
          summary="Ask another institution (or a named doctor there) for a consultation (会诊) about a resident "
                  "of your scope, naming the records it concerns",
          body=Body(ConsultationCreateSchema, passthrough=True),
          answers=(Answer(201, "Requested", ConsultationSchema),), errors=(400, 404, 503)),
    Route("GET", "/api/v1/consultations", "list_consultations", access.CONSULTATIONS_LIST,
          lambda c: c.referrals.list_consultations(**c.query),
          summary="Your consultations: `box=inbox` asked of you, `box=sent` asked by you; by state",
          query=ConsultationQuery, answers=(Answer(200, "One page, newest first", ConsultationPageSchema),),
          errors=(400, 503)),
    Route("GET", CONSULTATION, "get_consultation", access.CONSULTATION_READ,
          lambda c: _noted(c, c.referrals.get_consultation(c.entry_id("consultation")), "consultation"),
          summary="A consultation, to either side", answers=(Answer(200, "The consultation", ConsultationSchema),),
          errors=(404, 503)),
    Route("POST", CONSULTATION + "/answer", "answer_consultation", access.CONSULTATION_ANSWER,
          lambda c: _noted(c, c.referrals.answer_consultation(c.entry_id("consultation"), c.body), "consultation"),
          summary="Answer a consultation (会诊意见 and the consultants): it closes, and the 会诊记录表 is filed",
          body=Body(ConsultationAnswerSchema), answers=(Answer(200, "Answered", ConsultationSchema),),
          errors=(400, 404, 409, 503)),
)


OPERATOR_ROUTES = area(
    "operations",
    Route("GET", "/api/v1/referral-quarantine", "list_referral_quarantine", access.REFERRAL_QUARANTINE_LIST,
          list_quarantine,
          summary="Hospitals' answers to referrals and consultations that were not applied, with the reason "
                  "(operators)", query=QuarantineQuery,
          answers=(Answer(200, "One page, newest first", QuarantinedAnswerPageSchema),), errors=(400, 503)),
    Route("GET", QUARANTINED, "show_referral_quarantined", access.REFERRAL_QUARANTINE_SHOW,
          lambda c: c.referrals.show_quarantined(c.entry_id("quarantine")),
          summary="One quarantined answer, its field errors and its body with the free text as shapes only",
          answers=(Answer(200, "The entry", QuarantinedAnswerSchema),), errors=(404, 503)),
    Route("POST", QUARANTINED + "/replay", "replay_referral_quarantined", access.REFERRAL_QUARANTINE_REPLAY,
          lambda c: c.referrals.replay_quarantined(c.entry_id("quarantine"), corrected=c.body["corrected"]),
          summary="Publish a hospital's answer again, as it was or corrected (for the institution that published it)",
          body=Body(ReplayAnswerSchema, required=False),
          answers=(Answer(200, "Replayed", QuarantinedAnswerSchema),), errors=(400, 404, 422, 503)),
    Route("POST", QUARANTINED + "/discard", "discard_referral_quarantined", access.REFERRAL_QUARANTINE_DISCARD,
          lambda c: c.referrals.discard_quarantined(c.entry_id("quarantine"), c.body["note"]),
          summary="Set a quarantined answer aside without applying it, with a note (it is kept)",
          body=Body(QuarantineDiscardSchema),
          answers=(Answer(200, "Discarded", QuarantinedAnswerSchema),), errors=(400, 404, 422, 503)),
    Route("GET", "/api/v1/referral-filings", "list_referral_filings", access.REFERRAL_FILINGS_LIST, list_filings,
          summary="The 转出单, 回转单 and 会诊记录表 the referrals service still owes the archive, with attempts and "
                  "the last error (operators)", query=FilingQuery,
          answers=(Answer(200, "One page, newest first", FilingPageSchema),), errors=(400, 503)),
    Route("POST", "/api/v1/referral-filings/retry", "retry_referral_filings", access.REFERRAL_FILINGS_RETRY,
          lambda c: c.referrals.retry_filings(filing_id=c.body["filing_id"]),
          summary="File what is owed now, whatever its pause (all, or one `filing_id`)",
          body=Body(RetryFilingsSchema, required=False),
          answers=(Answer(200, "Filed now, and what is still owed", RetrySchema),), errors=(400, 404, 503)),
)
