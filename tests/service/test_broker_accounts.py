"""Partner broker accounts on the real broker, exercised with a plain AMQP client (pika), not the
suite's own code path: each hospital and township system may do exactly what its account allows
(`ehr.broker.rights_for`), and the records service files only what the publishing account may
send."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid

import amqp

import pika
import pytest
from click.testing import CliRunner
from pika.exceptions import ChannelClosedByBroker, ConnectionClosedByBroker, ProbableAuthenticationError

from ehr.broker import management, partner_uri, revoke
from ehr.broker import grant as grant_account
from ehr.cli import main
from shared.config import load_settings
from shared.transport.topology import declare_topology
from tests.support.amqp import connect as connect_internal
from tests.support.amqp import wait_until
from tests.support.db import query

HOSPITAL, OTHER_HOSPITAL = "H3301020001", "H1101050002"
TOWNSHIP, OTHER_TOWNSHIP = "T1101051011", "T1101052011"  # 孙河镇 110105101, 金盏乡 110105201
VILLAGE = "110105101101"
KINDS = {HOSPITAL: ("hospital", "110105"), OTHER_HOSPITAL: ("hospital", "110105"),
         TOWNSHIP: ("township_centre", "110105101"), OTHER_TOWNSHIP: ("township_centre", "110105201")}
REFUSED = (ChannelClosedByBroker, ConnectionClosedByBroker)


@pytest.fixture(scope="module")
def accounts(suite_env):
    """{institution code: (account, AMQP URI with its password)} for this run's vhost."""
    settings = load_settings()
    api, naming = management(settings)
    granted = {}
    for code, (kind, division) in KINDS.items():
        name, password = grant_account(api, naming, code, kind, division)
        granted[code] = (name, partner_uri(settings.amqp_uri, name, password))
    return granted


def connect(uri: str) -> pika.BlockingConnection:
    return pika.BlockingConnection(pika.URLParameters(uri))


@pytest.fixture
def client(accounts):
    """client(code) -> (account name, confirm-mode channel) of that institution's account."""
    connections = []

    def _client(code):
        name, uri = accounts[code]
        connection = connect(uri)
        connections.append(connection)
        channel = connection.channel()
        channel.confirm_delivery()
        return name, channel

    yield _client
    for connection in connections:
        if connection.is_open:
            connection.close()


def publish(channel, body, routing_key=None, user_id=None, exchange="ehr.encounters") -> str:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    if routing_key is None:
        routing_key = f"encounter.{body['source']['institution_code']}.{body['encounter']['kind']}"
    message_id = str(uuid.uuid4())
    channel.basic_publish(exchange, routing_key, raw, pika.BasicProperties(
        delivery_mode=2, message_id=message_id, content_type="application/json", user_id=user_id),
        mandatory=False)
    return message_id


def where(message_id: str) -> list[str]:
    return [row[0] for row in query("records", """
        SELECT 'filed' FROM record_revisions WHERE message_id = :m
        UNION ALL SELECT 'quarantine:' || reason FROM quarantine WHERE message_id = :m""", m=message_id)]


def consume_one(channel, queue: str, timeout: float = 30.0) -> dict:
    for method, _, body in channel.consume(queue, inactivity_timeout=timeout):
        assert method is not None, f"nothing arrived on {queue} within {timeout} s"
        channel.basic_ack(method.delivery_tag)
        channel.cancel()
        return json.loads(body)


# -- hospitals -------------------------------------------------------------------------------


def test_hospital_publishes_its_encounters_they_are_filed_and_its_township_consumes_them(
        records_and_registry, rpc, synth, client):
    account, hospital = client(HOSPITAL)
    _, township = client(TOWNSHIP)
    queue = f"township.{TOWNSHIP}"
    township.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    township.queue_bind(queue, "ehr.archive-updates", "archive.110105.101.#")
    resident = synth.resident(VILLAGE, TOWNSHIP)
    archive_no = rpc.registry.create_archive(resident.archive_request())["archive_no"]

    message_id = publish(hospital, synth.encounter(resident, HOSPITAL), user_id=account)

    wait_until(lambda: where(message_id) == ["filed"], message="the encounter filed")
    update = consume_one(township, queue)
    assert update["archive_no"] == archive_no and update["action"] == "filed"


def test_hospital_publishing_under_another_hospitals_code_is_refused_by_the_broker(synth, client):
    account, hospital = client(HOSPITAL)
    body = synth.encounter(synth.resident(VILLAGE, TOWNSHIP), OTHER_HOSPITAL)
    with pytest.raises(REFUSED) as refused:
        publish(hospital, body, user_id=account)
    assert refused.value.reply_code == 403


def test_hospital_cannot_claim_another_account_in_user_id(synth, client, accounts):
    _, hospital = client(HOSPITAL)
    body = synth.encounter(synth.resident(VILLAGE, TOWNSHIP), HOSPITAL)
    with pytest.raises(REFUSED) as refused:
        publish(hospital, body, user_id=accounts[OTHER_HOSPITAL][0])
    assert refused.value.reply_code == 406  # PRECONDITION_FAILED: user_id is not the connection's


@pytest.mark.parametrize("case", ["forged body institution", "no user_id"])
def test_encounter_not_vouched_for_by_its_institutions_account_is_quarantined_as_publisher_mismatch(
        records_and_registry, synth, client, case):
    account, hospital = client(HOSPITAL)
    resident = synth.resident(VILLAGE, TOWNSHIP)
    if case == "forged body institution":
        body = synth.encounter(resident, OTHER_HOSPITAL)  # under its own routing key, which the broker allows
        message_id = publish(hospital, body, routing_key=f"encounter.{HOSPITAL}.outpatient", user_id=account)
    else:
        message_id = publish(hospital, synth.encounter(resident, HOSPITAL))
    wait_until(lambda: where(message_id), message="the message processed")
    assert where(message_id) == ["quarantine:publisher_mismatch"]


def test_hospital_message_over_the_bound_is_quarantined_as_too_large_unparsed(records_and_registry, client):
    account, hospital = client(HOSPITAL)
    huge = b'{"schema": "ehr.encounter/1", "padding": "' + b"x" * load_settings().max_encounter_bytes + b'"}'
    message_id = publish(hospital, huge, routing_key=f"encounter.{HOSPITAL}.outpatient", user_id=account)
    wait_until(lambda: where(message_id), message="the message processed")
    assert where(message_id) == ["quarantine:too_large"]


def test_message_over_the_brokers_bound_is_refused_by_the_broker(client):
    account, hospital = client(HOSPITAL)
    with pytest.raises(REFUSED) as refused:
        publish(hospital, b"x" * (8 * 1024 * 1024 + 1), routing_key=f"encounter.{HOSPITAL}.outpatient",
                user_id=account)
    assert refused.value.reply_code == 406


@pytest.mark.parametrize("attempt", [
    "publish to the RPC exchange", "publish to an RPC queue", "publish an event",
    "consume an RPC queue", "declare a queue", "declare the exchange",
])
def test_hospital_cannot_reach_rpc_or_internal_exchanges_or_declare_anything(records_and_registry, client, attempt):
    _, hospital = client(HOSPITAL)
    with pytest.raises(REFUSED) as refused:
        if attempt == "publish to the RPC exchange":
            publish(hospital, b"{}", routing_key="registry.search_archives", exchange="nameko-rpc")
        elif attempt == "publish to an RPC queue":
            publish(hospital, b"{}", routing_key="rpc-registry", exchange="")
        elif attempt == "publish an event":
            publish(hospital, b"{}", routing_key="registry.archive_transferred", exchange="ehr.events")
        elif attempt == "consume an RPC queue":
            hospital.basic_consume("rpc-registry", lambda *args: None)
        elif attempt == "declare a queue":
            hospital.queue_declare(f"township.{HOSPITAL}", durable=True)
        else:
            hospital.exchange_declare("ehr.encounters", "topic", durable=True)
    assert refused.value.reply_code == 403


def test_hospital_cannot_bind_to_archive_updates(records_and_registry, client):
    _, hospital = client(HOSPITAL)
    with pytest.raises(REFUSED) as refused:
        # an existing queue, since it may declare none: records' own
        hospital.queue_bind("records.encounters", "ehr.archive-updates", "archive.#")
    assert refused.value.reply_code == 403


# -- township systems ------------------------------------------------------------------------


@pytest.mark.parametrize("binding", ["archive.110105.201.#", "archive.110105.#", "archive.#", "#"])
def test_township_is_refused_a_binding_outside_its_jurisdiction(suite_env, client, binding):
    _, township = client(TOWNSHIP)
    queue = f"township.{TOWNSHIP}.probe"
    township.queue_declare(queue, exclusive=True)  # gone with the connection
    with pytest.raises(REFUSED) as refused:
        township.queue_bind(queue, "ehr.archive-updates", binding)
    assert refused.value.reply_code == 403


@pytest.mark.parametrize("attempt", ["another township's queue", "bind to encounters", "consume an RPC queue",
                                     "bind to events", "publish an update", "dead-letter into events"])
def test_township_cannot_touch_other_queues_encounters_rpc_or_events(records_and_registry, client, attempt):
    _, township = client(TOWNSHIP)
    own = f"township.{TOWNSHIP}.probe"
    with pytest.raises(REFUSED) as refused:
        if attempt == "another township's queue":
            township.queue_declare(f"township.{OTHER_TOWNSHIP}", durable=True)
        elif attempt == "consume an RPC queue":
            township.basic_consume("rpc-registry", lambda *args: None)
        elif attempt == "dead-letter into events":  # its rejected messages would be published as events
            township.queue_declare(own, exclusive=True, arguments={
                "x-dead-letter-exchange": "ehr.events", "x-dead-letter-routing-key": "registry.archive_transferred"})
        elif attempt == "publish an update":
            publish(township, b"{}", routing_key="archive.110105.101.101.visit", exchange="ehr.archive-updates")
        else:
            township.queue_declare(own, exclusive=True)
            exchange, key = ("ehr.encounters", "encounter.#") if attempt == "bind to encounters" else ("ehr.events", "#")
            township.queue_bind(own, exchange, key)
    assert refused.value.reply_code == 403


def test_ehr_subscribe_consumes_its_jurisdiction_with_the_townships_own_account(suite_env, accounts):
    declare_topology(suite_env.amqp_uri)
    _, uri = accounts[OTHER_TOWNSHIP]
    proc = subprocess.Popen([sys.executable, "-m", "ehr", "subscribe", OTHER_TOWNSHIP, "--jurisdiction", "110105201",
                             "--uri", uri], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    try:
        assert proc.stderr.readline().startswith(f"bound township.{OTHER_TOWNSHIP} to archive.110105.201.#")
        suite = connect_internal(suite_env.amqp_uri)
        channel = suite.channel()
        for key in ("archive.110105.101.101.visit", "archive.110105.201.101.visit"):  # another township's, its own
            channel.basic_publish(amqp.Message(json.dumps({"routing_key": key}), content_type="application/json"),
                                  exchange="ehr.archive-updates", routing_key=key)
        suite.close()
        assert json.loads(proc.stdout.readline()) == {"routing_key": "archive.110105.201.101.visit"}
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and rest == ""


# -- revoking, listing -----------------------------------------------------------------------


def test_revoked_account_is_refused_at_once_and_its_open_connection_closed(suite_env, synth):
    settings = load_settings()
    api, naming = management(settings)
    name, password = grant_account(api, naming, OTHER_HOSPITAL, "hospital", "110105")
    uri = partner_uri(settings.amqp_uri, name, password)
    connection = connect(uri)
    channel = connection.channel()
    channel.confirm_delivery()
    publish(channel, synth.encounter(synth.resident(VILLAGE, TOWNSHIP), OTHER_HOSPITAL), user_id=name)

    assert revoke(api, name)

    with pytest.raises(ConnectionClosedByBroker):  # the broker closes the open connection at once
        connection.process_data_events(time_limit=10)
        connection.process_data_events(time_limit=10)
    with pytest.raises(ProbableAuthenticationError):  # and refuses it a new one
        connect(uri)


def test_broker_cli_grants_prints_the_password_once_and_lists_the_account(suite_env):
    runner = CliRunner()
    granted = runner.invoke(main, ["broker", "grant", "V1101051011"])
    assert granted.exit_code == 0, granted.output
    lines = dict(line.split(None, 1) for line in granted.stdout.splitlines() if line.strip())
    account = lines["account"].split()[0]
    assert account == f"{suite_env.name}-V1101051011"
    assert "archive.110105.101.101." in lines["may"]
    connect(partner_uri(suite_env.amqp_uri, account, lines["password"])).close()

    listed = runner.invoke(main, ["broker", "list", "--json"])
    rows = {row["account"]: row for row in json.loads(listed.stdout)}
    assert rows[account]["topics"] == {"ehr.archive-updates": {"write": "^$", "read": r"^archive\.110105\.101\.101\."}}
    assert all(name == f"{suite_env.name}-{row['institution_code']}" for name, row in rows.items())

    assert runner.invoke(main, ["broker", "revoke", "V1101051011"]).exit_code == 0
    assert account not in runner.invoke(main, ["broker", "list"]).stdout
    assert runner.invoke(main, ["broker", "revoke", "V1101051011"]).exit_code == 1


def test_broker_cli_refuses_an_unknown_institution(suite_env):
    result = CliRunner().invoke(main, ["broker", "grant", "H0000000000"])
    assert result.exit_code == 2 and "no institution" in result.output
