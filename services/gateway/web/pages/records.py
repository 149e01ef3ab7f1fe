"""A record with its revisions, entering a form, amending it and marking it entered in error.

The form pages are drawn from the published schemas (`web/forms.py`): `/web/archives/{no}/forms/
{record_type}` exists for every form in `shared/schemas/forms/`. A posted form is read back into
the record's content and filed with `file_record` (or `amend_record`): the records service checks
it as for any API call, and its field errors come back beside the fields they name (400). What the
filing points out (its `flags`: an urgent referral; its `suggestions`: a condition found that
belongs in the 个人基本信息表's 既往史) is shown on the page that answers the filing.

A form laid out as its paper form (`LAYOUTS`: the 中医药健康管理服务记录表, `web/tcm.py`) has its
own template and reading; filed, it leads to the record, which shows what the server judged.

A follow-up form of one chronic programme, opened for a resident enrolled in both, offers the
integrated visit (多病共管) instead: one record satisfies both programmes."""

from __future__ import annotations

from shared.errors import EhrError, NotFound, ValidationFailed

from services.gateway import access
import services.gateway.web.forms as forms
import services.gateway.web.settlement as settlement
import services.gateway.web.tcm as tcm
from services.gateway.web.page import Page, PageCall

LAYOUTS = {tcm.RECORD_TYPE: tcm}  # record_type -> its paper layout: TEMPLATE, read(form), context(content)


def _tree(record_type: str) -> forms.Field:
    try:
        return forms.form_tree(record_type)
    except KeyError:
        raise NotFound("no such form", {"record_type": record_type}) from None


def _form_page(c: PageCall, archive: dict, record_type: str, content: dict, errors: dict, status: int = 200,
               record: dict | None = None, reason: str = "", integrated: str | None = None):
    tree = _tree(record_type)
    layout = LAYOUTS.get(record_type)
    return c.render(layout.TEMPLATE if layout else "form.html", status=status, archive=archive,
                    record_type=record_type, tree=tree, title=forms.labels.title(record_type), content=content,
                    errors=errors, unplaced=forms.unplaced(errors, tree), record=record, reason=reason,
                    value_at=forms.value_at, shown=forms.shown, integrated=integrated,
                    **(layout.context(content) if layout else {}))


def _read(record_type: str, form) -> dict:
    layout = LAYOUTS.get(record_type)
    return layout.read(form) if layout else forms.read_content(record_type, form)


SINGLE_CHRONIC = {"hypertension_follow_up": "type2_diabetes", "diabetes_follow_up": "hypertension"}
INTEGRATED = "integrated_follow_up"


def _offer_integrated(c: PageCall, record_type: str) -> bool:
    """Whether the resident is enrolled in the other chronic programme too (then the integrated
    form is offered). Not knowing (the role may not read programmes, the service does not answer)
    offers nothing."""
    other = SINGLE_CHRONIC.get(record_type)
    if other is None or INTEGRATED not in forms.published() or not c.may(access.PROGRAMMES_READ):
        return False
    try:
        answer = c.api("list_programmes", archive_no=c.path["archive_no"])
    except EhrError:
        return False
    return any(p["programme"] == other and p["status"] == "active" for p in answer["programmes"])


def new_form(c: PageCall):
    _tree(c.path["record_type"])
    archive = c.api("get_archive", archive_no=c.path["archive_no"])
    response = _form_page(c, archive, c.path["record_type"], {}, {},
                          integrated=INTEGRATED if _offer_integrated(c, c.path["record_type"]) else None)
    return response


def file_form(c: PageCall):
    record_type, archive_no = c.path["record_type"], c.path["archive_no"]
    content = _read(record_type, c.form)
    try:
        record = c.api("file_record", body={"record_type": record_type, "content": content}, archive_no=archive_no)
    except ValidationFailed as exc:
        archive = c.api("get_archive", archive_no=archive_no)
        return _form_page(c, archive, record_type, content, forms.flatten_errors(exc.details), status=400)
    if record.get("suggestions") or record.get("flags"):
        # what the filing points out is said now, once: the next page would not know it
        archive = c.api("get_archive", archive_no=archive_no)
        return c.render("filed.html", archive=archive, record=record, forms=forms.form_names())
    if record_type in LAYOUTS:  # what the server judged is shown with the record
        return c.redirect(f"/web/archives/{archive_no}/records/{record['record_id']}?filed=1")
    return c.redirect(f"/web/archives/{archive_no}?filed={record['record_id']}#timeline")


def _record(c: PageCall) -> dict:
    return c.api("get_record", archive_no=c.path["archive_no"], record_id=c.path["record_id"])


def _settlement_views(c: PageCall, record: dict) -> tuple[dict, dict]:
    """An insurance settlement's revisions as they read ({revision: `settlement.view`}) and the
    institutions' names (the insurer's, the one visited); nothing for another record."""
    if record["record_type"] != settlement.RECORD_TYPE:
        return {}, {}
    names = {i["code"]: i["name"] for i in c.api("list_institutions")} if c.may(access.INSTITUTIONS_LIST) else {}
    return {rev["revision"]: settlement.view(rev["content"], names) for rev in record["revisions"]}, names


def record_page(c: PageCall, status: int = 200, errors: dict | None = None):
    archive = c.api("get_archive", archive_no=c.path["archive_no"])
    record = _record(c)
    tree = forms.form_tree(record["record_type"]) if record["record_type"] in forms.published() else None
    settlements, institutions = _settlement_views(c, record)
    return c.render("record.html", status=status, archive=archive, record=record, tree=tree,
                    errors=errors or {}, value_at=forms.value_at, shown=forms.shown,
                    amendable=tree is not None and record["status"] != "entered_in_error"
                    and c.may(access.RECORD_AMEND),
                    markable=record["status"] != "entered_in_error" and c.may(access.RECORD_MARK_IN_ERROR),
                    filed=c.request.args.get("filed"), settlements=settlements, institutions=institutions,
                    judged=tcm.judged(record["revisions"][-1]["content"] if record["record_type"] == tcm.RECORD_TYPE
                                      and record["revisions"] else None))


def mark_in_error(c: PageCall):
    try:
        c.api("mark_entered_in_error", body={"reason": (c.form.get("reason") or "").strip()},
              archive_no=c.path["archive_no"], record_id=c.path["record_id"])
    except ValidationFailed as exc:
        return record_page(c, status=400, errors=forms.flatten_errors(exc.details))
    return c.redirect(f"/web/archives/{c.path['archive_no']}/records/{c.path['record_id']}")


def amend_form(c: PageCall):
    archive = c.api("get_archive", archive_no=c.path["archive_no"])
    record = _record(c)
    current = record["revisions"][-1]["content"] if record["revisions"] else {}
    return _form_page(c, archive, record["record_type"], current, {}, record=record)


def amend(c: PageCall):
    archive_no = c.path["archive_no"]
    record = _record(c)
    content = _read(record["record_type"], c.form)
    reason = (c.form.get("reason") or "").strip()
    try:
        c.api("amend_record", body={"content": content, "reason": reason}, archive_no=archive_no,
              record_id=c.path["record_id"])
    except ValidationFailed as exc:
        archive = c.api("get_archive", archive_no=archive_no)
        return _form_page(c, archive, record["record_type"], content, forms.flatten_errors(exc.details),
                          status=400, record=record, reason=reason)
    return c.redirect(f"/web/archives/{archive_no}/records/{c.path['record_id']}")


_RECORD = "/web/archives/<string:archive_no>/records/<string:record_id>"
PAGES = (
    Page("GET", "/web/archives/<string:archive_no>/forms/<string:record_type>", "form", new_form),
    Page("POST", "/web/archives/<string:archive_no>/forms/<string:record_type>", "file_form", file_form),
    Page("GET", _RECORD, "record", record_page),
    Page("POST", f"{_RECORD}/entered-in-error", "mark_in_error", mark_in_error),
    Page("GET", f"{_RECORD}/amend", "amend_form", amend_form),
    Page("POST", f"{_RECORD}/amend", "amend", amend),
)
