"""Finding residents, creating an archive, and the archive's page.

Search posts its filters (ID numbers and names stay out of URLs and access logs, as with
`POST /api/v1/archives/search`), and so does each next page (the cursor rides along). Creating an
archive runs `create_archive`; its 409 with possible duplicates becomes a choice: open one of the
candidates, or post the same form again with `confirm_new` ("this is a new person"). The archive's
page runs `get_archive`, `archive_summary`, `list_records`, `list_revisions` and
`list_programmes`: each an audited API call, each refused as the API refuses it; the
institutions' names come from the gateway's directory of them (reference data)."""

from __future__ import annotations

import re
from datetime import date

from shared.errors import Conflict, EhrError, ValidationFailed

from services.gateway import access
from services.gateway.web import settlement
from services.gateway.web.forms import flatten_errors, form_names
from services.gateway.web.page import Page, PageCall

SEARCH_FIELDS = ("query", "id_number", "archive_no", "birth_date", "village_code")
PAGE_SIZE = 20
CREATE_FIELDS = ("name", "sex", "birth_date", "id_type", "id_number", "phone", "village_code", "institution_code",
                 "residence_type", "ethnicity", "ethnicity_name", "archive_source", "consent", "consent_date",
                 "archive_date", "current_address", "registered_address", "responsible_doctor", "employer",
                 "contact_name", "contact_phone")
TIMELINE_FILTERS = ("record_type", "institution_code", "cursor")


def _villages(c: PageCall) -> list[dict]:
    """The villages of the caller's jurisdiction, for the choices (all when it has none)."""
    villages = c.api("list_villages")
    scope = access.jurisdiction(c.institution)
    return [v for v in villages if not scope or v["code"].startswith(scope)]


def _filters(form) -> dict:
    filters = {}
    query = (form.get("query") or "").strip()
    if query:
        # letters only: a pinyin prefix (zhangxiu); anything else: the name
        if re.fullmatch(r"[A-Za-z ]+", query):
            filters["pinyin"] = query.replace(" ", "").lower()
        else:
            filters["name"] = query
    for name in ("id_number", "archive_no", "birth_date", "village_code"):
        value = (form.get(name) or "").strip()
        if value:
            filters[name] = value.upper() if name == "id_number" else value
    return filters


def search_form(c: PageCall):
    return c.render("search.html", villages=_villages(c), values={}, errors={}, page=None)


def search(c: PageCall):
    values = {name: c.form.get(name, "") for name in SEARCH_FIELDS}
    filters = _filters(c.form)
    if not filters:
        return c.render("search.html", status=400, villages=_villages(c), values=values, page=None,
                        errors={"query": ["请至少填写一项查询条件。"]})
    body = {**filters, "limit": PAGE_SIZE}
    if c.form.get("cursor"):
        body["cursor"] = c.form["cursor"]
    try:
        page = c.api("search_archives", body=body)
    except ValidationFailed as exc:
        errors = flatten_errors(exc.details)
        if "name" in errors or "pinyin" in errors:
            errors["query"] = errors.pop("name", []) + errors.pop("pinyin", [])
        return c.render("search.html", status=400, villages=_villages(c), values=values, page=None, errors=errors)
    return c.render("search.html", villages=_villages(c), values=values, errors={}, page=page)


def _create_defaults(c: PageCall) -> dict:
    today = date.today().isoformat()
    return {"id_type": "01", "institution_code": c.caller.institution_code, "residence_type": "1",
            "ethnicity": "01", "archive_source": "2", "consent": "given", "consent_date": today,
            "archive_date": today,
            "responsible_doctor": c.caller.name if c.may(access.RECORD_CREATE) else ""}


def new_form(c: PageCall):
    return c.render("archive_new.html", villages=_villages(c), values=_create_defaults(c), errors={},
                    duplicates=None, existing=None)


def create(c: PageCall):
    values = {name: (c.form.get(name) or "").strip() for name in CREATE_FIELDS}
    body = {name: value for name, value in values.items() if value}
    if c.form.get("confirm_new") == "true":
        body["confirm_new"] = True
    try:
        archive = c.api("create_archive", body=body)
    except ValidationFailed as exc:
        return c.render("archive_new.html", status=400, villages=_villages(c), values=values,
                        errors=flatten_errors(exc.details), duplicates=None, existing=None)
    except Conflict as exc:
        return c.render("archive_new.html", status=409, villages=_villages(c), values=values, errors={},
                        duplicates=exc.details.get("possible_duplicates"),
                        existing=exc.details.get("archive_no"), conflict=exc)
    return c.redirect(f"/web/archives/{archive['archive_no']}?created=1")


def _programmes(c: PageCall) -> dict | None:
    """The archive's programmes for its page, or None when they are not shown here: the role may
    not read them, the archive is open to the caller only by a grant (the API answers 404), or
    the programmes service does not answer (the rest of the archive still shows)."""
    if not c.may(access.PROGRAMMES_READ):
        return None
    try:
        return c.api("list_programmes", archive_no=c.path["archive_no"])
    except EhrError:
        return None


def _institution_names(c: PageCall, codes: set[str]) -> dict[str, str]:
    """Every institution's name by code, for those who may list them (`list_institutions`' own
    rule): from the gateway's directory of the registry's institutions (`shared.institutions`,
    fetched again when one of `codes` is missing and every 5 minutes), not an API call per page;
    they are reference data, the same for every archive."""
    if not c.may(access.INSTITUTIONS_LIST):
        return {}
    every = c.service.gate.provider.institutions.every(c.service.registry.list_institutions, codes)
    return {code: institution["name"] for code, institution in every.items()}


def archive_page(c: PageCall):
    archive_no = c.path["archive_no"]
    archive = c.api("get_archive", archive_no=archive_no)  # 404 out of scope, as the API answers
    query = {name: c.request.args.get(name) for name in TIMELINE_FILTERS if c.request.args.get(name)}

    def timeline_page():
        try:
            return c.api("list_records", query={**query, "limit": PAGE_SIZE}, archive_no=archive_no), {}
        except ValidationFailed as exc:
            return {"items": [], "next": None}, flatten_errors(exc.details)

    # the rest at once (bench web: their sum was most of the page's time)
    summary, (timeline, timeline_errors), revisions, programmes = c.together(
        lambda: c.api("archive_summary", archive_no=archive_no),
        timeline_page,
        lambda: c.api("list_revisions", archive_no=archive_no) if c.may(access.REVISIONS_LIST) else [],
        lambda: _programmes(c))
    institutions = _institution_names(c, {archive["institution_code"]})
    # an insurance settlement reads as one line on the timeline, the 首页's `insurance` as figures
    briefs = {e["record_id"]: settlement.brief(e.get("content"), institutions) for e in timeline["items"]
              if e.get("record_type") == settlement.RECORD_TYPE}
    return c.render("archive.html", archive=archive, summary=summary, timeline=timeline, filters=query,
                    timeline_errors=timeline_errors, revisions=revisions,
                    institutions=institutions,
                    forms=form_names(), programmes=programmes, created=c.request.args.get("created"),
                    filed=c.request.args.get("filed"), briefs=briefs,
                    insurance=settlement.summary_view(summary.get("insurance"), institutions))


PAGES = (
    Page("GET", "/web/archives", "search_form", search_form),
    Page("POST", "/web/archives", "search", search),
    Page("GET", "/web/archives/new", "new_archive_form", new_form),
    Page("POST", "/web/archives/new", "create_archive", create),
    Page("GET", "/web/archives/<string:archive_no>", "archive", archive_page),
)
