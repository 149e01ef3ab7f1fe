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
import statistics
import time
import uuid
from datetime import date, timedelta

from faker.providers.person.zh_CN import Provider as ChineseNames
from sqlalchemy.orm import Session

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


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


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


def timed(fn, samples) -> list[float]:
    out = []
    for sample in samples:
        t = time.perf_counter()
        fn(sample)
        out.append((time.perf_counter() - t) * 1000)
    return out


def run(residents: int, jobs: int = JOBS, chunk_size: int = CHUNK) -> None:
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

        t0 = time.perf_counter()
        with Session(engine) as session:
            report = import_residents(session, pii, iter(rows), Actor(user="bench"), chunk_size=chunk_size,
                                      jobs=jobs)
        load_s = time.perf_counter() - t0
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
        for label, values in (("resolve by ID number (ms)", by_id), ("scored resolve (ms)", scored),
                              ("name search, 2-char prefix (ms)", by_name), ("pinyin search (ms)", by_pinyin)):
            print(f"{label:34} {statistics.median(values):>8.2f} {pct(values, .95):>8.2f} {pct(values, .99):>8.2f}")
    finally:
        engine.dispose()
        env.destroy()
