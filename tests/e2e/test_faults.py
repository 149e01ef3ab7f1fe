"""Faults while hospital messages flow: the suite loses, doubles and wrongly quarantines
nothing. Each test runs a private suite (own vhost and databases) as real processes."""

import subprocess
import threading
import time

import pytest
import sqlalchemy as sa

from ehr.synthetic import Synthesizer
from shared.db import make_engine
from tests.support.amqp import TEST_CONNECTION_NAME, Hospital, Listener, wait_until
from tests.support.db import server_url

pytestmark = pytest.mark.e2e

HOSPITAL = "H3301020001"


def publish_stream(sandbox, people, synth, total, per_second):
    """Publish `total` encounters at about `per_second` in a background thread."""
    ids: list[str] = []

    def run():
        hospital = Hospital(sandbox.env.amqp_uri)
        start = time.monotonic()
        for n in range(total):
            delay = start + n / per_second - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            ids.append(hospital.publish(synth.encounter(people[n % len(people)], HOSPITAL)))
        hospital.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, ids


def assert_each_filed_once(sandbox, ids, updates):
    wait_until(lambda: sandbox.records_scalar("SELECT count(*) FROM records") >= len(ids),
               timeout=180, interval=0.5, message="every encounter filed")
    filed = sandbox.records_scalar("SELECT array_agg(message_id) FROM record_revisions")
    assert sorted(filed) == sorted(ids)
    assert sandbox.records_scalar("SELECT count(*) FROM quarantine") == 0
    assert sandbox.records_scalar("SELECT count(*) FROM pending_encounters") == 0
    updates.wait(len(ids), timeout=120)
    assert {u["body"]["record_id"] for u in updates.settle(quiet=2.0)} == set(
        sandbox.records_scalar("SELECT array_agg(id) FROM records"))


def start_flowing(sandbox, seed):
    """A registry and two records workers, 1,500 encounters flowing at 150/s, a township
    listener; returns once filing is under way."""
    synth = Synthesizer(seed=seed)
    people = sandbox.register(30, synth)
    sandbox.start("registry")
    sandbox.start("records")
    sandbox.start("records")
    updates = Listener(sandbox.env.amqp_uri, "ehr.archive-updates", "archive.#")
    thread, ids = publish_stream(sandbox, people, synth, total=1500, per_second=150)
    wait_until(lambda: sandbox.records_scalar("SELECT count(*) FROM records") > 100, timeout=60,
               message="filing under way")
    return thread, ids, updates


def test_postgresql_unavailable_for_seconds_defers_filing_without_loss_or_quarantine(sandbox):
    thread, ids, updates = start_flowing(sandbox, seed=31)
    databases = [sandbox.settings.database_name(service) for service in ("records", "registry")]
    admin = make_engine(server_url("postgres"), isolation_level="AUTOCOMMIT",
                        pool_size=1)
    with admin.connect() as conn:
        # Refuse new connections to the records and registry databases and cut the open ones:
        # for the services that is PostgreSQL going away (the records workers see it directly and
        # in the registry's answers). Only this test's databases are touched.
        for name in databases:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ANY(:d)"),
                     {"d": databases})
        time.sleep(6)
        for name in databases:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    admin.dispose()
    thread.join()
    assert_each_filed_once(sandbox, ids, updates)
    updates.close()


def test_broker_connections_dropped_while_messages_flow_lose_and_double_nothing(sandbox):
    thread, ids, updates = start_flowing(sandbox, seed=32)
    # Every connection of the suite's services in this vhost is closed by the broker, as a
    # broker restart would; the test's own publisher and listener are spared by their name.
    # (`list_connections` lists the connections of every vhost, whatever `-p` says: filter here.)
    listed = subprocess.run(["rabbitmqctl", "-q", "--no-table-headers", "list_connections", "vhost", "pid",
                             "client_properties"], capture_output=True, text=True, check=True)
    victims = [line.split("\t")[1] for line in listed.stdout.splitlines()
               if line.split("\t")[0] == sandbox.env.vhost and TEST_CONNECTION_NAME not in line]
    for pid in victims:
        subprocess.run(["rabbitmqctl", "-q", "close_connection", pid, "test: broker going away"],
                       capture_output=True)
    thread.join()
    assert victims, "found no connection of the suite to close"
    assert_each_filed_once(sandbox, ids, updates)
    updates.close()
