"""The rules an archive's identity and cover keep as a whole: checked on a creation request
(`ArchiveCreateSchema`, the bulk import too) and on the archive as a correction would leave it
(`services.registry.identity_updates`), so that both refuse the same things with the same words.

    identity_problems({"birth_date": date(2026, 11, 20), "id_number": None, "guardian_archive_no": None,
                       "ethnicity": "99", "ethnicity_name": None, "consent": "given",
                       "consent_date": date(2026, 11, 19), ...}, today=date(2026, 11, 26))
    -> {"id_number": ["Required, unless a guardian is given (guardian_archive_no or guardian_id_number)."],
        "ethnicity_name": ["Required when ethnicity is 99 (少数民族)."],
        "consent_date": ["Must not be before the birth date."]}

- An archive without an ID number (a newborn at the 新生儿家庭访视 has none yet) names a guardian:
  the guardian's archive number or ID number. The ID number is attached later.
- 民族 99 (少数民族) carries the minority's name; 01 (汉族) none.
- The resident's consent or refusal (自愿与引导相结合) goes with its date, and a date with it.
- 建档日期 and the consent's date lie between the birth date and today: a paper archive entered
  later keeps the day it was built, never a day to come nor one before the resident was born.

Messages never repeat a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from shared.codes import Ethnicity
from shared import clock

MINORITY = Ethnicity.MINORITY.value
NEEDS_GUARDIAN = "Required, unless a guardian is given (guardian_archive_no or guardian_id_number)."


def identity_problems(values: Mapping[str, Any], today: date | None = None) -> dict[str, list[str]]:
    """Field errors of an archive's identity and cover taken together (see the module doc); an
    absent key counts as null."""
    today = today or clock.today()
    errors: dict[str, list[str]] = {}
    if not values.get("id_number") and not (values.get("guardian_archive_no") or values.get("guardian_id_number")):
        errors["id_number"] = [NEEDS_GUARDIAN]
    if values.get("ethnicity") == MINORITY and not values.get("ethnicity_name"):
        errors["ethnicity_name"] = ["Required when ethnicity is 99 (少数民族)."]
    elif values.get("ethnicity") != MINORITY and values.get("ethnicity_name"):
        errors["ethnicity_name"] = ["Only with ethnicity 99 (少数民族)."]
    if values.get("consent") and not values.get("consent_date"):
        errors["consent_date"] = ["Required with consent."]
    elif values.get("consent_date") and not values.get("consent"):
        errors["consent_date"] = ["Only with consent (given or refused)."]
    birth = values.get("birth_date")
    for field in ("archive_date", "consent_date"):
        day = values.get(field)
        if day is None or field in errors:
            continue
        if day > today:
            errors[field] = ["Must not be in the future."]
        elif birth is not None and day < birth:
            errors[field] = ["Must not be before the birth date."]
    return errors
