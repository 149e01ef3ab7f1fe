"""Registry benchmark: load N synthetic residents through the bulk import, then measure
resolve-by-ID, scored resolve and name search at that size, inside the service (the use
cases on their own database session, no RPC).

    python -m bench registry              # 1,000,000 residents
    python -m bench registry --quick      # 100,000

The load rate counts everything the import does (validation, pinyin, encryption, blind indexes,
events in its worker processes; duplicate checks, serials and writes in one transaction a chunk),
not the making of the synthetic rows, which happens before.
"""

from __future__ import annotations

import itertools
import os
import random
import resource
import statistics
import time
import uuid
from datetime import date, timedelta

import sqlalchemy as sa
from faker.providers.person.zh_CN import Provider as ChineseNames
from sqlalchemy.orm import Session

from bench.common import Measure, against, cpu_seconds, machine_busy, pct, rate
from ehr.sandbox import SuiteEnvironment
from ehr.synthetic import Resident, make_id_number
from shared.actor import Actor
from shared.config import load_settings
from shared.db import make_engine
from shared.pii import PiiBox

COUNTY = "110105"
TOWNSHIPS = [f"{t:03d}" for t in range(1, 41)]            # 40 subdistricts
VILLAGES = [f"{v:03d}" for v in range(1, 51)]             # 50 residents' committees each
CHUNK = 5000                                              # rows a transaction
LOAD_TARGET = 5000.0                                      # residents a second (the registry issue)
# Worker processes preparing rows: as many as cores; the writing process and PostgreSQL mostly
# wait on each other, and fill the gaps.
JOBS = os.cpu_count() or 2


def reference_data() -> tuple[list[dict], list[dict]]:
    divisions = [{"code": COUNTY, "name": "北京市朝阳区", "level": "county", "parent_code": None}]
    institutions = []
    for t in TOWNSHIPS:
        divisions.append({"code": COUNTY + t, "name": f"第{t}街道", "level": "township", "parent_code": COUNTY})
        institutions.append({"code": f"C{COUNTY}{t}", "name": f"第{t}社区卫生服务中心", "kind": "community_centre",
                             "division_code": COUNTY + t, "parent_code": None})
        for v in VILLAGES:
            divisions.append({"code": COUNTY + t + v, "name": f"第{t}街道第{v}社区", "level": "village",
                              "parent_code": COUNTY + t})
    return divisions, institutions


def synthetic_residents(count: int, seed: int = 5) -> list[Resident]:
    """`count` distinct residents spread evenly over the villages, drawn as `ehr.synthetic`
    draws them (its ID numbers and birth dates; names as Faker's zh_CN provider makes them: a
    surname by its weight and a given name) at a fraction of the cost of a Faker call a name,
    so that making a million rows takes seconds, not minutes."""
    rng = random.Random(seed)
    surnames, weights = list(ChineseNames.last_names), list(itertools.accumulate(ChineseNames.last_names.values()))
    given = ChineseNames.first_names
    villages = [COUNTY + t + v for t in TOWNSHIPS for v in VILLAGES]
    used: set[str] = set()
    people = []
    for n in range(count):
        village = villages[n % len(villages)]
        while True:
            sex = rng.choice("12")
            birth = date(1935, 1, 1) + timedelta(days=rng.randrange(0, 365 * 85))
            id_number = make_id_number(rng, COUNTY, birth, sex)
            if id_number not in used:
                used.add(id_number)
                break
        name = rng.choices(surnames, cum_weights=weights)[0] + rng.choice(given)
        phone = f"1{rng.choice('3578')}{rng.randrange(10 ** 9):09d}"
        people.append(Resident(name, sex, birth, id_number, phone, village, f"C{village[:9]}"))
    return people


class CpuShare:
    """How many cores the machine was busy with, and how many of them went to the import (this
    process, its workers, its PostgreSQL backend), over a stretch of time: the rest is other
    processes' (Linux /proc; None elsewhere). Timings on a shared machine need both."""

    def __init__(self, backend_pid: int) -> None:
        self.backend_pid = backend_pid
        self.start = self._sample()

    def _sample(self) -> tuple[float, float, float] | None:
        try:
            busy, _ = machine_busy()
        except OSError:
            return None
        me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        ours = me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime + cpu_seconds(self.backend_pid)
        return busy / os.sysconf("SC_CLK_TCK"), ours, time.monotonic()

    def cores(self) -> tuple[float, float] | None:
        """(cores busy, cores ours) since this was made."""
        end = self._sample()
        if end is None or self.start is None:
            return None
        elapsed = end[2] - self.start[2]
        return (end[0] - self.start[0]) / elapsed, (end[1] - self.start[1]) / elapsed


def timed(fn, samples) -> list[float]:
    out = []
    for sample in samples:
        t = time.perf_counter()
        fn(sample)
        out.append((time.perf_counter() - t) * 1000)
    return out


def run(residents: int, jobs: int = JOBS, chunk_size: int = CHUNK) -> list[Measure]:
    """Load `residents` synthetic residents, time the lookups, print the table; the summary's rows."""
    from services.registry import matching, search
    from services.registry.importer import import_residents
    from services.registry.usecases import import_reference_data, resolve_identities

    env = SuiteEnvironment(f"benchreg{uuid.uuid4().hex[:6]}")
    env.create()
    settings = load_settings(env.variables)
    engine = make_engine(settings.database_url_for("registry"))
    pii = PiiBox(*settings.require_keys())
    rng = random.Random(5)
    try:
        with Session(engine) as session:
            import_reference_data(session, *reference_data())
        t0 = time.perf_counter()
        everyone = synthetic_residents(residents)
        rows = [(n + 2, person.archive_request()) for n, person in enumerate(everyone)]
        people = everyone[::97]
        del everyone
        generated = time.perf_counter() - t0
        print(f"generated {residents:,} synthetic residents in {generated:.0f}s", flush=True)

        with Session(engine) as session:
            share = CpuShare(session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
            session.commit()
            t0 = time.perf_counter()
            report = import_residents(session, pii, iter(rows), Actor(user="bench"), chunk_size=chunk_size,
                                      jobs=jobs)
            load_s = time.perf_counter() - t0
            cores = share.cores()
        del rows
        print(f"loaded {report.created:,} ({len(report.rejected)} rejected) in {load_s:.0f}s", flush=True)
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")

        sample = rng.sample(people, min(2000, len(people)))
        with Session(engine) as session:
            by_id = timed(lambda p: resolve_identities(session, pii, [{"id_type": "01", "id_number": p.id_number}]),
                          sample)
            scored = timed(lambda p: matching.resolve(session, pii, {
                "name": p.name, "sex": p.sex, "birth_date": p.birth_date, "phone": None}), sample[:500])
            by_name = timed(lambda p: search.search_archives(session, pii, {"name": p.name[:2]}, limit=20),
                            sample[:500])
            by_pinyin = timed(lambda p: search.search_archives(session, pii, {"pinyin": "zhang"}, limit=20),
                              sample[:200])
        print()
        print(f"registry at {report.created:,} residents (2 cores, PostgreSQL on the same machine)")
        print(f"{'measure':34} {'p50':>8} {'p95':>8} {'p99':>8}")
        print(f"{'load rate':34} {report.created / load_s:>8,.0f}/s  (bulk import, {load_s:.0f}s, "
              f"{jobs} worker processes, {chunk_size:,} rows a transaction)")
        if cores:
            print(f"{'':34} meanwhile {cores[0]:.2f} of {os.cpu_count()} cores busy, {cores[0] - cores[1]:.2f} "
                  f"of them with other processes")
        for label, values in (("resolve by ID number (ms)", by_id), ("scored resolve (ms)", scored),
                              ("name search, 2-char prefix (ms)", by_name), ("pinyin search (ms)", by_pinyin)):
            print(f"{label:34} {statistics.median(values):>8.2f} {pct(values, .95):>8.2f} {pct(values, .99):>8.2f}")
        return measures(report.created, report.created / load_s, by_id, scored, by_name, by_pinyin)
    finally:
        engine.dispose()
        env.destroy()


def measures(size: int, load_rate: float, by_id: list[float], scored: list[float], by_name: list[float],
             by_pinyin: list[float]) -> list[Measure]:
    """The summary's registry rows, against the registry issue's targets (timings in ms)."""
    at = f"at {size:,}"
    p99_id, p95_name = pct(by_id, .99), pct(by_name, .95)
    return [
        Measure("registry", f"load rate {at}", rate(load_rate), f">= {rate(LOAD_TARGET)}",
                f"{load_rate / LOAD_TARGET:.2f} {'met' if load_rate >= LOAD_TARGET else 'MISSED'}"),
        Measure("registry", f"resolve by ID number p99 {at}", f"{p99_id:.2f} ms", "< 5 ms", against(p99_id, 5)),
        Measure("registry", f"scored resolve p95 {at}", f"{pct(scored, .95):.2f} ms"),
        Measure("registry", f"name search p95 {at}", f"{p95_name:.2f} ms", "< 50 ms", against(p95_name, 50)),
        Measure("registry", f"pinyin search p95 {at}", f"{pct(by_pinyin, .95):.2f} ms"),
    ]
