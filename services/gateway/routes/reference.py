"""Reference data and figures: villages, institutions, and archives counted per village of the
caller's jurisdiction (no personal data)."""

from __future__ import annotations

from shared.contracts.gateway import StatsSchema
from shared.contracts.registry import DivisionSchema, InstitutionSchema

from services.gateway import access, stats
from services.gateway.routes.route import Answer, Call, Route, area


def get_stats(c: Call):
    jurisdiction = c.gate.jurisdiction()
    counts = c.registry.count_archives(jurisdiction) if jurisdiction else []
    return stats.archive_counts(jurisdiction, c.registry.list_divisions(level="village"), counts)


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
)
