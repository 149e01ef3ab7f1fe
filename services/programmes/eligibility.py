"""Who may be enrolled in a programme: the one place the rule is decided (enrolment, confirming a
suggestion, the daily sweep of the elderly all ask here), on `shared.key_populations.PROGRAMMES`.

- hypertension, type 2 diabetes: permanent residents aged 35 or more on the day of enrolment,
  with the diagnosis (the enrolling doctor confirms it);
- the elderly: permanent residents aged 65 or more in the year of service (born in or before
  the year 65 years back: one who turns 65 this year is eligible from its first day [M]).

"Permanent residents" (辖区内常住居民, domain.md §0) are the household-registered and the
non-registered who have lived in the area six months or more: 常住类型 1 户籍 and 2 非户籍 alike.
An archive is kept for exactly them, so its 常住类型 excludes no one; a resident who no longer
lives in the area leaves by the archive's termination (migration out), which ends the enrolments.

    problems("elderly", {"birth_date": date(1961, 12, 31), "residence_type": "1", "status": "active"},
             date(2026, 1, 2))                          -> {}
    problems("hypertension", {"birth_date": date(2000, 1, 1), ...}, date(2026, 1, 2))
        -> {"birth_date": ["Under 35 on 2026-01-02: the programme is for residents aged 35 or more."]}
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from shared.key_populations import PROGRAMMES

from services.programmes.schedules import SCHEDULES, age_on

BY_YEAR_OF_SERVICE = frozenset({"elderly"})  # the age reached in the year counts, not on the day


def runs(programme: str) -> bool:
    """Whether this service runs `programme` (has its schedule)."""
    return programme in SCHEDULES


def problems(programme: str, resident: Mapping[str, Any], on: date) -> dict[str, list[str]]:
    """Why the resident may not be enrolled in `programme` on `on`, by field; {} when they may."""
    if not runs(programme):
        return {"programme": [f"Not a programme this service runs: one of {', '.join(SCHEDULES)}."]}
    found: dict[str, list[str]] = {}
    if resident.get("status", "active") != "active":
        found["archive_no"] = ["The archive is not active (terminated or merged)."]
    minimum = PROGRAMMES[programme].min_age
    birth = resident.get("birth_date")
    if minimum is not None:
        if birth is None:
            found["birth_date"] = ["The resident's birth date is not known here yet."]
        else:
            day = date(on.year, 12, 31) if programme in BY_YEAR_OF_SERVICE else on
            if age_on(birth, day) < minimum:
                when = f"in {on.year}" if programme in BY_YEAR_OF_SERVICE else f"on {on.isoformat()}"
                found["birth_date"] = [f"Under {minimum} {when}: the programme is for residents aged {minimum} or more."]
    return found


def eligible(programme: str, resident: Mapping[str, Any], on: date) -> bool:
    return not problems(programme, resident, on)


def elderly_born_by(year: int) -> date:
    """The last birth date of residents eligible for the elderly programme in `year` (the sweep's bound)."""
    return date(year - PROGRAMMES["elderly"].min_age, 12, 31)
