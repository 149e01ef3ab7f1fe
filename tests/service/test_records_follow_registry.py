"""The records service follows the real registry: transfers, merges and unmerges made through
the registry's RPC re-point the records, a merge followed by writes and an unmerge leaves each
record where it belongs; an ID number attached to a newborn's archive files the encounters that
waited for it."""

import dataclasses
from datetime import timedelta

from nameko.timer import timer

from ehr.synthetic import make_id_number
from services.records.service import RecordsService
from services.registry.service import RegistryService
from shared import clock
from tests.support.amqp import Hospital, wait_until

HOSPITAL = "H3301020001"
VILLAGE, OTHER_VILLAGE, MANAGER = "110105101102", "110105101101", "T1101051011"


def register(rpc, resident):
    return rpc.registry.create_archive({**resident.archive_request(), "confirm_new": True})["archive_no"]


def record_ids(rpc, archive_no):
    return {r["record_id"] for r in rpc.records.list_records(archive_no, limit=200)["items"]}


def file(rpc, hospital, synth, resident, archive_no, count):
    before = len(record_ids(rpc, archive_no))
    for _ in range(count):
        hospital.publish(synth.encounter(resident, HOSPITAL))
    return wait_until(lambda: len(ids := record_ids(rpc, archive_no)) >= before + count and ids,
                      message="the encounters filed")


def test_merge_writes_and_unmerge_through_the_registry_leave_each_record_where_it_belongs(
        records_and_registry, rpc, synth, suite_env):
    hospital = Hospital(suite_env.amqp_uri)
    alice, bob = synth.resident(VILLAGE, MANAGER), synth.resident(VILLAGE, MANAGER)
    survivor, merged = register(rpc, alice), register(rpc, bob)
    alice_before = file(rpc, hospital, synth, alice, survivor, 2)
    bob_before = file(rpc, hospital, synth, bob, merged, 2)

    merge = rpc.registry.merge_archives(survivor, merged, "同一人重复建档")
    wait_until(lambda: record_ids(rpc, survivor) == alice_before | bob_before, message="records merged")
    assert record_ids(rpc, merged) == set()

    # After the merge the registry resolves Bob's ID number to the survivor.
    both = file(rpc, hospital, synth, bob, survivor, 1)
    bob_after = both - alice_before - bob_before

    rpc.registry.unmerge_archives(merge["merge_id"], "合并错误")
    wait_until(lambda: record_ids(rpc, merged) == bob_before | bob_after, message="records put back")
    assert record_ids(rpc, survivor) == alice_before
    hospital.close()


def test_a_transfer_to_another_village_takes_the_records_to_the_new_number(
        records_and_registry, rpc, synth, suite_env):
    hospital = Hospital(suite_env.amqp_uri)
    carol = synth.resident(VILLAGE, MANAGER)
    old = register(rpc, carol)
    records = file(rpc, hospital, synth, carol, old, 2)
    transfer = rpc.registry.request_transfer(old, {"to_village_code": OTHER_VILLAGE, "to_institution_code": MANAGER,
                                                   "reason": "迁入本镇上辛堡村"})
    new = rpc.registry.accept_transfer(transfer["transfer_id"])["archive"]["archive_no"]
    assert new.startswith(OTHER_VILLAGE) and new != old
    wait_until(lambda: record_ids(rpc, new) == records, message="records re-pointed")
    hospital.close()


class RecordsSweepingHourly(RecordsService):
    """Records whose pending re-check waits an hour: what it files within a test, it files on
    the registry's events."""

    @timer(interval=3600)
    def retry_pending(self):
        super().retry_pending()


def test_a_newborns_waiting_encounter_is_filed_as_soon_as_its_id_number_is_attached(
        start, rpc, synth, hospital):
    start(RegistryService, RecordsSweepingHourly)
    born = clock.today() - timedelta(days=6)
    child = dataclasses.replace(synth.resident(VILLAGE, MANAGER), birth_date=born, sex="1",
                                id_number=make_id_number(synth.rng, VILLAGE[:6], born, "1"))
    request = {key: value for key, value in child.archive_request().items() if key not in ("id_type", "id_number")}
    mother = register(rpc, synth.resident(VILLAGE, MANAGER))
    archive_no = rpc.registry.create_archive({**request, "guardian_archive_no": mother,
                                              "confirm_new": True})["archive_no"]
    # the hospital knows the child's 公民身份号码 before the archive does: the encounter waits
    message_id = hospital.publish(synth.encounter(child, HOSPITAL))
    wait_until(lambda: [p for p in rpc.records.list_pending(limit=200)["items"] if p["message_id"] == message_id],
               message="the encounter pending")
    assert rpc.records.list_records(archive_no)["items"] == []

    # entered from the 居民户口簿 (type 02): the same number, the same identity key
    rpc.registry.attach_id_number(archive_no, {"id_type": "02", "id_number": child.id_number})

    [record] = wait_until(lambda: rpc.records.list_records(archive_no)["items"], timeout=20,
                          message="filed on identity_updated, not by the hourly re-check")
    assert record["record_type"] == "hospital_encounter" and record["source"]["institution_code"] == HOSPITAL
    assert not [p for p in rpc.records.list_pending(limit=200)["items"] if p["message_id"] == message_id]
