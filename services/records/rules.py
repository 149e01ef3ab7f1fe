"""The records service's domain rules, plain and unit-tested: which archives take clinical writes,
how a record's status may change, which filings need a clinician's look, and which key
populations (重点人群) an archive's resident belongs to.

    require_writable({"archive_no": "11010500300100001", "status": "terminated"})  -> InvalidTransition
    require_amendable("hospital_encounter", ACTIVE)                                  -> InvalidTransition
    review_for("11010500300100001", "330102")                                        -> "hospital_outside_county"
    key_populations(age=70, conditions={"hypertension", "copd"})                     -> ["elderly", "hypertension"]
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.codes import PastDisease
from shared.errors import InvalidTransition, ValidationFailed

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


# -- key populations ---------------------------------------------------------------------------

# The programme populations of the service specification, from past-history codes (个人基本信息表)
# and from ICD-10 prefixes of hospital diagnoses.
CONDITIONS = {
    "hypertension": (PastDisease.HYPERTENSION.value, ("I10", "I11", "I12", "I13", "I15")),
    "type2_diabetes": (PastDisease.DIABETES.value, ("E11",)),
    "severe_mental_disorder": (PastDisease.SEVERE_MENTAL_DISORDER.value,
                               ("F20", "F25", "F31", "F06", "F72", "F73")),  # 6 disorders of the programme [M]
    "tuberculosis": (PastDisease.TUBERCULOSIS.value, ("A15", "A16", "A17", "A18", "A19")),
    "coronary_heart_disease": (PastDisease.CORONARY_HEART_DISEASE.value, ("I20", "I21", "I22", "I25")),
    "stroke": (PastDisease.STROKE.value, ("I60", "I61", "I62", "I63", "I64")),
    "copd": (PastDisease.COPD.value, ("J44",)),
}
LABELS = {"hypertension": "高血压", "type2_diabetes": "2型糖尿病", "severe_mental_disorder": "严重精神障碍",
          "tuberculosis": "结核病", "coronary_heart_disease": "冠心病", "stroke": "脑卒中", "copd": "慢性阻塞性肺疾病"}
PROGRAMME_CONDITIONS = ("hypertension", "type2_diabetes", "severe_mental_disorder", "tuberculosis")


def condition_of_past_disease(code: str | None) -> str | None:
    """The condition a past-history disease code (个人基本信息表 既往史) names, if any:
    `condition_of_past_disease("2") -> "hypertension"`."""
    return next((name for name, (past, _) in CONDITIONS.items() if code == past), None)


def condition_of_diagnosis(diagnosis: dict) -> str | None:
    """The condition a hospital diagnosis names, by its ICD-10 code's prefix:
    `{"system": "ICD-10", "code": "i10.x01"} -> "hypertension"`; another coding system names none."""
    if diagnosis.get("system", "ICD-10") != "ICD-10":
        return None
    icd = (diagnosis.get("code") or "").upper()
    return next((name for name, (_, prefixes) in CONDITIONS.items() if icd.startswith(prefixes)), None)


def key_populations(age: int, conditions: Iterable[str]) -> list[str]:
    """The key populations of a resident of `age` with these conditions: children 0-6, the
    elderly (65 and over), and the programme conditions, in the specification's order."""
    conditions = set(conditions)
    populations = [p for p, test in (("children_0_6", age <= 6), ("elderly", age >= 65)) if test]
    return populations + [c for c in PROGRAMME_CONDITIONS if c in conditions]
