"""The records service follows the real registry: transfers, merges and unmerges made through
the registry's RPC re-point the records, a merge followed by writes and an unmerge leaves each
record where it belongs."""

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
