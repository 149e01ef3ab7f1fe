"""Filing benchmark: how fast the suite files hospital encounters, against what this machine's
RabbitMQ and PostgreSQL can do at all.

1. ceiling: a plain kombu consumer takes the same backlog and writes the same rows (idempotency
   keys, records, revisions, outbox) in batches of 200 with one commit per batch, then acks;
2. backlog: N encounters for registered residents wait in the queue; records workers start;
   the drain rate is measured from the first to the last filing transaction, and the rate of
   archive updates from the first to the last update received by a bound queue;
3. steady load: encounters published at a fixed rate; latency from publish to the filing
   transaction and to the township's update.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from urllib.parse import unquote, urlparse

import amqp
import psycopg2
import psycopg2.extras
from sqlalchemy.orm import Session

from ehr.sandbox import SuiteEnvironment
from ehr.synthetic import Synthesizer
from shared.actor import SYSTEM
from shared.config import load_settings
from shared.db import make_engine
from shared.pii import PiiBox

HOSPITAL = "H3301020001"
VILLAGES = ["110105003001", "110105003002", "110105101101", "110105101102", "110105201101"]
MANAGERS = {"110105003": "C1101050031", "110105101": "T1101051011", "110105201": "T1101052011"}


def connect(uri: str) -> amqp.Connection:
    u = urlparse(uri)
    conn = amqp.Connection(host=f"{u.hostname}:{u.port or 5672}", userid=unquote(u.username),
                           password=unquote(u.password), virtual_host=unquote(u.path[1:]) or "/")
    conn.connect()
    return conn


def register_residents(settings, count: int, synth: Synthesizer):
    from services.registry.usecases import create_archive

    key, index_key = settings.require_keys()
    pii = PiiBox(key, index_key)
    engine = make_engine(settings.database_url_for("registry"))
    people = []
    with Session(engine) as session:
        for n in range(count):
            village = VILLAGES[n % len(VILLAGES)]
            person = synth.resident(village, MANAGERS[village[:9]])
            data = {**person.archive_request()}
            data["birth_date"] = person.birth_date
            create_archive(session, pii, data, SYSTEM)
            people.append(person)
    engine.dispose()
    return people


def publish(channel, bodies: list[bytes], queue_name: str | None = None, stamp: bool = False) -> list[str]:
    ids = []
    for body in bodies:
        mid = str(uuid.uuid4())
        props = {"content_type": "application/json", "delivery_mode": 2, "message_id": mid}
        if stamp:
            props["timestamp"] = int(time.time())
            props["application_headers"] = {"x-published-at": repr(time.time())}
        if queue_name:
            channel.basic_publish(amqp.Message(body, **props), exchange="", routing_key=queue_name)
        else:
            channel.basic_publish(amqp.Message(body, **props), exchange="ehr.encounters",
                                  routing_key=f"encounter.{HOSPITAL}.outpatient")
        ids.append(mid)
    return ids


def queue_depth(channel, name: str) -> int:
    return channel.queue_declare(name, passive=True)[1]


def wait_depth(channel, name: str, depth: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while queue_depth(channel, name) != depth:
        if time.monotonic() > deadline:
            raise TimeoutError(f"queue {name} did not reach {depth}")
        time.sleep(0.1)


def wait_outbox_empty(settings, timeout: float = 60) -> None:
    conn = psycopg2.connect(settings.database_url_for("registry"))
    conn.autocommit = True
    deadline = time.monotonic() + timeout
    with conn.cursor() as cur:
        while True:
            cur.execute("SELECT count(*) FROM outbox")
            if cur.fetchone()[0] == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    conn.close()


def ceiling(settings, bodies: list[bytes]) -> float:
    """Raw kombu consumer + batched inserts into a scratch copy of the records schema."""
    from kombu import Connection, Queue

    from ehr.setup import MIGRATIONS
    from shared.db import drop_database, ensure_database, upgrade

    url = settings.database_url_for("records") + "_ceiling"
    ensure_database(url)
    upgrade(MIGRATIONS["records"], url)
    conn_pg = psycopg2.connect(url.replace("postgresql://", "postgresql://", 1))
    q = Queue("bench.ceiling", durable=True, queue_arguments={"x-queue-type": "quorum"})
    with Connection(settings.amqp_uri) as conn:
        q(conn.default_channel).declare()
    raw = connect(settings.amqp_uri)
    ch = raw.channel()
    publish(ch, bodies, queue_name="bench.ceiling")
    wait_depth(ch, "bench.ceiling", len(bodies))

    done = {"n": 0}
    batch: list = []
    times: list[float] = []

    def flush():
        cur = conn_pg.cursor()
        processed, records, revisions, outbox = [], [], [], []
        for message in batch:
            body = json.loads(message.body)
            rid = str(uuid.uuid4())
            processed.append((f"encounter:{HOSPITAL}", message.properties["message_id"]))
            records.append((rid, "11010500300100001", "hospital_encounter", body["encounter"]["kind"], HOSPITAL,
                            "HIS", body["source"]["record_id"], body["encounter"]["started_at"]))
            revisions.append((rid, 1, json.dumps(body["encounter"], ensure_ascii=False), "hospital_message",
                              "bench", message.properties["message_id"]))
            outbox.append((str(uuid.uuid4()), "ehr.archive-updates", "archive.110105.003.001.hospital_encounter",
                           json.dumps({"record_id": rid})))
        psycopg2.extras.execute_values(cur, "INSERT INTO processed_messages (source, message_id) VALUES %s "
                                            "ON CONFLICT DO NOTHING", processed)
        psycopg2.extras.execute_values(cur, "INSERT INTO records (id, archive_no, record_type, kind, "
                                            "institution_code, source_system, source_record_id, occurred_at) "
                                            "VALUES %s", records)
        psycopg2.extras.execute_values(cur, "INSERT INTO record_revisions (record_id, revision, content, origin, "
                                            "author, message_id) VALUES %s", revisions)
        psycopg2.extras.execute_values(cur, "INSERT INTO outbox (message_id, exchange, routing_key, body) "
                                            "VALUES %s", outbox)
        conn_pg.commit()
        for message in batch:
            message.ack()
        done["n"] += len(batch)
        times.append(time.monotonic())
        batch.clear()

    with Connection(settings.amqp_uri) as conn:
        with conn.Consumer(q, on_message=batch.append, prefetch_count=400):
            start = time.monotonic()
            while done["n"] < len(bodies):
                idle = False
                try:
                    conn.drain_events(timeout=0.05)
                except (TimeoutError, OSError):
                    idle = True
                if len(batch) >= 200 or (batch and idle):
                    flush()
    elapsed = times[-1] - start
    raw.close()
    conn_pg.close()
    drop_database(url)
    return len(bodies) / elapsed


class Suite:
    """The registry and N records workers as processes, like `ehr up`."""

    def __init__(self, env_vars: dict[str, str]) -> None:
        self.env = {**os.environ, **env_vars, "EHR_LOG_LEVEL": "WARNING"}
        self.procs: list[subprocess.Popen] = []

    def start(self, service: str, count: int = 1) -> None:
        for n in range(count):
            profile = os.environ.get("BENCH_PROFILE") == service
            cmd = ([sys.executable, "-m", "cProfile", "-o", f"/tmp/bench-{service}-{n}.prof"] if profile
                   else [sys.executable]) + ["-m", "ehr", "run", service]
            self.procs.append(subprocess.Popen(cmd, env=self.env))

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run(encounters: int, workers: int, rate: int, steady_seconds: int) -> None:
    env = SuiteEnvironment(f"bench{uuid.uuid4().hex[:6]}")
    env.create()
    os.environ.update(env.variables)
    settings = load_settings()
    suite = Suite(env.variables)
    try:
        synth = Synthesizer(seed=7)
        t = time.monotonic()
        people = register_residents(settings, 1000, synth)
        print(f"registered {len(people)} residents in {time.monotonic() - t:.1f}s", flush=True)
        bodies = [json.dumps(synth.encounter(people[n % len(people)], HOSPITAL), ensure_ascii=False).encode()
                  for n in range(encounters)]

        ceiling_rate = ceiling(settings, bodies)
        print(f"ceiling: {ceiling_rate:,.0f}/s", flush=True)

        from shared.messaging import declare_topology

        declare_topology(settings.amqp_uri)
        raw = connect(settings.amqp_uri)
        ch = raw.channel()
        updates_q = ch.queue_declare("bench.updates", durable=False, exclusive=True)[0]
        ch.queue_bind(updates_q, "ehr.archive-updates", "archive.#")
        publish(ch, bodies)
        wait_depth(ch, "records.encounters", encounters)

        suite.start("registry")
        # The registry announces the residents registered above; let those events pass before
        # the backlog is measured (no encounter is pending, so they change nothing).
        wait_outbox_empty(settings)
        ch.queue_purge("records.registry-events")
        suite.start("records", workers)
        received: list[float] = []
        ch.basic_consume(updates_q, no_ack=True, callback=lambda m: received.append(time.time()))
        deadline = time.monotonic() + 600
        while len(received) < encounters and time.monotonic() < deadline:
            try:
                raw.drain_events(timeout=1)
            except (TimeoutError, OSError):
                pass
        records_db = psycopg2.connect(settings.database_url_for("records"))
        cur = records_db.cursor()
        cur.execute("SELECT count(*), extract(epoch from max(processed_at) - min(processed_at)) "
                    "FROM processed_messages WHERE source LIKE 'encounter:%%'")
        filed, span = cur.fetchone()
        cur.execute("SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM pending_encounters), "
                    "(SELECT count(*) FROM quarantine)")
        print("records, pending, quarantined:", cur.fetchone(), flush=True)
        drain = filed / max(float(span), 1e-6)
        update_rate = len(received) / max(received[-1] - received[0], 1e-6) if len(received) > 1 else 0
        print(f"backlog: filed {filed} in {float(span):.2f}s = {drain:,.0f}/s; updates {len(received)} "
              f"= {update_rate:,.0f}/s", flush=True)

        # steady load: publish-to-filing and publish-to-update latency
        steady = [json.dumps(synth.encounter(people[n % len(people)], HOSPITAL), ensure_ascii=False).encode()
                  for n in range(rate * steady_seconds)]
        sent_at: dict[str, float] = {}
        t0 = time.monotonic()
        received.clear()
        for n, body in enumerate(steady):
            target = t0 + n / rate
            while time.monotonic() < target:
                try:
                    raw.drain_events(timeout=max(0.0, target - time.monotonic()))
                except (TimeoutError, OSError):
                    pass
            mid = publish(ch, [body])[0]
            sent_at[mid] = time.time()
        deadline = time.monotonic() + 60
        while len(received) < len(steady) and time.monotonic() < deadline:
            try:
                raw.drain_events(timeout=1)
            except (TimeoutError, OSError):
                pass
        cur.execute("SELECT message_id, extract(epoch from processed_at) FROM processed_messages "
                    "WHERE message_id = ANY(%s)", (list(sent_at),))
        to_commit = [float(ts) - sent_at[mid] for mid, ts in cur.fetchall()]
        records_db.close()
        raw.close()

        print()
        print(f"machine: {os.cpu_count()} cores; records workers: {workers}; backlog {encounters}; "
              f"steady {rate}/s for {steady_seconds}s")
        print(f"{'measure':40} {'value':>12}")
        print(f"{'ceiling (kombu + batched inserts)':40} {ceiling_rate:>10,.0f}/s")
        print(f"{'backlog drain (filed)':40} {drain:>10,.0f}/s")
        print(f"{'archive updates published':40} {update_rate:>10,.0f}/s")
        print(f"{'ratio filed / ceiling':40} {drain / ceiling_rate:>12.2f}")
        if to_commit:
            print(f"{'publish -> filing transaction p50':40} {1000 * statistics.median(to_commit):>9.1f} ms")
            print(f"{'publish -> filing transaction p99':40} {1000 * pct(to_commit, 0.99):>9.1f} ms")
        print(f"{'steady load filed':40} {len(to_commit):>7} / {len(steady)}")
    finally:
        suite.stop()
        env.destroy()
