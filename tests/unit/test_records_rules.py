"""The records service's domain rules (services.records.rules) as plain functions: which archives
take clinical writes, how a record's status may change, which filings are flagged, and which key
populations a resident belongs to."""

from __future__ import annotations

import pytest

from services.records.rules import (
    ACTIVE, CONDITIONS, ENTERED_IN_ERROR, OUTSIDE_COUNTY, PROGRAMME_CONDITIONS, condition_of_diagnosis,
    condition_of_past_disease, key_populations, reason_given, require_amendable, require_markable,
    require_writable, review_for,
)
from shared.codes import PastDisease
from shared.errors import InvalidTransition, ValidationFailed

ARCHIVE_NO = "11010500300100001"


def test_an_active_archive_takes_clinical_writes():
    require_writable({"archive_no": ARCHIVE_NO, "status": "active"})


@pytest.mark.parametrize("status", ["terminated", "merged", None])
def test_an_archive_that_is_not_active_refuses_clinical_writes_naming_its_status(status):
    with pytest.raises(InvalidTransition) as refused:
        require_writable({"archive_no": ARCHIVE_NO, "status": status})
    assert refused.value.details == {"archive_no": ARCHIVE_NO, "status": status}


def test_a_standing_form_record_may_be_amended():
    require_amendable("visit", ACTIVE)


def test_a_hospital_record_is_amended_only_by_its_hospital():
    with pytest.raises(InvalidTransition, match="hospital"):
        require_amendable("hospital_encounter", ACTIVE)


def test_a_record_marked_entered_in_error_is_not_amended():
    with pytest.raises(InvalidTransition, match="entered-in-error"):
        require_amendable("visit", ENTERED_IN_ERROR)


def test_a_record_is_marked_entered_in_error_once():
    require_markable(ACTIVE)
    with pytest.raises(InvalidTransition, match="already"):
        require_markable(ENTERED_IN_ERROR)


@pytest.mark.parametrize("reason", [None, "", "   \n"])
def test_an_amendment_or_a_mark_needs_a_reason(reason):
    with pytest.raises(ValidationFailed) as refused:
        reason_given(reason)
    assert refused.value.details == {"reason": ["Missing data for required field."]}


def test_a_reason_is_kept_stripped_and_bounded():
    assert reason_given("  wrong patient  ") == "wrong patient"
    assert len(reason_given("x" * 5000)) == 2000


@pytest.mark.parametrize("division,flag", [
    ("110105", None), ("110105201", None), (None, None), ("11", None), ("440106", OUTSIDE_COUNTY),
])
def test_a_filing_from_another_county_is_flagged_for_review(division, flag):
    assert review_for(ARCHIVE_NO, division) == flag


@pytest.mark.parametrize("name", list(CONDITIONS))
def test_each_condition_is_named_by_its_past_history_code(name):
    assert condition_of_past_disease(CONDITIONS[name][0]) == name


def test_a_past_history_code_of_no_programme_names_no_condition():
    assert condition_of_past_disease(PastDisease.NONE.value) is None
    assert condition_of_past_disease(None) is None


@pytest.mark.parametrize("diagnosis,name", [
    ({"system": "ICD-10", "code": "I10"}, "hypertension"),
    ({"code": "i11.900"}, "hypertension"),              # ICD-10 by default, any case
    ({"code": "E11.9"}, "type2_diabetes"),
    ({"code": "F20.0"}, "severe_mental_disorder"),
    ({"code": "A16.2"}, "tuberculosis"),
    ({"code": "I21.4"}, "coronary_heart_disease"),
    ({"code": "I63.9"}, "stroke"),
    ({"code": "J44.1"}, "copd"),
    ({"code": "E10.9"}, None),                           # type 1 diabetes: no programme
    ({"code": None}, None),
    ({"system": "ICD-9", "code": "I10"}, None),          # another coding system names none
])
def test_a_diagnosis_names_a_condition_by_its_icd10_prefix(diagnosis, name):
    assert condition_of_diagnosis(diagnosis) == name


@pytest.mark.parametrize("age,conditions,populations", [
    (0, set(), ["children_0_6"]),
    (6, set(), ["children_0_6"]),
    (7, set(), []),
    (64, {"copd", "stroke"}, []),                        # conditions outside the programmes
    (65, set(), ["elderly"]),
    (70, {"tuberculosis", "hypertension", "copd"}, ["elderly", "hypertension", "tuberculosis"]),
    (40, set(PROGRAMME_CONDITIONS), list(PROGRAMME_CONDITIONS)),
])
def test_key_populations_follow_age_and_programme_conditions(age, conditions, populations):
    assert key_populations(age, conditions) == populations
