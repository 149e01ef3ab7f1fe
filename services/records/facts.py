"""The programme facts of a record (`shared.contracts.events.ProgrammeFactsSchema`): what the
key-population programmes act on, read from the record's content when it is filed or amended and
announced with `records.record_changed`; and the flags a record's view shows, read from the same.

    programme_facts("hypertension_follow_up", content)
        -> {"programmes": ["hypertension"], "visit_date": date(2024, 5, 20), "visit_method": "1",
            "classification": "2", "sbp": 150, "dbp": 92, "fbg": None, "urgent": [],
            "next_visit_date": date(2024, 6, 3), "referred": False}
    programme_facts("hospital_encounter", {"diagnoses": [{"code": "I10"}], "vital_signs": {"sbp": 185}, ...})
        -> {"conditions": ["hypertension"], "sbp": 185, "urgent": ["sbp_180"], ...}
    record_flags("hospital_encounter", content) -> ["urgent_referral"]

Choices [M, the suite's]:

- a 健康体检表's blood pressure is the higher arm's (by systolic, then diastolic); its fasting
  glucose is `tests`' `fasting_glucose`, mg/dL converted (÷ 18); it is a service of the
  elderly programme when the resident is 65 or more (completed years) on the exam date, the age
  from which the form asks its elderly items;
- a hospital encounter's urgent triggers are those of the programmes its diagnoses name; one
  naming none is held to the blood-pressure triggers, which both programmes share. Its glucose
  (`vital_signs.glucose_mmol`) is of unknown timing: it counts for the glucose triggers (≥16.7
  and ≤3.9 are urgent at any hour) but is not announced as a fasting glucose (`fbg` null);
- a 个人基本信息表 names the conditions of its 既往史; the 接诊 and 会诊 records have no facts.

Nothing here queries: the filing batch builds one `record_changed` per record from what it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from shared.follow_ups import (
    DIABETES, ELDERLY, ELDERLY_TCM, HYPERTENSION, Readings, screening, symptom_triggers, urgent_triggers,
)
from shared.key_populations import PROGRAMMES, condition_of_diagnosis, condition_of_past_disease, folded

from services.records.forms.follow_up import (
    DiabetesFollowUpSchema, FollowUpForm, HypertensionFollowUpSchema, IntegratedFollowUpSchema, readings_of,
)
from services.records.forms.resident import age_on

Facts = dict[str, Any]
FactsOf = Callable[[Mapping[str, Any], date | None], Facts | None]

URGENT_REFERRAL = "urgent_referral"
MG_DL_PER_MMOL_L = 18.0  # glucose


def _day(value: Any) -> date | None:
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _ordered(names: Iterable[str | None]) -> list[str]:
    seen: list[str] = []
    for name in names:
        if name is not None and name not in seen:
            seen.append(name)
    return seen


def _readings(readings: Readings, fbg: bool = True) -> Facts:
    return {"sbp": readings.sbp, "dbp": readings.dbp, "fbg": readings.fbg if fbg else None}


def follow_up_facts(form: type[FollowUpForm]) -> FactsOf:
    """The facts of one of the follow-up forms: its programmes, visit, classification(s),
    readings, urgent triggers, next visit and whether it referred."""
    def facts(content: Mapping[str, Any], birth_date: date | None = None) -> Facts:
        readings = readings_of(content)
        urgent = urgent_triggers(readings, signs=content.get("danger_signs") or [],
                                 symptoms=symptom_triggers(form.symptom_table, content.get("symptoms") or []),
                                 programmes=form.programmes)
        found = {"programmes": list(form.programmes), "visit_date": _day(content["occurred_on"]),
                 "visit_method": content.get("method"), "next_visit_date": _day(content.get("next_visit_date")),
                 "referred": content.get("referral") is not None, **_readings(readings), "urgent": urgent}
        if "classifications" in content:
            found["classifications"] = dict(content["classifications"])
        else:
            found["classification"] = content.get("classification")
        return found
    return facts


def _service_of(programme: str) -> FactsOf:
    def facts(content: Mapping[str, Any], birth_date: date | None = None) -> Facts:
        return {"programmes": [programme], "visit_date": _day(content["occurred_on"])}
    return facts


def _fasting_glucose(tests: Iterable[Mapping[str, Any]]) -> float | None:
    for result in tests:
        if result.get("item") == "fasting_glucose" and isinstance(result.get("value"), (int, float)):
            value = float(result["value"])
            return round(value / MG_DL_PER_MMOL_L, 1) if result.get("unit") == "mg/dL" else value
    return None


def health_exam_facts(content: Mapping[str, Any], birth_date: date | None = None) -> Facts:
    """Readings, what they suggest (`shared.follow_ups.screening`), and the elderly programme at 65."""
    arms = [(arm["systolic"], arm["diastolic"])
            for arm in ((content.get("general") or {}).get("blood_pressure") or {}).values() if arm]
    sbp, dbp = max(arms) if arms else (None, None)
    readings = Readings(sbp=sbp, dbp=dbp, fbg=_fasting_glucose(content.get("tests") or []))
    day = _day(content["occurred_on"])
    elderly = birth_date is not None and age_on(birth_date, day) >= 65
    return {"programmes": [ELDERLY] if elderly else [], "visit_date": day, **_readings(readings),
            "screening": screening(readings)}


def personal_info_facts(content: Mapping[str, Any], birth_date: date | None = None) -> Facts:
    diseases = (content.get("past_history") or {}).get("diseases") or []
    named = _ordered(condition_of_past_disease(d.get("code")) for d in diseases)
    return {"conditions": [c for c in named if c in folded(named)]}


def _programmes_of(conditions: Iterable[str]) -> list[str]:
    return [name for name in (HYPERTENSION, DIABETES) if set(PROGRAMMES[name].conditions) & set(conditions)]


def encounter_facts(content: Mapping[str, Any], birth_date: date | None = None) -> Facts:
    """A hospital encounter's conditions (its ICD-10 diagnoses), readings and urgent triggers."""
    named = _ordered(condition_of_diagnosis(d) for d in content.get("diagnoses") or [])
    conditions = [c for c in named if c in folded(named)]
    vitals = content.get("vital_signs") or {}
    readings = Readings(sbp=vitals.get("sbp"), dbp=vitals.get("dbp"), fbg=vitals.get("glucose_mmol"),
                        heart_rate=vitals.get("heart_rate"), temperature=vitals.get("temperature"))
    started = content.get("started_at")
    return {"visit_date": datetime.fromisoformat(started).date() if isinstance(started, str) else None,
            "conditions": conditions, **_readings(readings, fbg=False),
            "urgent": urgent_triggers(readings, programmes=_programmes_of(conditions) or (HYPERTENSION,))}


FACTS: dict[str, FactsOf] = {
    "hypertension_follow_up": follow_up_facts(HypertensionFollowUpSchema),
    "diabetes_follow_up": follow_up_facts(DiabetesFollowUpSchema),
    "integrated_follow_up": follow_up_facts(IntegratedFollowUpSchema),
    "elderly_self_care": _service_of(ELDERLY),
    "elderly_tcm": _service_of(ELDERLY_TCM),
    "health_exam": health_exam_facts,
    "personal_info": personal_info_facts,
    "hospital_encounter": encounter_facts,
    # A referral's 回转单: its date, for the referring doctor's follow-up within 2 weeks.
    "referral_back": lambda content, birth_date: {"visit_date": _day(content.get("occurred_on"))},
}


def programme_facts(record_type: str, content: Mapping[str, Any], birth_date: date | None = None) -> Facts | None:
    """The facts of a record as it stands; None for a record type without any (接诊, 会诊)."""
    facts_of = FACTS.get(record_type)
    return None if facts_of is None else facts_of(content, birth_date)


# Record types whose view may carry a flag (those with urgent triggers).
FLAGGED = frozenset({"hypertension_follow_up", "diabetes_follow_up", "integrated_follow_up", "hospital_encounter"})


def record_flags(record_type: str, content: Mapping[str, Any] | None, status: str = "active") -> list[str]:
    """What a record's view points out: `["urgent_referral"]` when a follow-up or hospital
    encounter that stands meets an urgent-referral trigger."""
    if record_type not in FLAGGED or not content or status != "active":
        return []
    return [URGENT_REFERRAL] if programme_facts(record_type, content).get("urgent") else []
