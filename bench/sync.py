"""Sync benchmark: standard documents built, sent to the regional platform and acknowledged per
second by one and by two sync workers (issue #14's target: at least 500 a second with one, on
the 2 cores, the platform on the same machine).

The peer is the `ehr platform` fake (a process on this machine, checking every document as
docs/contracts.md says). Everything is prepared before the clock starts:

1. ARCHIVES x 2 residents registered with the registry's bulk import, and FOLLOW_UPS
   hypertension follow-ups each filed through records' `file_record` RPC (32 callers), while no
   sync worker runs; the events they caused are then purged from `sync.events`.
2. For each run (1 worker, then 2, each on its own half of the archives): the sync workers are
   started and idle; then the send queue is filled in one transaction with a registration
   (HSDA00.01) per archive and a document (HSDB04.01) per follow-up, by the code the workers' own
   event consumer runs (`services.sync.events`); the clock runs from that commit until every one
   of those rows is acknowledged (the sync database polled every 0.1 s).

The figure is documents acknowledged per second of that drain. Beside it: the CPU seconds each
process spent during the drain (sync workers, registry, records, the fake) per document, which
says where the time goes on the shared cores.

    python -m bench sync                 # 600 archives x 4 follow-ups: 3,000 documents a run
    python -m bench sync --quick         # 150 archives: 750 documents a run
    python -m bench sync --format fhir   # FHIR bundles instead of CDA
"""

from __future__ import annotations

import tempfile
import time
from datetime import date
from pathlib import Path

import psycopg2
from sqlalchemy.orm import Session

from bench.common import Measure, Sandbox, cpu_seconds, heading, rate, table
from bench.filing import connect, queue_state
from bench.programmes import follow_up, in_probe, register
from ehr.platform.process import PlatformProcess
from shared.db import make_engine

TARGET = 500.0      # documents a second with one sync worker
FOLLOW_UPS = 4      # per archive: with its registration, 5 documents an archive
CALLERS = 32


def prepare(box: Sandbox, archives: int) -> list[list[tuple[str, list[str]]]]:
    """Two disjoint halves of (archive number, its follow-ups' record ids), registered and filed,
    with nothing of them in the sync queue."""
    numbers = register(box.settings, 2 * archives)[:2 * archives]
    today = date.today()
    jobs = [follow_up(archive_no, n, today) for n, archive_no in enumerate(numbers) for _ in range(FOLLOW_UPS)]
    t = time.perf_counter()
    filed = in_probe(box, "file", jobs, CALLERS)
    print(f"filed {len(jobs):,} follow-ups in {time.perf_counter() - t:.1f} s")
    records: dict[str, list[str]] = {}
    for (archive_no, _), record_id in zip(jobs, filed["records"]):
        records.setdefault(archive_no, []).append(record_id)
    prepared = [(archive_no, records[archive_no]) for archive_no in numbers]
    return [prepared[:archives], prepared[archives:]]


def purge_events(box: Sandbox) -> None:
    """What the registry and records announced, waiting in sync.events for a worker: dropped (the
    queue is filled directly, as the consumer would have filled it)."""
    conn = connect(box.env.amqp_uri)
    channel = conn.channel()
    before = None
    while True:  # until the outboxes' relays have published everything
        depth = queue_state(channel, "sync.events")[0]
        if depth == before:
            break
        before = depth
        time.sleep(2)
    channel.queue_purge("sync.events")
    conn.close()


def wait_consuming(box: Sandbox, queue: str, workers: int, timeout: float = 120) -> None:
    """Until `workers` processes consume `queue` (rpc-<service> or an event queue)."""
    conn = connect(box.env.amqp_uri)
    channel = conn.channel()
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                if queue_state(channel, queue)[1] >= workers:
                    return
            except Exception:  # noqa: BLE001 - not declared yet (the channel is closed by the refusal)
                conn.close()
                conn = connect(box.env.amqp_uri)
                channel = conn.channel()
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing consumes {queue}")
            time.sleep(0.3)
    finally:
        conn.close()


def fill_queue(box: Sandbox, half: list[tuple[str, list[str]]]) -> list[int]:
    """The run's rows, queued in one transaction; their ids."""
    from services.sync import events, queue
    from services.sync.models import Document

    engine = make_engine(box.settings.database_url_for("sync"), pool_size=1)
    try:
        with Session(engine) as session:
            for archive_no, record_ids in half:
                queue.ensure_registration(session, archive_no, "bench")
                for record_id in record_ids:
                    events.record_changed(session, {"archive_no": archive_no, "record_id": record_id,
                                                    "record_type": "hypertension_follow_up", "revision": 1,
                                                    "action": "filed"}, cause="bench")
            ids = [row.id for row in session.query(Document.id).filter(
                Document.archive_no.in_([a for a, _ in half]))]
            session.commit()
    finally:
        engine.dispose()
    return ids


def drain(box: Sandbox, ids: list[int], pids: dict[str, int], timeout: float = 600) -> tuple[float, dict, dict]:
    """Seconds until every row is acknowledged (from now: the queue was just committed), the
    rows' final states, and each process's CPU seconds over the drain."""
    cpu_before = {label: cpu_seconds(pid) for label, pid in pids.items()}
    started = time.perf_counter()
    db = psycopg2.connect(box.settings.database_url_for("sync"))
    db.autocommit = True
    try:
        with db.cursor() as cur:
            while True:
                cur.execute("SELECT count(*) FROM documents WHERE id = ANY(%s) AND state = 'acknowledged'", (ids,))
                if cur.fetchone()[0] >= len(ids):
                    seconds = time.perf_counter() - started
                    break
                if time.perf_counter() - started > timeout:
                    seconds = float("nan")
                    break
                time.sleep(0.1)
            cur.execute("SELECT state, count(*) FROM documents WHERE id = ANY(%s) GROUP BY state", (ids,))
            states = dict(cur.fetchall())
    finally:
        db.close()
    cpu = {label: cpu_seconds(pid) - cpu_before[label] for label, pid in pids.items()}
    return seconds, states, cpu


def run(box: Sandbox, archives: int, fmt: str = "cda") -> list[Measure]:
    heading(f"sync: {archives:,} archives x (1 + {FOLLOW_UPS}) documents a run, {fmt.upper()}, "
            "the ehr platform fake on this machine")
    fake = PlatformProcess(Path(tempfile.mkdtemp(prefix="bench-platform-"))).start()
    try:
        box.procs.env.update({"EHR_PLATFORM_URL": fake.url, "EHR_PLATFORM_TOKEN": fake.token,
                              "EHR_PLATFORM_FORMAT": fmt})
        box.procs.start("registry")
        box.procs.start("records")
        wait_consuming(box, "rpc-registry", 1)
        wait_consuming(box, "rpc-records", 1)
        halves = prepare(box, archives)
        purge_events(box)
        rows, measures = [], []
        for workers, half in zip((1, 2), halves):
            box.procs.start("sync", workers)
            wait_consuming(box, "sync.events", workers)
            time.sleep(2)  # their first timer passes: idle
            pids = {**box.procs.pids("sync"), **box.procs.pids("registry"), **box.procs.pids("records"),
                    "platform": fake.proc.pid}
            ids = fill_queue(box, half)
            seconds, states, cpu = drain(box, ids, pids)
            box.procs.stop("sync")
            per_second = len(ids) / seconds if seconds == seconds else 0.0
            sync_cpu = sum(v for k, v in cpu.items() if k.startswith("sync["))
            rows.append([f"{workers} sync worker{'s' if workers > 1 else ''}", f"{len(ids):,}", f"{seconds:.1f} s",
                         rate(per_second), f"{per_second / TARGET:.2f}",
                         f"{1000 * sync_cpu / len(ids):.2f}", f"{1000 * cpu['registry[0]'] / len(ids):.2f}",
                         f"{1000 * cpu['records[0]'] / len(ids):.2f}", f"{1000 * cpu['platform'] / len(ids):.2f}",
                         ", ".join(f"{k} {v}" for k, v in sorted(states.items()))])
            verdict = f"{per_second / TARGET:.2f} {'met' if per_second >= TARGET else 'MISSED'}"
            measures.append(Measure("sync", f"documents acknowledged, {workers} worker{'s' if workers > 1 else ''} "
                                            f"({fmt})", rate(per_second), f">= {TARGET:.0f}/s" if workers == 1 else "",
                                    verdict if workers == 1 else f"{per_second / TARGET:.2f}"))
        table(["run", "documents", "drain", "rate", "of 500/s", "sync CPU ms/doc", "registry", "records",
               "platform", "final states"], rows)
        return measures
    finally:
        fake.stop()
