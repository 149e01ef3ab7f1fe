"""Internal traffic carries authority only with the service key: an RPC call whose acting user
(or whose absence of one) is not signed with EHR_SERVICE_KEY, and a registry event published by
hand to `ehr.events`, are refused, change nothing and are logged without personal data. The forged
messages are sent with a plain AMQP client (py-amqp), as anyone holding a broker account could."""

import base64
import json
import logging
import os
import time
import uuid

import amqp
import pytest

from ehr.synthetic import Synthesizer
from shared.signing import EVENT_SIGNATURE, call_headers, event_signature
from tests.support.amqp import Hospital, connect, wait_until

VILLAGE, MANAGER, HOSPITAL = "110105101101", "T1101051011", "H3301020001"
ACTING_AS = {"nameko.ehr.user": "doc01", "nameko.ehr.institution": MANAGER, "nameko.ehr.role": "archive_manager"}
OTHER_KEY = os.urandom(32)


def forged_call(amqp_uri: str, target: str, args: list, kwargs: dict, headers: dict,
                correlation_id: str | None = None) -> dict:
    """Send one RPC request the way nameko's wire format has it, and wait for the reply."""
    conn = connect(amqp_uri)
    try:
        channel = conn.channel()
        reply_queue, _, _ = channel.queue_declare("", exclusive=True)
        channel.queue_bind(reply_queue, "nameko-rpc", routing_key=reply_queue)
        replies = []
        channel.basic_consume(reply_queue, callback=replies.append, no_ack=True)
        body = json.dumps({"args": args, "kwargs": kwargs}).encode()
        channel.basic_publish(amqp.Message(body, content_type="application/json", content_encoding="utf-8",
                                           correlation_id=correlation_id or str(uuid.uuid4()),
                                           reply_to=reply_queue, application_headers=headers),
                              exchange="nameko-rpc", routing_key=target)
        deadline = time.monotonic() + 20
        while not replies and time.monotonic() < deadline:
            try:
                conn.drain_events(timeout=1)
            except (TimeoutError, OSError):
                pass
        assert replies, "no reply"
        return json.loads(replies[0].body)
    finally:
        conn.close()


def refusals(caplog, message):
    return [r for r in caplog.records if r.getMessage() == message]


@pytest.fixture
def resident():
    return Synthesizer(seed=808).resident(VILLAGE, MANAGER)


def archives_in_village(rpc):
    return sum(row["archives"] for row in rpc.registry.count_archives(VILLAGE))


def test_a_call_with_a_forged_acting_user_is_refused_and_logged_without_personal_data(
        registry, rpc, suite_env, resident, caplog):
    caplog.set_level(logging.WARNING)
    before = archives_in_village(rpc)
    reply = forged_call(suite_env.amqp_uri, "registry.create_archive",
                        [{**resident.archive_request(), "confirm_new": True}], {}, ACTING_AS)

    assert reply["result"] is None
    assert reply["error"]["exc_type"] == "CallRefused"
    assert "not signed" in reply["error"]["value"]
    assert archives_in_village(rpc) == before
    [logged] = refusals(caplog, "rpc call refused")
    assert logged.target == "registry.create_archive" and "not signed" in logged.reason
    assert resident.id_number not in caplog.text and resident.name not in caplog.text


@pytest.mark.parametrize("forgery", ["another key", "signature of another call", "stale signature",
                                     "no acting user, no signature"])
def test_a_call_not_signed_for_itself_with_the_service_key_is_refused(registry, rpc, suite_env, resident, caplog,
                                                                       forgery):
    caplog.set_level(logging.WARNING)
    args = [{**resident.archive_request(), "confirm_new": True}]
    body = json.dumps({"args": args, "kwargs": {}}).encode()
    key = base64.b64decode(os.environ["EHR_SERVICE_KEY"])
    correlation_id = str(uuid.uuid4())
    prefixed = ACTING_AS
    if forgery == "another key":
        headers = {**prefixed, **call_headers(OTHER_KEY, prefixed, "registry.create_archive", correlation_id, body)}
    elif forgery == "signature of another call":   # as captured from a harmless call by the same user
        headers = {**prefixed, **call_headers(key, prefixed, "registry.list_institutions", correlation_id,
                                              json.dumps({"args": [], "kwargs": {}}).encode())}
    elif forgery == "stale signature":
        headers = {**prefixed, **call_headers(key, prefixed, "registry.create_archive", correlation_id, body,
                                              now=time.time() - 3600)}
    else:
        headers = {}
    before = archives_in_village(rpc)

    reply = forged_call(suite_env.amqp_uri, "registry.create_archive", args, {}, headers, correlation_id)

    assert reply["error"]["exc_type"] == "CallRefused"
    assert archives_in_village(rpc) == before
    assert refusals(caplog, "rpc call refused")


def test_a_call_signed_for_itself_with_the_service_key_is_answered(registry, suite_env):
    body = json.dumps({"args": [], "kwargs": {}}).encode()
    correlation_id = str(uuid.uuid4())
    key = base64.b64decode(os.environ["EHR_SERVICE_KEY"])
    headers = {**ACTING_AS, **call_headers(key, ACTING_AS, "registry.list_institutions", correlation_id, body)}
    reply = forged_call(suite_env.amqp_uri, "registry.list_institutions", [], {}, headers, correlation_id)
    assert reply["error"] is None and any(i["code"] == MANAGER for i in reply["result"])


def publish_event(amqp_uri: str, event_type: str, data: dict, key: bytes | None) -> str:
    event_id = str(uuid.uuid4())
    body = json.dumps({"schema": "ehr.event/1", "event_id": event_id, "event_type": event_type,
                       "service": "registry", "occurred_at": "2026-12-01T10:00:00+00:00",
                       "actor": {"user": "system"}, "data": data}).encode()
    routing_key = f"registry.{event_type}"
    headers = {EVENT_SIGNATURE: event_signature(key, "ehr.events", routing_key, event_id, body)} if key else {}
    conn = connect(amqp_uri)
    try:
        channel = conn.channel()
        channel.basic_publish(amqp.Message(body, content_type="application/json", delivery_mode=2,
                                           message_id=event_id, application_headers=headers),
                              exchange="ehr.events", routing_key=routing_key)
    finally:
        conn.close()
    return event_id


def test_an_event_forged_on_ehr_events_is_quarantined_and_moves_no_record(
        records_and_registry, rpc, suite_env, resident, caplog):
    caplog.set_level(logging.WARNING)
    archive_no = rpc.registry.create_archive({**resident.archive_request(), "confirm_new": True})["archive_no"]
    hospital = Hospital(suite_env.amqp_uri)
    hospital.publish(Synthesizer(seed=809).encounter(resident, HOSPITAL))
    hospital.close()
    [record] = wait_until(lambda: rpc.records.list_records(archive_no)["items"], message="the encounter filed")
    elsewhere = f"{VILLAGE}99999"
    move_everything = {"archive_no": elsewhere, "former_archive_no": archive_no,
                       "village_code": VILLAGE, "institution_code": MANAGER}

    forged = {publish_event(suite_env.amqp_uri, "archive_transferred", move_everything, key=None),
              publish_event(suite_env.amqp_uri, "archive_transferred", move_everything, key=OTHER_KEY)}

    held = wait_until(lambda: len(q := [q for q in rpc.records.list_quarantine(reason="unauthenticated")["items"]
                                        if q["message_id"] in forged]) == 2 and q, message="both quarantined")
    assert {q["queue"] for q in held} == {"records.registry-events"}
    assert [r["record_id"] for r in rpc.records.list_records(archive_no)["items"]] == [record["record_id"]]
    assert rpc.records.list_records(elsewhere)["items"] == []
    logged = refusals(caplog, "registry event refused")
    assert {r.message_id for r in logged} == forged
    assert {r.reason for r in logged} == {"event not signed with the service key", "event signature does not match"}


def test_the_operators_commands_sign_their_calls_with_the_service_key(records_and_registry, caplog):
    from click.testing import CliRunner

    from ehr.cli import main

    caplog.set_level(logging.WARNING)
    result = CliRunner().invoke(main, ["quarantine", "list", "--reason", "unauthenticated"])
    assert result.exit_code == 0, result.output
    assert not refusals(caplog, "rpc call refused")
