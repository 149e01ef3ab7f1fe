"""The records service's domain rules, plain and unit-tested: which archives take clinical writes,
how a record's status may change, which forms are filed once, which filings need a clinician's
look, what an archive's records say the resident has, what a health exam offers the 个人基本信息表,
and which of its results are abnormal. The key populations (重点人群) and the conditions that
make them are `shared.key_populations`, plain data the programmes service will read too.

    require_writable({"archive_no": "11010500300100001", "status": "terminated"})  -> InvalidTransition
    require_amendable("hospital_encounter", ACTIVE)                                  -> InvalidTransition
    require_first("personal_info", standing="8f3e...")                               -> Conflict
    review_for("11010500300100001", "330102")                                        -> "hospital_outside_county"
    archive_conditions(rows)     -> {"hypertension": {"code": "hypertension", "label": "高血压", ...}}
    past_history_suggestions(exam, past_codes={"2"})
        -> [{"form": "personal_info", "field": "past_history", "code": "7", "label": "脑卒中",
             "found_in": "health_problems.cerebrovascular"}]
    abnormal_findings(exam)      -> [{"item": "ecg", "label": "心电图", "description": "ST段压低"}]
    key_populations(age=70, conditions={"hypertension", "copd"})                     -> ["elderly", "hypertension"]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared.codes import (
    CerebrovascularDisease, ExamTestItem, HeartDisease, KidneyDisease, NormalAbnormal, PastDisease,
)
from shared.errors import Conflict, InvalidTransition, ValidationFailed
from shared.key_populations import (  # noqa: F401  (the 首页's rules, read from here by the records service)
    CONDITIONS, LABELS, PROGRAMME_CONDITIONS, PROGRAMMES, condition_of_diagnosis, condition_of_past_disease,
    folded, key_populations,
)

from services.records.forms import FORMS

# -- archives and records ---------------------------------------------------------------------

ACTIVE, ENTERED_IN_ERROR = "active", "entered_in_error"


def require_writable(archive: dict) -> None:
    """Clinical writes (a form entered, a record amended, an encounter linked) go to active
    archives only; a terminated one is kept read-only."""
    if archive.get("status") != "active":
        raise InvalidTransition("the archive is not active; clinical writes are refused",
                                {"archive_no": archive["archive_no"], "status": archive.get("status")})


def require_amendable(record_type: str, status: str) -> None:
    """A record entered on a form may be amended while it stands; a hospital's is amended by the
    hospital that sent it (a new version of its message)."""
    if record_type not in FORMS:
        raise InvalidTransition("hospital records are amended by the hospital that sent them",
                                {"record_type": record_type})
    if status != ACTIVE:
        raise InvalidTransition("the record was marked entered-in-error", {"status": status})


def require_markable(status: str) -> None:
    """A record is marked entered-in-error once."""
    if status == ENTERED_IN_ERROR:
        raise InvalidTransition("the record was already marked entered-in-error", {"status": status})


# Forms filled once per archive and then changed in place (填表说明): record_type -> its name.
FILED_ONCE = {"personal_info": "个人基本信息表"}


def require_first(record_type: str, standing: str | None) -> None:
    """A form filled once is refused while the archive has one standing (`standing`: its record
    id); a change to it is a revision of that record."""
    if record_type in FILED_ONCE and standing is not None:
        raise Conflict(f"the archive already has its {FILED_ONCE[record_type]} ({record_type}); "
                       f"change it with a revision", {"record_type": record_type, "record_id": standing})


def reason_given(reason: str | None) -> str:
    """Why an amendment or a mark was made: required, kept up to 2,000 characters."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("why", {"reason": ["Missing data for required field."]})
    return reason[:2000]


# -- filings that need a look -------------------------------------------------------------------

OUTSIDE_COUNTY = "hospital_outside_county"


def review_for(archive_no: str, division_code: str | None) -> str | None:
    """Why a hospital's filing into `archive_no` needs a clinician's look, or None.

    Residents are treated near home: an encounter from a hospital in another county (the first 6
    digits of its division code against the archive number's) is filed, since it may be the
    resident's, but it is also how somebody who registers another person's ID number in their own
    village would collect that person's hospital records. A hospital whose division is unknown
    raises no flag.

        review_for("11010500300100001", "110105")   -> None
        review_for("11010500300100001", "330102")   -> "hospital_outside_county"
    """
    if not division_code or len(division_code) < 6 or archive_no[:6] == division_code[:6]:
        return None
    return OUTSIDE_COUNTY


INSURANCE_TYPE_DIFFERS = "insurance_type_differs"


def insurance_review(insurance_type: str, payment: dict[str, Any] | None) -> tuple[str, dict[str, Any]] | None:
    """Why an insurance settlement needs a clinician's look, with what to look at, or None: the
    insurer settled under an insurance type (医疗费用支付方式, CV07.10.003) that the archive's
    个人基本信息表 does not list among its payment methods. The form is the clinician's: it is never
    rewritten from a settlement, the clinician decides. An archive without the form, or a form
    without payment methods, raises nothing.

        insurance_review("1", {"methods": ["3"]})
        -> ("insurance_type_differs", {"settlement_insurance_type": "1", "form_payment_methods": ["3"]})
    """
    methods = list((payment or {}).get("methods") or [])
    if not methods or insurance_type in methods:
        return None
    return INSURANCE_TYPE_DIFFERS, {"settlement_insurance_type": insurance_type, "form_payment_methods": methods}


# -- what the archive's records say -------------------------------------------------------------

# (record_type, occurred_at, content, ...) of an archive's standing records, newest first
# (`services.records.standing`).
Row = tuple[Any, ...]


def past_history_codes(rows: Iterable[Row]) -> set[str]:
    """The 既往史 disease codes of the archive's 个人基本信息表 (of each one standing: a merge may
    have brought two)."""
    return {disease.get("code") for record_type, _, content, *_ in rows if record_type == "personal_info"
            for disease in (content.get("past_history") or {}).get("diseases") or []}


def archive_conditions(rows: Iterable[Row]) -> dict[str, dict[str, Any]]:
    """The chronic conditions the records name, each with when it is known from (the earliest
    确诊时间 or hospital month) and which records say so; a broad condition folds into the one
    refining it (既往史 3 糖尿病 and an E11 diagnosis are one `type2_diabetes`):

        {"type2_diabetes": {"code": "type2_diabetes", "label": "2型糖尿病", "since": "2015-06",
                            "sources": ["hospital_encounter", "personal_info"]}}
    """
    found: dict[str, dict[str, Any]] = {}

    def note(name: str | None, source: str, since: str | None) -> None:
        if name is None:
            return
        entry = found.setdefault(name, {"code": name, "label": LABELS[name], "since": None, "sources": []})
        entry["sources"] = sorted(set(entry["sources"]) | {source})
        entry["since"] = min(filter(None, [entry["since"], since]), default=None)

    for record_type, occurred_at, content, *_ in rows:
        if record_type == "personal_info":
            for disease in (content.get("past_history") or {}).get("diseases") or []:
                note(condition_of_past_disease(disease.get("code")), "personal_info", disease.get("diagnosed_on"))
        elif record_type == "hospital_encounter":
            for diagnosis in content.get("diagnoses") or []:
                note(condition_of_diagnosis(diagnosis), "hospital_encounter", occurred_at.strftime("%Y-%m"))
    for broad in set(found) - folded(found):
        entry = found.pop(broad)
        for name, refined in found.items():
            if CONDITIONS[name].refines == broad:
                refined["sources"] = sorted(set(refined["sources"]) | set(entry["sources"]))
                refined["since"] = min(filter(None, [refined["since"], entry["since"]]), default=None)
    return found


# 现存主要健康问题 of the 健康体检表 that name a 既往史 disease of the 个人基本信息表 [M: the
# pairing is the suite's]: a stroke, a coronary event, a diabetic kidney. TIA, heart failure and
# the eye and vessel problems name none.
PAST_DISEASE_OF_PROBLEM: dict[tuple[str, str], PastDisease] = {
    ("cerebrovascular", CerebrovascularDisease.ISCHAEMIC_STROKE.value): PastDisease.STROKE,
    ("cerebrovascular", CerebrovascularDisease.CEREBRAL_HAEMORRHAGE.value): PastDisease.STROKE,
    ("cerebrovascular", CerebrovascularDisease.SUBARACHNOID_HAEMORRHAGE.value): PastDisease.STROKE,
    ("heart", HeartDisease.MYOCARDIAL_INFARCTION.value): PastDisease.CORONARY_HEART_DISEASE,
    ("heart", HeartDisease.ANGINA.value): PastDisease.CORONARY_HEART_DISEASE,
    ("heart", HeartDisease.CORONARY_REVASCULARISATION.value): PastDisease.CORONARY_HEART_DISEASE,
    ("kidney", KidneyDisease.DIABETIC_NEPHROPATHY.value): PastDisease.DIABETES,
}


def past_history_suggestions(exam: dict[str, Any], past_codes: set[str]) -> list[dict[str, str]]:
    """The 既往史 diseases a health exam's 现存主要健康问题 found that the 个人基本信息表 does not
    list (`past_codes`), offered to the clinician for that form; nothing is changed by itself."""
    problems = exam.get("health_problems") or {}
    offered: list[dict[str, str]] = []
    for (group, problem), disease in PAST_DISEASE_OF_PROBLEM.items():
        if problem in (problems.get(group) or []) and disease.value not in past_codes \
                and disease.value not in {o["code"] for o in offered}:
            offered.append({"form": "personal_info", "field": "past_history", "code": disease.value,
                            "label": disease.label, "found_in": f"health_problems.{group}"})
    return offered


def abnormal_findings(exam: dict[str, Any]) -> list[dict[str, Any]]:
    """The health exam's coded results (心电图, 胸部X线片, B超, 宫颈涂片) that are 2 异常, in the
    form's order. A result kept in its former free-text shape is neither normal nor abnormal."""
    labels = {item.value: item.label for item in ExamTestItem}
    return [{"item": result["item"], "label": labels.get(result["item"], result["item"]),
             "description": result.get("description")}
            for result in exam.get("tests") or []
            if result.get("result") == NormalAbnormal.ABNORMAL.value]
