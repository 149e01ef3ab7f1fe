"""The records service's domain rules (services.records.rules) as plain functions: which archives
take clinical writes, how a record's status may change, which forms are filed once, which filings
are flagged, what the records say the resident has, what an exam offers the 个人基本信息表, which
exam results are abnormal, and which key populations a resident belongs to."""

from __future__ import annotations

import pytest

from datetime import datetime, timezone

from services.records.rules import (
    ACTIVE, CONDITIONS, ENTERED_IN_ERROR, OUTSIDE_COUNTY, PROGRAMME_CONDITIONS, abnormal_findings,
    archive_conditions, condition_of_diagnosis, condition_of_past_disease, key_populations,
    past_history_codes, past_history_suggestions, reason_given, require_amendable, require_first,
    require_markable, require_writable, review_for,
)
from shared.codes import PastDisease
from shared.errors import Conflict, InvalidTransition, ValidationFailed

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


@pytest.mark.parametrize("name", [name for name, c in CONDITIONS.items() if c.past_disease])
def test_each_condition_is_named_by_its_past_history_code(name):
    assert condition_of_past_disease(CONDITIONS[name].past_disease) == name


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


# -- forms filed once ------------------------------------------------------------------------------


def test_a_second_personal_info_is_refused_naming_the_form_and_the_standing_record():
    require_first("personal_info", None)
    with pytest.raises(Conflict) as refused:
        require_first("personal_info", "8f3e")
    assert refused.value.details == {"record_type": "personal_info", "record_id": "8f3e"}
    assert "个人基本信息表" in refused.value.message and "revision" in refused.value.message


def test_other_forms_may_be_filed_again():
    require_first("health_exam", "8f3e")
    require_first("visit", "8f3e")


# -- what the archive's records say ----------------------------------------------------------------

WHEN = datetime(2026, 3, 5, tzinfo=timezone.utc)


def _personal(*codes):
    return ("personal_info", WHEN, {"past_history": {"diseases": [
        {"code": code, "diagnosed_on": "2015-06"} for code in codes]}}, "p1")


def _encounter(*icd, when=WHEN):
    return ("hospital_encounter", when, {"diagnoses": [{"system": "ICD-10", "code": c} for c in icd]}, "h1")


def test_past_history_diabetes_and_a_type_2_diagnosis_are_one_condition_from_both_records():
    conditions = archive_conditions([_encounter("E11.9"), _personal("3")])
    assert conditions == {"type2_diabetes": {"code": "type2_diabetes", "label": "2型糖尿病", "since": "2015-06",
                                             "sources": ["hospital_encounter", "personal_info"]}}


def test_past_history_diabetes_alone_is_diabetes_and_a_secondary_hypertension_is_its_own():
    conditions = archive_conditions([_personal("3"), _encounter("I15.0")])
    assert {name: c["label"] for name, c in conditions.items()} == {
        "diabetes": "糖尿病", "secondary_hypertension": "继发性高血压"}


def test_a_condition_is_known_from_its_earliest_month():
    early = datetime(2020, 1, 9, tzinfo=timezone.utc)
    conditions = archive_conditions([_encounter("I10"), _encounter("I10", when=early)])
    assert conditions["hypertension"]["since"] == "2020-01"


def test_past_history_codes_are_those_of_every_standing_personal_info():
    assert past_history_codes([_personal("2"), _personal("3", "7"), _encounter("I10")]) == {"2", "3", "7"}


# -- what an exam offers the 个人基本信息表 ------------------------------------------------------------


def _problems(**found):
    groups = {"cerebrovascular": ["1"], "kidney": ["1"], "heart": ["1"], "vascular": ["1"], "eye": ["1"]}
    return {"health_problems": {**groups, **found}}


def test_a_stroke_found_at_the_exam_is_offered_for_the_past_history():
    assert past_history_suggestions(_problems(cerebrovascular=["2", "3"]), {"2"}) == [
        {"form": "personal_info", "field": "past_history", "code": "7", "label": "脑卒中",
         "found_in": "health_problems.cerebrovascular"}]


def test_a_condition_the_past_history_lists_is_not_offered_again():
    assert past_history_suggestions(_problems(cerebrovascular=["2"], heart=["3"]), {"7", "4"}) == []


def test_a_diabetic_kidney_offers_diabetes_and_a_transient_attack_offers_nothing():
    offered = past_history_suggestions(_problems(kidney=["2"], cerebrovascular=["5"]), set())
    assert [(o["code"], o["found_in"]) for o in offered] == [("3", "health_problems.kidney")]


def test_an_exam_without_health_problems_offers_nothing():
    assert past_history_suggestions({}, set()) == []


# -- abnormal exam results -------------------------------------------------------------------------


def test_abnormal_findings_are_the_coded_results_marked_abnormal():
    exam = {"tests": [
        {"item": "ecg", "result": "2", "description": "ST段压低"},
        {"item": "chest_xray", "result": "1"},
        {"item": "ultrasound_abdomen", "value": "脂肪肝"},          # kept as filed before coding: not counted
        {"item": "cervical_smear", "result": "2", "description": "LSIL"},
        {"item": "fasting_glucose", "value": 9.1, "unit": "mmol/L"},
    ]}
    assert abnormal_findings(exam) == [
        {"item": "ecg", "label": "心电图", "description": "ST段压低"},
        {"item": "cervical_smear", "label": "宫颈涂片", "description": "LSIL"}]
    assert abnormal_findings({}) == []
