"""Operators working the quarantine store and the pending encounters."""

import copy

import pytest

from shared.errors import InvalidTransition, NotFound, ValidationFailed
from tests.support.amqp import wait_until
from tests.support.db import query

HOSPITAL = "H3301020001"
VILLAGE = "110105201102"
MANAGER = "T1101052011"


def quarantined(rpc, message_id):
    def find():
        page = rpc.records.list_quarantine(status=None, limit=200)
        return [q for q in page["items"] if q["message_id"] == message_id]
    return wait_until(find, message="the message in quarantine")


def test_a_quarantined_message_is_shown_with_its_reason_and_identifiers_masked(
        records_and_registry, rpc, synth, hospital):
    resident = synth.resident(VILLAGE, MANAGER)
    body = synth.encounter(resident, HOSPITAL)
    body["encounter"]["vital_signs"]["sbp"] = 999
    message_id = hospital.publish(body)
    [item] = quarantined(rpc, message_id)

    shown = rpc.records.show_quarantined(item["id"])
    assert shown["reason"] == "schema_invalid"
    assert shown["details"] == {"encounter": {"vital_signs": {"sbp": ["Must be less than or equal to 300."]}}}
    assert shown["body"]["encounter"]["vital_signs"]["sbp"] == 999
    assert shown["body"]["patient"]["id_number"] == "*" * 14 + resident.id_number[-4:]
    assert resident.name not in str(shown) and resident.phone not in str(shown)


def test_a_corrected_replay_is_filed_and_the_entry_is_closed(records_and_registry, rpc, synth, hospital):
    resident = synth.resident(VILLAGE, MANAGER)
    archive_no = rpc.registry.create_archive(resident.archive_request())["archive_no"]
    body = synth.encounter(resident, HOSPITAL)
    broken = copy.deepcopy(body)
    del broken["encounter"]["started_at"]
    message_id = hospital.publish(broken)
    [item] = quarantined(rpc, message_id)

    with pytest.raises(ValidationFailed) as err:
        rpc.records.replay_quarantined(item["id"], corrected=broken)
    assert "started_at" in err.value.details["encounter"]
    replayed = rpc.records.replay_quarantined(item["id"], corrected=body)
    assert replayed["status"] == "replayed"

    records = wait_until(lambda: rpc.records.list_records(archive_no)["items"], message="the replayed record")
    assert records[0]["source"]["record_id"] == body["source"]["record_id"]
    with pytest.raises(InvalidTransition):
        rpc.records.replay_quarantined(item["id"])


def test_a_replay_as_it_was_is_judged_again(records_and_registry, rpc, synth, hospital):
    body = synth.encounter(synth.resident(VILLAGE, MANAGER), HOSPITAL)
    message_id = hospital.publish(body, routing_key="encounter.H1101050002.outpatient")
    [item] = quarantined(rpc, message_id)
    rpc.records.replay_quarantined(item["id"])
    entries = wait_until(lambda: len(quarantined(rpc, message_id)) == 2 and quarantined(rpc, message_id),
                         message="quarantined again")
    assert [e["reason"] for e in entries] == ["routing_mismatch", "routing_mismatch"]
    assert sorted(e["status"] for e in entries) == ["held", "replayed"]


def test_a_discarded_message_is_kept_and_closed(records_and_registry, rpc, synth, hospital):
    message_id = hospital.publish(b"not json at all", routing_key=f"encounter.{HOSPITAL}.outpatient")
    [item] = quarantined(rpc, message_id)
    discarded = rpc.records.discard_quarantined(item["id"], "test message from the HIS vendor")
    assert discarded["status"] == "discarded"
    assert query("records", "SELECT count(*) FROM quarantine WHERE id = :i", i=item["id"])[0][0] == 1
    with pytest.raises(InvalidTransition):
        rpc.records.discard_quarantined(item["id"], "again")
    with pytest.raises(NotFound):
        rpc.records.show_quarantined(10**9)


def test_pending_encounters_are_listed_with_their_age_and_can_be_linked_by_an_operator(
        records_and_registry, rpc, synth, hospital):
    resident = synth.resident(VILLAGE, MANAGER)
    body = synth.encounter(resident, HOSPITAL)
    body["patient"]["id_number"] = None  # no ID number: it can only be linked by hand
    message_id = hospital.publish(body)
    item = wait_until(lambda: [p for p in rpc.records.list_pending(limit=200)["items"]
                               if p["message_id"] == message_id], message="pending")[0]
    assert item["age_seconds"] >= 0 and item["has_id_number"] is False

    archive_no = rpc.registry.create_archive(resident.archive_request())["archive_no"]
    with pytest.raises(NotFound):
        rpc.records.link_pending(item["id"], "11010520110299999")
    linked = rpc.records.link_pending(item["id"], archive_no)
    assert linked["status"] == "filed"
    [record] = rpc.records.list_records(archive_no)["items"]
    assert record["record_id"] == linked["filed_record_id"]
    with pytest.raises(InvalidTransition):
        rpc.records.link_pending(item["id"], archive_no)


def test_the_operator_commands_list_and_show_quarantined_messages(records_and_registry, rpc, synth, hospital):
    from click.testing import CliRunner

    from ehr.cli import main

    message_id = hospital.publish(b"{broken", routing_key=f"encounter.{HOSPITAL}.outpatient")
    [item] = quarantined(rpc, message_id)
    runner = CliRunner()
    listed = runner.invoke(main, ["quarantine", "list", "--reason", "not_json"])
    assert listed.exit_code == 0, listed.output
    assert message_id in listed.output
    shown = runner.invoke(main, ["quarantine", "show", str(item["id"])])
    assert shown.exit_code == 0 and '"reason": "not_json"' in shown.output
    missing = runner.invoke(main, ["quarantine", "show", "999999999"])
    assert missing.exit_code == 1 and "no such quarantined message" in missing.output
