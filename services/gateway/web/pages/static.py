"""The pages' own static files (`web/static/`: CSS, the small script, their licence), served by
the gateway itself: a township's network may have no internet, so nothing comes from a CDN."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from werkzeug.security import safe_join
from werkzeug.wrappers import Response

from shared.errors import NotFound

from services.gateway.web.page import Page, PageCall

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def static_file(c: PageCall):
    path = safe_join(str(STATIC_DIR), c.path["filename"])
    if path is None or not Path(path).is_file():
        raise NotFound("no such file", {"filename": c.path["filename"][:64]})
    mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
    if mimetype.startswith("text/") or mimetype == "application/javascript":
        mimetype += "; charset=utf-8"
    response = Response(Path(path).read_bytes(), content_type=mimetype)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


PAGES = (Page("GET", "/web/static/<path:filename>", "static", static_file, public=True),)
