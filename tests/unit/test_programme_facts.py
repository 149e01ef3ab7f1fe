"""The programme facts of each record type (services/records/facts.py), the `record_changed`
event they travel in (a valid `ehr.event/1` that a consumer loads back), and the flag a record's
view shows."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from services.records.facts import FACTS, programme_facts, record_flags
from services.records.forms import FORMS, validate_form
from services.records.revisions import changed_message
from shared.actor import Actor
from shared.contracts.events import load_event
from tests.unit.test_follow_up_forms import BIRTH, TODAY, diabetes, hypertension, integrated, self_care, tcm
from tests.unit.test_forms import health_exam, personal_info


def stored(record_type, content, birth_date=BIRTH):
    return json.loads(json.dumps(validate_form(record_type, content, birth_date=birth_date, today=TODAY)))


def encounter(diagnoses=(), **vitals):
    return {"kind": "outpatient", "started_at": "2026-11-26T09:30:00+08:00",
            "diagnoses": [{"system": "ICD-10", "code": code} for code in diagnoses], "vital_signs": vitals or None}


def test_a_hypertension_follow_up_gives_its_visit_classification_readings_and_next_date():
    facts = programme_facts("hypertension_follow_up", stored("hypertension_follow_up", hypertension(
        referral={"reason": "血压控制不满意", "institution": "区人民医院", "department": "心内科"})))
    assert facts == {"programmes": ["hypertension"], "visit_date": date(2024, 5, 20), "visit_method": "1",
                     "classification": "2", "sbp": 150, "dbp": 92, "fbg": None, "urgent": [],
                     "next_visit_date": date(2024, 6, 3), "referred": True}


def test_a_follow_up_meeting_a_trigger_names_it_and_is_flagged():
    content = stored("hypertension_follow_up", hypertension(
        symptoms=["3"], signs={"blood_pressure": {"systolic": 186, "diastolic": 112}, "weight": 70, "heart_rate": 96}))
    assert programme_facts("hypertension_follow_up", content)["urgent"] == ["sbp_180", "dbp_110", "nausea_vomiting"]
    assert record_flags("hypertension_follow_up", content) == ["urgent_referral"]
    assert record_flags("hypertension_follow_up", content, status="entered_in_error") == []
    assert record_flags("hypertension_follow_up", stored("hypertension_follow_up", hypertension())) == []


def test_a_diabetes_follow_up_gives_its_fasting_glucose_and_its_own_triggers():
    content = stored("diabetes_follow_up", diabetes(tests={"fbg": 17.2, "date": "2024-05-20"}, danger_signs=["7"]))
    facts = programme_facts("diabetes_follow_up", content)
    assert facts["programmes"] == ["type2_diabetes"] and facts["fbg"] == 17.2 and facts["visit_method"] == "2"
    assert facts["urgent"] == ["fbg_high", "ketoacidosis"]


def test_an_integrated_visit_counts_for_both_programmes_with_a_classification_each():
    content = stored("integrated_follow_up", integrated(
        classifications={"hypertension": "1", "type2_diabetes": "2"}, tests={"fbg": 3.5, "date": "2024-05-20"}))
    facts = programme_facts("integrated_follow_up", content)
    assert facts["programmes"] == ["hypertension", "type2_diabetes"]
    assert facts["classifications"] == {"hypertension": "1", "type2_diabetes": "2"}
    assert "classification" not in facts
    assert facts["urgent"] == ["fbg_low"] and facts["fbg"] == 3.5


def test_the_elderly_forms_are_services_of_their_programme():
    assert programme_facts("elderly_self_care", stored("elderly_self_care", self_care())) == {
        "programmes": ["elderly"], "visit_date": date(2024, 5, 20)}
    assert programme_facts("elderly_tcm", stored("elderly_tcm", tcm()))["programmes"] == ["elderly_tcm"]


def test_a_health_exam_gives_the_higher_arm_the_fasting_glucose_and_what_they_suggest():
    content = stored("health_exam", health_exam())
    content["general"]["blood_pressure"] = {"left": {"systolic": 138, "diastolic": 92},
                                            "right": {"systolic": 142, "diastolic": 86}}
    content["tests"] = [{"item": "fasting_glucose", "value": 135, "unit": "mg/dL"}]
    facts = programme_facts("health_exam", content, BIRTH)
    assert (facts["sbp"], facts["dbp"], facts["fbg"]) == (142, 86, 7.5)
    assert facts["screening"] == ["hypertension", "diabetes"]
    assert facts["programmes"] == ["elderly"] and facts["visit_date"] == date(2024, 5, 10)


def test_a_health_exam_is_the_elderly_check_from_65_on_the_exam_date():
    content = stored("health_exam", health_exam())
    assert programme_facts("health_exam", content, date(1959, 5, 10))["programmes"] == ["elderly"]
    assert programme_facts("health_exam", content, date(1959, 5, 11))["programmes"] == []
    assert programme_facts("health_exam", content, None)["programmes"] == []


def test_a_personal_info_names_the_conditions_of_its_past_history():
    content = stored("personal_info", personal_info())
    assert programme_facts("personal_info", content) == {"conditions": ["hypertension"]}


def test_visits_and_consultations_have_no_facts():
    assert programme_facts("visit", {"occurred_on": "2024-05-10"}) is None
    assert programme_facts("consultation", {"occurred_on": "2024-05-10"}) is None
    assert set(FACTS) - set(FORMS) == {"hospital_encounter"}


def test_an_encounter_with_i10_and_sbp_185_names_hypertension_and_the_trigger():
    facts = programme_facts("hospital_encounter", encounter(["I10"], sbp=185, dbp=100, heart_rate=110))
    assert facts == {"visit_date": date(2026, 11, 26), "conditions": ["hypertension"],
                     "sbp": 185, "dbp": 100, "fbg": None, "urgent": ["sbp_180"]}
    assert record_flags("hospital_encounter", encounter(["I10"], sbp=185)) == ["urgent_referral"]


@pytest.mark.parametrize("diagnoses, vitals, urgent", [
    (["E11.9"], {"glucose_mmol": 18.0, "temperature": 39.5}, ["fbg_high", "temperature_39"]),
    (["E14"], {"glucose_mmol": 3.2}, ["fbg_low"]),
    ([], {"glucose_mmol": 3.2, "temperature": 39.5, "sbp": 181}, ["sbp_180"]),   # no programme: BP only
    (["J18.9"], {"heart_rate": 120, "dbp": 110}, ["dbp_110"]),
    (["I15.0"], {"sbp": 150}, []),
])
def test_an_encounter_is_held_to_the_triggers_of_the_programmes_its_diagnoses_name(diagnoses, vitals, urgent):
    assert programme_facts("hospital_encounter", encounter(diagnoses, **vitals))["urgent"] == urgent


def test_an_encounters_diabetes_folds_into_type_2_and_its_glucose_is_not_a_fasting_one():
    facts = programme_facts("hospital_encounter", encounter(["E14", "E11.9", "I10"], glucose_mmol=9.0))
    assert facts["conditions"] == ["type2_diabetes", "hypertension"] and facts["fbg"] is None
    assert programme_facts("hospital_encounter", {"kind": "lab_result", "started_at": "2026-11-26T09:30:00+08:00",
                                                  "diagnoses": []})["urgent"] == []


def test_record_changed_is_an_event_a_consumer_loads_back_with_its_facts():
    record = {"archive_no": "11010510110100007", "record_type": "hypertension_follow_up",
              "occurred_at": datetime(2024, 5, 20, tzinfo=timezone.utc), "institution_code": "T1101051011"}
    facts = programme_facts("hypertension_follow_up", stored("hypertension_follow_up", hypertension()))
    message = changed_message("8f3e", record, "filed", 1, facts, Actor("doc01", "T1101051011", "township_doctor"))
    assert message.exchange == "ehr.events" and message.routing_key == "records.record_changed"
    event = load_event(json.loads(json.dumps(message.body)))
    assert event.event_type == "record_changed" and event.actor["user"] == "doc01"
    assert event.data["facts"]["classification"] == "2" and event.data["facts"]["sbp"] == 150
    assert event.data["facts"]["next_visit_date"] == date(2024, 6, 3)
    assert event.data["action"] == "filed" and event.data["record_id"] == "8f3e"

    integrated_facts = programme_facts("integrated_follow_up", stored("integrated_follow_up", integrated()))
    event = load_event(json.loads(json.dumps(changed_message("8f3f", record, "amended", 2, integrated_facts).body)))
    assert event.data["facts"]["classifications"] == {"hypertension": "1", "type2_diabetes": "1"}

    withdrawn = load_event(json.loads(json.dumps(changed_message("8f3e", record, "entered_in_error", 1, None).body)))
    assert withdrawn.data["facts"] is None and withdrawn.data["action"] == "entered_in_error"


def test_a_back_referral_gives_its_date_for_the_referring_doctors_follow_up():
    assert programme_facts("referral_back", {"occurred_on": "2026-12-09", "referral_id": 7,
                                             "diagnosis": "原发性高血压3级"}) == {"visit_date": date(2026, 12, 9)}
