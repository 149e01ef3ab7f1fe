"""Aggregate figures for supervisors and administrators: counts per village, no personal data.

    archive_counts("110105101", villages, search=registry.search_archives)
    -> {"jurisdiction": "110105101", "total": 3,
        "villages": [{"code": "110105101101", "name": "上辛堡村村民委员会", "archives": 2,
                      "by_status": {"active": 2}}, ...]}

The registry has no counting call yet, so the counts page through `search_archives` by village
(200 archives a call) and keep nothing but the tallies. That is fine for a township or a small
county; a county with a million residents wants a `count_archives` RPC in the registry, which
this function would then call instead.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

PAGE = 200


def _count_village(village_code: str, search: Callable[..., dict]) -> Counter:
    counts: Counter = Counter()
    cursor = None
    while True:
        page = search({"village_code": village_code}, limit=PAGE, cursor=cursor)
        counts.update(item.get("status") or "unknown" for item in page["items"])
        cursor = page.get("next")
        if not cursor:
            return counts


def archive_counts(jurisdiction: str | None, villages: list[dict], search: Callable[..., dict]) -> dict:
    """Counts for every village under `jurisdiction` (a division code prefix; None: no villages)."""
    rows, total = [], 0
    for village in villages:
        if not jurisdiction or not village["code"].startswith(jurisdiction):
            continue
        counts = _count_village(village["code"], search)
        archives = sum(counts.values())
        total += archives
        rows.append({"code": village["code"], "name": village["name"], "archives": archives,
                     "by_status": dict(sorted(counts.items()))})
    return {"jurisdiction": jurisdiction, "total": total, "villages": rows}
