"""The key-population programmes' pages: the work list (what is due, and why), the residents the
records suggest for a programme (to confirm or dismiss), and an archive's programmes (enrol, end,
resume).

Each runs the programmes' API routes (`worklist`, `list_suggestions`, `confirm_suggestion`,
`dismiss_suggestion`, `list_programmes`, `enrol`, `end_enrolment`, `resume_enrolment`) as the
signed-in user: the work list and the suggestions are the caller's institution's and
jurisdiction's because the API confines them so, and a refusal is the API's.

The work list leads to the form that satisfies an item in one click (`FOLLOW_UP_FORMS`: the
programme's service and the record type the programmes service counts for it); a resident in
both chronic programmes is offered the integrated visit (多病共管) beside it, which satisfies both.
Filters ride in the URL (kind, village, programme, "mine", the cursor): no names nor ID numbers.
"""

from __future__ import annotations

from datetime import date

from shared.errors import EhrError, NotFound, ValidationFailed

from services.gateway import access
from services.gateway.web.forms import flatten_errors, published
from services.gateway.web.page import Page, PageCall, home_for
from services.gateway.web.pages.archives import _villages

PAGE_SIZE = 25
KINDS = ("all", "urgent", "overdue", "due")
CHRONIC = ("hypertension", "type2_diabetes")
INTEGRATED = "integrated_follow_up"

# (programme, service) -> the form whose filing satisfies it (services/programmes/schedules.py:
# a follow-up naming the programme; the elderly's annual check is a 健康体检表; 中医药 its own form).
FOLLOW_UP_FORMS = {
    ("hypertension", "follow_up"): "hypertension_follow_up",
    ("type2_diabetes", "follow_up"): "diabetes_follow_up",
    ("elderly", "annual_check"): "health_exam",
    ("elderly", "tcm"): "elderly_tcm",
}


def form_for(programme: str, service: str) -> str | None:
    """The record type that satisfies `service` of `programme`, if its form is published."""
    record_type = FOLLOW_UP_FORMS.get((programme, service))
    return record_type if record_type in published() else None


def _args(c: PageCall, *names: str) -> dict:
    return {name: value for name in names if (value := (c.request.args.get(name) or "").strip())}


# -- the work list ------------------------------------------------------------------------------------


def worklist(c: PageCall):
    if not c.may(access.WORKLIST_READ):
        return c.redirect(home_for(c))
    filters = _args(c, "kind", "village_code", "programme", "cursor")
    mine = c.request.args.get("mine", "1") != "0"  # for me by default; "0": my institution's
    query = {**filters, "limit": PAGE_SIZE}
    if mine:
        query["responsible_doctor"] = c.caller.name
    try:
        page, errors = c.api("worklist", query=query), {}
    except ValidationFailed as exc:
        page, errors = {"items": [], "next": None, "today": date.today().isoformat()}, flatten_errors(exc.details)
    chronic: dict[str, set] = {}
    for item in page["items"]:
        if item["programme"] in CHRONIC:
            chronic.setdefault(item["archive_no"], set()).add(item["programme"])
    both = {no for no, programmes in chronic.items() if len(programmes) == len(CHRONIC)}
    villages = _villages(c)
    return c.render("worklist.html", page=page, filters=filters, mine=mine, errors=errors, villages=villages,
                    village_names={v["code"]: v["name"] for v in villages}, kinds=KINDS, form_for=form_for,
                    both=both, integrated=INTEGRATED if INTEGRATED in published() else None,
                    suggestions_allowed=c.may(access.SUGGESTIONS_LIST))


# -- suggestions to confirm -----------------------------------------------------------------------------


def suggestions(c: PageCall, status: int = 200, errors: dict | None = None, failed: int | None = None):
    filters = _args(c, "village_code", "programme", "cursor")
    try:
        page, query_errors = c.api("list_suggestions", query={**filters, "limit": PAGE_SIZE}), {}
    except ValidationFailed as exc:
        page, query_errors = {"items": [], "next": None}, flatten_errors(exc.details)
    villages = _villages(c)
    return c.render("suggestions.html", status=status, page=page, filters=filters, villages=villages,
                    village_names={v["code"]: v["name"] for v in villages}, errors=errors or {},
                    query_errors=query_errors, failed=failed, done=c.request.args.get("done"),
                    today=date.today().isoformat())


def _back_to_suggestions(c: PageCall, done: str):
    kept = "&".join(f"{k}={v}" for k, v in _args(c, "village_code", "programme").items())
    return c.redirect(f"/web/suggestions?done={done}" + (f"&{kept}" if kept else ""))


def confirm(c: PageCall):
    body = {"enrolled_on": c.form.get("enrolled_on")} if (c.form.get("enrolled_on") or "").strip() else {}
    try:
        c.api("confirm_suggestion", body=body, suggestion_id=c.path["suggestion_id"])
    except ValidationFailed as exc:
        return suggestions(c, 400, flatten_errors(exc.details), c.path["suggestion_id"])
    return _back_to_suggestions(c, "confirmed")


def dismiss(c: PageCall):
    try:
        c.api("dismiss_suggestion", body={"reason": (c.form.get("reason") or "").strip()},
              suggestion_id=c.path["suggestion_id"])
    except ValidationFailed as exc:
        return suggestions(c, 400, flatten_errors(exc.details), c.path["suggestion_id"])
    return _back_to_suggestions(c, "dismissed")


# -- an archive's programmes ----------------------------------------------------------------------------


def programmes_page(c: PageCall, status: int = 200, errors: dict | None = None, failed: str | None = None,
                    values: dict | None = None):
    archive_no = c.path["archive_no"]
    archive = c.api("get_archive", archive_no=archive_no)
    answer = c.api("list_programmes", archive_no=archive_no)
    enrolled = {p["programme"] for p in answer["programmes"]}
    return c.render("programmes.html", status=status, archive=archive, programmes=answer["programmes"],
                    enrollable=[p for p in ("hypertension", "type2_diabetes", "elderly") if p not in enrolled],
                    errors=errors or {}, failed=failed, values=values or {}, today=date.today().isoformat(),
                    form_for=form_for, done=c.request.args.get("done"))


def _fields(c: PageCall, *names: str) -> dict:
    return {name: value for name in names if (value := (c.form.get(name) or "").strip())}


def _change(c: PageCall, route: str, body: dict, failed: str, **path):
    try:
        c.api(route, body=body, archive_no=c.path["archive_no"], **path)
    except ValidationFailed as exc:
        return programmes_page(c, 400, flatten_errors(exc.details), failed, body)
    except EhrError as exc:
        if exc.status in (409, 422):  # already enrolled, not eligible, not ended: said beside the form
            return programmes_page(c, exc.status, {"": [exc.message]}, failed, body)
        raise
    return c.redirect(f"/web/archives/{c.path['archive_no']}/programmes?done={failed.split(':')[0]}")


def enrol(c: PageCall):
    return _change(c, "enrol", _fields(c, "programme", "enrolled_on"), "enrol")


def end(c: PageCall):
    programme = c.path["programme"]
    return _change(c, "end_enrolment", _fields(c, "reason", "date", "note"), f"end:{programme}", programme=programme)


def resume(c: PageCall):
    programme = c.path["programme"]
    return _change(c, "resume_enrolment", _fields(c, "date", "note"), f"resume:{programme}", programme=programme)


def _known_programme(c: PageCall):
    if c.path["programme"] not in ("hypertension", "type2_diabetes", "elderly"):
        raise NotFound("no such programme", {"programme": c.path["programme"][:32]})


def _checked(handler):
    def run(c: PageCall):
        _known_programme(c)
        return handler(c)
    return run


_ARCHIVE = "/web/archives/<string:archive_no>/programmes"
PAGES = (
    Page("GET", "/web/worklist", "worklist", worklist),
    Page("GET", "/web/suggestions", "suggestions", suggestions),
    Page("POST", "/web/suggestions/<int:suggestion_id>/confirm", "confirm_suggestion", confirm),
    Page("POST", "/web/suggestions/<int:suggestion_id>/dismiss", "dismiss_suggestion", dismiss),
    Page("GET", _ARCHIVE, "programmes", programmes_page),
    Page("POST", _ARCHIVE, "enrol", enrol),
    Page("POST", f"{_ARCHIVE}/<string:programme>/end", "end_enrolment", _checked(end)),
    Page("POST", f"{_ARCHIVE}/<string:programme>/resume", "resume_enrolment", _checked(resume)),
)
