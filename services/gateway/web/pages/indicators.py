"""The work indicators (考核指标) for those who supervise: 建档率, 电子建档率 and 使用率 per village of a
division (the jurisdiction, a township or a village) with their trend by month, and the
programmes' figures of a year per village; each a bar chart by village (the trend: by month)
drawn as inline SVG on the server (`web/charts.py`), with a table of the same numbers under it.

It runs `get_indicators` first: a role the access matrix does not give `indicators.read` (a
village or township doctor) is refused there, as the API refuses it, and sees no figures. The
programmes' figures are `programme_figures` of each village and of the division, the API's own
numbers; when the programmes service does not answer, the rest still shows.
"""

from __future__ import annotations

from shared import clock
from shared.errors import EhrError, ValidationFailed

from services.gateway import access
from services.gateway.web import charts
from services.gateway.web.forms import flatten_errors
from services.gateway.web.page import Page, PageCall

MONTHS = 12
# (programme, count, rate, what it is): the programmes' figures shown, as FiguresSchema names them
PROGRAMME_RATES = (
    ("hypertension", "standard_managed", "standard_rate", "高血压患者规范管理率"),
    ("hypertension", "controlled", "control_rate", "管理人群血压控制率"),
    ("type2_diabetes", "standard_managed", "standard_rate", "2型糖尿病患者规范管理率"),
    ("type2_diabetes", "controlled", "control_rate", "管理人群血糖控制率"),
    ("elderly", "checked", "health_management_rate", "老年人健康管理率"),
    ("elderly", "tcm", "tcm_rate", "老年人中医药健康管理率"),
)
ARCHIVE_RATES = (
    ("coverage_rate", "archives", "population", "健康档案建档率", "建档数", "常住人口"),
    ("electronic_coverage_rate", "electronic_archives", "population", "电子健康档案建档率", "电子建档数", "常住人口"),
    ("use_rate", "dynamic_archives", "archives", "健康档案使用率", "有动态记录的档案数", "建档数"),
)


def _divisions(c: PageCall, villages: list[dict]) -> list[tuple[str, str]]:
    """The divisions one may choose: the jurisdiction, its townships (named by their centres) and
    its villages."""
    scope = access.jurisdiction(c.institution) or ""
    centres = {i["division_code"]: i["name"] for i in c.api("list_institutions")
               if i["kind"] in access.CENTRES and i["division_code"].startswith(scope)}
    townships = sorted({v["code"][:9] for v in villages if len(scope) < 9})
    return ([(scope, "全辖区")] + [(t, f"{centres.get(t, t)}辖区") for t in townships]
            + [(v["code"], v["name"]) for v in villages if v["code"].startswith(scope)])


def _figures(c: PageCall, division: str, year: int) -> dict | None:
    try:
        return c.api("programme_figures", query={"division": division, "year": year})
    except EhrError as exc:
        if exc.status in (403, 404, 503):
            return None
        raise


def indicators(c: PageCall):
    division = (c.request.args.get("division") or "").strip()
    year_text = (c.request.args.get("year") or "").strip()
    query = {"months": MONTHS, **({"division": division} if division else {})}
    try:
        answer = c.api("get_indicators", query=query)   # 403 for a role without indicators.read
    except ValidationFailed as exc:
        return c.render("error.html", status=400, error=exc, details=flatten_errors(exc.details))
    year = int(year_text) if year_text.isdigit() and 2000 <= int(year_text) <= 2100 else clock.today().year
    villages = answer["villages"]
    archive_charts = [
        {"key": key, "count": count, "base": base, "title": title, "count_name": count_name, "base_name": base_name,
         "chart": charts.bars([(v["name"] or v["code"], v[key]) for v in villages])}
        for key, count, base, title, count_name, base_name in ARCHIVE_RATES]
    trend = answer["trend"]
    trends = [{"key": key, "title": f"{title}（按月）", "chart": charts.trend([(m["month"], m[key]) for m in trend])}
              for key, title in (("coverage_rate", "健康档案建档率"), ("use_rate", "健康档案使用率"))]

    total_figures = _figures(c, answer["division"], year)
    programme = None
    if total_figures is not None:
        by_village = [(v, _figures(c, v["code"], year)) for v in villages]
        programme = []
        for name, count, key, title in PROGRAMME_RATES:
            rows = [(v, (f or {}).get(name) or {}) for v, f in by_village]
            programme.append({"id": f"{name}-{key}", "programme": name, "count": count, "key": key, "title": title,
                              "rows": rows, "total": total_figures.get(name) or {},
                              "chart": charts.bars([(v["name"] or v["code"], r.get(key)) for v, r in rows])})
    return c.render("indicators.html", answer=answer, archive_charts=archive_charts, trends=trends,
                    programme=programme, year=year, divisions=_divisions(c, c.api("list_villages")),
                    division=answer["division"], years=list(range(clock.today().year, clock.today().year - 5, -1)))


PAGES = (Page("GET", "/web/indicators", "indicators", indicators),)
