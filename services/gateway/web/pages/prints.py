"""The printed documents: the 居民健康档案信息卡 (the card given to the resident), the 居民健康
档案封面 (the archive's cover) and the full copy of the archive for the resident (`archive`: the
个人基本信息表 with the identity and the cover's lines, the latest 健康体检表, and the follow-ups of
the last year, each printed with its form's labels, the archive number and the page number on
every page), each as a page to print from the browser (HTML with A4 print CSS) and as a PDF
(WeasyPrint).

The content is the API's: the card's `get_card` (its front and back, as `GET /api/v1/archives/
{no}/card` answers), the cover's `get_archive` with the card's back for the names of the village
and the institution. Each print is an audited API call whose entry names the archive and what was
printed (`print:card`, `print:cover`, `print:archive`), so the audit trail says who printed which
document of whom. The full copy runs the archive's read routes (`get_archive`, `list_records` by
form, `get_card` for the village's and institution's names when the role reads cards): a role or
an archive those refuse cannot be printed, and the ID numbers are as the API gives them (masked).

The PDF is set with the CJK font Debian installs (fonts-noto-cjk: `Noto Sans CJK SC`, `Noto Serif
CJK SC`; scripts/bootstrap and the Dockerfile install it) through fontconfig. Nothing is fetched
while rendering: the print stylesheet is read from web/static, and any other URL in the document
is refused (`_no_fetch`), so a township without internet prints the same document.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from werkzeug.wrappers import Response

from shared import clock
from shared.errors import NotFound

from services.gateway import access
import services.gateway.web.forms as forms
from services.gateway.web.page import Page, PageCall, templates

STATIC = Path(__file__).resolve().parent.parent / "static"
PRINT_CSS = STATIC / "print.css"
DOCUMENTS = {"card": "居民健康档案信息卡", "cover": "居民健康档案封面", "archive": "居民健康档案（居民留存）"}
# What the copy gives of the last year: the programmes' follow-ups and the elderly's assessments.
FOLLOW_UPS = ("hypertension_follow_up", "diabetes_follow_up", "integrated_follow_up", "elderly_self_care",
              "elderly_tcm")
COPY_PAGE = 200  # records of one form asked at once (shared.paging.MAX_PAGE)


def _no_fetch(url: str, *args, **kwargs):
    """WeasyPrint's URL fetcher: nothing from the network, nor from disk, while printing."""
    raise ValueError(f"printing fetches nothing: {url[:80]}")


def _card(c: PageCall) -> dict:
    return {"card": c.api("get_card", archive_no=c.path["archive_no"], audit_target="print:card")}


def _cover(c: PageCall) -> dict:
    archive = c.api("get_archive", archive_no=c.path["archive_no"], audit_target="print:cover")
    back = c.api("get_card", archive_no=c.path["archive_no"], audit_target="print:cover")["back"] \
        if c.may(access.CARD_READ) else {}
    return {"archive": archive, "back": back}


def _records(c: PageCall, record_type: str, since: str | None = None, latest: bool = False) -> list[dict]:
    """The archive's records of one form that stand (not entered in error), newest first: the
    latest only, or every one since `since` (each page an audited call)."""
    query = {"record_type": record_type, "limit": COPY_PAGE}
    if since:
        query["since"] = since
    found: list[dict] = []
    while True:
        page = c.api("list_records", query=query, archive_no=c.path["archive_no"], audit_target="print:archive")
        found += [e for e in page["items"] if e.get("status") != "entered_in_error"]
        if (latest and found) or not page.get("next"):
            return found[:1] if latest else found
        query["cursor"] = page["next"]


def _printed(entry: dict) -> dict:
    """A record as the copy prints it: its form's fields with their labels (`record_content.html`)."""
    record_type = entry["record_type"]
    tree = forms.form_tree(record_type) if record_type in forms.published() else None
    return {**entry, "title": forms.labels.title(record_type), "tree": tree, "content": entry.get("content") or {}}


def _copy(c: PageCall) -> dict:
    archive = c.api("get_archive", archive_no=c.path["archive_no"], audit_target="print:archive")
    back = c.api("get_card", archive_no=c.path["archive_no"], audit_target="print:archive")["back"] \
        if c.may(access.CARD_READ) else {}
    year_ago = clock.today() - timedelta(days=365)
    since = f"{year_ago.isoformat()}T00:00:00+08:00"
    personal = _records(c, "personal_info", latest=True)
    exam = _records(c, "health_exam", latest=True)
    follow_ups = sorted((e for t in FOLLOW_UPS if t in forms.published() for e in _records(c, t, since=since)),
                        key=lambda e: (e["occurred_at"], e["record_id"]))
    return {"archive": archive, "back": back, "since": year_ago.isoformat(), "printed_on": clock.today().isoformat(),
            "personal": _printed(personal[0]) if personal else None, "exam": _printed(exam[0]) if exam else None,
            "follow_ups": [_printed(e) for e in follow_ups], "value_at": forms.value_at, "shown": forms.shown}


CONTENT = {"card": _card, "cover": _cover, "archive": _copy}


def grouped_archive_no(archive_no: str) -> list[str]:
    """The 17-digit number in the cover's boxes: 6 (county) - 3 (township) - 3 (village) - 5."""
    if len(archive_no) != 17:
        return [archive_no]
    return [archive_no[:6], archive_no[6:9], archive_no[9:12], archive_no[12:]]


def _html(c: PageCall, document: str, for_pdf: bool) -> str:
    content = CONTENT[document](c)
    return templates.get_template(f"print_{document}.html").render(
        title=DOCUMENTS[document], document=document, archive_no=c.path["archive_no"], for_pdf=for_pdf,
        grouped=grouped_archive_no, **content)


def print_page(c: PageCall):
    document = c.path["document"]
    if document not in DOCUMENTS:
        raise NotFound("no such document", {"document": document[:32]})
    return Response(_html(c, document, for_pdf=False), mimetype="text/html")


def print_pdf(c: PageCall):
    document = c.path["document"]
    if document not in DOCUMENTS:
        raise NotFound("no such document", {"document": document[:32]})
    from weasyprint import CSS, HTML  # imported when first printing: Pango is loaded then, not at start

    pdf = HTML(string=_html(c, document, for_pdf=True), url_fetcher=_no_fetch).write_pdf(
        stylesheets=[CSS(filename=str(PRINT_CSS), url_fetcher=_no_fetch)])
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{document}-{c.path["archive_no"]}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


_PRINT = "/web/archives/<string:archive_no>/print/<string:document>"
PAGES = (
    Page("GET", _PRINT, "print", print_page),
    Page("GET", f"{_PRINT}.pdf", "print_pdf", print_pdf),
)
