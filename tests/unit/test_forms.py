"""The paper-form records (services.records.forms): complete examples load, and each code
list and conditional rule of the forms rejects what the paper form would not allow."""

import copy
import json
from datetime import date

import pytest

from services.records.forms import FORMS, validate_form
from services.records.forms.exam_general import derive_bmi
from shared.errors import ValidationFailed

BIRTH = date(1950, 6, 15)
TODAY = date(2024, 6, 1)


def personal_info(**overrides):
    content = {
        "occurred_on": "2024-03-01",
        "blood_type": {"abo": "1", "rh": "2"},
        "education": "6",
        "occupation": "4",
        "marital_status": "2",
        "payment": {"methods": ["3", "8"], "other": "大病保险", "rural_cooperative_no": "R-0042"},
        "drug_allergies": ["2", "5"],
        "drug_allergies_other": "头孢",
        "exposures": ["1"],
        "past_history": {
            "diseases": [
                {"code": "2", "diagnosed_on": "2015-06"},
                {"code": "6", "diagnosed_on": "2020-01", "text": "胃"},
            ],
            "operations": [{"name": "阑尾切除术", "date": "1998-07-02"}],
            "injuries": [],
            "transfusions": [{"reason": "术中失血", "date": "1998-07-02"}],
        },
        "family_history": {"father": ["2", "12"], "father_other": "痛风", "mother": ["1"],
                           "siblings": ["3"], "children": ["1"]},
        "hereditary_disease": {"has": False},
        "disabilities": ["1"],
        "living_environment": {"kitchen_ventilation": "2", "fuel": "6", "fuel_other": "秸秆",
                               "drinking_water": "1", "toilet": "1", "livestock_pen": "2"},
    }
    content.update(overrides)
    return content


def health_exam(**overrides):
    absent = {"present": False}
    normal = {"normal": True}
    content = {
        "occurred_on": "2024-05-10",
        "responsible_doctor": "李医生",
        "symptoms": ["3", "25"],
        "symptoms_other": "失眠",
        "general": {
            "temperature": 36.5, "pulse": 72, "respiratory_rate": 18,
            "blood_pressure": {"left": {"systolic": 128, "diastolic": 82},
                               "right": {"systolic": 130, "diastolic": 84}},
            "height": 170, "weight": 65, "waist": 82,
            "health_self_assessment": "2", "self_care": "1", "self_care_score": 0,
            "cognition": {"screen": "1"}, "emotion": {"screen": "2", "score": 12},
        },
        "lifestyle": {
            "exercise": {"frequency": "1", "minutes": 30, "years": 5, "kind": "散步"},
            "diet": ["1", "4"],
            "smoking": {"status": "2", "daily_cigarettes": 10, "start_age": 20, "quit_age": 60},
            "drinking": {"frequency": "2", "daily_liang": 1.5, "quit": False, "start_age": 25,
                         "drunk_last_year": False, "types": ["2", "5"], "types_other": "米酒"},
            "occupational_exposure": {"exposed": True, "job": "矿工", "years": 10, "agents": [
                {"kind": "1", "substance": "煤尘", "protected": True, "protection": "口罩"},
                {"kind": "3", "substance": "噪声", "protected": False}]},
        },
        "organ_function": {
            "oral": {"lips": "1", "dentition": ["2", "4"], "pharynx": "1"},
            "vision": {"left": 0.8, "right": 1.0, "corrected_left": 1.0},
            "hearing": "1", "motor_function": "1",
        },
        "physical_exam": {
            "fundus": {"normal": False, "detail": "视网膜动脉硬化"},
            "skin": "1", "sclera": "1", "lymph_nodes": "1",
            "lungs": {"barrel_chest": False, "breath_sounds": normal, "rales": "1"},
            "heart": {"rate": 72, "rhythm": "1", "murmur": absent},
            "abdomen": {"tenderness": absent, "mass": absent, "hepatomegaly": absent,
                        "splenomegaly": absent, "shifting_dullness": absent},
            "lower_limb_oedema": "1", "dorsalis_pedis": "2", "digital_rectal": "1",
            "breast": ["1"],
            "gynaecology": {"vulva": normal, "vagina": normal, "cervix": normal,
                            "uterus": normal, "adnexa": normal},
        },
        "tests": [
            {"item": "haemoglobin", "value": 135, "unit": "g/L"},
            {"item": "fasting_glucose", "value": 5.6, "unit": "mmol/L"},
            {"item": "urine_protein", "value": "-"},
            {"item": "alt", "value": 25, "unit": "U/L"},
            {"item": "creatinine", "value": 80, "unit": "umol/L"},
            {"item": "total_cholesterol", "value": 5.2, "unit": "mmol/L"},
            {"item": "hbsag", "value": "阴性"},
            {"item": "ecg", "result": "1", "description": "窦性心律"},
            {"item": "other", "name": "同型半胱氨酸", "value": 12, "unit": "μmol/L"},
        ],
        "health_problems": {
            "cerebrovascular": ["1"], "kidney": ["1"], "heart": ["1"], "vascular": ["1"],
            "eye": ["4"], "nervous_system": absent, "other_systems": absent,
        },
        "hospital_stays": [{"admitted_on": "2023-11-02", "discharged_on": "2023-11-12",
                            "reason": "肺炎", "institution": "县人民医院", "record_no": "ZY2023-1102"}],
        "home_sickbeds": [],
        "medications": [{"drug": "硝苯地平缓释片", "usage": "口服", "dose": "20mg bid",
                         "duration": "3年", "adherence": "1"}],
        "vaccinations": [{"name": "流感疫苗", "date": "2023-10-08", "institution": "社区卫生服务中心"}],
        "assessment": {"result": "2", "abnormalities": ["血压偏高"]},
        "guidance": {"codes": ["1"], "risk_factors": ["5", "6"], "target_weight_kg": 62,
                     "vaccine": "肺炎疫苗"},
    }
    content.update(overrides)
    return content


def visit(**overrides):
    content = {"occurred_on": "2024-05-10", "subjective": "头晕两天，无恶心呕吐",
               "objective": "BP 150/95 mmHg", "assessment": "高血压控制不满意",
               "plan": "调整用药，两周后复诊", "clinician": "李医生"}
    content.update(overrides)
    return content


def consultation(**overrides):
    content = {"occurred_on": "2024-05-10", "reason": "血糖控制不佳",
               "opinion": "加用二甲双胍，一月后复查", "responsible_doctor": "李医生",
               "consultants": [{"institution": "县人民医院", "doctor": "王医生"}]}
    content.update(overrides)
    return content


EXAMPLES = {"personal_info": personal_info, "health_exam": health_exam, "visit": visit,
            "consultation": consultation}


def load(record_type, content, birth_date=BIRTH, today=TODAY):
    return validate_form(record_type, content, birth_date=birth_date, today=today)


def errors_of(record_type, content, birth_date=BIRTH, today=TODAY):
    with pytest.raises(ValidationFailed) as caught:
        load(record_type, content, birth_date, today)
    assert caught.value.message == f"invalid {record_type}"
    return caught.value.details


def edited(content, path, value):
    """A copy of ``content`` with the value at ``path`` ("a.b.0.c") replaced (or removed if ...)."""
    content = copy.deepcopy(content)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node = content
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return content


def message_at(details, path):
    node = details
    for key in path.split("."):
        node = node[int(key) if key.isdigit() else key]
    assert isinstance(node, list), node
    return " ".join(node)


# --- every form -------------------------------------------------------------------------------


def test_forms_lists_the_record_types():
    assert set(FORMS) == {"personal_info", "health_exam", "visit", "consultation", "hypertension_follow_up",
                          "diabetes_follow_up", "integrated_follow_up", "elderly_self_care", "elderly_tcm",
                          "referral_out", "referral_back"}


@pytest.mark.parametrize("record_type", sorted(EXAMPLES))
def test_complete_example_loads_and_round_trips_through_json(record_type):
    content = EXAMPLES[record_type]()
    stored = load(record_type, content)
    assert json.loads(json.dumps(stored, ensure_ascii=False)) == stored
    assert stored["occurred_on"] == content["occurred_on"]
    assert load(record_type, stored) == stored  # what was stored loads again unchanged


@pytest.mark.parametrize("record_type", sorted(EXAMPLES))
def test_form_date_in_the_future_is_rejected(record_type):
    details = errors_of(record_type, EXAMPLES[record_type](occurred_on="2024-06-02"))
    assert message_at(details, "occurred_on") == "Must not be in the future."


@pytest.mark.parametrize("record_type", sorted(EXAMPLES))
def test_form_date_before_birth_is_rejected(record_type):
    details = errors_of(record_type, EXAMPLES[record_type](occurred_on="1950-06-14"))
    assert message_at(details, "occurred_on") == "Must not be before the birth date."


@pytest.mark.parametrize("record_type", sorted(EXAMPLES))
def test_unknown_field_is_rejected(record_type):
    details = errors_of(record_type, EXAMPLES[record_type](remarks="x"))
    assert "remarks" in details


def test_unknown_record_type_lists_the_known_ones_without_echoing_it():
    with pytest.raises(ValidationFailed) as caught:
        validate_form("secret_form_x", {}, birth_date=None)
    assert caught.value.message == "unknown record type"
    (message,) = caught.value.details["record_type"]
    assert all(name in message for name in FORMS)
    assert "secret_form_x" not in json.dumps(caught.value.to_dict(), ensure_ascii=False)


def test_content_that_is_not_an_object_is_rejected():
    assert "_schema" in errors_of("visit", ["not", "an", "object"])


def test_today_defaults_to_the_real_date_and_birth_date_may_be_unknown():
    stored = validate_form("visit", visit(occurred_on="1900-01-01"), birth_date=None)
    assert stored["occurred_on"] == "1900-01-01"


def test_error_details_nest_by_field_path_and_never_echo_input_values():
    secret = "SECRET-VALUE-4711"
    content = health_exam()
    content = edited(content, "general.blood_pressure.left.systolic", secret)
    content = edited(content, "physical_exam.lungs.rales", secret)
    content = edited(content, "tests.1.unit", secret)
    content = edited(content, "medications.0.adherence", secret)
    content = edited(content, "hospital_stays.0.admitted_on", secret)
    content = edited(content, "symptoms.0", secret)
    content = edited(content, "responsible_doctor", secret * 10)
    details = errors_of("health_exam", content)
    assert message_at(details, "general.blood_pressure.left.systolic") == "Not a valid integer."
    assert message_at(details, "physical_exam.lungs.rales").startswith("Must be one of:")
    assert message_at(details, "tests.1.unit").startswith("Must be one of:")
    assert message_at(details, "medications.0.adherence").startswith("Must be one of:")
    assert message_at(details, "hospital_stays.0.admitted_on") == "Not a valid date."
    assert message_at(details, "symptoms.0").startswith("Must be one of:")
    assert message_at(details, "responsible_doctor") == "Longer than maximum length 64."
    assert secret not in json.dumps(details, ensure_ascii=False)


def test_free_text_is_trimmed_and_blank_text_is_rejected():
    assert load("visit", visit(subjective="  头晕  "))["subjective"] == "头晕"
    assert message_at(errors_of("visit", visit(subjective="   ")), "subjective") == "Must not be blank."


# --- 个人基本信息表 --------------------------------------------------------------------------


def test_personal_info_keeps_codes_and_texts_as_given():
    stored = load("personal_info", personal_info())
    assert stored["blood_type"] == {"abo": "1", "rh": "2"}
    assert stored["past_history"]["diseases"][1] == {"code": "6", "diagnosed_on": "2020-01", "text": "胃"}
    assert stored["past_history"]["injuries"] == []


@pytest.mark.parametrize("path, value", [
    ("education", "99"),
    ("blood_type.abo", "7"),
    ("blood_type.rh", "0"),
    ("occupation", "9"),
    ("marital_status", "6"),
    ("payment.methods.0", "9"),
    ("exposures.0", "5"),
    ("past_history.diseases.0.code", "14"),
    ("family_history.mother.0", "13"),
    ("disabilities.0", "9"),
    ("living_environment.toilet", "6"),
    ("living_environment.kitchen_ventilation", "5"),
])
def test_unknown_code_is_rejected_at_its_path(path, value):
    details = errors_of("personal_info", edited(personal_info(), path, value))
    assert message_at(details, path).startswith("Must be one of:")


@pytest.mark.parametrize("choice, other, text", [
    ("drug_allergies", ["5"], "drug_allergies_other"),
    ("disabilities", ["8"], "disabilities_other"),
    ("payment.methods", ["8"], "payment.other"),
    ("family_history.father", ["12"], "family_history.father_other"),
    ("living_environment.fuel", "6", "living_environment.fuel_other"),
    ("living_environment.drinking_water", "6", "living_environment.drinking_water_other"),
])
def test_other_option_requires_its_text(choice, other, text):
    content = edited(edited(personal_info(), choice, other), text, None)
    details = errors_of("personal_info", content)
    assert message_at(details, text).startswith("Required when 其他")


@pytest.mark.parametrize("choice, text, plain_code", [
    ("drug_allergies", "drug_allergies_other", ["2"]),
    ("payment.methods", "payment.other", ["3"]),
    ("family_history.father", "family_history.father_other", ["2"]),
    ("living_environment.fuel", "living_environment.fuel_other", "1"),
])
def test_text_without_other_selected_is_rejected_and_says_so(choice, text, plain_code):
    details = errors_of("personal_info", edited(personal_info(), choice, plain_code))
    assert message_at(details, text).startswith("Not allowed unless 其他")


def test_disability_text_without_other_disability_is_rejected():
    details = errors_of("personal_info", personal_info(disabilities_other="x"))
    assert message_at(details, "disabilities_other") == "Not allowed unless 其他残疾 (8) is selected in disabilities."


@pytest.mark.parametrize("path, codes", [
    ("drug_allergies", ["1", "2"]),
    ("exposures", ["2", "1"]),
    ("disabilities", ["1", "5"]),
    ("family_history.mother", ["1", "3"]),
])
def test_exclusive_none_option_cannot_be_combined(path, codes):
    content = edited(personal_info(drug_allergies_other=None), path, codes)
    assert "cannot be combined" in message_at(errors_of("personal_info", content), path)


def test_multiple_choice_needs_one_option_and_no_repeats():
    assert message_at(errors_of("personal_info", personal_info(exposures=[])), "exposures") \
        == "Select at least one option."
    assert message_at(errors_of("personal_info", personal_info(exposures=["2", "2"])), "exposures") \
        == "Must not repeat an option."


def test_insurance_card_number_is_optional_but_only_for_its_method():
    content = edited(personal_info(), "payment.rural_cooperative_no", ...)
    assert "rural_cooperative_no" not in load("personal_info", content)["payment"]
    content = edited(personal_info(), "payment.employee_insurance_no", "E-1")
    assert message_at(errors_of("personal_info", content), "payment.employee_insurance_no") \
        == "Not allowed unless 城镇职工基本医疗保险 (1) is selected in methods."


def test_past_disease_without_diagnosis_date_is_rejected():
    content = edited(personal_info(), "past_history.diseases.0.diagnosed_on", ...)
    details = errors_of("personal_info", content)
    assert message_at(details, "past_history.diseases.0.diagnosed_on") == "Required unless 无 (1) is selected in code."


def test_no_past_disease_takes_no_date():
    content = edited(personal_info(), "past_history.diseases", [{"code": "1", "diagnosed_on": "2000-01"}])
    details = errors_of("personal_info", content)
    assert message_at(details, "past_history.diseases.0.diagnosed_on") == "Not allowed when 无 (1) is selected in code."
    content = edited(personal_info(), "past_history.diseases", [{"code": "1"}])
    assert load("personal_info", content)["past_history"]["diseases"] == [{"code": "1"}]


def test_no_past_disease_cannot_be_combined_with_a_disease():
    content = edited(personal_info(), "past_history.diseases.1", {"code": "1"})
    details = errors_of("personal_info", content)
    assert "cannot be combined" in message_at(details, "past_history.diseases")


def test_past_disease_needs_at_least_one_entry():
    content = edited(personal_info(), "past_history.diseases", [])
    assert errors_of("personal_info", content)["past_history"]["diseases"]


def test_past_disease_diagnosed_before_the_birth_month_is_rejected():
    content = edited(personal_info(), "past_history.diseases.0.diagnosed_on", "1950-05")
    details = errors_of("personal_info", content)
    assert message_at(details, "past_history.diseases.0.diagnosed_on") == "Must not be before the birth month."
    content = edited(personal_info(), "past_history.diseases.0.diagnosed_on", "1950-06")
    assert load("personal_info", content)


def test_past_disease_diagnosed_in_the_future_is_rejected():
    content = edited(personal_info(), "past_history.diseases.0.diagnosed_on", "2024-07")
    details = errors_of("personal_info", content)
    assert message_at(details, "past_history.diseases.0.diagnosed_on") == "Must not be in the future."
    assert load("personal_info", content, today=date(2024, 7, 1))


@pytest.mark.parametrize("month", ["2015-13", "2015-6", "15-06", "2015/06", 201506])
def test_diagnosis_month_must_be_year_dash_month(month):
    content = edited(personal_info(), "past_history.diseases.0.diagnosed_on", month)
    details = errors_of("personal_info", content)
    assert message_at(details, "past_history.diseases.0.diagnosed_on") == "Not a valid year-month (YYYY-MM)."


@pytest.mark.parametrize("code", ["6", "12", "13"])
def test_tumour_occupational_and_other_disease_need_their_text(code):
    content = edited(personal_info(), "past_history.diseases.1", {"code": code, "diagnosed_on": "2020-01"})
    details = errors_of("personal_info", content)
    assert message_at(details, "past_history.diseases.1.text").startswith("Required when")


def test_text_on_a_disease_without_a_blank_is_rejected():
    content = edited(personal_info(), "past_history.diseases.0.text", "原发性")
    details = errors_of("personal_info", content)
    assert message_at(details, "past_history.diseases.0.text").startswith("Not allowed unless")


def test_a_disease_is_listed_once_but_tumours_may_repeat():
    again = {"code": "2", "diagnosed_on": "2016-01"}
    details = errors_of("personal_info", edited(personal_info(), "past_history.diseases.1", again))
    assert "Must not repeat a disease" in message_at(details, "past_history.diseases")
    content = personal_info()
    content["past_history"]["diseases"].append({"code": "6", "diagnosed_on": "2021-01", "text": "肺"})
    assert len(load("personal_info", content)["past_history"]["diseases"]) == 3


@pytest.mark.parametrize("path", ["past_history.operations.0.date", "past_history.transfusions.0.date"])
def test_operation_and_transfusion_dates_stay_within_life(path):
    assert message_at(errors_of("personal_info", edited(personal_info(), path, "1949-01-01")), path) \
        == "Must not be before the birth date."
    assert message_at(errors_of("personal_info", edited(personal_info(), path, "2030-01-01")), path) \
        == "Must not be in the future."


def test_operation_needs_a_name_and_transfusion_a_reason():
    content = edited(personal_info(), "past_history.operations.0.name", ...)
    content = edited(content, "past_history.transfusions.0.reason", ...)
    details = errors_of("personal_info", content)
    assert message_at(details, "past_history.operations.0.name") == "Missing data for required field."
    assert message_at(details, "past_history.transfusions.0.reason") == "Missing data for required field."


def test_hereditary_disease_name_is_required_when_there_is_one_and_forbidden_otherwise():
    details = errors_of("personal_info", personal_info(hereditary_disease={"has": True}))
    assert message_at(details, "hereditary_disease.name") == "Required when has is true."
    details = errors_of("personal_info", personal_info(hereditary_disease={"has": False, "name": "x"}))
    assert message_at(details, "hereditary_disease.name") == "Not allowed unless has is true."
    stored = load("personal_info", personal_info(hereditary_disease={"has": True, "name": "血友病"}))
    assert stored["hereditary_disease"] == {"has": True, "name": "血友病"}


def test_toilet_has_no_other_blank():
    content = edited(personal_info(), "living_environment.toilet_other", "旱厕")
    assert "toilet_other" in errors_of("personal_info", content)["living_environment"]


def test_living_environment_may_be_left_out_but_the_rest_is_required():
    content = edited(personal_info(), "living_environment", ...)
    assert "living_environment" not in load("personal_info", content)
    details = errors_of("personal_info", edited(personal_info(), "education", ...))
    assert message_at(details, "education") == "Missing data for required field."


# --- 健康体检表 ------------------------------------------------------------------------------


@pytest.mark.parametrize("height, weight, bmi", [(170, 65, 22.5), (160, 50, 19.5), (180, 81, 25.0),
                                                 (155.5, 48.2, 19.9)])
def test_bmi_is_derived_from_height_and_weight(height, weight, bmi):
    assert derive_bmi(height, weight) == bmi


def test_stored_bmi_is_derived_even_when_the_client_sends_none():
    stored = load("health_exam", health_exam())
    assert stored["general"]["bmi"] == 22.5


@pytest.mark.parametrize("sent", [22.4, 22.5, 22.6])
def test_client_bmi_within_a_tenth_is_accepted_and_replaced_by_the_derived_one(sent):
    stored = load("health_exam", edited(health_exam(), "general.bmi", sent))
    assert stored["general"]["bmi"] == 22.5


@pytest.mark.parametrize("sent", [22.3, 25.0, 2.25])
def test_client_bmi_disagreeing_with_height_and_weight_is_rejected(sent):
    details = errors_of("health_exam", edited(health_exam(), "general.bmi", sent))
    assert message_at(details, "general.bmi") == "Disagrees with the BMI derived from height and weight."


@pytest.mark.parametrize("arm, systolic, diastolic", [("left", 80, 80), ("right", 70, 90)])
def test_systolic_not_above_diastolic_is_rejected(arm, systolic, diastolic):
    content = edited(health_exam(), f"general.blood_pressure.{arm}", {"systolic": systolic, "diastolic": diastolic})
    details = errors_of("health_exam", content)
    assert message_at(details, f"general.blood_pressure.{arm}.systolic") == "Must be higher than the diastolic pressure."


def test_one_arm_of_blood_pressure_is_enough_but_none_is_not():
    assert load("health_exam", edited(health_exam(), "general.blood_pressure.right", ...))
    details = errors_of("health_exam", edited(health_exam(), "general.blood_pressure", {}))
    assert message_at(details, "general.blood_pressure._schema") == "Measure at least one arm."


@pytest.mark.parametrize("path, value", [
    ("general.temperature", 45), ("general.temperature", 30), ("general.pulse", 300),
    ("general.respiratory_rate", 2), ("general.height", 1.7), ("general.weight", 650),
    ("general.blood_pressure.left.systolic", 400), ("general.blood_pressure.left.diastolic", 10),
    ("physical_exam.heart.rate", 10), ("organ_function.vision.left", 6.0),
])
def test_physiologically_implausible_values_are_rejected(path, value):
    details = errors_of("health_exam", edited(health_exam(), path, value))
    assert message_at(details, path).startswith("Must be greater than or equal to")


def test_no_symptom_cannot_be_combined_with_a_symptom():
    details = errors_of("health_exam", health_exam(symptoms=["1", "3"], symptoms_other=None))
    assert message_at(details, "symptoms") == "无症状 (1) cannot be combined with other options."


def test_other_symptom_requires_its_text_and_text_requires_other_symptom():
    details = errors_of("health_exam", health_exam(symptoms_other=None))
    assert message_at(details, "symptoms_other") == "Required when 其他 (25) is selected in symptoms."
    details = errors_of("health_exam", health_exam(symptoms=["3"]))
    assert message_at(details, "symptoms_other") == "Not allowed unless 其他 (25) is selected in symptoms."


def test_positive_cognition_screen_requires_its_score():
    details = errors_of("health_exam", edited(health_exam(), "general.cognition", {"screen": "2"}))
    assert message_at(details, "general.cognition.score") == "Required when 粗筛阳性 (2) is selected in screen."


def test_negative_screen_takes_no_score_and_scores_stay_in_range():
    details = errors_of("health_exam", edited(health_exam(), "general.emotion", {"screen": "1", "score": 3}))
    assert message_at(details, "general.emotion.score").startswith("Not allowed unless")
    details = errors_of("health_exam", edited(health_exam(), "general.emotion.score", 31))
    assert message_at(details, "general.emotion.score").startswith("Must be greater than or equal to 0")


def test_self_assessment_codes_are_checked():
    details = errors_of("health_exam", edited(health_exam(), "general.health_self_assessment", "6"))
    assert message_at(details, "general.health_self_assessment") == "Must be one of: 1, 2, 3, 4, 5."
    details = errors_of("health_exam", edited(health_exam(), "general.self_care", "5"))
    assert message_at(details, "general.self_care") == "Must be one of: 1, 2, 3, 4."


def test_self_care_score_must_fall_in_the_band_of_its_grade():
    content = edited(health_exam(), "general.self_care_score", 9)
    details = errors_of("health_exam", content)
    assert message_at(details, "general.self_care_score") == "Does not match the score band of self_care."
    assert load("health_exam", edited(content, "general.self_care", "3"))


def test_elderly_self_assessments_are_left_out_below_65():
    # The elderly items are asked from 65 on (test_forms_rules.py): the resident is 64 on the exam day.
    content = health_exam()
    for key in ("health_self_assessment", "self_care", "self_care_score", "cognition", "emotion"):
        del content["general"][key]
    assert load("health_exam", content, birth_date=date(1959, 5, 11))["general"]["bmi"] == 22.5


def test_smoker_needs_daily_amount_and_starting_age_and_no_quitting_age():
    details = errors_of("health_exam", edited(health_exam(), "lifestyle.smoking", {"status": "3", "quit_age": 50}))
    assert message_at(details, "lifestyle.smoking.daily_cigarettes").startswith("Required when")
    assert message_at(details, "lifestyle.smoking.start_age").startswith("Required when")
    assert message_at(details, "lifestyle.smoking.quit_age").startswith("Not allowed unless")


def test_never_smoker_reports_nothing_more():
    assert load("health_exam", edited(health_exam(), "lifestyle.smoking", {"status": "1"}))
    details = errors_of("health_exam", edited(health_exam(), "lifestyle.smoking", {"status": "1", "start_age": 20}))
    assert message_at(details, "lifestyle.smoking.start_age").startswith("Not allowed unless")


def test_quitting_age_before_starting_age_and_ages_above_the_current_age_are_rejected():
    details = errors_of("health_exam", edited(health_exam(), "lifestyle.smoking.quit_age", 18))
    assert message_at(details, "lifestyle.smoking.quit_age") == "Must not be below start_age."
    details = errors_of("health_exam", edited(health_exam(), "lifestyle.smoking.quit_age", 74))
    assert message_at(details, "lifestyle.smoking.quit_age") == "Must not exceed the resident's current age."


def test_drinking_details_follow_frequency_and_quitting():
    details = errors_of("health_exam", edited(health_exam(), "lifestyle.drinking.frequency", "1"))
    assert message_at(details, "lifestyle.drinking.daily_liang") == "Not allowed when 从不 (1) is selected in frequency."
    details = errors_of("health_exam", edited(health_exam(), "lifestyle.drinking.quit", True))
    assert message_at(details, "lifestyle.drinking.quit_age") == "Required when quit is true."
    details = errors_of("health_exam", edited(health_exam(), "lifestyle.drinking.types", ["1"]))
    assert message_at(details, "lifestyle.drinking.types_other").startswith("Not allowed unless 其他 (5)")


def test_exercise_details_are_only_for_those_who_exercise():
    details = errors_of("health_exam", edited(health_exam(), "lifestyle.exercise.frequency", "4"))
    for key in ("minutes", "years", "kind"):
        assert message_at(details, f"lifestyle.exercise.{key}") == "Not allowed when 不锻炼 (4) is selected in frequency."


def test_diet_takes_one_main_pattern_at_most():
    details = errors_of("health_exam", edited(health_exam(), "lifestyle.diet", ["1", "2"]))
    assert "at most one" in message_at(details, "lifestyle.diet")


def test_occupational_exposure_needs_its_agents_and_protection_text():
    details = errors_of("health_exam", edited(health_exam(), "lifestyle.occupational_exposure.agents", []))
    assert message_at(details, "lifestyle.occupational_exposure.agents") == "Required when exposed is true."
    content = edited(health_exam(), "lifestyle.occupational_exposure.agents.0.protection", ...)
    details = errors_of("health_exam", content)
    assert message_at(details, "lifestyle.occupational_exposure.agents.0.protection") == "Required when protected is true."
    assert load("health_exam", edited(health_exam(), "lifestyle.occupational_exposure", {"exposed": False}))


def test_exclusive_normal_options_of_the_physical_exam_cannot_be_combined():
    details = errors_of("health_exam", edited(health_exam(), "physical_exam.breast", ["1", "4"]))
    assert "cannot be combined" in message_at(details, "physical_exam.breast")
    details = errors_of("health_exam", edited(health_exam(), "organ_function.oral.dentition", ["1", "3"]))
    assert "cannot be combined" in message_at(details, "organ_function.oral.dentition")
    details = errors_of("health_exam", edited(health_exam(), "health_problems.heart", ["1", "2"]))
    assert "cannot be combined" in message_at(details, "health_problems.heart")


def test_abnormal_finding_needs_its_description():
    details = errors_of("health_exam", edited(health_exam(), "physical_exam.fundus", {"normal": False}))
    assert message_at(details, "physical_exam.fundus.detail") == "Required when normal is false."
    details = errors_of("health_exam", edited(health_exam(), "physical_exam.skin", "7"))
    assert message_at(details, "physical_exam.skin_other").startswith("Required when 其他 (7)")
    details = errors_of("health_exam", edited(health_exam(), "health_problems.nervous_system", {"present": True}))
    assert message_at(details, "health_problems.nervous_system.detail") == "Required when present is true."


def test_test_units_are_normalised_and_validated_per_item():
    stored = load("health_exam", health_exam())
    creatinine = next(t for t in stored["tests"] if t["item"] == "creatinine")
    assert creatinine["unit"] == "μmol/L"
    assert load("health_exam", edited(health_exam(), "tests.1", {"item": "fasting_glucose", "value": 101,
                                                                 "unit": "mg/dL"}))
    details = errors_of("health_exam", edited(health_exam(), "tests.0.unit", "g/dL"))
    assert message_at(details, "tests.0.unit") == "Must be one of: g/L."


def test_test_value_outside_the_plausible_range_for_its_unit_is_rejected():
    details = errors_of("health_exam", edited(health_exam(), "tests.1.value", 101))
    assert message_at(details, "tests.1.value") == "Outside the plausible range 0.5-60 mmol/L."


@pytest.mark.parametrize("index, value, message", [
    (0, "正常", "Must be a number."),
    (2, "+++++", "Must be one of: -, ±, +, ++, +++, ++++."),
    (6, "弱阳性", "Must be one of: 阴性, 阳性."),
    (7, 1, "Must be text."),
    (0, True, "Must be a number or text."),
])
def test_test_value_must_fit_the_kind_of_item(index, value, message):
    details = errors_of("health_exam", edited(health_exam(), f"tests.{index}.value", value))
    assert message_at(details, f"tests.{index}.value") == message


def test_graded_and_descriptive_tests_take_no_unit():
    details = errors_of("health_exam", edited(health_exam(), "tests.2.unit", "g/L"))
    assert message_at(details, "tests.2.unit") == "Must be left out for this item."


def test_a_test_is_listed_once_and_other_tests_need_a_name():
    content = health_exam()
    content["tests"].append({"item": "alt", "value": 30, "unit": "U/L"})
    assert message_at(errors_of("health_exam", content), "tests") == "Must not repeat the same item."
    details = errors_of("health_exam", edited(health_exam(), "tests.8.name", ...))
    assert message_at(details, "tests.8.name") == "Required when 其他 (other) is selected in item."
    details = errors_of("health_exam", edited(health_exam(), "tests.8.item", "no_such_test"))
    assert message_at(details, "tests.8.item").startswith("Must be one of:")


def test_discharge_before_admission_is_rejected():
    details = errors_of("health_exam", edited(health_exam(), "hospital_stays.0.discharged_on", "2023-11-01"))
    assert message_at(details, "hospital_stays.0.discharged_on") == "Must not be before admitted_on."


def test_home_sickbed_may_be_ongoing_but_not_set_up_in_the_future():
    ongoing = {"admitted_on": "2024-05-01", "reason": "脑卒中后遗症", "institution": "卫生院"}
    stored = load("health_exam", health_exam(home_sickbeds=[ongoing]))
    assert stored["home_sickbeds"] == [ongoing]
    details = errors_of("health_exam", health_exam(home_sickbeds=[dict(ongoing, admitted_on="2024-06-02")]))
    assert message_at(details, "home_sickbeds.0.admitted_on") == "Must not be in the future."


def test_medication_adherence_uses_its_three_codes():
    details = errors_of("health_exam", edited(health_exam(), "medications.0.adherence", "4"))
    assert message_at(details, "medications.0.adherence") == "Must be one of: 1, 2, 3."


def test_vaccination_before_birth_is_rejected():
    details = errors_of("health_exam", edited(health_exam(), "vaccinations.0.date", "1950-01-01"))
    assert message_at(details, "vaccinations.0.date") == "Must not be before the birth date."


def test_abnormal_assessment_lists_the_abnormalities_and_normal_lists_none():
    details = errors_of("health_exam", edited(health_exam(), "assessment", {"result": "2", "abnormalities": []}))
    assert message_at(details, "assessment.abnormalities") == "Required when 有异常 (2) is selected in result."
    details = errors_of("health_exam", edited(health_exam(), "assessment.result", "1"))
    assert message_at(details, "assessment.abnormalities").startswith("Not allowed unless")
    assert load("health_exam", edited(health_exam(), "assessment", {"result": "1"}))


def test_guidance_weight_target_vaccine_and_other_text_follow_the_risk_factors():
    details = errors_of("health_exam", edited(health_exam(), "guidance.risk_factors", ["5", "7"]))
    assert message_at(details, "guidance.risk_factors_other").startswith("Required when 其他 (7)")
    assert message_at(details, "guidance.vaccine").startswith("Not allowed unless 建议接种疫苗 (6)")
    details = errors_of("health_exam", edited(health_exam(), "guidance.target_weight_kg", ...))
    assert message_at(details, "guidance.target_weight_kg").startswith("Required when 减体重 (5)")
    assert load("health_exam", edited(health_exam(), "guidance", {"codes": [], "risk_factors": []}))


def test_only_symptoms_general_state_and_assessment_are_required():
    minimal = {key: health_exam()[key] for key in
               ("occurred_on", "responsible_doctor", "symptoms", "symptoms_other", "general", "assessment")}
    assert set(load("health_exam", minimal)) == set(minimal)
    details = errors_of("health_exam", {"occurred_on": "2024-05-10"})
    assert {"responsible_doctor", "symptoms", "general", "assessment"} <= set(details)


# --- 接诊记录表 and 会诊记录表 ----------------------------------------------------------------


def test_visit_needs_subjective_assessment_and_clinician():
    details = errors_of("visit", {"occurred_on": "2024-05-10"})
    assert set(details) == {"subjective", "assessment", "clinician"}
    assert load("visit", visit(objective=None, plan=None))


def test_visit_notes_have_a_maximum_length():
    details = errors_of("visit", visit(plan="很" * 2001))
    assert message_at(details, "plan") == "Longer than maximum length 2000."


def test_consultation_needs_at_least_one_consultant_with_institution_and_doctor():
    details = errors_of("consultation", consultation(consultants=[]))
    assert message_at(details, "consultants") == "Give 1 to 10 consultants."
    details = errors_of("consultation", consultation(consultants=[{"institution": "县人民医院"}]))
    assert message_at(details, "consultants.0.doctor") == "Missing data for required field."


def test_consultation_needs_reason_opinion_and_responsible_doctor():
    details = errors_of("consultation", {"occurred_on": "2024-05-10", "consultants": [
        {"institution": "县人民医院", "doctor": "王医生"}]})
    assert set(details) == {"reason", "opinion", "responsible_doctor"}
