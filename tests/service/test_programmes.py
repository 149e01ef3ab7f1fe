"""The programmes service on the real broker and database: it hears the registry's and records'
events (published here as the suite signs them), turns a diagnosis into a suggestion, enrols on
confirmation, moves due dates with follow-ups, suggests referrals, counts an integrated visit for
both programmes, carries enrolments through termination, merge and unmerge, ignores a repeated
event, and gives the same result with two workers as with one."""

from __future__ import annotations

import itertools
import json
import random
from datetime import date, timedelta

import pytest

from services.programmes.service import ProgrammesService
from shared import clock
from shared.messaging import EVENTS
from tests.support.amqp import Listener, wait_until
from tests.support.db import query
from tests.support.events import EventPublisher

VILLAGE, INSTITUTION = "110105101101", "T1101051011"
SCOPE = {"institution_code": INSTITUTION, "prefix": "110105101"}
_serials = itertools.count(random.randint(1000, 80000))
TODAY = clock.today()


def new_archive_no() -> str:
    return f"{VILLAGE}{next(_serials):05d}"


@pytest.fixture
def publisher(suite_env):
    p = EventPublisher(suite_env.amqp_uri)
    yield p
    p.close()


@pytest.fixture
def programmes(start):
    return start(ProgrammesService)


def created(publisher, birth=date(1958, 5, 1), residence="1", doctor="doc01", archive_no=None) -> str:
    archive_no = archive_no or new_archive_no()
    publisher.publish("registry", "archive_created", {
        "archive_no": archive_no, "village_code": archive_no[:12], "institution_code": INSTITUTION,
        "identity_keys": [], "profile": {"birth_date": birth.isoformat(), "sex": "1", "residence_type": residence,
                                         "responsible_doctor": doctor}})
    return archive_no


def known(rpc, archive_no):
    return wait_until(lambda: query("programmes", "SELECT 1 FROM residents WHERE archive_no = :a AND known",
                                    a=archive_no), message="the resident known")


def record(publisher, archive_no, record_type="hypertension_follow_up", action="filed", revision=1, record_id=None,
           **facts) -> dict:
    record_id = record_id or f"rec-{random.getrandbits(48):012x}"
    data = {"archive_no": archive_no, "record_id": record_id, "record_type": record_type, "action": action,
            "revision": revision, "occurred_at": "2026-12-01T02:00:00+00:00", "institution_code": INSTITUTION,
            "facts": None if action == "entered_in_error" else facts}
    return publisher.publish("records", "record_changed", data)


def schedule(rpc, archive_no, programme, service="follow_up"):
    answer = rpc.programmes.list_programmes(archive_no)
    [enrolment] = [p for p in answer["programmes"] if p["programme"] == programme]
    [found] = [s for s in enrolment["schedules"] if s["service"] == service]
    return enrolment, found


def enrol(rpc, archive_no, programme="hypertension", on=None):
    return rpc.programmes.enrol(archive_no, {"programme": programme,
                                             "enrolled_on": (on or TODAY - timedelta(days=200)).isoformat()})


def follow_up(publisher, archive_no, day, classification="1", programmes=("hypertension",), **extra):
    return record(publisher, archive_no, programmes=list(programmes), visit_date=day.isoformat(), visit_method="1",
                  classification=classification, **extra)


def test_a_diagnosis_from_an_encounter_becomes_a_suggestion_and_confirming_enrols(programmes, rpc, publisher,
                                                                               suite_env):
    listener = Listener(suite_env.amqp_uri, "ehr.events", "programmes.enrolled")
    archive_no = created(publisher)
    known(rpc, archive_no)
    event = record(publisher, archive_no, record_type="hospital_encounter", conditions=["hypertension"],
                   visit_date=(TODAY - timedelta(days=3)).isoformat())

    def suggested():
        items = rpc.programmes.list_suggestions(SCOPE, programme="hypertension", limit=200)["items"]
        return [s for s in items if s["archive_no"] == archive_no]

    [suggestion] = wait_until(suggested, message="the suggestion")
    assert suggestion["evidence"][0]["record_id"] == event["data"]["record_id"]
    assert suggestion["evidence"][0]["code"] == "hypertension"

    # More evidence joins the open suggestion; no second one.
    record(publisher, archive_no, record_type="hospital_encounter", conditions=["hypertension"])
    wait_until(lambda: len(suggested()[0]["evidence"]) == 2, message="the evidence added")

    answer = rpc.programmes.confirm_suggestion(suggestion["suggestion_id"], {})
    [enrolment] = answer["programmes"]
    assert (enrolment["programme"], enrolment["status"], enrolment["source"]) == ("hypertension", "active", "suggestion")
    assert suggested() == []
    [message] = [m for m in listener.wait(1) if m["body"]["data"]["archive_no"] == archive_no]
    assert message["body"]["data"]["source"] == "suggestion"
    # Enrolled: a further diagnosis suggests nothing.
    record(publisher, archive_no, record_type="hospital_encounter", conditions=["hypertension"])
    listener.close()


def test_a_resident_under_35_is_refused_with_the_field_a_non_registered_one_is_enrolled(programmes, rpc, publisher):
    from shared.errors import InvalidTransition

    young = created(publisher, birth=date(TODAY.year - 30, 1, 1))
    non_registered = created(publisher, residence="2")  # 非户籍: a permanent resident all the same
    known(rpc, young), known(rpc, non_registered)
    with pytest.raises(InvalidTransition) as refused:
        enrol(rpc, young)
    assert "birth_date" in refused.value.details
    enrol(rpc, non_registered)


def test_follow_ups_move_the_due_date_and_two_unsatisfactory_readings_suggest_a_referral(programmes, rpc, publisher,
                                                                                        suite_env):
    listener = Listener(suite_env.amqp_uri, "ehr.events", "programmes.referral_suggested")
    archive_no = created(publisher)
    known(rpc, archive_no)
    enrol(rpc, archive_no)
    first = TODAY - timedelta(days=60)
    follow_up(publisher, archive_no, first, "1")
    wait_until(lambda: schedule(rpc, archive_no, "hypertension")[1]["last_date"] == first.isoformat(),
               message="the first follow-up")
    assert schedule(rpc, archive_no, "hypertension")[1]["due_date"] == (first + timedelta(days=90)).isoformat()

    second = TODAY - timedelta(days=30)
    follow_up(publisher, archive_no, second, "2", sbp=150, dbp=95)
    due = wait_until(lambda: (s := schedule(rpc, archive_no, "hypertension")[1])["last_date"] == second.isoformat()
                     and s, message="the second follow-up")
    assert (due["due_date"], due["reason"]) == ((second + timedelta(days=14)).isoformat(), "revisit_unsatisfactory")

    third = TODAY - timedelta(days=10)
    event = follow_up(publisher, archive_no, third, "2", sbp=152, dbp=96)
    [message] = [m for m in listener.wait(1) if m["body"]["data"]["archive_no"] == archive_no]
    assert message["body"]["data"]["reason"] == "two_unsatisfactory"
    assert message["body"]["data"]["record_id"] == event["data"]["record_id"]
    due = schedule(rpc, archive_no, "hypertension")[1]
    assert (due["reason"], due["consecutive_unsatisfactory"]) == ("referral_two_unsatisfactory", 2)

    # The third follow-up entered in error: the schedule goes back to the second.
    record(publisher, archive_no, action="entered_in_error", revision=2, record_id=event["data"]["record_id"])
    due = wait_until(lambda: (s := schedule(rpc, archive_no, "hypertension")[1])["last_date"] == second.isoformat()
                     and s, message="the schedule recomputed")
    assert due["consecutive_unsatisfactory"] == 1

    # On the work list, overdue with its days and why.
    items = rpc.programmes.worklist(SCOPE, kind="overdue", limit=200)["items"]
    [item] = [i for i in items if i["archive_no"] == archive_no]
    assert item["days_overdue"] == (TODAY - (second + timedelta(days=14))).days
    assert item["reason_text"]
    listener.close()


def test_an_urgent_trigger_flags_the_resident_at_the_top_of_the_work_list(programmes, rpc, publisher, suite_env):
    listener = Listener(suite_env.amqp_uri, "ehr.events", "programmes.referral_suggested")
    archive_no = created(publisher)
    known(rpc, archive_no)
    enrol(rpc, archive_no)
    follow_up(publisher, archive_no, TODAY - timedelta(days=1), "2", sbp=186, dbp=112, urgent=["sbp_180", "dbp_110"])
    [message] = [m for m in listener.wait(1) if m["body"]["data"]["archive_no"] == archive_no]
    assert (message["body"]["data"]["reason"], message["body"]["data"]["triggers"]) == ("urgent", ["sbp_180", "dbp_110"])
    first = rpc.programmes.worklist(SCOPE, kind="all", limit=200)["items"]
    urgent = [i["archive_no"] for i in first if i["urgent"]]
    assert archive_no in urgent and all(i["urgent"] for i in first[:len(urgent)])
    listener.close()


def test_an_integrated_visit_counts_for_both_programmes(programmes, rpc, publisher):
    archive_no = created(publisher)
    known(rpc, archive_no)
    enrol(rpc, archive_no, "hypertension")
    enrol(rpc, archive_no, "type2_diabetes")
    day = TODAY - timedelta(days=5)
    record(publisher, archive_no, record_type="integrated_follow_up", programmes=["hypertension", "type2_diabetes"],
           visit_date=day.isoformat(), visit_method="2", classification="1",
           classifications={"hypertension": "1", "type2_diabetes": "2"}, sbp=128, dbp=80, fbg=8.1)
    wait_until(lambda: schedule(rpc, archive_no, "type2_diabetes")[1]["last_date"] == day.isoformat(),
               message="the diabetes schedule")
    hypertension = schedule(rpc, archive_no, "hypertension")[1]
    diabetes = schedule(rpc, archive_no, "type2_diabetes")[1]
    assert hypertension["last_date"] == day.isoformat()
    assert hypertension["due_date"] == (day + timedelta(days=90)).isoformat()
    # The classifications per programme, when the record gives them (the visit's FBG unsatisfactory).
    assert (diabetes["reason"], diabetes["due_date"]) == ("revisit_unsatisfactory", (day + timedelta(days=14)).isoformat())


def test_termination_ends_enrolments_and_reactivation_leaves_them_to_resume(programmes, rpc, publisher):
    archive_no = created(publisher)
    known(rpc, archive_no)
    enrol(rpc, archive_no)
    publisher.publish("registry", "archive_terminated", {"archive_no": archive_no, "reason": "migration_out",
                                                         "date": TODAY.isoformat()})
    enrolment = wait_until(lambda: (e := schedule(rpc, archive_no, "hypertension")[0])["status"] == "ended" and e,
                           message="the enrolment ended")
    assert (enrolment["end_reason"], enrolment["ended_on"]) == ("migration_out", TODAY.isoformat())
    assert [i for i in rpc.programmes.worklist(SCOPE, limit=200)["items"] if i["archive_no"] == archive_no] == []
    publisher.publish("registry", "archive_reactivated", {"archive_no": archive_no})
    wait_until(lambda: query("programmes", "SELECT 1 FROM residents WHERE archive_no = :a AND status = 'active'",
                             a=archive_no), message="reactivated")
    assert schedule(rpc, archive_no, "hypertension")[0]["status"] == "ended"
    answer = rpc.programmes.resume_enrolment(archive_no, "hypertension", {})
    assert answer["programmes"][0]["status"] == "active"
    assert [h["event"] for h in answer["programmes"][0]["history"]] == ["enrolled", "ended", "resumed"]


def test_merge_moves_enrolments_to_the_survivor_and_unmerge_moves_them_back(programmes, rpc, publisher):
    survivor, merged = created(publisher), created(publisher)
    known(rpc, survivor), known(rpc, merged)
    enrol(rpc, survivor, "hypertension")
    enrol(rpc, merged, "type2_diabetes")
    day = TODAY - timedelta(days=20)
    follow_up(publisher, merged, day, "1", programmes=("type2_diabetes",))
    wait_until(lambda: schedule(rpc, merged, "type2_diabetes")[1]["last_date"] == day.isoformat(), message="filed")

    publisher.publish("registry", "archives_merged", {"merge_id": 9001, "archive_no": survivor,
                                                      "merged_archive_no": merged, "merged_identity_keys": []})
    wait_until(lambda: {p["programme"] for p in rpc.programmes.list_programmes(survivor)["programmes"]}
               == {"hypertension", "type2_diabetes"}, message="the merge")
    moved = schedule(rpc, survivor, "type2_diabetes")
    assert moved[1]["last_date"] == day.isoformat()
    assert [h["event"] for h in moved[0]["history"]] == ["enrolled", "moved"]
    # The merged number leads to the survivor's programmes.
    assert rpc.programmes.list_programmes(merged)["archive_no"] == survivor

    publisher.publish("registry", "archives_unmerged", {"merge_id": 9001, "archive_no": survivor,
                                                        "restored_archive_no": merged, "restored_identity_keys": []})
    wait_until(lambda: [p["programme"] for p in rpc.programmes.list_programmes(survivor)["programmes"]]
               == ["hypertension"], message="the unmerge")
    back = schedule(rpc, merged, "type2_diabetes")
    assert back[1]["last_date"] == day.isoformat()
    assert [h["event"] for h in back[0]["history"]] == ["enrolled", "moved", "moved_back"]


def test_a_transfer_takes_the_enrolments_to_the_new_number(programmes, rpc, publisher):
    old = created(publisher)
    known(rpc, old)
    enrol(rpc, old)
    new = f"110105101102{next(_serials):05d}"
    publisher.publish("registry", "archive_transferred", {"archive_no": new, "former_archive_no": old,
                                                          "village_code": new[:12], "institution_code": INSTITUTION})
    wait_until(lambda: rpc.programmes.list_programmes(old)["archive_no"] == new, message="the transfer")
    assert schedule(rpc, new, "hypertension")[0]["status"] == "active"


def test_the_same_event_delivered_twice_changes_nothing(programmes, rpc, publisher, suite_env):
    listener = Listener(suite_env.amqp_uri, "ehr.events", "programmes.referral_suggested")
    archive_no = created(publisher)
    known(rpc, archive_no)
    enrol(rpc, archive_no)
    body = follow_up(publisher, archive_no, TODAY - timedelta(days=2), "4")
    listener.wait(1)
    before = query("programmes", "SELECT count(*) FROM enrolment_events e JOIN enrolments n ON n.id = e.enrolment_id "
                                 "JOIN residents r ON r.id = n.resident_id WHERE r.archive_no = :a", a=archive_no)
    publisher.publish("records", "record_changed", body=body)
    publisher.publish("registry", "archive_created", body=publisher.event("registry", "noop_event", {}))
    marker = created(publisher)
    known(rpc, marker)  # published after the repeat: the repeat has been consumed by now
    assert query("programmes", "SELECT count(*) FROM processed_messages WHERE message_id = :m",
                 m=body["event_id"])[0][0] == 1
    assert len([m for m in listener.settle(1.0) if m["body"]["data"]["archive_no"] == archive_no]) == 1
    after = query("programmes", "SELECT count(*) FROM enrolment_events e JOIN enrolments n ON n.id = e.enrolment_id "
                                "JOIN residents r ON r.id = n.resident_id WHERE r.archive_no = :a", a=archive_no)
    assert before == after
    listener.close()


def test_two_workers_on_one_stream_give_the_result_of_one_and_the_sweep_does_nothing_twice(start, rpc, publisher,
                                                                                          suite_env):
    start(ProgrammesService, ProgrammesService)
    listener = Listener(suite_env.amqp_uri, "ehr.events", "programmes.enrolled")
    elderly = [created(publisher, birth=date(TODAY.year - 70, 3, 1)) for _ in range(6)]
    patients = [created(publisher, birth=date(1975, 6, 1)) for _ in range(6)]
    for archive_no in elderly + patients:
        known(rpc, archive_no)
    for archive_no in patients:
        enrol(rpc, archive_no)
    days = [TODAY - timedelta(days=d) for d in (80, 50, 20)]
    for archive_no in patients:
        for day, code in zip(days, ("1", "2", "2")):
            follow_up(publisher, archive_no, day, code)
    for archive_no in patients:
        wait_until(lambda: schedule(rpc, archive_no, "hypertension")[1]["consecutive_unsatisfactory"] == 2,
                   message="the follow-ups of one resident")
        due = schedule(rpc, archive_no, "hypertension")[1]
        # What one worker computes: the third follow-up's referral window.
        assert (due["due_date"], due["reason"]) == ((days[2] + timedelta(days=14)).isoformat(),
                                                    "referral_two_unsatisfactory")

    outcomes = [rpc.programmes.run_sweep(), rpc.programmes.run_sweep()]
    enrolled = [a for a in elderly if any(p["programme"] == "elderly" and p["source"] == "age"
                                          for p in rpc.programmes.list_programmes(a)["programmes"])]
    assert enrolled == elderly
    assert sum(o["enrolled"] for o in outcomes) >= len(elderly) and outcomes[1]["enrolled"] == 0
    counts = query("programmes", "SELECT r.archive_no, count(*) FROM enrolments e JOIN residents r "
                                 "ON r.id = e.resident_id WHERE r.archive_no = ANY(:a) GROUP BY r.archive_no",
                   a=elderly + patients)
    assert all(n == 1 for _, n in counts)
    messages = [m for m in listener.settle(1.5) if m["body"]["data"]["archive_no"] in elderly]
    assert len(messages) == len(elderly)
    listener.close()


def test_figures_count_the_year_without_personal_data(programmes, rpc, publisher):
    archive_no = created(publisher)
    known(rpc, archive_no)
    enrol(rpc, archive_no, on=date(TODAY.year, 1, 2))
    year = TODAY.year
    for month in (1, 2, 3, 4):
        day = date(year, month, 15)
        if day <= TODAY:
            follow_up(publisher, archive_no, day, "1", sbp=128, dbp=82)
    figures = rpc.programmes.programme_figures({"prefix": VILLAGE}, year)
    assert figures["hypertension"]["under_management"] >= 1
    assert set(figures) == {"year", "division", "institution_code", "hypertension", "type2_diabetes", "elderly"}


def test_an_unsigned_event_and_a_malformed_one_are_quarantined_and_change_nothing(programmes, rpc, publisher):
    archive_no = new_archive_no()
    forged = publisher.event("registry", "archive_created", {
        "archive_no": archive_no, "village_code": VILLAGE, "institution_code": "T1101051011", "identity_keys": [],
        "profile": {"birth_date": "1950-01-01", "sex": "1"}})
    publisher.channel.basic_publish(publisher._message(json.dumps(forged).encode(), content_type="application/json",
                                                       delivery_mode=2, message_id=forged["event_id"],
                                                       user_id=publisher.account),
                                    exchange=EVENTS, routing_key="registry.archive_created")  # no signature
    malformed = publisher.publish("registry", "archive_terminated", {"archive_no": "not a number"})

    def held():
        return dict(query("programmes", "SELECT message_id, reason FROM quarantined_events "
                                        "WHERE message_id IN (:a, :b)", a=forged["event_id"], b=malformed["event_id"]))

    assert wait_until(lambda: len(held()) == 2 and held(), message="both quarantined") == {
        forged["event_id"]: "unauthenticated", malformed["event_id"]: "schema_invalid"}
    [(body,)] = query("programmes", "SELECT body FROM quarantined_events WHERE message_id = :m", m=forged["event_id"])
    assert body is None  # anyone could have written an unsigned body: it is not kept
    assert query("programmes", "SELECT count(*) FROM residents WHERE archive_no = :a", a=archive_no)[0][0] == 0


def test_a_back_referral_puts_the_resident_on_the_work_list_within_two_weeks_and_a_follow_up_settles_it(
        programmes, rpc, publisher):
    archive_no = created(publisher)
    known(rpc, archive_no)
    enrol(rpc, archive_no)
    follow_up(publisher, archive_no, TODAY - timedelta(days=30), next_visit_date=(TODAY + timedelta(days=60)).isoformat())
    wait_until(lambda: schedule(rpc, archive_no, "hypertension")[1]["reason"] == "routine", message="routine")
    back = TODAY - timedelta(days=3)
    record(publisher, archive_no, record_type="referral_back", visit_date=back.isoformat())  # records' 回转单
    due = wait_until(lambda: (lambda s: s if s["reason"] == "back_referral" else None)(
        schedule(rpc, archive_no, "hypertension")[1]), message="due after the back-referral")
    assert due["due_date"] == (back + timedelta(days=14)).isoformat()
    follow_up(publisher, archive_no, TODAY - timedelta(days=1))
    wait_until(lambda: schedule(rpc, archive_no, "hypertension")[1]["reason"] != "back_referral",
               message="settled by the follow-up")
