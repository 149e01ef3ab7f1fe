"""The programmes end to end, on the real registry, records, programmes and gateway, through the
HTTP API only (and a hospital's encounter over AMQP, as a HIS sends it): a hospital's I10
diagnosis becomes a suggestion, confirming it enrols, filed follow-ups move the work list's due
date, two unsatisfactory readings suggest a referral, an integrated visit moves both programmes'
schedules, and terminating the archive ends its enrolments.

The services learn of each other by events (registry -> programmes, records -> programmes), so
each step waits, with a deadline, for what the API shows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared import clock
from ehr.demo_programmes import born, diabetes_follow_up, hypertension_follow_up, integrated_follow_up
from tests.support.amqp import Listener, wait_until

VILLAGE, CENTRE, HOSPITAL = "110105101101", "T1101051011", "H1101050002"
TODAY = clock.today()
ENROLLED_ON = TODAY - timedelta(days=100)


@pytest.fixture(scope="module")
def api(module_gateway, auth):
    """A township doctor of the centre managing the village: (session, base URL)."""
    return auth.session_for("township_doctor", CENTRE), module_gateway


def new_archive(api, synth, age: int = 60) -> tuple:
    session, base = api
    resident = synth.resident(VILLAGE, CENTRE, born=born(age, TODAY))
    resp = session.post(base + "/api/v1/archives", json=resident.archive_request())
    assert resp.status_code == 201, resp.text
    return resident, resp.json()["archive_no"]


def get(api, path: str, **params) -> dict:
    session, base = api
    resp = session.get(base + path, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def post(api, path: str, body: dict | None, expect: int = 200) -> dict:
    session, base = api
    resp = session.post(base + path, json=body)
    assert resp.status_code == expect, resp.text
    return resp.json()


def worklist_item(api, archive_no: str, programme: str) -> dict | None:
    items = get(api, "/api/v1/worklist", village_code=VILLAGE, programme=programme, limit=200)["items"]
    return next((i for i in items if i["archive_no"] == archive_no), None)


def schedules(api, archive_no: str) -> dict[str, dict]:
    """programme -> its enrolment, with its follow-up schedule as `follow_up`."""
    answer = get(api, f"/api/v1/archives/{archive_no}/programmes")
    return {p["programme"]: {**p, "follow_up": next((s for s in p["schedules"] if s["service"] == "follow_up"), None)}
            for p in answer["programmes"]}


def test_from_a_hospital_diagnosis_to_follow_ups_a_referral_and_termination(api, synth, hospital, suite_env):
    referrals = Listener(suite_env.amqp_uri, "ehr.events", "programmes.referral_suggested")
    resident, archive_no = new_archive(api, synth)

    # A hospital's I10 diagnosis: the resident is suggested, with the evidence.
    encounter = synth.encounter(resident, HOSPITAL)
    encounter["encounter"]["diagnoses"] = [{"system": "ICD-10", "code": "I10", "name": "原发性高血压", "primary": True}]
    hospital.publish(encounter)

    def suggested():
        items = get(api, "/api/v1/programme-suggestions", village_code=VILLAGE, limit=200)["items"]
        return [s for s in items if s["archive_no"] == archive_no]

    [suggestion] = wait_until(suggested, message="the suggestion")
    assert (suggestion["programme"], suggestion["status"]) == ("hypertension", "open")
    assert suggestion["evidence"][0]["record_type"] == "hospital_encounter"

    # Confirmed: enrolled, off the list to confirm, and its first follow-up (14 days after
    # enrolment) overdue on the work list.
    answer = post(api, f"/api/v1/programme-suggestions/{suggestion['suggestion_id']}/confirm",
                  {"enrolled_on": ENROLLED_ON.isoformat()})
    [enrolment] = answer["programmes"]
    assert (enrolment["programme"], enrolment["status"], enrolment["source"]) == (
        "hypertension", "active", "suggestion")
    assert suggested() == []
    first = wait_until(lambda: worklist_item(api, archive_no, "hypertension"), message="the first follow-up due")
    assert (first["status"], first["reason"], first["due_date"]) == (
        "overdue", "first_follow_up", (ENROLLED_ON + timedelta(days=14)).isoformat())

    # A satisfactory follow-up, the next visit agreed in 3 days: due this week, for that reason.
    visit = TODAY - timedelta(days=60)
    post(api, f"/api/v1/archives/{archive_no}/records",
         hypertension_follow_up(visit, TODAY + timedelta(days=3), 132, 84, "1"), expect=201)
    moved = wait_until(lambda: (i := worklist_item(api, archive_no, "hypertension")) and i["last_date"] and i,
                       message="the due date moved")
    assert (moved["status"], moved["reason"], moved["due_date"], moved["last_date"]) == (
        "due", "next_visit_date", (TODAY + timedelta(days=3)).isoformat(), visit.isoformat())

    # Two unsatisfactory readings in a row: a referral suggested, and a follow-up within 2 weeks.
    second, third = TODAY - timedelta(days=30), TODAY - timedelta(days=16)
    post(api, f"/api/v1/archives/{archive_no}/records",
         hypertension_follow_up(second, second + timedelta(days=14), 158, 96, "2"), expect=201)
    filed = post(api, f"/api/v1/archives/{archive_no}/records",
                 hypertension_follow_up(third, third + timedelta(days=14), 162, 98, "2", referral="连续两次控制不满意"),
                 expect=201)
    item = wait_until(lambda: (i := worklist_item(api, archive_no, "hypertension"))
                      and i["last_date"] == third.isoformat() and i, message="the referral on the work list")
    assert (item["status"], item["reason"], item["consecutive_unsatisfactory"]) == (
        "overdue", "referral_two_unsatisfactory", 2)
    assert item["due_date"] == (third + timedelta(days=14)).isoformat() and item["days_overdue"] == 2
    assert "转诊" in item["reason_text"]
    [event] = [m["body"]["data"] for m in referrals.wait(1) if m["body"]["data"]["archive_no"] == archive_no]
    assert (event["reason"], event["record_id"]) == ("two_unsatisfactory", filed["record_id"])
    referrals.close()

    # Terminated in the registry: the enrolment ends with the same reason and date, and leaves the work list.
    ended_on = TODAY - timedelta(days=1)
    post(api, f"/api/v1/archives/{archive_no}/termination",
         {"reason": "migration_out", "date": ended_on.isoformat(), "destination": "河北省保定市莲池区",
          "handover": "纸质档案交莲池区五四路社区卫生服务中心"})
    ended = wait_until(lambda: (p := schedules(api, archive_no)["hypertension"])["status"] != "active" and p,
                       message="the enrolment ended")
    assert (ended["status"], ended["end_reason"], ended["ended_on"]) == ("ended", "migration_out", ended_on.isoformat())
    assert worklist_item(api, archive_no, "hypertension") is None


def test_an_integrated_visit_moves_both_programmes_schedules(api, synth):
    _, archive_no = new_archive(api, synth, age=64)
    for programme in ("hypertension", "type2_diabetes"):
        post(api, f"/api/v1/archives/{archive_no}/programmes",
             {"programme": programme, "enrolled_on": ENROLLED_ON.isoformat()}, expect=201)
    before = schedules(api, archive_no)
    assert {p: s["follow_up"]["reason"] for p, s in before.items()} == {
        "hypertension": "first_follow_up", "type2_diabetes": "first_follow_up"}

    visit = TODAY - timedelta(days=10)
    post(api, f"/api/v1/archives/{archive_no}/records",
         integrated_follow_up(visit, TODAY + timedelta(days=5), 134, 82, 8.4,
                              {"hypertension": "1", "type2_diabetes": "2"}), expect=201)
    after = wait_until(lambda: (s := schedules(api, archive_no))
                       and all(p["follow_up"]["last_date"] == visit.isoformat() for p in s.values()) and s,
                       message="both schedules moved")
    hypertension, diabetes = after["hypertension"]["follow_up"], after["type2_diabetes"]["follow_up"]
    # one visit, each programme's own classification: on target for one, a re-visit for the other
    assert (hypertension["due_date"], hypertension["reason"]) == (
        (TODAY + timedelta(days=5)).isoformat(), "next_visit_date")
    assert (diabetes["due_date"], diabetes["reason"]) == (
        (visit + timedelta(days=14)).isoformat(), "revisit_unsatisfactory")
    assert worklist_item(api, archive_no, "hypertension")["status"] == "due"
    assert worklist_item(api, archive_no, "type2_diabetes")["status"] == "due"


def test_a_follow_up_dated_before_the_enrolment_is_refused_naming_its_date(api, synth):
    _, archive_no = new_archive(api, synth, age=58)
    post(api, f"/api/v1/archives/{archive_no}/programmes",
         {"programme": "hypertension", "enrolled_on": ENROLLED_ON.isoformat()}, expect=201)
    before = ENROLLED_ON - timedelta(days=1)
    refused = post(api, f"/api/v1/archives/{archive_no}/records",
                   hypertension_follow_up(before, TODAY + timedelta(days=30), 132, 84, "1"), expect=400)
    assert refused["error"]["details"] == {"content": {"occurred_on": [
        f"Before the enrolment in hypertension on {ENROLLED_ON.isoformat()}."]}}
    # On the day of the enrolment it is filed; a form of a programme the resident is not in is
    # filed too (seen first, enrolled after).
    post(api, f"/api/v1/archives/{archive_no}/records",
         hypertension_follow_up(ENROLLED_ON, TODAY + timedelta(days=30), 132, 84, "1"), expect=201)
    post(api, f"/api/v1/archives/{archive_no}/records",
         diabetes_follow_up(before, TODAY + timedelta(days=30), 6.1, "1"), expect=201)
