"""Operators working the quarantine store and the pending encounters."""

import copy
import json

import pytest

from shared.actor import Actor
from shared.errors import InvalidTransition, NotFound, ValidationFailed
from shared.identity import mask_id_number
from shared.transport.rpc import SignedClusterRpcClient
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
    fields = shown["body"]["fields"]
    assert fields["encounter"]["vital_signs"]["sbp"] == "number"
    assert fields["patient"]["id_number"] == mask_id_number(resident.id_number)
    assert fields["source"] == body["source"] and fields["encounter"]["kind"] == "outpatient"
    assert resident.name not in str(shown) and resident.phone not in str(shown)


def test_an_operator_sees_a_whitelist_of_fields_and_only_the_shapes_of_the_rest(
        records_and_registry, rpc, synth, hospital):
    resident = synth.resident(VILLAGE, MANAGER)
    body = synth.encounter(resident, HOSPITAL)
    body["patient"]["health_card_no"], body["patient"]["insurance_card_no"] = "HC7654321", "INS-99887766"
    body["patient"]["birth_date"] = "1949-13-31"  # not a date: quarantined, with everything else kept
    body["patient"]["nickname"] = resident.name   # a field the contract does not define
    message_id = hospital.publish(body)
    [item] = quarantined(rpc, message_id)

    shown = rpc.records.show_quarantined(item["id"])
    patient, encounter = shown["body"]["fields"]["patient"], shown["body"]["fields"]["encounter"]
    assert patient["birth_date"] == "string(10)" and patient["name"] == f"string({len(resident.name)})"
    assert patient["health_card_no"] == "string(9)" and patient["mrn"] == f"string({len(body['patient']['mrn'])})"
    assert patient["_unknown_fields"] == 1 and "nickname" not in patient
    assert encounter["diagnoses"] == [{"system": "string(6)", "code": f"string({len(body['encounter']['diagnoses'][0]['code'])})",
                                       "name": f"string({len(body['encounter']['diagnoses'][0]['name'])})",
                                       "primary": "boolean"}]
    assert encounter["chief_complaint"] == "string(4)" and encounter["summary"] == "string(4)"
    text = str(shown)
    for secret in ("1949-13-31", "HC7654321", "INS-99887766", body["patient"]["mrn"], resident.name,
                   body["encounter"]["diagnoses"][0]["name"], body["encounter"]["chief_complaint"],
                   body["encounter"]["prescriptions"][0]["drug"], resident.id_number[6:14]):
        assert secret not in text


@pytest.mark.parametrize("raw", [
    "张秀英 11010519491231002X 1949-12-31 高血压".encode(),
    json.dumps(["张秀英", "1949-12-31", {"patient": "张秀英"}], ensure_ascii=False).encode(),
    json.dumps({"patient": "张秀英 1949-12-31", "encounter": ["高血压"]}, ensure_ascii=False).encode()])
def test_a_malformed_body_shows_its_size_and_no_content(records_and_registry, rpc, hospital, raw):
    message_id = hospital.publish(raw, routing_key=f"encounter.{HOSPITAL}.outpatient")
    [item] = quarantined(rpc, message_id)
    shown = rpc.records.show_quarantined(item["id"])
    assert shown["body"]["size"] == len(raw)
    for secret in ("张秀英", "1949-12-31", "高血压", "19491231"):
        assert secret not in str(shown)


def test_a_quarantined_message_keeps_its_headers_sealed(records_and_registry, rpc, hospital):
    headers = {"x-patient": "110105 19491231 002X", "x-note": "张秀英"}
    message_id = hospital.publish(b"{broken", routing_key=f"encounter.{HOSPITAL}.outpatient", headers=headers)
    [item] = quarantined(rpc, message_id)
    [row] = query("records", "SELECT headers, headers_enc FROM quarantine WHERE id = :i", i=item["id"])
    assert row.headers is None and row.headers_enc is not None
    assert b"19491231" not in bytes(row.headers_enc) and "张秀英".encode() not in bytes(row.headers_enc)


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


def _pending(rpc, hospital, synth, resident=None):
    resident = resident or synth.resident(VILLAGE, MANAGER)
    body = synth.encounter(resident, HOSPITAL)
    body["patient"]["id_number"] = None  # no ID number: it can only be linked by hand
    message_id = hospital.publish(body)
    item = wait_until(lambda: [p for p in rpc.records.list_pending(limit=200)["items"]
                               if p["message_id"] == message_id], message="pending")[0]
    return resident, body, item


def test_pending_encounters_are_listed_with_their_age_and_can_be_linked(records_and_registry, rpc, synth, hospital):
    resident, _, item = _pending(rpc, hospital, synth)
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


@pytest.fixture
def operator_rpc(suite_env):
    with SignedClusterRpcClient(uri=suite_env.amqp_uri, timeout=20, context_data=Actor(
            user="ops01", institution_code="G1101050001", role="system_operator").as_context()) as client:
        yield client


def test_an_operator_alone_cannot_link_a_pending_encounter_but_proposes_the_archive(
        records_and_registry, rpc, operator_rpc, synth, hospital):
    resident, _, item = _pending(rpc, hospital, synth)
    archive_no = rpc.registry.create_archive(resident.archive_request())["archive_no"]

    with pytest.raises(ValidationFailed) as refused:
        operator_rpc.records.link_pending(item["id"], archive_no)
    assert "confirmed_by" in refused.value.details
    proposed = operator_rpc.records.propose_link(item["id"], archive_no)
    assert (proposed["status"], proposed["proposed_archive_no"], proposed["proposed_by"]) == \
        ("pending", archive_no, "ops01")
    assert rpc.records.list_records(archive_no)["items"] == []
    listed = rpc.records.list_link_proposals(VILLAGE[:9], limit=200)["items"]
    assert item["id"] in [p["id"] for p in listed]
    assert item["id"] not in [p["id"] for p in rpc.records.list_link_proposals("110105101", limit=200)["items"]]

    # on the server, `ehr pending link` names the clinician who confirmed the match
    linked = operator_rpc.records.link_pending(item["id"], archive_no, confirmed_by="doc01")
    assert (linked["status"], linked["linked_by"], linked["confirmed_by"]) == ("filed", "ops01", "doc01")


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


def test_the_operators_lists_print_json_arrays(records_and_registry, rpc, synth, hospital):
    from click.testing import CliRunner

    from ehr.cli import main

    message_id = hospital.publish(b"{broken", routing_key=f"encounter.{HOSPITAL}.outpatient")
    quarantined(rpc, message_id)
    _, _, item = _pending(rpc, hospital, synth)
    runner = CliRunner()
    held = runner.invoke(main, ["quarantine", "list", "--reason", "not_json", "--limit", "200", "--json"])
    assert held.exit_code == 0, held.output
    assert message_id in {q["message_id"] for q in json.loads(held.stdout)}
    waiting = runner.invoke(main, ["pending", "list", "--limit", "200", "--json"])
    assert waiting.exit_code == 0, waiting.output
    [listed] = [p for p in json.loads(waiting.stdout) if p["id"] == item["id"]]
    assert listed["has_id_number"] is False


def test_the_pending_link_command_names_who_confirmed_the_match(records_and_registry, rpc, synth, hospital):
    from click.testing import CliRunner

    from ehr.cli import main

    resident, _, item = _pending(rpc, hospital, synth)
    archive_no = rpc.registry.create_archive(resident.archive_request())["archive_no"]
    runner = CliRunner()
    alone = runner.invoke(main, ["pending", "link", str(item["id"]), archive_no])
    assert alone.exit_code == 2 and "--confirmed-by" in alone.output
    linked = runner.invoke(main, ["pending", "link", str(item["id"]), archive_no, "--confirmed-by", "doc01"])
    assert linked.exit_code == 0, linked.output
    assert json.loads(linked.output)["confirmed_by"] == "doc01"
