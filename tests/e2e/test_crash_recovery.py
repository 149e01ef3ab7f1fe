"""A records worker killed with SIGKILL in the middle of filing loses nothing and doubles
nothing: what it had committed but not yet acknowledged is redelivered and recognised, what
it had not committed is filed by its successor, and every filed record gets its update."""

import signal

import pytest

from ehr.synthetic import Synthesizer
from tests.support.amqp import Hospital, Listener, wait_until

pytestmark = pytest.mark.e2e

HOSPITAL = "H3301020001"


def test_sigkilled_records_workers_lose_and_double_nothing(sandbox):
    synth = Synthesizer(seed=11)
    people = sandbox.register(60, synth)
    sandbox.start("registry")
    workers = [sandbox.start("records"), sandbox.start("records")]
    updates = Listener(sandbox.env.amqp_uri, "ehr.archive-updates", "archive.#")
    hospital = Hospital(sandbox.env.amqp_uri)
    total = 3000
    message_ids = []

    def filed():
        return sandbox.records_scalar("SELECT count(*) FROM records")

    for n in range(total):
        message_ids.append(hospital.publish(synth.encounter(people[n % len(people)], HOSPITAL)))
        if n in (800, 1600, 2400):
            victim = workers[(n // 800) % 2]
            wait_until(lambda: filed() > 0 or victim.poll() is not None, timeout=60, message="filing under way")
            assert victim.poll() is None, f"records exited with {victim.returncode}"
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            workers[workers.index(victim)] = sandbox.start("records")
    # a hospital retrying messages already filed, under the same message ids
    for mid, n in ((message_ids[0], 0), (message_ids[1500], 1500)):
        hospital.publish(synth.encounter(people[n % len(people)], HOSPITAL, record_id=f"RETRY-{n}"), message_id=mid)
    hospital.close()

    wait_until(lambda: filed() >= total, timeout=180, interval=0.5, message="every encounter filed")
    updates.wait(total, timeout=120)
    assert filed() == total
    sources = sandbox.records_scalar("SELECT array_agg(message_id) FROM record_revisions")
    assert sorted(sources) == sorted(message_ids)  # each message filed exactly once
    assert sandbox.records_scalar(
        "SELECT count(*) FROM processed_messages WHERE source LIKE 'encounter:%'") == total
    assert sandbox.records_scalar("SELECT count(*) FROM quarantine") == 0
    assert sandbox.records_scalar("SELECT count(*) FROM records WHERE source_record_id LIKE 'RETRY-%'") == 0
    record_ids = {u["body"]["record_id"] for u in updates.settle(quiet=2.0)}
    assert len(record_ids) == total  # every filed record announced (at least once)
    updates.close()
