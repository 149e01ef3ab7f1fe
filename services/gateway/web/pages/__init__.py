"""The pages, by area (one module each, a `PAGES` tuple): see `services/gateway/web/__init__.py`."""

from __future__ import annotations

from services.gateway.web.pages import (archives, auth, indicators, lifecycle, operations, prints, programmes, records,
                                        referrals, static, sync)

PAGES = (*auth.PAGES, *archives.PAGES, *records.PAGES, *programmes.PAGES, *prints.PAGES, *referrals.PAGES,
         *lifecycle.PAGES, *operations.PAGES, *sync.PAGES, *indicators.PAGES, *static.PAGES)
