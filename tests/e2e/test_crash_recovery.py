"""A records worker killed with SIGKILL in the middle of filing loses nothing and doubles
nothing: what it had committed but not yet acknowledged is redelivered and recognised, what
it had not committed is filed by its successor, and every filed record gets its update."""

import os
import signal
import subprocess
import sys

import pytest

from ehr.sandbox import SuiteEnvironment
from ehr.synthetic import Synthesizer
from shared.config import load_settings
from shared.db import make_engine
from shared.messaging import declare_topology
from tests.support.amqp import Hospital, Listener, wait_until

pytestmark = pytest.mark.e2e

VILLAGES = ["110105003001", "110105101101", "110105201101"]
MANAGERS = {"110105003": "C1101050031", "110105101": "T1101051011", "110105201": "T1101052011"}
HOSPITAL = "H3301020001"


@pytest.fixture
def sandbox(run_id):
    env = SuiteEnvironment(f"t{run_id}crash")
    env.create()
    procs = []

    def start(service):
        proc = subprocess.Popen([sys.executable, "-m", "ehr", "run", service],
                                env={**os.environ, **env.variables, "EHR_LOG_LEVEL": "WARNING"})
        procs.append(proc)
        return proc

    yield env, start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
    env.destroy()


def test_sigkilled_records_workers_lose_and_double_nothing(sandbox):
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from services.registry.usecases import create_archive
    from shared.actor import SYSTEM
    from shared.pii import PiiBox

    env, start = sandbox
    settings = load_settings(env.variables)
    synth = Synthesizer(seed=11)
    people = []
    registry_db = make_engine(settings.database_url_for("registry"))
    with Session(registry_db) as session:
        pii = PiiBox(*settings.require_keys())
        for n in range(60):
            village = VILLAGES[n % len(VILLAGES)]
            person = synth.resident(village, MANAGERS[village[:9]])
            create_archive(session, pii, {**person.archive_request(), "birth_date": person.birth_date}, SYSTEM)
            people.append(person)
    registry_db.dispose()

    declare_topology(env.amqp_uri)  # as `ehr up` does: nothing published before a worker starts is lost
    start("registry")
    records = start("records")
    updates = Listener(env.amqp_uri, "ehr.archive-updates", "archive.#")
    hospital = Hospital(env.amqp_uri)
    total = 3000
    message_ids = []
    records_db = make_engine(settings.database_url_for("records"))

    def filed():
        with records_db.connect() as conn:
            return conn.scalar(sa.text("SELECT count(*) FROM records"))

    for n in range(total):
        message_ids.append(hospital.publish(synth.encounter(people[n % len(people)], HOSPITAL)))
        if n in (800, 1600, 2400):
            wait_until(lambda: filed() > 0 or records.poll() is not None, timeout=60, message="filing under way")
            assert records.poll() is None, f"records exited with {records.returncode}"
            records.send_signal(signal.SIGKILL)
            records.wait()
            records = start("records")
    # a redelivered copy of an already-filed message, as a hospital retry would produce
    for mid, n in ((message_ids[0], 0), (message_ids[1500], 1500)):
        hospital.publish(synth.encounter(people[n % len(people)], HOSPITAL, record_id=f"RETRY-{n}"), message_id=mid)
    hospital.close()

    wait_until(lambda: filed() >= total, timeout=180, interval=0.5, message="every encounter filed")
    updates.wait(total, timeout=120)
    with records_db.connect() as conn:
        claimed = conn.scalar(sa.text("SELECT count(*) FROM processed_messages WHERE source LIKE 'encounter:%'"))
        quarantined = conn.scalar(sa.text("SELECT count(*) FROM quarantine"))
        sources = conn.execute(sa.text("SELECT rv.message_id FROM record_revisions rv")).scalars().all()
    records_db.dispose()
    assert filed() == total
    assert sorted(sources) == sorted(message_ids)  # each message filed exactly once
    assert claimed == total and quarantined == 0
    assert "RETRY-0" not in str(sources)
    record_ids = {u["body"]["record_id"] for u in updates.settle(quiet=2.0)}
    assert len(record_ids) == total  # every filed record announced (repeats allowed, at least once)
    updates.close()
