"""Filing benchmark: how fast the suite files hospital encounters, against what this machine's
RabbitMQ and PostgreSQL can do at all.

1. ceiling: a plain kombu consumer takes the same backlog and writes the same rows (idempotency
   keys, records, revisions, outbox) in batches of 200 with one commit per batch, then acks;
2. backlog: N encounters for registered residents wait in the queue; records workers start;
   the drain rate is measured from the first to the last filing transaction begun once every
   worker consumes (so that a worker still starting does not count against the others), and
   the rate of archive updates over the same window, as received by a bound queue;
3. steady load: encounters published at a fixed rate; latency from publish to the filing
   transaction.

`FilingRig` is that machinery, reused by the scale-out and memory benchmarks:

    with sandbox() as box, FilingRig(box) as rig:   # residents registered, the registry started,
        first = rig.drain(5000, workers=1)         # a queue bound to every archive update
        rig.stop_workers()
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

import amqp
import psycopg2
import psycopg2.extras
from sqlalchemy.orm import Session

from bench.common import Measure, Sandbox, heading, ms, pct, rate, table, workers_label
from ehr.synthetic import Synthesizer
from shared.actor import Actor
from shared.db import make_engine
from shared.messaging import RECORDS_ENCOUNTERS, RECORDS_REGISTRY_EVENTS
from shared.pii import PiiBox

HOSPITAL = "H3301020001"
VILLAGES = ["110105003001", "110105003002", "110105101101", "110105101102", "110105201101"]
MANAGERS = {"110105003": "C1101050031", "110105101": "T1101051011", "110105201": "T1101052011"}


def connect(uri: str) -> amqp.Connection:
    u = urlparse(uri)
    conn = amqp.Connection(host=f"{u.hostname}:{u.port or 5672}", userid=unquote(u.username),
                           password=unquote(u.password), virtual_host=unquote(u.path[1:]) or "/")
    conn.connect()
    conn.account = unquote(u.username)  # what `publish` sets as user_id
    return conn


def register_residents(settings, count: int, synth: Synthesizer):
    """`count` synthetic residents registered with the bulk import (as `ehr import residents`),
    spread over villages of the three townships; those it refused are left out."""
    from services.registry.importer import import_residents

    people = []
    for n in range(count):
        village = VILLAGES[n % len(VILLAGES)]
        people.append(synth.resident(village, MANAGERS[village[:9]]))
    engine = make_engine(settings.database_url_for("registry"))
    with Session(engine) as session:
        report = import_residents(session, PiiBox(*settings.require_keys()),
                                  ((n, person.archive_request()) for n, person in enumerate(people)),
                                  Actor(user="bench"), chunk_size=1000)
    engine.dispose()
    refused = {row["line"] for row in report.rejected}
    return [person for n, person in enumerate(people) if n not in refused]


def publish(channel, bodies: list[bytes], queue_name: str | None = None) -> list[str]:
    ids = []
    for body in bodies:
        mid = str(uuid.uuid4())
        props = {"content_type": "application/json", "delivery_mode": 2, "message_id": mid,
                 # the publishing account, as the suite requires of every encounter (checked by the broker)
                 "user_id": channel.connection.account}
        if queue_name:
            channel.basic_publish(amqp.Message(body, **props), exchange="", routing_key=queue_name)
        else:
            channel.basic_publish(amqp.Message(body, **props), exchange="ehr.encounters",
                                  routing_key=f"encounter.{HOSPITAL}.outpatient")
        ids.append(mid)
    return ids


def queue_state(channel, name: str) -> tuple[int, int]:
    """(messages ready, consumers) of a queue."""
    _, messages, consumers = channel.queue_declare(name, passive=True)
    return messages, consumers


def wait_depth(channel, name: str, depth: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while queue_state(channel, name)[0] != depth:
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

    from services import service as descriptor_of
    from shared.db import drop_database, ensure_database, upgrade

    url = settings.database_url_for("records") + "_ceiling"
    ensure_database(url)
    upgrade(descriptor_of("records").migrations, url)
    conn_pg = psycopg2.connect(url)
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


@dataclass
class Drain:
    """A backlog drained by `workers` records workers."""

    workers: int
    encounters: int
    filed: int          # filed in all
    measured: int       # filed by transactions begun once every worker consumed
    rate: float         # `measured` per second, first to last of those transactions
    update_rate: float  # archive updates received per second over the same window
    outcome: tuple      # (records, pending, quarantined) in the records database afterwards


@dataclass
class Steady:
    rate: int
    seconds: int
    sent: int
    to_commit: list[float]  # seconds from publish to the filing transaction, per filed message


class FilingRig:
    """A sandbox with residents registered, the registry running, and a queue bound to every
    archive update; records workers are started for each drain and stopped by the caller."""

    def __init__(self, box: Sandbox, residents: int = 1000, seed: int = 7) -> None:
        self.box, self.settings = box, box.settings
        self.synth = Synthesizer(seed=seed)
        t = time.monotonic()
        self.people = register_residents(self.settings, residents, self.synth)
        print(f"registered {len(self.people)} residents in {time.monotonic() - t:.1f}s", flush=True)
        self.received: list[float] = []
        self.raw = self.ch = None

    def encounters(self, count: int) -> list[bytes]:
        return [json.dumps(self.synth.encounter(self.people[n % len(self.people)], HOSPITAL),
                           ensure_ascii=False).encode() for n in range(count)]

    def start(self) -> None:
        self.box.procs.start("registry")
        # The registry announces the residents registered above; let those events pass before
        # anything is measured (no encounter is pending, so they change nothing).
        wait_outbox_empty(self.settings)
        self.raw = connect(self.settings.amqp_uri)
        self.ch = self.raw.channel()
        self.ch.queue_purge(RECORDS_REGISTRY_EVENTS)
        updates_q = self.ch.queue_declare("bench.updates", durable=False, exclusive=True)[0]
        self.ch.queue_bind(updates_q, "ehr.archive-updates", "archive.#")
        self.ch.basic_consume(updates_q, no_ack=True, callback=lambda m: self.received.append(time.time()))

    def close(self) -> None:
        if self.raw is not None:
            self.raw.close()
            self.raw = None

    def __enter__(self) -> "FilingRig":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _pump(self, timeout: float) -> None:
        try:
            self.raw.drain_events(timeout=timeout)
        except (TimeoutError, OSError):
            pass

    def _wait_consumers(self, count: int, timeout: float = 90) -> float:
        deadline = time.monotonic() + timeout
        while queue_state(self.ch, RECORDS_ENCOUNTERS)[1] < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{count} records workers did not start consuming")
            self._pump(0.02)
        return time.time()

    def stop_workers(self) -> None:
        self.box.procs.stop("records")

    def drain(self, count: int, workers: int) -> Drain:
        bodies = self.encounters(count)
        self.received.clear()
        ids = publish(self.ch, bodies)
        wait_depth(self.ch, RECORDS_ENCOUNTERS, count)
        self.box.procs.start("records", workers, note=f"backlog of {count:,} with {workers_label(workers)}")
        ready = self._wait_consumers(workers)
        deadline = time.monotonic() + 600
        while len(self.received) < count and time.monotonic() < deadline:
            self._pump(1)
        with psycopg2.connect(self.settings.database_url_for("records")) as db, db.cursor() as cur:
            cur.execute("SELECT extract(epoch from processed_at) FROM processed_messages WHERE message_id = ANY(%s)",
                        (ids,))
            filed = sorted(float(t) for (t,) in cur.fetchall())
            cur.execute("SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM pending_encounters), "
                        "(SELECT count(*) FROM quarantine)")
            outcome = cur.fetchone()
        db.close()
        after = [t for t in filed if t >= ready]
        span = (after[-1] - after[0]) if len(after) > 1 else 0.0
        updates = [t for t in self.received if t >= ready]
        update_span = (updates[-1] - updates[0]) if len(updates) > 1 else 0.0
        result = Drain(workers, count, len(filed), len(after), len(after) / max(span, 1e-6),
                       len(updates) / max(update_span, 1e-6) if update_span else 0.0, outcome)
        print(f"backlog, {workers_label(workers)}: filed {result.filed}/{count}, {result.measured} once all consumed, "
              f"in {span:.2f}s = {result.rate:,.0f}/s; updates {len(self.received)} = {result.update_rate:,.0f}/s; "
              f"records, pending, quarantined: {outcome}", flush=True)
        return result

    def steady(self, per_second: int, seconds: int) -> Steady:
        """Publish at a fixed rate into the running workers; latency publish -> filing transaction."""
        bodies = self.encounters(per_second * seconds)
        sent_at: dict[str, float] = {}
        self.received.clear()
        t0 = time.monotonic()
        for n, body in enumerate(bodies):
            target = t0 + n / per_second
            while time.monotonic() < target:
                self._pump(max(0.0, target - time.monotonic()))
            mid = publish(self.ch, [body])[0]
            sent_at[mid] = time.time()
        deadline = time.monotonic() + 60
        while len(self.received) < len(bodies) and time.monotonic() < deadline:
            self._pump(1)
        with psycopg2.connect(self.settings.database_url_for("records")) as db, db.cursor() as cur:
            cur.execute("SELECT message_id, extract(epoch from processed_at) FROM processed_messages "
                        "WHERE message_id = ANY(%s)", (list(sent_at),))
            to_commit = [float(ts) - sent_at[mid] for mid, ts in cur.fetchall()]
        db.close()
        return Steady(per_second, seconds, len(bodies), to_commit)


def report(ceiling_rate: float, drain: Drain, steady: Steady) -> list[Measure]:
    heading(f"filing: {workers_label(drain.workers)}, backlog {drain.encounters:,}, "
            f"steady {steady.rate}/s for {steady.seconds}s")
    rows = [["ceiling (kombu + batched inserts)", rate(ceiling_rate)],
            ["backlog drain (filed)", rate(drain.rate)],
            ["archive updates published", rate(drain.update_rate)],
            ["ratio filed / ceiling", f"{drain.rate / ceiling_rate:.2f}"]]
    measures = [Measure("filing", "ceiling (kombu + batched inserts)", rate(ceiling_rate)),
                Measure("filing", f"backlog drain, {workers_label(drain.workers)}", rate(drain.rate),
                        verdict=f"{drain.rate / ceiling_rate:.2f} of ceiling")]
    if steady.to_commit:
        p50, p99 = statistics.median(steady.to_commit), pct(steady.to_commit, 0.99)
        rows += [["publish -> filing transaction p50", ms(p50)], ["publish -> filing transaction p99", ms(p99)]]
        measures += [Measure("filing", f"steady {steady.rate}/s: publish -> filed p50", ms(p50)),
                     Measure("filing", f"steady {steady.rate}/s: publish -> filed p99", ms(p99))]
    rows.append(["steady load filed", f"{len(steady.to_commit)} / {steady.sent}"])
    table(["measure", "value"], rows)
    return measures


def run(rig: FilingRig, encounters: int, workers: int, per_second: int,
        steady_seconds: int) -> tuple[list[Measure], Drain]:
    """The filing benchmark on a started rig: ceiling, backlog, steady load."""
    ceiling_rate = ceiling(rig.settings, rig.encounters(encounters))
    print(f"ceiling: {ceiling_rate:,.0f}/s", flush=True)
    drain = rig.drain(encounters, workers)
    steady = rig.steady(per_second, steady_seconds)
    rig.stop_workers()
    return report(ceiling_rate, drain, steady), drain
