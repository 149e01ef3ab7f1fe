"""The printed documents: the 居民健康档案信息卡 (the card given to the resident) and the 居民健康
档案封面 (the archive's cover), each as a page to print from the browser (HTML with A4 print CSS)
and as a PDF (WeasyPrint).

The content is the API's: the card's `get_card` (its front and back, as `GET /api/v1/archives/
{no}/card` answers), the cover's `get_archive` with the card's back for the names of the village
and the institution. Each print is an audited API call whose entry names the archive and what was
printed (`print:card`, `print:cover`), so the audit trail says who printed which document of whom.

The PDF is set with the CJK font Debian installs (fonts-noto-cjk: `Noto Sans CJK SC`, `Noto Serif
CJK SC`; scripts/bootstrap and the Dockerfile install it) through fontconfig. Nothing is fetched
while rendering: the print stylesheet is read from web/static, and any other URL in the document
is refused (`_no_fetch`), so a township without internet prints the same document.
"""

from __future__ import annotations

from pathlib import Path

from werkzeug.wrappers import Response

from shared.errors import NotFound

from services.gateway import access
from services.gateway.web.page import Page, PageCall, templates

STATIC = Path(__file__).resolve().parent.parent / "static"
PRINT_CSS = STATIC / "print.css"
DOCUMENTS = {"card": "居民健康档案信息卡", "cover": "居民健康档案封面"}


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


CONTENT = {"card": _card, "cover": _cover}


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
