"""A real RabbitMQ restart while hospital messages flow: `rabbitmqctl stop_app`, a few seconds
down, `start_app`. The broker is the machine's own (the one every test uses), so the test leaves
it running whatever happens.

What a hospital does is part of the picture: it publishes with publisher confirms, and what was
not confirmed when the connection broke it publishes again, under the same message id, once the
broker is back. The suite must then file every encounter exactly once, quarantine nothing, and
announce every record to a township whose durable queue outlives the restart.

The restart also deletes every RPC reply queue (nameko's are not durable) with the replies in
them: the records workers' registry calls in flight then fail as transient and their batches are
retried (`shared.transport.rpc`), with no filing transaction open meanwhile.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time

import amqp
import pytest

from ehr.synthetic import Synthesizer
from tests.e2e.test_faults import HOSPITAL
from tests.support.amqp import Hospital, connect, wait_until

pytestmark = pytest.mark.e2e

DOWN_SECONDS = 5


def rabbitmqctl(*args: str, timeout: float = 120) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=timeout)


def broker_is_up(amqp_uri: str) -> bool:
    try:
        connect(amqp_uri).close()
        return True
    except (OSError, amqp.exceptions.AMQPError):
        return False


class RetryingHospital:
    """A hospital that republishes, under the same message id, whatever the broker did not
    confirm, reconnecting until it can."""

    def __init__(self, amqp_uri: str) -> None:
        self.amqp_uri = amqp_uri
        self.hospital = Hospital(amqp_uri)
        self.retries = 0

    def publish(self, body: dict, message_id: str) -> None:
        while True:
            try:
                self.hospital.publish(body, message_id=message_id)
                return
            except (OSError, amqp.exceptions.AMQPError):
                self.retries += 1
                time.sleep(0.5)
                try:
                    self.hospital = Hospital(self.amqp_uri)
                except (OSError, amqp.exceptions.AMQPError):
                    pass

    def close(self) -> None:
        try:
            self.hospital.close()
        except (OSError, amqp.exceptions.AMQPError):
            pass


class DurableTownship:
    """A township system's durable queue of archive updates, read with acknowledgements, that
    reconnects after the broker comes back."""

    def __init__(self, amqp_uri: str, queue: str) -> None:
        self.amqp_uri, self.queue = amqp_uri, queue
        self.record_ids: set[str] = set()
        self.received = 0
        self._connect()

    def _connect(self) -> None:
        self.conn = connect(self.amqp_uri)
        channel = self.conn.channel()
        channel.exchange_declare("ehr.archive-updates", "topic", durable=True, auto_delete=False)
        channel.queue_declare(self.queue, durable=True, auto_delete=False, arguments={"x-queue-type": "quorum"})
        channel.queue_bind(self.queue, "ehr.archive-updates", "archive.#")
        channel.basic_consume(self.queue, callback=lambda m: self._on_message(channel, m))

    def _on_message(self, channel, message) -> None:
        self.record_ids.add(json.loads(message.body)["record_id"])
        self.received += 1
        channel.basic_ack(message.delivery_tag)

    def drain(self, until, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not until() and time.monotonic() < deadline:
            try:
                self.conn.drain_events(timeout=1.0)
            except TimeoutError:
                pass
            except (OSError, amqp.exceptions.AMQPError) as exc:
                if "timed out" in str(exc):
                    continue
                time.sleep(0.5)
                try:
                    self._connect()
                except (OSError, amqp.exceptions.AMQPError):
                    pass

    def close(self) -> None:
        try:
            self.conn.close()
        except (OSError, amqp.exceptions.AMQPError):
            pass


def test_a_broker_restart_while_messages_flow_loses_and_doubles_nothing(sandbox):
    synth = Synthesizer(seed=33)
    people = sandbox.register(30, synth)
    township = DurableTownship(sandbox.env.amqp_uri, f"township-{sandbox.env.vhost}")
    sandbox.start("registry")
    sandbox.start("records")
    sandbox.start("records")

    # 3,000 at 150/s: twenty seconds of flow, so the broker goes down and comes back mid-stream.
    encounters = [synth.encounter(people[n % len(people)], HOSPITAL) for n in range(3000)]
    ids = [f"restart-{n:05d}" for n in range(len(encounters))]
    hospital = RetryingHospital(sandbox.env.amqp_uri)

    def publish_all() -> None:
        start = time.monotonic()
        for n, (body, message_id) in enumerate(zip(encounters, ids)):
            delay = start + n / 150 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            hospital.publish(body, message_id)

    publisher = threading.Thread(target=publish_all)
    publisher.start()
    try:
        wait_until(lambda: sandbox.records_scalar("SELECT count(*) FROM records") > 100, timeout=60,
                   message="filing under way")
        rabbitmqctl("stop_app")
        time.sleep(DOWN_SECONDS)
    finally:
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")
    wait_until(lambda: broker_is_up(sandbox.env.amqp_uri), timeout=60, message="the broker back")
    publisher.join(timeout=300)
    hospital.close()
    assert not publisher.is_alive()
    assert hospital.retries > 0, "the restart did not interrupt publishing"

    wait_until(lambda: sandbox.records_scalar("SELECT count(*) FROM records") >= len(ids),
               timeout=240, interval=0.5, message="every encounter filed")
    filed = sandbox.records_scalar("SELECT array_agg(message_id) FROM record_revisions")
    assert sorted(filed) == sorted(ids)                        # each once: none lost, none doubled
    assert sandbox.records_scalar("SELECT count(*) FROM quarantine") == 0
    assert sandbox.records_scalar("SELECT count(*) FROM pending_encounters") == 0

    record_ids = set(sandbox.records_scalar("SELECT array_agg(id) FROM records"))
    township.drain(until=lambda: township.record_ids >= record_ids, timeout=180)
    township.close()
    assert township.record_ids == record_ids                   # every record announced
