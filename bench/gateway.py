"""Gateway benchmark: an archive read and its timeline under 20 concurrent clients, against the
issue's target of a p95 under 30 ms.

A township system's API key reads an archive of its township that holds 500 hospital
encounters (created through the API, the encounters published over AMQP and filed by the
records worker). Each endpoint is then asked, for a fixed time,

1. by one client, request after request: the time one request takes with nothing queued;
2. by 20 clients at once (threads, each with its own keep-alive session): p50/p95/p99 and
   requests per second, with the CPU each process spent per request (the gateway, the
   registry, the records workers, the PostgreSQL backends of this suite's databases, and the
   benchmark's own clients) to show where a request's time goes when it misses the target.

Then the gateway's steps are timed one by one, sequentially: the API key lookup and one audit
entry appended to the hash chain (the gateway appends one to every request, one `audit_append`
statement, under the chain's row lock on the server) from this process; a bare RPC round trip
(`registry.health`), the registry's `get_archive` and the records' `list_records` from a worker
of a throwaway nameko service in a process of its own, as the gateway calls them (nameko's
standalone client opens an AMQP connection per call and would overstate them).

The gateway runs as GATEWAYS processes sharing its port (as `ehr up --replicas gateway=N`); the
report says how many, and how the load spread over them (CPU seconds of each).

    python -m bench gateway [--quick] [--seconds N]
    python -m bench.gateway --gateways 2 [--quick] [--seconds N]     # another number of gateways
    BENCH_PROFILE=gateway python -m bench gateway   # also a cProfile of the gateway process(es)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field

import psycopg2
import requests
from sqlalchemy.orm import Session

from bench.common import Measure, Sandbox, against, cpu_seconds, heading, machine_busy, ms, pct, table, timed
from bench.filing import HOSPITAL, connect, publish
from ehr.synthetic import Synthesizer

CLIENTS = 20
GATEWAYS = 1  # gateway processes; on this 2-core machine 1 and 2 measure about the same (see the report)
TARGET = 0.030
VILLAGE = "110105201101"
TOWNSHIP_CENTRE = "T1101052011"
ENDPOINTS = (("archive read", "/api/v1/archives/{no}"), ("timeline", "/api/v1/archives/{no}/records"))


@dataclass
class Load:
    clients: int
    elapsed: float
    latencies: list[float]
    errors: int
    cpu: dict[str, float] = field(default_factory=dict)  # process group -> CPU seconds during the load
    sessions: tuple[float, float] = (0.0, 0.0)  # gateway database sessions: mean waiting on a lock, mean active
    per_gateway: list[float] = field(default_factory=list)  # CPU seconds of each gateway process
    busy: float = 0.0  # share of the machine's CPU time busy during the load, every process counted

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed


def api_key(settings, institution: str = TOWNSHIP_CENTRE) -> str:
    """A fresh township_system key, made in the gateway database as `ehr apikey add` does."""
    from services.gateway import access, accounts
    from shared.db import make_engine

    engine = make_engine(settings.database_url_for("gateway"), pool_size=1)
    try:
        with Session(engine) as session:
            return accounts.add_api_key(session, f"bench-{uuid.uuid4().hex[:8]}", institution, access.TOWNSHIP_SYSTEM)
    finally:
        engine.dispose()


def records_of(settings, archive_no: str) -> int:
    with psycopg2.connect(settings.database_url_for("records")) as db, db.cursor() as cur:
        cur.execute("SELECT count(*) FROM records WHERE archive_no = %s", (archive_no,))
        count = cur.fetchone()[0]
    db.close()
    return count


def prepare(box: Sandbox, records: int, gateways: int = GATEWAYS) -> tuple[str, str]:
    """An archive with `records` filed encounters, and an API key that may read it.
    Needs the registry and a records worker running; starts `gateways` gateways."""
    base = box.start_gateway(count=gateways)
    key = api_key(box.settings)
    synth = Synthesizer(seed=11)
    resident = synth.resident(VILLAGE, TOWNSHIP_CENTRE)
    created = requests.post(base + "/api/v1/archives", json=resident.archive_request(),
                            headers={"Authorization": f"Bearer {key}"}, timeout=30)
    created.raise_for_status()
    archive_no = created.json()["archive_no"]
    raw = connect(box.settings.amqp_uri)
    publish(raw.channel(), [json.dumps(synth.encounter(resident, HOSPITAL), ensure_ascii=False).encode()
                            for _ in range(records)])
    raw.close()
    deadline = time.monotonic() + 120
    while records_of(box.settings, archive_no) < records:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{records} encounters were not filed into {archive_no}")
        time.sleep(0.2)
    print(f"archive {archive_no} holds {records} records", flush=True)
    return archive_no, key


def _backends(settings) -> list[int]:
    """PostgreSQL backend pids connected to this suite's databases."""
    with psycopg2.connect(settings.database_url_for("gateway")) as db, db.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname LIKE %s AND pid <> pg_backend_pid()",
                    (settings.db_prefix + "\\_%",))
        pids = [pid for (pid,) in cur.fetchall()]
    db.close()
    return pids


def _broker() -> list[int]:
    """The RabbitMQ server's pids (the whole broker: other vhosts' traffic counts too)."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/comm") as comm:
                if comm.read().strip() == "beam.smp":
                    pids.append(int(entry))
        except (OSError, ValueError):
            pass
    return pids


def _cpu_by_pid(box: Sandbox) -> dict[int, tuple[str, float]]:
    groups = {pid: label.split("[")[0] for label, pid in box.procs.pids().items()}
    groups.update({pid: "postgres backends" for pid in _backends(box.settings)})
    groups.update({pid: "rabbitmq (whole broker)" for pid in _broker()})
    groups[os.getpid()] = "benchmark clients"
    return {pid: (group, cpu_seconds(pid)) for pid, group in groups.items()}


def _per_gateway(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> list[float]:
    return [seconds - before.get(pid, (group, 0.0))[1] for pid, (group, seconds) in sorted(after.items())
            if group == "gateway"]


def _cpu_spent(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds per process group between two readings (a process that came and went in
    between is missed, one that went away is left out)."""
    spent: dict[str, float] = {}
    for pid, (group, seconds) in after.items():
        if seconds:
            spent[group] = spent.get(group, 0.0) + seconds - before.get(pid, (group, 0.0))[1]
    return spent


class LockWatch:
    """Samples how many of the gateway database's sessions wait on a lock (the audit chain's
    head row is the only row every request locks) while a load runs."""

    def __init__(self, settings, interval: float = 0.02) -> None:
        self.settings, self.interval = settings, interval
        self.samples: list[tuple[int, int]] = []  # (waiting on a lock, active)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        db = psycopg2.connect(self.settings.database_url_for("gateway"))
        db.autocommit = True
        with db.cursor() as cur:
            while not self._stop.wait(self.interval):
                cur.execute("SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), "
                            "count(*) FILTER (WHERE state = 'active') FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                self.samples.append(cur.fetchone())
        db.close()

    def __enter__(self) -> "LockWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def mean(self) -> tuple[float, float]:
        if not self.samples:
            return 0.0, 0.0
        return (statistics.fmean(s[0] for s in self.samples), statistics.fmean(s[1] for s in self.samples))


def hammer(box: Sandbox, url: str, key: str, clients: int, seconds: float) -> Load:
    """`clients` threads, each with its own keep-alive session, asking `url` until time is up."""
    results: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(n: int) -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {key}"
            session.get(url, timeout=30)  # opens the connection before the clock starts
            start.wait()
            while time.perf_counter() < stop_at[0]:
                t = time.perf_counter()
                resp = session.get(url, timeout=30)
                results[n].append(time.perf_counter() - t)
                if resp.status_code != 200:
                    errors[n] += 1

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    before, ticks = _cpu_by_pid(box), machine_busy()
    with LockWatch(box.settings) as locks:
        t0 = time.perf_counter()
        stop_at[0] = t0 + seconds
        start.wait()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - t0
    latencies = [v for per_client in results for v in per_client]
    after, ticks_after = _cpu_by_pid(box), machine_busy()
    busy = (ticks_after[0] - ticks[0]) / max(ticks_after[1] - ticks[1], 1)
    return Load(clients, elapsed, latencies, sum(errors), _cpu_spent(before, after), locks.mean(),
                _per_gateway(before, after), busy)




def rpc_from_a_service(archive_no: str, count: int) -> dict[str, list[float]]:
    """RPC calls timed as the gateway makes them: from a worker of a running nameko service,
    through `BoundedServiceRpc` (one AMQP connection and reply queue for the process). Runs in
    a process of its own, monkey-patched first as every service process is (`in_service_rpc`)."""
    from nameko import config
    from nameko.containers import ServiceContainer
    from nameko.testing.services import dummy, entrypoint_hook

    from shared.config import load_settings, nameko_config
    from shared.transport.rpc import BoundedServiceRpc

    class RpcProbe:
        name = "bench_rpc_probe"
        registry = BoundedServiceRpc("registry")
        records = BoundedServiceRpc("records")

        @dummy
        def time_calls(self) -> dict[str, list[float]]:
            calls = {"health": self.registry.health,
                     "get_archive": lambda: self.registry.get_archive(archive_no),
                     "list_records": lambda: self.records.list_records(archive_no)}
            times = {}
            for label, call in calls.items():
                call()
                times[label] = timed(call, count)
            return times

    config.setup(nameko_config(load_settings()))
    container = ServiceContainer(RpcProbe)
    container.start()
    try:
        with entrypoint_hook(container, "time_calls") as time_calls:
            return time_calls()
    finally:
        container.stop()


_PROBE = ("import eventlet; eventlet.monkey_patch()\n"
          "import json, sys\n"
          "from bench.gateway import rpc_from_a_service\n"
          "print(json.dumps(rpc_from_a_service(sys.argv[1], int(sys.argv[2]))))")


def in_service_rpc(box: Sandbox, archive_no: str, count: int) -> dict[str, list[float]]:
    done = subprocess.run([sys.executable, "-c", _PROBE, archive_no, str(count)], env=box.procs.env,
                          capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def steps(box: Sandbox, archive_no: str, key: str, count: int) -> list[list[str]]:
    """Each step of a guarded read, timed alone and sequentially: the database steps from this
    process, the RPC calls from inside a nameko service (`rpc_from_a_service`)."""
    from sqlalchemy.orm import sessionmaker

    from services.gateway import accounts, audit
    from shared.db import make_engine

    engine = make_engine(box.settings.database_url_for("gateway"), pool_size=1)
    sessions = sessionmaker(engine, expire_on_commit=False)
    audit_key = box.settings.require_audit_key()

    def authenticate():
        with sessions() as session:
            accounts.caller_for_api_key(session, key)

    def append():
        with sessions() as session:
            audit.append(session, audit.Draft(action="archive.read", actor="bench", actor_kind="api_key",
                                              archive_no=archive_no, outcome="ok", status=200), audit_key)

    def summary(label: str, values: list[float]) -> list[str]:
        return [label, ms(statistics.median(values)), ms(pct(values, 0.95))]

    database = {}
    try:
        for label, fn in (("lookup", authenticate), ("append", append)):
            fn()
            database[label] = timed(fn, count)
    finally:
        engine.dispose()
    rpc = in_service_rpc(box, archive_no, count)
    return [summary("API key lookup (gateway database)", database["lookup"]),
            summary("RPC round trip alone (registry.health), from a service", rpc["health"]),
            summary("registry.get_archive over RPC, from a service", rpc["get_archive"]),
            summary("records.list_records over RPC (50 of 500), from a service", rpc["list_records"]),
            summary("audit entry appended (audit_reserve, audit_append, commit)", database["append"])]


def row(name: str, single: Load, loaded: Load) -> list[str]:
    p50, p95, p99 = (pct(loaded.latencies, q) for q in (0.5, 0.95, 0.99))
    return [name, ms(statistics.median(single.latencies)), ms(p50), ms(p95), ms(p99),
            f"{loaded.throughput:,.0f}/s", str(loaded.errors), against(p95, TARGET)]


def cpu_rows(loads: dict[str, Load]) -> list[list[str]]:
    groups = sorted({group for load in loads.values() for group in load.cpu})
    rows = [[group] + [f"{1000 * load.cpu.get(group, 0.0) / max(len(load.latencies), 1):.2f} ms"
                       for load in loads.values()] for group in groups]
    rows.append(["all of these, share of 2 cores"] + [f"{100 * sum(load.cpu.values()) / (2 * load.elapsed):.0f} %"
                                                      for load in loads.values()])
    rows.append(["whole machine busy (/proc/stat, kernel too)"] + [f"{100 * load.busy:.0f} %" for load in loads.values()])
    rows.append(["gateway db sessions waiting on a lock"] + [f"{load.sessions[0]:.1f} of {load.sessions[1]:.1f} active"
                                                             for load in loads.values()])
    rows.append(["CPU seconds of each gateway process"] + [" / ".join(f"{s:.1f}" for s in load.per_gateway)
                                                           for load in loads.values()])
    return rows


def run(box: Sandbox, seconds: float, records: int = 500, clients: int = CLIENTS,
        gateways: int = GATEWAYS) -> list[Measure]:
    """The benchmark on a sandbox whose registry and records workers are running."""
    archive_no, key = prepare(box, records, gateways)
    base = box.gateway_base
    rows, measures, loads = [], [], {}
    for name, path in ENDPOINTS:
        url = base + path.format(no=archive_no)
        single = hammer(box, url, key, 1, min(seconds / 2, 3))
        loaded = hammer(box, url, key, clients, seconds)
        loads[name] = loaded
        rows.append(row(name, single, loaded))
        p95 = pct(loaded.latencies, 0.95)
        measures.append(Measure("gateway", f"{name} p95, {clients} clients, {gateways} gateway{'s' * (gateways > 1)}",
                                ms(p95), "< 30 ms", against(p95, TARGET)))
    breakdown = steps(box, archive_no, key, 100 if seconds >= 10 else 30)
    plural = "es" if gateways > 1 else ""
    heading(f"gateway: {clients} concurrent clients for {seconds:.0f}s per endpoint, archive of {records} records, "
            f"{gateways} gateway process{plural} on one port")
    table(["endpoint", "1 client p50", "p50", "p95", "p99", "requests", "errors", "p95 / 30 ms"], rows)
    print(f"\nCPU per request under {clients} clients, by process; the gateway database's sessions")
    table(["process", *loads], cpu_rows(loads))
    print("\neach step alone, one at a time, after the load (the RPC calls from a worker of a nameko service,\n"
          "as the gateway makes them)")
    table(["step", "p50", "p95"], breakdown)
    return measures


def main(argv: list[str] | None = None) -> None:
    """`python -m bench.gateway --gateways N`: the gateway benchmark with N gateway processes."""
    import argparse

    from bench.common import sandbox
    from bench.plan import plan, summary

    parser = argparse.ArgumentParser(prog="python -m bench.gateway")
    parser.add_argument("--gateways", type=int, default=GATEWAYS, help=f"gateway processes ({GATEWAYS})")
    args, rest = parser.parse_known_args(argv)
    if args.gateways < 1:
        parser.error("--gateways must be at least 1")
    p = plan(["gateway", *rest])
    started = time.monotonic()
    with sandbox("benchgw") as box:
        box.procs.start("registry")
        box.procs.start("records")
        measures = run(box, p.gateway_seconds, gateways=args.gateways)
    summary(measures, time.monotonic() - started)


if __name__ == "__main__":
    main()
