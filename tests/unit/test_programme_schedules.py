"""Every schedule rule of the programmes (services/programmes/schedules.py), the eligibility rule
and the targets, on plain facts: no database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.programmes import eligibility
from services.programmes.schedules import (
    RULES, SCHEDULES, Fact, age_on, compute, consecutive_unsatisfactory, due_window, on_target,
)

ENROLLED = date(2026, 1, 5)
HYPERTENSION = SCHEDULES["hypertension"][0]
DIABETES = SCHEDULES["type2_diabetes"][0]
CHECK, TCM = SCHEDULES["elderly"]


def visit(day: date, code: str | None = "1", method: str | None = "1", programmes=("hypertension",), rid=None,
          next_visit=None, urgent=(), record_type="hypertension_follow_up", classifications=None) -> Fact:
    return Fact(rid or f"r{day.isoformat()}{code}", record_type, day, tuple(programmes),
                classifications if classifications is not None else ({p: code for p in programmes} if code else {}),
                method, next_visit, tuple(urgent))


def hypertension(*facts):
    return compute(HYPERTENSION, "hypertension", facts, ENROLLED)


def test_the_first_follow_up_is_due_14_days_after_enrolment():
    due = hypertension()
    assert (due.due_date, due.reason) == (ENROLLED + timedelta(days=14), "first_follow_up")


def test_the_next_face_to_face_follow_up_is_due_90_days_after_the_last():
    due = hypertension(visit(date(2026, 2, 1)), visit(date(2026, 3, 1)))
    assert (due.due_date, due.reason, due.last_date) == (date(2026, 5, 30), "routine", date(2026, 3, 1))


def test_a_phone_follow_up_does_not_restart_the_face_to_face_clock():
    due = hypertension(visit(date(2026, 2, 1)), visit(date(2026, 3, 1), method="3"))
    assert due.due_date == date(2026, 2, 1) + timedelta(days=90)
    assert due.last_date == date(2026, 3, 1) and due.last_face_to_face == date(2026, 2, 1)


def test_an_earlier_next_visit_date_brings_the_due_date_forward_and_a_later_one_does_not():
    sooner = hypertension(visit(date(2026, 2, 1), next_visit=date(2026, 3, 15)))
    assert (sooner.due_date, sooner.reason) == (date(2026, 3, 15), "next_visit_date")
    later = hypertension(visit(date(2026, 2, 1), next_visit=date(2026, 8, 1)))
    assert later.reason == "routine"


@pytest.mark.parametrize("code, reason", [("2", "revisit_unsatisfactory"), ("3", "revisit_adverse_reaction")])
def test_an_unsatisfactory_reading_or_adverse_reaction_calls_for_a_revisit_within_2_weeks(code, reason):
    due = hypertension(visit(date(2026, 2, 1), code))
    assert (due.due_date, due.reason, due.referrals) == (date(2026, 2, 15), reason, ())


def test_two_consecutive_unsatisfactory_readings_suggest_a_referral_and_a_follow_up_within_2_weeks():
    due = hypertension(visit(date(2026, 2, 1), "2"), visit(date(2026, 2, 14), "2"))
    assert (due.due_date, due.reason, due.referrals) == (date(2026, 2, 28), "referral_two_unsatisfactory",
                                                         ("two_unsatisfactory",))
    assert due.consecutive_unsatisfactory == 2


def test_a_satisfactory_reading_breaks_the_run_and_an_unclassified_one_does_not():
    assert consecutive_unsatisfactory("hypertension", [visit(date(2026, 1, 1), "2"), visit(date(2026, 2, 1), "1"),
                                                       visit(date(2026, 3, 1), "2")]) == 1
    assert consecutive_unsatisfactory("hypertension", [visit(date(2026, 1, 1), "2"), visit(date(2026, 2, 1), None),
                                                       visit(date(2026, 3, 1), "2")]) == 2


def test_complications_suggest_a_referral():
    due = hypertension(visit(date(2026, 2, 1), "4"))
    assert (due.reason, due.referrals, due.due_date) == ("referral_complications", ("complications",), date(2026, 2, 15))


def test_an_urgent_trigger_flags_the_schedule_until_a_follow_up_without_one():
    flagged = hypertension(visit(date(2026, 2, 1), "2", urgent=("sbp_180",)))
    assert (flagged.urgent, flagged.urgent_triggers, flagged.reason) == (True, ("sbp_180",), "urgent_referral")
    assert flagged.referrals[0] == "urgent" and flagged.due_date == date(2026, 2, 15)
    cleared = hypertension(visit(date(2026, 2, 1), "2", urgent=("sbp_180",)), visit(date(2026, 2, 10), "1"))
    assert not cleared.urgent


def test_a_back_referral_since_the_last_follow_up_makes_one_due_within_two_weeks_of_it():
    back = Fact("back1", "referral_back", date(2026, 2, 20), (), {}, None, None, ())
    due = hypertension(visit(date(2026, 2, 1), "1"), back)
    assert (due.due_date, due.reason) == (date(2026, 3, 6), "back_referral")
    assert due.last_record_id == "r2026-02-011"  # the 回转单 is no follow-up of the programme
    settled = hypertension(visit(date(2026, 2, 1), "1"), back, visit(date(2026, 3, 1), "1"))
    assert (settled.due_date, settled.reason) == (date(2026, 5, 30), "routine")
    earlier = hypertension(visit(date(2026, 2, 1), "2"), back)  # the re-visit within 2 weeks comes first
    assert (earlier.due_date, earlier.reason) == (date(2026, 2, 15), "revisit_unsatisfactory")


def test_a_hospital_encounter_with_a_trigger_since_the_last_follow_up_flags_the_chronic_schedule():
    encounter = Fact("enc1", "hospital_encounter", date(2026, 3, 3), (), {}, None, None, ("fbg_high",))
    due = compute(DIABETES, "type2_diabetes", [visit(date(2026, 2, 1), programmes=("type2_diabetes",)), encounter],
                  ENROLLED)
    assert (due.urgent, due.urgent_record_id) == (True, "enc1")
    older = Fact("enc0", "hospital_encounter", date(2026, 1, 20), (), {}, None, None, ("fbg_high",))
    assert not compute(DIABETES, "type2_diabetes", [visit(date(2026, 2, 1), programmes=("type2_diabetes",)), older],
                       ENROLLED).urgent


def test_an_integrated_visit_satisfies_both_programmes_with_its_own_classification_each():
    both = visit(date(2026, 2, 1), programmes=("hypertension", "type2_diabetes"), record_type="integrated_follow_up",
                 classifications={"hypertension": "1", "type2_diabetes": "2"})
    assert hypertension(both).reason == "routine"
    diabetes = compute(DIABETES, "type2_diabetes", [both], ENROLLED)
    assert (diabetes.last_date, diabetes.reason) == (date(2026, 2, 1), "revisit_unsatisfactory")


def test_a_record_of_another_programme_does_not_satisfy_the_schedule():
    assert hypertension(visit(date(2026, 2, 1), programmes=("type2_diabetes",))).last_date is None


def test_the_elderly_annual_check_is_a_health_exam_naming_the_programme_once_a_year():
    exam = visit(date(2026, 3, 1), None, None, ("elderly",), record_type="health_exam")
    self_care = visit(date(2026, 4, 1), None, None, ("elderly",), record_type="elderly_self_care")
    due = compute(CHECK, "elderly", [exam, self_care], ENROLLED)
    assert (due.due_date, due.reason, due.last_date) == (date(2027, 3, 1), "annual", date(2026, 3, 1))
    assert compute(CHECK, "elderly", [], ENROLLED).due_date == ENROLLED + timedelta(days=RULES.first_annual_days)


def test_the_tcm_service_is_its_own_annual_schedule():
    tcm = visit(date(2026, 5, 1), None, None, ("elderly_tcm",), record_type="elderly_tcm")
    assert compute(TCM, "elderly", [tcm], ENROLLED).due_date == date(2027, 5, 1)
    assert compute(CHECK, "elderly", [tcm], ENROLLED).last_date is None


@pytest.mark.parametrize("offset, window", [(-1, "overdue"), (0, "due"), (6, "due"), (7, None)])
def test_due_this_week_and_overdue(offset, window):
    today = date(2026, 6, 1)
    assert due_window(today + timedelta(days=offset), today) == window


@pytest.mark.parametrize("sbp, dbp, age, expected", [
    (139, 89, 60, True), (140, 80, 60, False), (130, 90, 60, False), (149, 89, 65, True), (150, 80, 70, False),
    (None, 80, 60, None)])
def test_blood_pressure_targets(sbp, dbp, age, expected):
    assert on_target("hypertension", sbp, dbp, None, age) is expected


@pytest.mark.parametrize("fbg, expected", [(6.9, True), (7.0, False), (None, None)])
def test_glucose_target(fbg, expected):
    assert on_target("type2_diabetes", None, None, fbg, 60) is expected


def test_age_in_completed_years():
    assert age_on(date(1961, 6, 2), date(2026, 6, 1)) == 64
    assert age_on(date(1961, 6, 1), date(2026, 6, 1)) == 65


RESIDENT = {"status": "active", "residence_type": "1", "birth_date": date(1961, 12, 31)}


def test_the_elderly_are_eligible_in_the_year_they_turn_65():
    assert eligibility.eligible("elderly", RESIDENT, date(2026, 1, 2))
    assert "birth_date" in eligibility.problems("elderly", RESIDENT, date(2025, 12, 31))
    assert eligibility.elderly_born_by(2026) == date(1961, 12, 31)


def test_chronic_programmes_start_at_35_on_the_day():
    young = {**RESIDENT, "birth_date": date(1991, 6, 2)}
    assert "birth_date" in eligibility.problems("hypertension", young, date(2026, 6, 1))
    assert eligibility.eligible("hypertension", young, date(2026, 6, 2))


def test_registered_and_non_registered_permanent_residents_alike():
    # 常住居民 are 户籍 and 非户籍 alike (domain.md §0): the 常住类型 excludes no one.
    for residence_type in ("1", "2", None):
        assert eligibility.eligible("type2_diabetes", {**RESIDENT, "residence_type": residence_type}, date(2026, 1, 2))


def test_a_programme_not_run_here_and_an_inactive_archive_are_named():
    assert "programme" in eligibility.problems("tuberculosis", RESIDENT, date(2026, 1, 2))
    assert "archive_no" in eligibility.problems("hypertension", {**RESIDENT, "status": "terminated"}, date(2026, 1, 2))
