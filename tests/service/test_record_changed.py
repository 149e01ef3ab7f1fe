"""records announces `records.record_changed` with the programme facts of each record, on real
RabbitMQ and PostgreSQL: a follow-up filed through the records service, a hospital encounter
filed from `ehr.encounters`, an amendment, and a record entered in error (facts null)."""

from datetime import date

import pytest

from tests.support.amqp import Listener
from tests.unit.test_follow_up_forms import hypertension

VILLAGE = "110105003001"
MANAGER = "C1101050031"
HOSPITAL = "H3301020001"
BORN = date(1950, 6, 15)


@pytest.fixture
def programmes_queue(suite_env):
    """What the programmes service's queue will see: a queue bound to `records.#`."""
    listener = Listener(suite_env.amqp_uri, "ehr.events", "records.#")
    yield listener
    listener.close()


@pytest.fixture
def resident_archive(records_and_registry, rpc, synth):
    resident = synth.resident(VILLAGE, MANAGER, born=BORN, sex="1")
    return resident, rpc.registry.create_archive({**resident.archive_request(), "confirm_new": True})["archive_no"]


def test_a_hypertension_follow_up_is_announced_with_its_facts_then_its_amendment_and_its_withdrawal(
        resident_archive, rpc, programmes_queue):
    _, archive_no = resident_archive
    filed = rpc.records.file_record(archive_no, {"record_type": "hypertension_follow_up", "content": hypertension(),
                                                 "institution_code": MANAGER})
    [message] = programmes_queue.wait(1)
    assert message["routing_key"] == "records.record_changed"
    event = message["body"]
    assert event["event_type"] == "record_changed" and event["service"] == "records"
    assert event["data"]["record_id"] == filed["record_id"] and event["data"]["archive_no"] == archive_no
    assert (event["data"]["action"], event["data"]["revision"]) == ("filed", 1)
    assert event["data"]["institution_code"] == MANAGER
    assert event["data"]["facts"] == {
        "programmes": ["hypertension"], "visit_date": "2024-05-20", "visit_method": "1", "classification": "2",
        "sbp": 150, "dbp": 92, "fbg": None, "urgent": [], "next_visit_date": "2024-06-03", "referred": False}
    assert filed["flags"] == []

    urgent = hypertension(signs={"blood_pressure": {"systolic": 186, "diastolic": 96}, "weight": 70, "heart_rate": 80})
    amended = rpc.records.amend_record(archive_no, filed["record_id"], {"content": urgent, "reason": "血压录错"})
    changed = programmes_queue.wait(2)[1]["body"]["data"]
    assert (changed["action"], changed["revision"]) == ("amended", 2)
    assert changed["facts"]["sbp"] == 186 and changed["facts"]["urgent"] == ["sbp_180"]
    assert amended["flags"] == ["urgent_referral"]
    [entry] = rpc.records.list_records(archive_no, record_type="hypertension_follow_up")["items"]
    assert entry["flags"] == ["urgent_referral"]

    rpc.records.mark_entered_in_error(archive_no, filed["record_id"], "录入了他人的随访")
    withdrawn = programmes_queue.wait(3)[2]["body"]["data"]
    assert (withdrawn["action"], withdrawn["revision"], withdrawn["facts"]) == ("entered_in_error", 2, None)
    assert [m["body"]["data"]["record_id"] for m in programmes_queue.settle(0.5)] == [filed["record_id"]] * 3


def test_an_encounter_with_i10_and_sbp_185_announces_hypertension_and_the_urgent_trigger(
        resident_archive, synth, hospital, rpc, programmes_queue):
    resident, archive_no = resident_archive
    body = synth.encounter(resident, HOSPITAL)
    body["encounter"]["diagnoses"] = [{"system": "ICD-10", "code": "I10", "name": "原发性高血压", "primary": True}]
    body["encounter"]["vital_signs"] = {"sbp": 185, "dbp": 100, "heart_rate": 88}
    hospital.publish(body)

    [message] = programmes_queue.wait(1)
    data = message["body"]["data"]
    assert data["record_type"] == "hospital_encounter" and data["archive_no"] == archive_no
    assert (data["action"], data["revision"], data["institution_code"]) == ("filed", 1, HOSPITAL)
    assert data["facts"]["conditions"] == ["hypertension"] and data["facts"]["urgent"] == ["sbp_180"]
    assert (data["facts"]["sbp"], data["facts"]["dbp"]) == (185, 100)
    [record] = rpc.records.list_records(archive_no)["items"]
    assert record["record_id"] == data["record_id"] and record["flags"] == ["urgent_referral"]
