"""The key-population programmes (the programmes service): an archive's enrolments (enrol, end,
resume, list with history), the work list of the caller's institution and jurisdiction, the
suggestions to confirm or dismiss, and the programme figures (counts and rates only).

Scope: an archive's programmes need the archive in the caller's own scope (its village in the
jurisdiction or its institution managing it; a grant does not open them); a suggestion is
confirmed or dismissed only when its archive is in scope (404 otherwise, as for an unknown one);
the work list and the suggestions are confined to the caller's jurisdiction and institution;
figures to a division or institution within the jurisdiction.
"""

from __future__ import annotations

from marshmallow import fields

from shared.contracts.programmes import (
    ArchiveProgrammesSchema, ConfirmSchema, DismissSchema, EndSchema, EnrolSchema, FiguresQuerySchema, FiguresSchema,
    ResumeSchema, ProgrammeSuggestionPageSchema, SuggestionQuerySchema, ProgrammeSuggestionSchema, WorklistPageSchema,
    WorklistItemSchema, WorklistQuerySchema,
)
from shared.errors import NotFound
from shared import clock

from services.gateway import access
from services.gateway.routes.route import NEXT_PAGE, Answer, Body, Call, Route, area, documented

WorklistQuery = documented(WorklistQuerySchema, cursor=NEXT_PAGE)
SuggestionQuery = documented(SuggestionQuerySchema, cursor=NEXT_PAGE)
NOTHING = {"items": [], "next": None}  # the page of a caller with no jurisdiction nor institution


def _scope(c: Call) -> dict | None:
    scope = c.gate.scope()
    return scope if scope["prefix"] or scope["institution_code"] else None


class WorklistEntrySchema(WorklistItemSchema):
    """A work list item as the API answers it: the programmes service's, with the resident's name
    and masked ID number as the registry answers them (null when the registry does not know the
    number inside the caller's scope)."""

    name = fields.Str(allow_none=True, metadata={"example": "张秀英"})
    id_number_masked = fields.Str(allow_none=True, metadata={"example": "**************002X"})


class WorklistAnswerSchema(WorklistPageSchema):
    items = fields.List(fields.Nested(WorklistEntrySchema))


def with_residents(c: Call, page: dict, scope: dict) -> dict:
    """`page` with each item's name and masked ID number: the page's archive numbers asked of the
    registry in one call (`archives_by_numbers`), confined to the caller's scope as a search is."""
    numbers = sorted({item["archive_no"] for item in page["items"]})
    found = {a["archive_no"]: a for a in c.registry.archives_by_numbers(numbers, scope=scope)} if numbers else {}
    items = [{**item, "name": found.get(item["archive_no"], {}).get("name"),
              "id_number_masked": found.get(item["archive_no"], {}).get("id_number_masked")}
             for item in page["items"]]
    return {**page, "items": items}


def worklist(c: Call):
    scope = _scope(c)
    if scope is None:
        return {"today": clock.today().isoformat(), **NOTHING}
    return with_residents(c, c.programmes.worklist(scope, **c.query), scope)


def list_suggestions(c: Call):
    scope = _scope(c)
    return c.programmes.list_suggestions(scope, **c.query) if scope else NOTHING


def _suggestion_in_scope(c: Call) -> int:
    """The path's suggestion, if its archive lies in the caller's own scope; else 404."""
    suggestion_id = c.entry_id("suggestion")
    suggestion = c.programmes.get_suggestion(suggestion_id)
    c.gate.note(archive_no=suggestion["archive_no"])
    c.gate.archive_in_scope(suggestion["archive_no"], "suggestion_id")
    return suggestion_id


def confirm_suggestion(c: Call):
    return c.programmes.confirm_suggestion(_suggestion_in_scope(c), c.body)


def dismiss_suggestion(c: Call):
    return c.programmes.dismiss_suggestion(_suggestion_in_scope(c), c.body["reason"])


def programme_figures(c: Call):
    """Figures of a division (default: the jurisdiction) or of an institution within it."""
    jurisdiction = c.gate.jurisdiction()
    division = c.query.get("division") or jurisdiction
    if not jurisdiction or not division.startswith(jurisdiction):
        raise NotFound("no such division in your jurisdiction", {"division": division})
    code = c.query.get("institution_code")
    if code:
        known = {i["code"]: i for i in c.registry.list_institutions()}
        if not (known.get(code, {}).get("division_code") or "").startswith(jurisdiction):
            raise NotFound("no such institution in your jurisdiction", {"institution_code": code})
    return c.programmes.programme_figures({"prefix": division, "institution_code": code},
                                          c.query.get("year") or clock.today().year)


ARCHIVE = "/api/v1/archives/<string:archive_no>/programmes"
SUGGESTION = "/api/v1/programme-suggestions/<int:suggestion_id>"

ROUTES = area(
    "programmes",
    Route("POST", ARCHIVE, "enrol", access.PROGRAMME_ENROL,
          lambda c: (201, c.programmes.enrol(c.archive["archive_no"], c.body)),
          summary="Enrol the resident in a key-population programme (纳入管理): hypertension, type2_diabetes, "
                  "elderly; the managing institution and 责任医生 default to the archive's",
          body=Body(EnrolSchema, passthrough=True),
          answers=(Answer(201, "Enrolled: the archive's programmes", ArchiveProgrammesSchema),),
          errors=(400, 404, 409, 422, 503)),
    Route("GET", ARCHIVE, "list_programmes", access.PROGRAMMES_READ,
          lambda c: c.programmes.list_programmes(c.archive["archive_no"]),
          summary="The archive's programmes, each with its schedules (what is due and why) and its history",
          answers=(Answer(200, "The programmes", ArchiveProgrammesSchema),), errors=(400, 404, 503)),
    Route("POST", ARCHIVE + "/<string:programme>/end", "end_enrolment", access.PROGRAMME_END,
          lambda c: c.programmes.end_enrolment(c.archive["archive_no"], c.path["programme"], c.body),
          summary="End an enrolment: death, migration_out, loss_to_follow_up, cured or not_eligible, with the date",
          body=Body(EndSchema, passthrough=True),
          answers=(Answer(200, "Ended: the archive's programmes", ArchiveProgrammesSchema),),
          errors=(400, 404, 422, 503)),
    Route("POST", ARCHIVE + "/<string:programme>/resume", "resume_enrolment", access.PROGRAMME_RESUME,
          lambda c: c.programmes.resume_enrolment(c.archive["archive_no"], c.path["programme"], c.body),
          summary="Resume an ended enrolment (eligibility is checked again)",
          body=Body(ResumeSchema, required=False, passthrough=True),
          answers=(Answer(200, "Resumed: the archive's programmes", ArchiveProgrammesSchema),),
          errors=(400, 404, 422, 503)),
    Route("GET", "/api/v1/worklist", "worklist", access.WORKLIST_READ, worklist,
          summary="What is due: urgent referrals first, then overdue (with the days) and due this week, each "
                  "saying why, with the resident's name and masked ID number; your institution's and "
                  "jurisdiction's, by doctor, village and programme",
          query=WorklistQuery, answers=(Answer(200, "One page", WorklistAnswerSchema),), errors=(400, 503)),
    Route("GET", "/api/v1/programme-suggestions", "list_suggestions", access.SUGGESTIONS_LIST, list_suggestions,
          summary="Residents the records suggest for a programme (a hospital diagnosis, a 健康体检表's readings), "
                  "with the evidence, to confirm or dismiss", query=SuggestionQuery,
          answers=(Answer(200, "One page, newest first", ProgrammeSuggestionPageSchema),), errors=(400, 503)),
    Route("POST", SUGGESTION + "/confirm", "confirm_suggestion", access.SUGGESTION_CONFIRM, confirm_suggestion,
          summary="Confirm a suggestion: the resident is enrolled", body=Body(ConfirmSchema, required=False,
                                                                              passthrough=True),
          answers=(Answer(200, "Enrolled: the archive's programmes", ArchiveProgrammesSchema),),
          errors=(400, 404, 409, 422, 503)),
    Route("POST", SUGGESTION + "/dismiss", "dismiss_suggestion", access.SUGGESTION_DISMISS, dismiss_suggestion,
          summary="Dismiss a suggestion, with the reason", body=Body(DismissSchema),
          answers=(Answer(200, "Dismissed", ProgrammeSuggestionSchema),), errors=(400, 404, 422, 503)),
    Route("GET", "/api/v1/programme-figures", "programme_figures", access.PROGRAMME_FIGURES, programme_figures,
          summary="Programme figures of a year: under management, 规范管理率, 血压/血糖控制率, 老年人健康管理率, "
                  "老年人中医药健康管理率 (counts and rates only)",
          query=FiguresQuerySchema, answers=(Answer(200, "The figures", FiguresSchema),), errors=(400, 404, 503)),
)
