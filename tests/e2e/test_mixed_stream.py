"""A mixed stream from hospitals, as real processes (a registry, two records workers) file it:
good encounters, the same messages sent twice, bodies that are not JSON or not the contract,
invalid ID numbers, an institution nobody registered, and residents who are registered only
halfway through the run. Record by record: every good encounter filed once, every bad message
in quarantine with its own reason, the unregistered pending and then filed, every record
announced, and no worker down."""

from __future__ import annotations

import threading
import time

import pytest
from shared.transport.rpc import SignedClusterRpcClient

from ehr.synthetic import Synthesizer
from tests.e2e.conftest import MANAGERS, VILLAGES
from tests.e2e.test_faults import HOSPITAL
from tests.support.amqp import Hospital, Listener, wait_until

pytestmark = pytest.mark.e2e

UNKNOWN_HOSPITAL = "H9999999999"


def wrong_check_character(id_number: str) -> str:
    return id_number[:17] + ("0" if id_number[17] != "0" else "1")


def test_a_mixed_stream_ends_filed_once_quarantined_with_its_reason_or_pending_then_filed(sandbox):
    synth = Synthesizer(seed=41)
    registered = sandbox.register(20, synth)
    newcomers = [synth.resident(VILLAGES[n % len(VILLAGES)], MANAGERS[VILLAGES[n % len(VILLAGES)][:9]])
                 for n in range(8)]
    sandbox.start("registry")
    workers = [sandbox.start("records"), sandbox.start("records")]
    updates = Listener(sandbox.env.amqp_uri, "ehr.archive-updates", "archive.#")

    # What to send, in a shuffled order, and what each message must come to.
    stream: list[tuple[str, bytes | dict, str | None]] = []   # (message id, body, routing key)
    good, later, quarantined = [], [], {}
    for n in range(600):
        mid = f"good-{n:04d}"
        stream.append((mid, synth.encounter(registered[n % len(registered)], HOSPITAL), None))
        good.append(mid)
    for n in range(48):
        mid = f"newcomer-{n:04d}"
        stream.append((mid, synth.encounter(newcomers[n % len(newcomers)], HOSPITAL), None))
        later.append(mid)
    for n in range(25):
        mid = f"not-json-{n:03d}"
        stream.append((mid, b'{"schema": "ehr.encounter/1", "source": ', f"encounter.{HOSPITAL}.outpatient"))
        quarantined[mid] = "not_json"
        mid = f"no-encounter-{n:03d}"
        body = synth.encounter(registered[n % len(registered)], HOSPITAL)
        del body["encounter"]
        stream.append((mid, body, f"encounter.{HOSPITAL}.outpatient"))
        quarantined[mid] = "schema_invalid"
        mid = f"bad-id-{n:03d}"
        body = synth.encounter(registered[n % len(registered)], HOSPITAL)
        body["patient"]["id_number"] = wrong_check_character(body["patient"]["id_number"])
        stream.append((mid, body, None))
        quarantined[mid] = "invalid_id_number"
        mid = f"stranger-{n:03d}"
        stream.append((mid, synth.encounter(registered[n % len(registered)], UNKNOWN_HOSPITAL), None))
        quarantined[mid] = "unknown_institution"
    synth.rng.shuffle(stream)
    repeats = synth.rng.sample([item for item in stream if item[0].startswith("good-")], 150)
    stream += repeats                                           # sent again, same message id
    synth.rng.shuffle(stream)

    def publish_all() -> None:
        hospital, start = Hospital(sandbox.env.amqp_uri), time.monotonic()
        for n, (mid, body, routing_key) in enumerate(stream):
            delay = start + n / 150 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            hospital.publish(body, routing_key=routing_key, message_id=mid)
        hospital.close()

    publisher = threading.Thread(target=publish_all)
    publisher.start()
    wait_until(lambda: sandbox.records_scalar("SELECT count(*) FROM pending_encounters") >= 10, timeout=60,
               message="newcomers' encounters pending")
    with SignedClusterRpcClient(settings=sandbox.settings, timeout=30) as rpc:   # they register mid-stream
        for person in newcomers:
            rpc.registry.create_archive({**person.archive_request(), "confirm_new": True})
    publisher.join(timeout=120)
    assert not publisher.is_alive()

    expected = sorted(good + later)
    wait_until(lambda: sandbox.records_scalar("SELECT count(*) FROM record_revisions") >= len(expected),
               timeout=180, interval=0.5, message="every good encounter filed")
    wait_until(lambda: sandbox.records_scalar("SELECT count(*) FROM quarantine") >= len(quarantined),
               timeout=60, message="every bad message quarantined")
    time.sleep(2)  # a late double would show now
    assert sorted(sandbox.records_scalar("SELECT array_agg(message_id) FROM record_revisions")) == expected
    held = sandbox.records_scalar("SELECT json_object_agg(message_id, reason) FROM quarantine")
    assert held == quarantined                                  # each once, with its own reason
    assert sandbox.records_scalar("SELECT count(*) FROM pending_encounters WHERE status <> 'filed'") == 0
    parked = sandbox.records_scalar("SELECT array_agg(message_id) FROM pending_encounters")
    assert parked and set(parked) <= set(later)                 # the newcomers waited, then were filed
    archives = sandbox.records_scalar("SELECT count(DISTINCT archive_no) FROM records")
    assert archives == len(registered) + len(newcomers)

    record_ids = set(sandbox.records_scalar("SELECT array_agg(id) FROM records"))
    updates.wait(len(record_ids), timeout=120)
    assert {u["body"]["record_id"] for u in updates.settle(quiet=2.0)} == record_ids
    updates.close()
    assert all(worker.poll() is None for worker in workers)     # nothing crashed a worker
