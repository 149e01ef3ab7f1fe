"""Aggregate figures for supervisors and administrators: counts per village, no personal data.

    archive_counts("110105101", villages, registry.count_archives("110105101"))
    -> {"jurisdiction": "110105101", "total": 3,
        "villages": [{"code": "110105101101", "name": "上辛堡村村民委员会", "archives": 2,
                      "by_status": {"active": 2}}, ...]}

Every village of the jurisdiction is listed, those without archives with 0. The registry counts
with one grouped query over the archive numbers of the jurisdiction (`count_archives`).
"""

from __future__ import annotations

from collections import Counter, defaultdict


def archive_counts(jurisdiction: str | None, villages: list[dict], counts: list[dict]) -> dict:
    """Counts for every village under `jurisdiction` (a division code prefix; None: no villages),
    from the registry's `[{"village_code": ..., "status": ..., "archives": n}]`."""
    by_village: dict[str, Counter] = defaultdict(Counter)
    for row in counts:
        by_village[row["village_code"]][row["status"]] += row["archives"]
    rows, total = [], 0
    for village in villages:
        if not jurisdiction or not village["code"].startswith(jurisdiction):
            continue
        tally = by_village.get(village["code"], Counter())
        archives = sum(tally.values())
        total += archives
        rows.append({"code": village["code"], "name": village["name"], "archives": archives,
                     "by_status": dict(sorted(tally.items()))})
    return {"jurisdiction": jurisdiction, "total": total, "villages": rows}
