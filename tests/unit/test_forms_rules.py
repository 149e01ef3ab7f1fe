"""Who each part of a form is asked of (services.records.forms.resident), at each boundary: the
健康体检表's elderly items by age on the exam day, its women's and men's items by sex, 足背动脉搏动
for diabetics, the "最近1年内" tables, its coded results (and the free-text shape they had before);
the 个人基本信息表's 生活环境 by village segment and the form itself by age."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from services.records.forms import validate_form
from shared.errors import ValidationFailed
from tests.unit.test_forms import TODAY, edited, health_exam, message_at, personal_info

EXAM_DAY = date(2024, 5, 10)  # health_exam()'s occurred_on
ELDERLY_ITEMS = ("health_self_assessment", "self_care", "self_care_score", "cognition", "emotion")
OLD = date(1950, 6, 15)


def load(record_type, content, **resident):
    resident.setdefault("birth_date", OLD)
    return validate_form(record_type, content, today=TODAY, **resident)


def errors_of(record_type, content, **resident):
    with pytest.raises(ValidationFailed) as caught:
        load(record_type, content, **resident)
    return caught.value.details


def without_elderly_items(content):
    content = copy.deepcopy(content)
    for key in ELDERLY_ITEMS:
        del content["general"][key]
    return content


# --- the elderly items: 65 and over on the exam day -------------------------------------------------


def test_a_resident_exactly_65_on_the_exam_day_is_asked_the_elderly_items():
    sixty_five = date(1959, 5, 10)
    assert load("health_exam", health_exam(), birth_date=sixty_five)["general"]["self_care"] == "1"
    details = errors_of("health_exam", without_elderly_items(health_exam()), birth_date=sixty_five)
    for key in ("health_self_assessment", "self_care", "cognition", "emotion"):
        assert message_at(details, f"general.{key}") == "Required for residents aged 65 and over on the form's date."
    assert "self_care_score" not in details["general"]  # the score stays optional


def test_a_resident_65_the_day_after_the_exam_is_not_asked_them():
    sixty_four = date(1959, 5, 11)
    assert load("health_exam", without_elderly_items(health_exam()), birth_date=sixty_four)
    details = errors_of("health_exam", health_exam(), birth_date=sixty_four)
    for key in ELDERLY_ITEMS:
        assert message_at(details, f"general.{key}") == "Asked only of residents aged 65 and over on the form's date."


def test_the_age_is_taken_on_the_exam_day_not_on_the_day_of_entry():
    # 65 when the form is entered (TODAY), 64 on the exam day: not asked
    assert load("health_exam", without_elderly_items(health_exam()), birth_date=date(1959, 5, 20))


def test_without_a_birth_date_the_elderly_items_are_neither_required_nor_refused():
    assert load("health_exam", health_exam(), birth_date=None)
    assert load("health_exam", without_elderly_items(health_exam()), birth_date=None)


# --- women's and men's items --------------------------------------------------------------------------


def test_a_womans_breast_and_gynaecology_are_asked_and_her_prostate_is_refused():
    assert load("health_exam", health_exam(), sex="2")
    details = errors_of("health_exam", edited(health_exam(), "physical_exam.digital_rectal", "4"), sex="2")
    assert message_at(details, "physical_exam.digital_rectal") == "前列腺异常 (4) is asked only of men."


def test_a_mans_gynaecology_and_breast_are_refused_and_his_prostate_is_asked():
    details = errors_of("health_exam", health_exam(), sex="1")
    assert message_at(details, "physical_exam.gynaecology") == "Asked only of women."
    assert message_at(details, "physical_exam.breast") == "Asked only of women."
    man = edited(edited(health_exam(), "physical_exam.gynaecology", ...), "physical_exam.breast", ...)
    assert load("health_exam", edited(man, "physical_exam.digital_rectal", "4"), sex="1")


@pytest.mark.parametrize("sex", ["0", "9", None])
def test_a_resident_of_unknown_or_unstated_sex_is_refused_neither(sex):
    assert load("health_exam", edited(health_exam(), "physical_exam.digital_rectal", "4"), sex=sex)


def test_the_women_only_items_may_still_be_left_out_for_a_woman():
    woman = edited(edited(health_exam(), "physical_exam.gynaecology", ...), "physical_exam.breast", ...)
    assert load("health_exam", woman, sex="2")


# --- 足背动脉搏动 for diabetics ----------------------------------------------------------------------


@pytest.mark.parametrize("conditions", [{"diabetes"}, {"type2_diabetes", "hypertension"}])
def test_the_dorsalis_pedis_pulse_is_required_for_a_resident_with_diabetes(conditions):
    content = edited(health_exam(), "physical_exam.dorsalis_pedis", ...)
    details = errors_of("health_exam", content, conditions=conditions)
    assert message_at(details, "physical_exam.dorsalis_pedis") == "Required for residents with diabetes."
    assert load("health_exam", health_exam(), conditions=conditions)


def test_the_dorsalis_pedis_pulse_is_optional_without_diabetes():
    assert load("health_exam", edited(health_exam(), "physical_exam.dorsalis_pedis", ...), conditions={"hypertension"})


def test_a_diabetic_kidney_found_at_the_exam_makes_it_required_too():
    content = edited(edited(health_exam(), "physical_exam.dorsalis_pedis", ...), "health_problems.kidney", ["2"])
    details = errors_of("health_exam", content)
    assert message_at(details, "physical_exam.dorsalis_pedis") == "Required for residents with diabetes."


def test_an_exam_without_its_physical_examination_asks_for_no_item_of_it():
    assert load("health_exam", edited(health_exam(), "physical_exam", ...), conditions={"diabetes"}, sex="1")


# --- 最近1年内 --------------------------------------------------------------------------------------


def _stay(admitted, discharged):
    return {"admitted_on": admitted, "discharged_on": discharged, "reason": "肺炎", "institution": "县人民医院"}


def test_a_stay_ended_366_days_before_the_exam_is_refused_and_365_days_accepted():
    assert (EXAM_DAY - date(2023, 5, 10)).days == 366
    details = errors_of("health_exam", health_exam(hospital_stays=[_stay("2023-05-01", "2023-05-10")]))
    assert message_at(details, "hospital_stays.0.discharged_on") == \
        "Must fall within the year before the form's date (最近1年内)."
    assert load("health_exam", health_exam(hospital_stays=[_stay("2023-05-01", "2023-05-11")]))


def test_a_stay_still_going_on_is_within_the_year_and_one_begun_after_the_exam_is_refused():
    ongoing = _stay("2021-01-04", None)
    del ongoing["discharged_on"]
    assert load("health_exam", health_exam(home_sickbeds=[ongoing]))
    details = errors_of("health_exam", health_exam(hospital_stays=[_stay("2024-05-11", "2024-05-20")]))
    assert message_at(details, "hospital_stays.0.admitted_on") == "Must not be after the form's date."


def test_a_home_sickbed_removed_more_than_a_year_before_is_refused():
    details = errors_of("health_exam", health_exam(home_sickbeds=[_stay("2022-01-01", "2023-05-09")]))
    assert message_at(details, "home_sickbeds.0.discharged_on").startswith("Must fall within the year")


@pytest.mark.parametrize("day, accepted", [("2023-05-10", False), ("2023-05-11", True), ("2024-05-10", True),
                                           ("2024-05-11", False)])
def test_vaccinations_of_the_year_before_the_exam(day, accepted):
    content = edited(health_exam(), "vaccinations.0.date", day)
    if accepted:
        assert load("health_exam", content)
    else:
        assert message_at(errors_of("health_exam", content), "vaccinations.0.date").startswith("Must")


# --- coded results --------------------------------------------------------------------------------

ECG = 7  # health_exam()'s tests[7]


def test_an_abnormal_result_is_coded_with_its_description():
    stored = load("health_exam", edited(health_exam(), f"tests.{ECG}", {"item": "ecg", "result": "2",
                                                                        "description": " ST段压低 "}))
    assert stored["tests"][ECG] == {"item": "ecg", "result": "2", "description": "ST段压低"}
    details = errors_of("health_exam", edited(health_exam(), f"tests.{ECG}", {"item": "ecg", "result": "2"}))
    assert message_at(details, f"tests.{ECG}.description") == "Required when 异常 (2) is selected in result."


@pytest.mark.parametrize("item", ["chest_xray", "ultrasound_abdomen", "ultrasound_other", "cervical_smear"])
def test_each_coded_item_needs_its_result(item):
    details = errors_of("health_exam", edited(health_exam(), f"tests.{ECG}", {"item": item, "description": "x"}))
    assert message_at(details, f"tests.{ECG}.result") == "Missing data for required field."
    details = errors_of("health_exam", edited(health_exam(), f"tests.{ECG}", {"item": item, "result": "3"}))
    assert message_at(details, f"tests.{ECG}.result") == "Must be one of: 1, 2."


def test_a_coded_result_takes_no_value_or_unit_and_other_items_take_no_result():
    both = {"item": "ecg", "result": "1", "value": "窦性心律"}
    assert message_at(errors_of("health_exam", edited(health_exam(), f"tests.{ECG}", both)),
                      f"tests.{ECG}.value") == "Give result and description instead."
    details = errors_of("health_exam", edited(health_exam(), f"tests.{ECG}.unit", "mV"))
    assert message_at(details, f"tests.{ECG}.unit") == "Must be left out for this item."
    details = errors_of("health_exam", edited(health_exam(), "tests.0.result", "1"))
    assert message_at(details, "tests.0.result") == "Must be left out for this item."
    details = errors_of("health_exam", edited(health_exam(), "tests.0.value", ...))
    assert message_at(details, "tests.0.value") == "Missing data for required field."


LEGACY = {"item": "ecg", "value": "窦性心律"}


def test_a_new_filing_of_a_result_in_its_former_free_text_shape_is_refused():
    details = errors_of("health_exam", edited(health_exam(), f"tests.{ECG}", LEGACY))
    assert message_at(details, f"tests.{ECG}.value").startswith("Code it: give result (1 正常, 2 异常)")


def test_an_amendment_may_carry_a_free_text_result_over_unchanged_but_not_change_it():
    previous = edited(health_exam(), f"tests.{ECG}", LEGACY)
    amended = edited(previous, "responsible_doctor", "王医生")
    assert load("health_exam", amended, previous=previous)["tests"][ECG] == LEGACY
    changed = edited(amended, f"tests.{ECG}.value", "窦性心动过速")
    details = errors_of("health_exam", changed, previous=previous)
    assert message_at(details, f"tests.{ECG}.value").startswith("Code it")
    coded = edited(amended, f"tests.{ECG}", {"item": "ecg", "result": "1", "description": "窦性心律"})
    assert load("health_exam", coded, previous=previous)["tests"][ECG]["result"] == "1"


# --- 个人基本信息表 --------------------------------------------------------------------------------


def without_living_environment():
    return edited(personal_info(), "living_environment", ...)


@pytest.mark.parametrize("village", ["110105003101", "110105003150", "110105003199"])
def test_living_environment_is_required_of_a_villagers_committee(village):
    details = errors_of("personal_info", without_living_environment(), village_code=village)
    assert message_at(details, "living_environment") == \
        "Required for residents of a villagers' committee (村委会, village segment 101-199)."
    assert load("personal_info", personal_info(), village_code=village)


@pytest.mark.parametrize("village", ["110105003099", "110105003001", "110105003901", None])
def test_living_environment_may_be_left_out_elsewhere(village):
    assert "living_environment" not in load("personal_info", without_living_environment(), village_code=village)
    assert load("personal_info", personal_info(), village_code=village)["living_environment"]


def _childs_form():
    return personal_info(occurred_on="2024-03-01", past_history={
        "diseases": [{"code": "1"}], "operations": [], "injuries": [], "transfusions": []})


def test_a_child_aged_6_on_the_form_date_is_not_asked_for_it_and_one_aged_7_is():
    details = errors_of("personal_info", _childs_form(), birth_date=date(2017, 3, 2))
    assert message_at(details, "occurred_on") == \
        "The form is asked only of residents aged 7 and over on the form's date."
    assert load("personal_info", _childs_form(), birth_date=date(2017, 3, 1))
