"""Reference data and figures: villages, institutions, and archives counted per village of the
caller's jurisdiction (no personal data)."""

from __future__ import annotations

from shared import clock
from shared.contracts.gateway import IndicatorsQuerySchema, IndicatorsSchema, StatsSchema
from shared.contracts.registry import DivisionSchema, InstitutionSchema
from shared.errors import NotFound

from services.gateway import access, stats
from services.gateway.routes.route import Answer, Call, Route, area


def get_stats(c: Call):
    jurisdiction = c.gate.jurisdiction()
    counts = c.registry.count_archives(jurisdiction) if jurisdiction else []
    return stats.archive_counts(jurisdiction, c.registry.list_divisions(level="village"), counts)


def get_indicators(c: Call):
    """The work indicators of a division within the jurisdiction (default: the jurisdiction)."""
    jurisdiction = c.gate.jurisdiction()
    division = c.query.get("division") or jurisdiction
    if not jurisdiction or not division or not division.startswith(jurisdiction):
        raise NotFound("no such division in your jurisdiction", {"division": division})
    divisions = c.registry.list_divisions()
    known = {d["code"]: d for d in divisions}
    if division not in known:
        raise NotFound("no such division in your jurisdiction", {"division": division})
    ends = stats.month_ends(clock.today(), c.query["months"])
    villages = [d for d in divisions if d["level"] == "village"]
    return stats.indicators(division, known[division]["name"], villages, c.registry.archive_months(division),
                            c.records.archive_activity(division, [e.isoformat() for e in ends]), ends)


ROUTES = area(
    "reference",
    Route("GET", "/api/v1/villages", "list_villages", access.VILLAGES_LIST,
          lambda c: c.registry.list_divisions(level="village"),
          summary="Villages and residents' committees the suite knows",
          answers=(Answer(200, "All villages", DivisionSchema, many=True),), errors=(503,)),
    Route("GET", "/api/v1/institutions", "list_institutions", access.INSTITUTIONS_LIST,
          lambda c: c.registry.list_institutions(),
          summary="Institutions the suite knows",
          answers=(Answer(200, "All institutions", InstitutionSchema, many=True),), errors=(503,)),
    Route("GET", "/api/v1/stats", "get_stats", access.STATS_READ, get_stats,
          summary="Archives per village of your jurisdiction: counts only, no personal data",
          answers=(Answer(200, "The counts", StatsSchema),), errors=(503,)),
    Route("GET", "/api/v1/indicators", "get_indicators", access.INDICATORS_READ, get_indicators,
          summary="Work indicators (考核指标) of a division of your jurisdiction: 建档率, 电子建档率 and 使用率 per "
                  "village, and their trend by month (counts and rates only)",
          description="建档率 = active archives ÷ 常住人口 (the divisions' `population`, from the reference data); "
                      "电子建档率 = archives whose 个人基本信息表 is filed ÷ 常住人口; 使用率 = archives with a service "
                      "or linked medical record in the 365 days before the day ÷ active archives. A rate is null "
                      "when its denominator is unknown or 0.",
          query=IndicatorsQuerySchema, answers=(Answer(200, "The indicators", IndicatorsSchema),),
          errors=(400, 404, 503)),
)
