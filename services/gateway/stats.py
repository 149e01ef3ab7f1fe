"""Aggregate figures for supervisors and administrators: counts per village, no personal data;
and the work indicators (`indicators`: 建档率, 电子建档率, 使用率 per village and by month).

    archive_counts("110105101", villages, registry.count_archives("110105101"))
    -> {"jurisdiction": "110105101", "total": 3,
        "villages": [{"code": "110105101101", "name": "上辛堡村村民委员会", "archives": 2,
                      "by_status": {"active": 2}}, ...]}

Every village of the jurisdiction is listed, those without archives with 0. The registry counts
with one grouped query over the archive numbers of the jurisdiction (`count_archives`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta


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


# -- the work indicators (考核指标, docs domain.md §6) --------------------------------------------------


def month_ends(as_of: date, months: int) -> list[date]:
    """The last day of each of the `months` months up to `as_of`'s, that one's being `as_of`:
    `month_ends(date(2026, 3, 15), 3)` -> [2026-01-31, 2026-02-28, 2026-03-15]."""
    ends, year, month = [as_of], as_of.year, as_of.month
    for _ in range(months - 1):
        first = date(year, month, 1)
        last = first - timedelta(days=1)
        ends.append(last)
        year, month = last.year, last.month
    return sorted(ends)


def rate(part: int, whole: int | None) -> float | None:
    """`part` of `whole` in %, one decimal; None when `whole` is unknown or 0."""
    return round(100.0 * part / whole, 1) if whole else None


def _row(code: str, name: str | None, population: int | None, archives: int, electronic: int, dynamic: int) -> dict:
    return {"code": code, "name": name, "population": population, "archives": archives,
            "electronic_archives": electronic, "dynamic_archives": dynamic,
            "coverage_rate": rate(archives, population), "electronic_coverage_rate": rate(electronic, population),
            "use_rate": rate(dynamic, archives)}


def indicators(division: str, division_name: str | None, villages: list[dict], archive_months: list[dict],
               activity: dict, ends: list[date]) -> dict:
    """The indicators of `division` per village and its trend by month, from the villages (with
    their 常住人口), the registry's `archive_months` and the records' `archive_activity` at `ends`.

    建档率 = active archives ÷ 常住人口; 电子建档率 = archives with their 个人基本信息表 filed ÷ 常住人口;
    使用率 = archives with a record within the 365 days before the day ÷ active archives (the
    trend: archives built by each month's end, and dynamic then). The division's 常住人口 is the
    sum of its villages' when every village has one (else unknown: no rate)."""
    as_of = ends[-1]
    mine = [v for v in villages if v["code"].startswith(division)]
    built: dict[str, Counter] = defaultdict(Counter)
    for row in archive_months:
        built[row["village_code"]][row["month"]] += row["archives"]
    electronic = {row["village_code"]: row["archives"] for row in activity.get("electronic", [])}
    dynamic: dict[tuple[str, str], int] = {(row["village_code"], row["month_end"]): row["archives"]
                                           for row in activity.get("dynamic", [])}
    rows = []
    for village in mine:
        code = village["code"]
        rows.append(_row(code, village["name"], village.get("population"), sum(built[code].values()),
                         electronic.get(code, 0), dynamic.get((code, as_of.isoformat()), 0)))
    populations = [r["population"] for r in rows]
    population = sum(populations) if rows and None not in populations else None
    total = _row(division, division_name, population, sum(r["archives"] for r in rows),
                 sum(r["electronic_archives"] for r in rows), sum(r["dynamic_archives"] for r in rows))
    trend = []
    for end in ends:
        month = end.strftime("%Y-%m")
        archives = sum(n for v in mine for m, n in built[v["code"]].items() if m <= month)
        active = sum(dynamic.get((v["code"], end.isoformat()), 0) for v in mine)
        trend.append({"month": month, "archives": archives, "dynamic_archives": active,
                      "coverage_rate": rate(archives, population), "use_rate": rate(active, archives)})
    return {"division": division, "as_of": as_of.isoformat(), "total": total, "villages": rows, "trend": trend}
