"""The follow-up and elderly forms (services/records/forms/follow_up.py, elderly.py): complete
examples load, and each rule of the forms refuses what it must with an error naming the field."""

from __future__ import annotations

import copy
import json
import textwrap
from datetime import date

import pytest

from services.records.forms import validate_form
from shared.contracts.forms import published_forms
from shared.elderly_assessments import constitution_scores, judge_constitutions
from shared.errors import ValidationFailed

BIRTH = date(1950, 6, 15)     # 73 on the visit date
TODAY = date(2024, 6, 1)


def hypertension(**overrides):
    content = {
        "occurred_on": "2024-05-20", "method": "1", "symptoms": ["2"],
        "signs": {"blood_pressure": {"systolic": 150, "diastolic": 92}, "weight": 70, "target_weight": 65,
                  "height": 168, "heart_rate": 78},
        "lifestyle": {"smoking": 10, "smoking_target": 5, "drinking": 2, "drinking_target": 1,
                      "exercise_per_week": 3, "exercise_minutes": 30, "exercise_per_week_target": 5,
                      "exercise_minutes_target": 30, "salt": "3", "salt_target": "2",
                      "psychology": "1", "compliance": "2"},
        "tests": {"description": "心电图未见异常", "date": "2024-05-20"},
        "adherence": "2", "adverse_reaction": {"present": False}, "classification": "2",
        "medicines": [{"name": "苯磺酸氨氯地平片", "times_per_day": 1, "dose": 5, "unit": "mg"}],
        "next_visit_date": "2024-06-03", "doctor": "李医生",
    }
    content.update(overrides)
    return content


def diabetes(**overrides):
    content = {
        "occurred_on": "2024-05-20", "method": "2", "symptoms": ["2", "4"],
        "signs": {"blood_pressure": {"systolic": 132, "diastolic": 80}, "weight": 66, "height": 165,
                  "dorsalis_pedis": {"pulse": "2", "side": "2"}},
        "lifestyle": {"smoking": 0, "drinking": 0, "exercise_per_week": 7, "exercise_minutes": 40,
                      "staple_food": 300, "staple_food_target": 250, "psychology": "1", "compliance": "1"},
        "tests": {"fbg": 8.1, "hba1c": 7.4, "date": "2024-05-20"},
        "adherence": "1", "adverse_reaction": {"present": False}, "hypoglycaemia": "1", "classification": "2",
        "medicines": [{"name": "盐酸二甲双胍片", "times_per_day": 3, "dose": 500, "unit": "mg"}],
        "insulin": {"kind": "甘精胰岛素", "usage": "睡前10IU皮下注射"},
        "next_visit_date": "2024-06-03",
    }
    content.update(overrides)
    return content


def integrated(**overrides):
    content = {
        "occurred_on": "2024-05-20", "method": "1", "symptoms": ["1"],
        "signs": {"blood_pressure": {"systolic": 136, "diastolic": 84}, "weight": 72, "height": 170,
                  "heart_rate": 76, "dorsalis_pedis": {"pulse": "1"}},
        "lifestyle": {"smoking": 0, "drinking": 0, "exercise_per_week": 5, "exercise_minutes": 30,
                      "salt": "2", "salt_target": "1", "staple_food": 250, "psychology": "1", "compliance": "1"},
        "tests": {"fbg": 6.4, "date": "2024-05-20"},
        "adherence": "1", "adverse_reaction": {"present": False}, "hypoglycaemia": "1",
        "classifications": {"hypertension": "1", "type2_diabetes": "1"},
        "medicines": [{"name": "缬沙坦胶囊", "times_per_day": 1, "dose": 80, "unit": "mg"}],
        "next_visit_date": "2024-08-18",
    }
    content.update(overrides)
    return content


def self_care(**overrides):
    content = {"occurred_on": "2024-05-20", "doctor": "李医生",
               "items": {"meals": "1", "grooming": "2", "dressing": "1", "toileting": "2", "activity": "3"}}
    content.update(overrides)
    return content


QI_DEFICIENT = [2, 4, 4, 3, 2, 2, 1, 2, 2, 2, 2, 2, 2, 4, 1, 2, 1, 1, 1, 1, 2, 2, 1, 2, 1, 2, 2, 2, 2, 1, 2, 2, 1]


def tcm(**overrides):
    content = {"occurred_on": "2024-05-20", "answers": list(QI_DEFICIENT),
               "guidance": {"qi_deficiency": {"areas": ["2", "4", "5"]}}, "doctor": "李医生"}
    content.update(overrides)
    return content


FACTORIES = {"hypertension_follow_up": hypertension, "diabetes_follow_up": diabetes,
             "integrated_follow_up": integrated, "elderly_self_care": self_care, "elderly_tcm": tcm}


def load(record_type, content, birth_date=BIRTH):
    return validate_form(record_type, content, birth_date=birth_date, today=TODAY)


def errors(record_type, content, birth_date=BIRTH):
    with pytest.raises(ValidationFailed) as refused:
        load(record_type, content, birth_date)
    return refused.value.details


def with_path(content, path, value):
    content = copy.deepcopy(content)
    *parents, leaf = path.split(".")
    node = content
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[leaf]
    else:
        node[leaf] = value
    return content


DELETE = object()


@pytest.mark.parametrize("record_type", sorted(FACTORIES))
def test_the_example_loads_and_loads_again_as_stored(record_type):
    stored = load(record_type, FACTORIES[record_type]())
    assert load(record_type, stored) == stored


@pytest.mark.parametrize("record_type", sorted(FACTORIES))
def test_the_example_in_the_forms_published_description_loads(record_type):
    # the published schema's description shows the example a client copies: it must load
    description = published_forms()[record_type]["components"][f"Form.{record_type}"]["description"]
    example = textwrap.dedent(description.split("::", 1)[1].split("\n\n")[1])
    load(record_type, json.loads(example))


def test_bmi_and_target_bmi_are_derived_from_height():
    stored = load("hypertension_follow_up", hypertension())
    assert stored["signs"]["bmi"] == 24.8 and stored["signs"]["target_bmi"] == 23.0
    assert load("hypertension_follow_up", with_path(hypertension(), "signs.bmi", 24.9))["signs"]["bmi"] == 24.8


@pytest.mark.parametrize("path, value, field, message", [
    ("signs.bmi", 27.0, "bmi", "Disagrees"),
    ("signs.target_bmi", 21.0, "target_bmi", "Disagrees"),
    ("signs.height", DELETE, "bmi", None),
])
def test_a_bmi_that_disagrees_or_cannot_be_derived_is_refused(path, value, field, message):
    content = with_path(hypertension(), path, value)
    if value is DELETE:
        content = with_path(content, "signs.bmi", 24.8)
    found = errors("hypertension_follow_up", content)["signs"]
    assert field in found and (message is None or message in found[field][0])


@pytest.mark.parametrize("record_type, path, value, expected", [
    ("hypertension_follow_up", "method", "4", {"method": ["Must be one of: 1, 2, 3."]}),
    ("hypertension_follow_up", "symptoms", ["1", "2"], {"symptoms": ["无症状 (1) cannot be combined with other options."]}),
    ("hypertension_follow_up", "symptoms", ["10"], {"symptoms_other": ["Required when 其他 (10) is selected in symptoms."]}),
    ("diabetes_follow_up", "symptoms", ["1"], None),
    ("hypertension_follow_up", "signs.blood_pressure", {"systolic": 80, "diastolic": 90},
     {"signs": {"blood_pressure": {"systolic": ["Must be higher than the diastolic pressure."]}}}),
    ("hypertension_follow_up", "signs.heart_rate", 300, {"signs": {"heart_rate": ["Must be greater than or equal to 20 and less than or equal to 250."]}}),
    ("hypertension_follow_up", "signs.weight", 700, {"signs": {"weight": ["Must be greater than or equal to 2.0 and less than or equal to 350.0."]}}),
    ("hypertension_follow_up", "lifestyle.exercise_minutes", None,
     {"lifestyle": {"exercise_minutes": ["Required when exercise_per_week is above 0."]}}),
    ("hypertension_follow_up", "lifestyle.exercise_per_week", 0,
     {"lifestyle": {"exercise_minutes": ["Not allowed unless exercise_per_week is above 0."]}}),
    ("hypertension_follow_up", "lifestyle.salt", "4", {"lifestyle": {"salt": ["Must be one of: 1, 2, 3."]}}),
    ("hypertension_follow_up", "lifestyle.smoking", -1, {"lifestyle": {"smoking": ["Must be greater than or equal to 0 and less than or equal to 100."]}}),
    ("diabetes_follow_up", "lifestyle.staple_food", DELETE, {"lifestyle": {"staple_food": ["Missing data for required field."]}}),
    ("hypertension_follow_up", "lifestyle.staple_food", 200, {"lifestyle": {"staple_food": ["Unknown field."]}}),
    ("hypertension_follow_up", "adherence", "4", {"adherence": ["Must be one of: 1, 2, 3."]}),
    ("hypertension_follow_up", "adverse_reaction", {"present": True},
     {"adverse_reaction": {"detail": ["Required when present is true."]}}),
    ("diabetes_follow_up", "hypoglycaemia", "4", {"hypoglycaemia": ["Must be one of: 1, 2, 3."]}),
    ("diabetes_follow_up", "signs.dorsalis_pedis", {"pulse": "3"},
     {"signs": {"dorsalis_pedis": {"side": ["Required when 减弱 (2) or 消失 (3) is selected in pulse."]}}}),
    ("diabetes_follow_up", "signs.dorsalis_pedis", {"pulse": "1", "side": "1"},
     {"signs": {"dorsalis_pedis": {"side": ["Not allowed unless 减弱 (2) or 消失 (3) is selected in pulse."]}}}),
    ("diabetes_follow_up", "tests.fbg", 80, {"tests": {"fbg": ["Must be greater than or equal to 0.5 and less than or equal to 60."]}}),
    ("diabetes_follow_up", "tests.date", DELETE, {"tests": {"date": ["Required with a test result."]}}),
    ("diabetes_follow_up", "tests.date", "2024-05-21", {"tests": {"date": ["Must not be after the visit date (occurred_on)."]}}),
    ("hypertension_follow_up", "insulin", {"kind": "x", "usage": "y"}, {"insulin": ["Unknown field."]}),
    ("hypertension_follow_up", "medicines", [{"name": "药", "times_per_day": 0, "dose": 5, "unit": "mg"}],
     {"medicines": {0: {"times_per_day": ["Must be greater than or equal to 1 and less than or equal to 12."]}}}),
    ("hypertension_follow_up", "medicines", [{"name": "药", "times_per_day": 1, "dose": 0, "unit": "mg"}],
     {"medicines": {0: {"dose": ["Must be greater than 0 and less than or equal to 10000."]}}}),
    ("hypertension_follow_up", "medicines", [{"name": "药", "times_per_day": 1, "dose": 5, "unit": "斤"}],
     {"medicines": {0: {"unit": ["Must be one of: mg, g, μg, ml, IU, 片, 粒, 袋, 支."]}}}),
    ("hypertension_follow_up", "referral", {"reason": "血压高", "institution": "区医院"},
     {"referral": {"department": ["Missing data for required field."]}}),
    ("hypertension_follow_up", "occurred_on", "2024-06-02", {"occurred_on": ["Must not be in the future."]}),
    ("hypertension_follow_up", "next_visit_date", "2024-05-20", {"next_visit_date": ["Must be after the visit date (occurred_on)."]}),
    ("hypertension_follow_up", "next_visit_date", "2025-05-22", {"next_visit_date": ["Must be within a year of the visit date."]}),
    ("hypertension_follow_up", "danger_signs", ["7"], {"danger_signs": ["Not a sign of this form's programmes: 7."]}),
    ("diabetes_follow_up", "danger_signs", ["6"], {"danger_signs": ["Not a sign of this form's programmes: 6."]}),
    ("integrated_follow_up", "danger_signs", ["6", "7"], None),
    ("integrated_follow_up", "symptoms", ["16"], {"symptoms_other": ["Required when 其他 (16) is selected in symptoms."]}),
])
def test_each_rule_refuses_with_an_error_naming_the_field(record_type, path, value, expected):
    content = with_path(FACTORIES[record_type](), path, value)
    if expected is None:
        load(record_type, content)
    else:
        assert errors(record_type, content) == expected


@pytest.mark.parametrize("record_type, missing", [
    ("hypertension_follow_up", ["blood_pressure", "weight", "heart_rate"]),
    ("diabetes_follow_up", ["blood_pressure", "weight", "dorsalis_pedis"]),
    ("integrated_follow_up", ["blood_pressure", "weight", "heart_rate", "dorsalis_pedis"]),
])
def test_a_face_to_face_visit_must_measure_and_a_phone_call_need_not(record_type, missing):
    content = FACTORIES[record_type]()
    content["signs"] = {}
    if record_type == "integrated_follow_up":
        content["classifications"] = {"hypertension": "2", "type2_diabetes": "2"}
    else:
        content["classification"] = "2"
    found = errors(record_type, content)["signs"]
    assert found == {name: ["Required at a face-to-face visit (门诊 or 家庭)."] for name in missing}
    load(record_type, {**content, "method": "3"})


def test_satisfactory_needs_the_blood_pressure_on_the_target_of_the_residents_age():
    on_elderly_target = with_path(hypertension(classification="1"), "signs.blood_pressure",
                                  {"systolic": 145, "diastolic": 85})
    load("hypertension_follow_up", on_elderly_target)                            # 73: <150/90
    assert errors("hypertension_follow_up", on_elderly_target, birth_date=date(1970, 1, 1)) == {
        "classification": ["控制满意 (1) needs the reading on target (shared.follow_ups)."]}   # 54: <140/90
    phoned = with_path(hypertension(classification="1", method="3"), "signs", {})
    assert errors("hypertension_follow_up", phoned) == {
        "classification": ["控制满意 (1) needs the blood pressure measured."]}


def test_satisfactory_diabetes_needs_a_fasting_glucose_below_7_and_no_adverse_reaction():
    assert errors("diabetes_follow_up", diabetes(classification="1")) == {
        "classification": ["控制满意 (1) needs the reading on target (shared.follow_ups)."]}
    assert errors("diabetes_follow_up", diabetes(classification="1", tests=None)) == {
        "classification": ["控制满意 (1) needs the fasting glucose (tests.fbg) measured."]}
    on_target = diabetes(classification="1", tests={"fbg": 6.9, "date": "2024-05-20"})
    load("diabetes_follow_up", on_target)
    assert errors("diabetes_follow_up", {**on_target, "adverse_reaction": {"present": True, "detail": "胃肠不适"}}) == {
        "classification": ["控制满意 (1) is not allowed with an adverse reaction; choose 不良反应 (3)."]}


def test_adverse_reaction_classification_needs_an_adverse_reaction():
    assert errors("hypertension_follow_up", hypertension(classification="3")) == {
        "classification": ["不良反应 (3) needs adverse_reaction.present."]}
    load("hypertension_follow_up", hypertension(classification="3", adverse_reaction={"present": True,
                                                                                      "detail": "踝部水肿"}))


def test_an_integrated_visit_classifies_each_programme_on_its_own_reading():
    content = integrated(tests={"fbg": 7.5, "date": "2024-05-20"})
    assert errors("integrated_follow_up", content) == {"classifications": {
        "type2_diabetes": ["控制满意 (1) needs the reading on target (shared.follow_ups)."]}}
    stored = load("integrated_follow_up", {**content, "classifications": {"hypertension": "1", "type2_diabetes": "2"}})
    assert stored["classifications"] == {"hypertension": "1", "type2_diabetes": "2"}
    assert errors("integrated_follow_up", {**content, "classifications": {"hypertension": "1"}}) == {
        "classifications": {"type2_diabetes": ["Missing data for required field."]}}
    assert "classification" in errors("integrated_follow_up", {**content, "classification": "1"})


def test_an_integrated_visit_asks_each_shared_question_once():
    form = published_forms()["integrated_follow_up"]["components"]
    lifestyle = form["Form.IntegratedLifestyle"]["properties"]
    assert {"salt", "staple_food", "smoking", "exercise_per_week"} <= set(lifestyle)
    signs = form["Form.IntegratedSigns"]["properties"]
    assert {"heart_rate", "dorsalis_pedis", "blood_pressure"} <= set(signs)


def test_no_two_forms_publish_different_sections_under_one_name():
    seen = {}
    for record_type, form in published_forms().items():
        for name, schema in form["components"].items():
            assert seen.setdefault(name, schema) == schema, f"{name} differs in {record_type}"


# -- elderly forms ---------------------------------------------------------------------------------


@pytest.mark.parametrize("record_type", ["elderly_self_care", "elderly_tcm"])
def test_the_elderly_forms_are_refused_below_65_in_the_year_of_service(record_type):
    turning_65_in_december = date(1959, 12, 31)
    load(record_type, FACTORIES[record_type](), birth_date=turning_65_in_december)
    assert errors(record_type, FACTORIES[record_type](), birth_date=date(1960, 1, 1)) == {
        "occurred_on": ["The form is asked only of residents aged 65 or more in the year of the form's date."]}


def test_self_care_score_and_level_are_derived_and_checked():
    stored = load("elderly_self_care", self_care())
    assert (stored["score"], stored["level"]) == (7, "2")
    assert errors("elderly_self_care", self_care(score=6)) == {"score": ["Disagrees with the score of the items."]}
    assert errors("elderly_self_care", self_care(level="1")) == {"level": ["Disagrees with the level of the items' score."]}
    assert errors("elderly_self_care", self_care(items={**self_care()["items"], "meals": "2"})) == {
        "items": {"meals": ["Must be one of: 1, 3, 4."]}}
    assert errors("elderly_self_care", self_care(items={"meals": "1"}))["items"]["grooming"] == [
        "Missing data for required field."]


def test_tcm_scores_and_judgments_are_the_servers():
    stored = load("elderly_tcm", tcm())
    assert stored["scores"] == constitution_scores(QI_DEFICIENT)
    assert stored["judgments"] == judge_constitutions(stored["scores"])
    assert stored["judgments"]["qi_deficiency"] == "yes" and stored["judgments"]["balanced"] == "no"
    tampered = {**stored["scores"], "qi_deficiency": 5}
    assert errors("elderly_tcm", tcm(scores=tampered)) == {"scores": ["Disagrees with the scores of the answers."]}


@pytest.mark.parametrize("answers, expected", [
    ([3] * 32, {"answers": ["Answer all 33 questions."]}),
    ([3] * 32 + [6], {"answers": {32: ["Must be greater than or equal to 1 and less than or equal to 5."]}}),
    ([3] * 32 + [2.5], {"answers": {32: ["Not a valid integer."]}}),
])
def test_tcm_needs_33_answers_from_1_to_5(answers, expected):
    assert errors("elderly_tcm", tcm(answers=answers)) == expected


def test_tcm_guidance_is_given_for_each_identified_constitution_and_no_other():
    assert errors("elderly_tcm", tcm(guidance={})) == {"guidance": {
        "qi_deficiency": ["Identified by the answers: give the guidance given for it."]}}
    extra = {**tcm()["guidance"], "damp_heat": {"areas": ["1"]}}
    assert errors("elderly_tcm", tcm(guidance=extra)) == {"guidance": {
        "damp_heat": ["Not identified by the answers (是, 倾向是 or 基本是): no guidance for it."]}}
    assert errors("elderly_tcm", tcm(guidance={"qi_deficiency": {"areas": ["6"]}})) == {"guidance": {
        "qi_deficiency": {"value": {"other": ["Required when 其他 (6) is selected in areas."]}}}}
