"""Township systems follow a merge, an unmerge and a transfer: every record the registry's change
moved is announced with an `ehr.archive-update/1` of action `moved`, routed by the new archive
number (and by the former one too when the record left another village)."""

import json

import pytest
from jsonschema import Draft202012Validator

from shared.contracts.archive_update import ArchiveUpdateSchema
from shared.messaging import jurisdiction_binding
from tests.support.amqp import Hospital, Listener, wait_until
from tests.unit.test_contract_docs import UPDATE_SCHEMA_FILE

HOSPITAL = "H3301020001"
VILLAGE, OTHER_VILLAGE, MANAGER = "110105101102", "110105101101", "T1101051011"
TOWNSHIP = VILLAGE[:9]


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


def register(rpc, resident):
    return rpc.registry.create_archive({**resident.archive_request(), "confirm_new": True})["archive_no"]


def file(rpc, suite_env, synth, resident, archive_no, count):
    hospital = Hospital(suite_env.amqp_uri)
    for _ in range(count):
        hospital.publish(synth.encounter(resident, HOSPITAL))
    hospital.close()
    return wait_until(lambda: len(ids := {r["record_id"] for r in rpc.records.list_records(archive_no)["items"]})
                      >= count and ids, message="the encounters filed")


def moved_updates(listener, former_archive_no, count):
    """The `moved` updates of records that left `former_archive_no`, once `count` have arrived."""
    def arrived():
        listener.settle(quiet=0.2)
        found = [m for m in listener.messages
                 if m["body"]["action"] == "moved" and m["body"]["former_archive_no"] == former_archive_no]
        return found if len(found) >= count else None
    return wait_until(arrived, message=f"{count} moved updates")


def valid(update: dict) -> dict:
    Draft202012Validator(json.loads(UPDATE_SCHEMA_FILE.read_text(encoding="utf-8"))).validate(update)
    return ArchiveUpdateSchema().load(update)


def test_a_merge_that_moves_records_sends_the_township_a_moved_update_per_record(
        records_and_registry, rpc, synth, suite_env, listen):
    alice, bob = synth.resident(VILLAGE, MANAGER), synth.resident(VILLAGE, MANAGER)
    survivor, merged = register(rpc, alice), register(rpc, bob)
    bob_records = file(rpc, suite_env, synth, bob, merged, 2)
    township = listen(TOWNSHIP)

    merge = rpc.registry.merge_archives(survivor, merged, "同一人重复建档")
    updates = moved_updates(township, merged, 2)
    assert {u["body"]["record_id"] for u in updates} == bob_records
    for update in updates:
        body = valid(update["body"])
        assert body["archive_no"] == survivor and body["former_archive_no"] == merged
        assert update["routing_key"] == f"archive.{VILLAGE[:6]}.{VILLAGE[6:9]}.{VILLAGE[9:]}.hospital_encounter"
        assert update["message_id"] == body["update_id"]
        assert bob.id_number not in json.dumps(update["body"])
    assert len({u["body"]["update_id"] for u in updates}) == 2   # one village: one copy each

    rpc.registry.unmerge_archives(merge["merge_id"], "合并错误")
    back = moved_updates(township, survivor, 2)
    assert {u["body"]["record_id"] for u in back} == bob_records
    assert {u["body"]["archive_no"] for u in back} == {merged}
    assert not {u["body"]["update_id"] for u in back} & {u["body"]["update_id"] for u in updates}


def test_a_transfer_to_another_village_tells_both_villages_with_the_same_update(
        records_and_registry, rpc, synth, suite_env, listen):
    carol = synth.resident(VILLAGE, MANAGER)
    old = register(rpc, carol)
    records = file(rpc, suite_env, synth, carol, old, 2)
    leaving, arriving = listen(VILLAGE), listen(OTHER_VILLAGE)

    transfer = rpc.registry.request_transfer(old, {"to_village_code": OTHER_VILLAGE, "to_institution_code": MANAGER,
                                                   "reason": "迁入本镇上辛堡村"})
    new = rpc.registry.accept_transfer(transfer["transfer_id"])["archive"]["archive_no"]

    at_new, at_old = moved_updates(arriving, old, 2), moved_updates(leaving, old, 2)
    assert {u["body"]["record_id"] for u in at_new} == records
    assert {u["body"]["archive_no"] for u in at_new} == {new}
    assert {u["routing_key"].rsplit(".", 1)[0] for u in at_new} == {"archive.110105.101.101"}
    assert {u["routing_key"].rsplit(".", 1)[0] for u in at_old} == {"archive.110105.101.102"}
    assert sorted(u["body"]["update_id"] for u in at_old) == sorted(u["body"]["update_id"] for u in at_new)
    for update in at_new:
        valid(update["body"])
