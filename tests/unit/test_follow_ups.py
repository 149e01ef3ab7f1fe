"""The programmes' rules in shared/follow_ups.py and shared/elderly_assessments.py: targets,
urgent-referral triggers, the screening rule, the self-care levels and the 中医体质 judging rule,
each at its boundaries."""

from __future__ import annotations

import pytest

from shared.codes import SelfCareAbility
from shared.elderly_assessments import (
    CONSTITUTION_QUESTIONS, GUIDANCE, QUESTIONS, REVERSED, SELF_CARE_ITEMS, SELF_CARE_MAX, Constitution,
    GuidanceArea, constitution_scores, judge_constitutions, self_care_level, self_care_score,
)
from shared.follow_ups import (
    DIABETES, HYPERTENSION, SIGN_TRIGGERS, TRIGGERS, DangerSign, DiabetesSymptom, HypertensionSymptom,
    IntegratedSymptom, Readings, bp_target, on_target, screening, signs_of, symptom_triggers, urgent_triggers,
)
from shared.key_populations import PROGRAMMES

# -- targets --------------------------------------------------------------------------------------


@pytest.mark.parametrize("age, sbp, dbp, expected", [
    (64, 139, 89, True), (64, 140, 80, False), (64, 130, 90, False),
    (65, 149, 89, True), (65, 150, 80, False), (65, 140, 90, False),
    (None, 145, 85, False),          # an unknown age takes the general target
])
def test_blood_pressure_is_on_target_below_140_90_and_from_65_below_150_90(age, sbp, dbp, expected):
    assert on_target(HYPERTENSION, Readings(sbp=sbp, dbp=dbp), age) is expected


def test_bp_target_changes_on_the_65th_year():
    assert bp_target(64) == (140, 90) and bp_target(65) == (150, 90)


@pytest.mark.parametrize("fbg, expected", [(6.9, True), (7.0, False), (12.0, False)])
def test_fasting_glucose_is_on_target_below_7(fbg, expected):
    assert on_target(DIABETES, Readings(fbg=fbg)) is expected


def test_a_reading_not_taken_is_neither_on_nor_off_target():
    assert on_target(HYPERTENSION, Readings(sbp=130)) is None
    assert on_target(DIABETES, Readings(sbp=130, dbp=80)) is None
    with pytest.raises(ValueError):
        on_target("elderly", Readings())


# -- urgent triggers ------------------------------------------------------------------------------


@pytest.mark.parametrize("readings, expected", [
    (Readings(sbp=179, dbp=109), []),
    (Readings(sbp=180, dbp=100), ["sbp_180"]),
    (Readings(sbp=170, dbp=110), ["dbp_110"]),
    (Readings(sbp=200, dbp=120), ["sbp_180", "dbp_110"]),
])
def test_blood_pressure_triggers_at_180_and_110(readings, expected):
    assert urgent_triggers(readings, programmes=[HYPERTENSION]) == expected
    assert urgent_triggers(readings, programmes=[DIABETES]) == expected


@pytest.mark.parametrize("fbg, expected", [
    (16.6, []), (16.7, ["fbg_high"]), (3.9, ["fbg_low"]), (4.0, []), (2.1, ["fbg_low"]),
])
def test_glucose_triggers_at_16_7_and_3_9_for_diabetes(fbg, expected):
    assert urgent_triggers(Readings(fbg=fbg), programmes=[DIABETES]) == expected
    assert urgent_triggers(Readings(fbg=fbg), programmes=[HYPERTENSION]) == []


@pytest.mark.parametrize("readings, expected", [
    (Readings(heart_rate=100), []), (Readings(heart_rate=101), ["heart_rate_100"]),
    (Readings(temperature=39.0), []), (Readings(temperature=39.1), ["temperature_39"]),
])
def test_heart_rate_above_100_and_temperature_above_39_trigger_for_diabetes_only(readings, expected):
    assert urgent_triggers(readings, programmes=[DIABETES]) == expected
    assert urgent_triggers(readings, programmes=[HYPERTENSION]) == []


def test_danger_signs_trigger_for_their_programmes_only():
    ketoacidosis, orthopnoea, pregnancy = (DangerSign.KETOACIDOSIS.value, DangerSign.ORTHOPNOEA.value,
                                           DangerSign.PREGNANCY_RAISED.value)
    signs = [ketoacidosis, orthopnoea, pregnancy]
    assert urgent_triggers(Readings(), signs=signs, programmes=[HYPERTENSION]) == ["orthopnoea", "pregnancy_raised"]
    assert urgent_triggers(Readings(), signs=signs, programmes=[DIABETES]) == ["ketoacidosis", "pregnancy_raised"]
    assert ketoacidosis not in signs_of([HYPERTENSION]) and orthopnoea not in signs_of([DIABETES])
    assert set(signs_of([HYPERTENSION, DIABETES])) == set(DangerSign.codes())


def test_every_sign_names_a_trigger_and_every_trigger_a_known_programme():
    assert set(SIGN_TRIGGERS) == set(DangerSign.codes())
    assert set(SIGN_TRIGGERS.values()) <= set(TRIGGERS)
    for trigger in TRIGGERS.values():
        assert set(trigger.programmes) <= set(PROGRAMMES)


def test_the_hypertension_forms_nausea_and_palpitations_are_triggers_and_its_milder_symptoms_are_not():
    assert symptom_triggers(HypertensionSymptom, ["3", "6"]) == ["nausea_vomiting", "palpitations_chest_tightness"]
    assert symptom_triggers(HypertensionSymptom, ["2", "4", "5"]) == []
    assert symptom_triggers(IntegratedSymptom, ["3", "10"]) == ["nausea_vomiting"]
    assert symptom_triggers(DiabetesSymptom, DiabetesSymptom.codes()) == []
    found = symptom_triggers(HypertensionSymptom, ["3"])
    assert urgent_triggers(Readings(sbp=185), symptoms=found, programmes=[HYPERTENSION]) == [
        "sbp_180", "nausea_vomiting"]


# -- screening [M] --------------------------------------------------------------------------------


@pytest.mark.parametrize("readings, expected", [
    (Readings(sbp=139, dbp=89, fbg=6.9), []),
    (Readings(sbp=140, dbp=80), ["hypertension"]),
    (Readings(sbp=120, dbp=90), ["hypertension"]),
    (Readings(fbg=7.0), ["diabetes"]),
    (Readings(sbp=150, dbp=95, fbg=8.0), ["hypertension", "diabetes"]),
    (Readings(), []),
])
def test_an_exams_readings_suggest_hypertension_from_140_90_and_diabetes_from_7(readings, expected):
    assert screening(readings) == expected


# -- 生活自理能力 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("score, level", [
    (0, SelfCareAbility.INDEPENDENT), (3, SelfCareAbility.INDEPENDENT),
    (4, SelfCareAbility.MILDLY_DEPENDENT), (8, SelfCareAbility.MILDLY_DEPENDENT),
    (9, SelfCareAbility.MODERATELY_DEPENDENT), (18, SelfCareAbility.MODERATELY_DEPENDENT),
    (19, SelfCareAbility.DEPENDENT), (37, SelfCareAbility.DEPENDENT),
])
def test_self_care_levels_at_each_boundary(score, level):
    assert self_care_level(score) == level.value


def test_a_self_care_score_outside_0_37_has_no_level():
    for score in (-1, 38):
        with pytest.raises(ValueError):
            self_care_level(score)


def test_self_care_items_score_as_the_national_form():
    everything = {item: "4" for item in SELF_CARE_ITEMS}
    assert self_care_score(everything) == SELF_CARE_MAX == 37
    assert self_care_score({item: "1" for item in SELF_CARE_ITEMS}) == 0
    assert self_care_score({"meals": "3", "grooming": "2", "dressing": "1", "toileting": "3", "activity": "2"}) == 10
    assert "2" not in SELF_CARE_ITEMS["meals"][1] and "2" not in SELF_CARE_ITEMS["dressing"][1]


# -- 中医体质辨识 -------------------------------------------------------------------------------------


def test_thirty_three_questions_each_scored_for_at_least_one_constitution():
    assert len(QUESTIONS) == 33
    scored = {q for questions in CONSTITUTION_QUESTIONS.values() for q in questions}
    assert scored == set(range(1, 34))
    assert set(CONSTITUTION_QUESTIONS) == set(Constitution.codes())
    assert REVERSED == {2, 4, 5, 13} and REVERSED < set(CONSTITUTION_QUESTIONS["balanced"])
    assert all(len(q) == 4 for name, q in CONSTITUTION_QUESTIONS.items() if name != "balanced")


def test_balanced_scores_its_reversed_questions_six_minus_the_answer():
    answers = [1] * 33
    assert constitution_scores(answers)["balanced"] == 1 + 5 * 4
    answers = [5] * 33
    assert constitution_scores(answers)["balanced"] == 5 + 1 * 4
    assert constitution_scores(answers)["qi_deficiency"] == 20


def test_constitution_scores_need_all_answers():
    with pytest.raises(ValueError):
        constitution_scores([3] * 32)


def _scores(balanced: int = 12, **biased: int) -> dict[str, int]:
    scores = {name: 4 for name in Constitution.codes()}
    scores.update(biased, balanced=balanced)
    return scores


@pytest.mark.parametrize("score, judged", [(8, "no"), (9, "tending"), (10, "tending"), (11, "yes")])
def test_a_biased_constitution_is_tending_from_9_and_yes_from_11(score, judged):
    assert judge_constitutions(_scores(qi_stagnation=score))["qi_stagnation"] == judged


@pytest.mark.parametrize("balanced, other, judged", [
    (16, 4, "no"), (17, 4, "yes"),                 # 平和 at 16/17
    (17, 8, "yes"), (17, 9, "basically"), (17, 10, "basically"), (17, 11, "no"),   # others at 8/9/10/11
    (25, 11, "no"), (16, 8, "no"),
])
def test_balanced_is_yes_with_others_at_most_8_and_basically_with_others_at_most_10(balanced, other, judged):
    assert judge_constitutions(_scores(balanced, damp_heat=other))["balanced"] == judged


def test_every_constitution_has_guidance_in_each_of_the_five_areas():
    areas = {area.value for area in GuidanceArea if area is not GuidanceArea.OTHER}
    assert set(GUIDANCE) == set(Constitution.codes())
    for guidance in GUIDANCE.values():
        assert set(guidance) == areas and all(guidance.values())
