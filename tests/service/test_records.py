"""Hospital filing in the records service, with the registry, on real RabbitMQ and PostgreSQL."""

import json
import time

import pytest

from shared.messaging import jurisdiction_binding
from tests.support.amqp import Listener, wait_until
from tests.support.db import query

HOSPITAL = "H3301020001"
VILLAGE_A = "110105003001"
VILLAGE_B = "110105003002"
MANAGER = "C1101050031"


@pytest.fixture
def listen(suite_env):
    listeners = []

    def _listen(jurisdiction):
        listener = Listener(suite_env.amqp_uri, "ehr.archive-updates", jurisdiction_binding(jurisdiction))
        listeners.append(listener)
        return listener

    yield _listen
    for listener in listeners:
        listener.close()


@pytest.fixture
def register(records_and_registry, rpc):
    def _register(resident):
        return rpc.registry.create_archive(resident.archive_request())["archive_no"]
    return _register


def records_of(rpc, archive_no):
    return rpc.records.list_records(archive_no, limit=200)["items"]


def test_an_encounter_is_filed_into_the_residents_archive_and_announced_to_the_village(
        register, rpc, synth, hospital, listen):
    resident = synth.resident(VILLAGE_A, MANAGER)
    archive_no = register(resident)
    township = listen(VILLAGE_A)
    body = synth.encounter(resident, HOSPITAL)
    hospital.publish(body)

    [update] = township.wait(1)
    assert update["routing_key"] == "archive.110105.003.001.hospital_encounter"
    assert update["body"]["archive_no"] == archive_no and update["body"]["action"] == "filed"
    assert resident.id_number not in json.dumps(update["body"], ensure_ascii=False)
    assert resident.name not in json.dumps(update["body"], ensure_ascii=False)
    [record] = records_of(rpc, archive_no)
    assert record["record_id"] == update["body"]["record_id"]
    assert record["source"] == {"institution_code": HOSPITAL, "system": "HIS",
                                "record_id": body["source"]["record_id"]}
    assert record["content"]["diagnoses"][0]["code"] == body["encounter"]["diagnoses"][0]["code"]
    assert "patient" not in record["content"]


def test_a_duplicate_delivery_is_filed_once(register, rpc, synth, hospital, listen):
    resident = synth.resident(VILLAGE_A, MANAGER)
    archive_no = register(resident)
    township = listen(VILLAGE_A)
    body = synth.encounter(resident, HOSPITAL)
    message_id = hospital.publish(body)
    hospital.publish(body, message_id=message_id)
    hospital.publish(body, message_id=message_id)

    township.wait(1)
    assert len(township.settle(quiet=1.5)) == 1
    assert len(records_of(rpc, archive_no)) == 1
    assert query("records", "SELECT count(*) FROM processed_messages WHERE message_id = :m", m=message_id)[0][0] == 1


@pytest.mark.parametrize("case, reason", [
    ("not_json", "not_json"),
    ("missing_field", "schema_invalid"),
    ("bad_check_character", "invalid_id_number"),
    ("sex_contradicts_id", "invalid_id_number"),
    ("unknown_institution", "unknown_institution"),
    ("routing_mismatch", "routing_mismatch"),
])
def test_a_message_that_cannot_be_filed_is_quarantined_with_its_reason(
        case, reason, records_and_registry, synth, hospital):
    resident = synth.resident(VILLAGE_A, MANAGER)
    body = synth.encounter(resident, HOSPITAL)
    routing_key = None
    if case == "not_json":
        body, routing_key = b"\xff{not json", f"encounter.{HOSPITAL}.outpatient"
    elif case == "missing_field":
        del body["encounter"]["started_at"]
    elif case == "bad_check_character":
        number = body["patient"]["id_number"]
        body["patient"]["id_number"] = number[:-1] + ("1" if number[-1] != "1" else "2")
    elif case == "sex_contradicts_id":
        body["patient"]["sex"] = "1" if body["patient"]["sex"] == "2" else "2"
    elif case == "unknown_institution":
        body["source"]["institution_code"] = "H9999999999"
    elif case == "routing_mismatch":
        routing_key = "encounter.H1101050002.outpatient"
    message_id = hospital.publish(body, routing_key=routing_key)

    rows = wait_until(lambda: query("records", "SELECT reason, details, body_enc FROM quarantine "
                                               "WHERE message_id = :m", m=message_id), message="quarantine")
    assert rows[0].reason == reason
    assert resident.id_number.encode() not in bytes(rows[0].body_enc)
    assert resident.id_number not in json.dumps(rows[0].details)


def test_a_message_without_message_id_is_quarantined(records_and_registry, synth, hospital):
    body = synth.encounter(synth.resident(VILLAGE_A, MANAGER), HOSPITAL)
    body["source"]["record_id"] = "NO-MESSAGE-ID-" + synth.fake.uuid4()
    hospital.publish(body, message_id=None)
    rows = wait_until(lambda: query("records", "SELECT reason FROM quarantine WHERE reason = 'missing_message_id'"),
                      message="quarantine")
    assert rows


def test_an_unregistered_residents_encounter_waits_then_is_filed_when_the_archive_is_created(
        register, rpc, synth, hospital, listen):
    resident = synth.resident(VILLAGE_B, MANAGER)
    message_id = hospital.publish(synth.encounter(resident, HOSPITAL))
    wait_until(lambda: query("records", "SELECT 1 FROM pending_encounters WHERE message_id = :m AND status = 'pending'",
                             m=message_id), message="pending")
    township = listen(VILLAGE_B)

    archive_no = register(resident)

    [update] = township.wait(1)
    assert update["body"]["archive_no"] == archive_no
    assert len(records_of(rpc, archive_no)) == 1
    assert query("records", "SELECT status FROM pending_encounters WHERE message_id = :m", m=message_id)[0][0] == "filed"


def test_a_village_queue_receives_only_its_own_villages_updates(register, synth, hospital, listen):
    in_a, in_b = synth.resident(VILLAGE_A, MANAGER), synth.resident(VILLAGE_B, MANAGER)
    archive_a, archive_b = register(in_a), register(in_b)
    village_a, township = listen(VILLAGE_A), listen(VILLAGE_A[:9])
    hospital.publish(synth.encounter(in_b, HOSPITAL))
    hospital.publish(synth.encounter(in_a, HOSPITAL))

    township.wait(2)
    mine = village_a.settle(quiet=1.5)
    assert [m["body"]["archive_no"] for m in mine] == [archive_a]
    assert {m["body"]["archive_no"] for m in township.messages} == {archive_a, archive_b}


def test_an_amendment_arriving_before_the_original_leaves_the_newer_version_current(
        register, rpc, synth, hospital, listen):
    resident = synth.resident(VILLAGE_A, MANAGER)
    archive_no = register(resident)
    township = listen(VILLAGE_A)
    original = synth.encounter(resident, HOSPITAL, record_id="OP-AMEND-" + synth.fake.uuid4())
    original["source"]["version"] = 1
    amended = json.loads(json.dumps(original))
    amended["source"]["version"] = 2
    amended["encounter"]["chief_complaint"] = "头晕三天，已复诊"

    hospital.publish(amended)
    township.wait(1)
    hospital.publish(original)
    township.wait(2)

    [record] = records_of(rpc, archive_no)
    assert record["content"]["chief_complaint"] == "头晕三天，已复诊"
    assert query("records", "SELECT count(*) FROM record_revisions WHERE record_id = :r",
                 r=record["record_id"])[0][0] == 2


def test_a_registry_answering_late_holds_no_claim_and_the_encounter_is_filed_once(
        start, monkeypatch, suite_env, synth, hospital):
    """The registry is asked before the filing transaction begins: while it keeps the records
    worker waiting, and after the worker gives up at its deadline, no transaction sits open
    holding the message's claim, and the retried batch files the encounter exactly once."""
    import eventlet

    from services.records.service import RecordsService
    from shared.transport.rpc import rpc as rpc_entrypoint

    archive_no = "11010510190199001"  # in the farm of the demo county, where no test registers anyone
    calls = []

    class LateRegistry:
        name = "registry"

        @rpc_entrypoint
        def list_institutions(self):
            return [{"code": HOSPITAL}]

        @rpc_entrypoint
        def resolve_identities(self, queries):
            calls.append(time.monotonic())
            if len(calls) == 1:
                eventlet.sleep(4)  # past the records worker's 1 s deadline
            return [{"archive_no": archive_no} for _ in queries]

    monkeypatch.setenv("EHR_RPC_TIMEOUT", "1")
    start(LateRegistry, RecordsService)
    body = synth.encounter(synth.resident(VILLAGE_A, MANAGER), HOSPITAL)
    message_id = hospital.publish(body)

    wait_until(lambda: calls, timeout=10, message="the registry asked")
    open_transactions = []
    while len(calls) < 2:
        open_transactions += query("records", "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                              "current_database() AND state LIKE 'idle in transaction%'")[0]
        time.sleep(0.1)
        assert time.monotonic() - calls[0] < 15, "the batch was not retried after the deadline"
    assert set(open_transactions) == {0}
    wait_until(lambda: query("records", "SELECT count(*) FROM record_revisions WHERE message_id = :m",
                             m=message_id)[0][0] == 1, timeout=10, message="filed")
    time.sleep(4.5)  # the late answer to the first call arrives, and changes nothing
    assert query("records", "SELECT count(*) FROM record_revisions WHERE message_id = :m", m=message_id)[0][0] == 1
    assert query("records", "SELECT r.archive_no FROM records r JOIN record_revisions v ON v.record_id = r.id "
                            "WHERE v.message_id = :m", m=message_id) == [(archive_no,)]
