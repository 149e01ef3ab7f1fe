"""The pages, by area (one module each, a `PAGES` tuple): see `services/gateway/web/__init__.py`."""

from __future__ import annotations

from services.gateway.web.pages import archives, auth, indicators, operations, prints, programmes, records, static

PAGES = (*auth.PAGES, *archives.PAGES, *records.PAGES, *programmes.PAGES, *prints.PAGES, *operations.PAGES,
         *indicators.PAGES, *static.PAGES)
