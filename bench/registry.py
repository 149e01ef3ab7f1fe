"""Registry benchmark: load N synthetic residents through the bulk import, then measure
resolve-by-ID, scored resolve and name search at that size, inside the service (the use
cases on their own database session, no RPC).

    python -m bench registry              # 1,000,000 residents
    python -m bench registry --quick      # 100,000
"""

from __future__ import annotations

import random
import statistics
import time
import uuid

from sqlalchemy.orm import Session

from ehr.sandbox import SuiteEnvironment
from ehr.synthetic import Synthesizer
from shared.actor import Actor
from shared.config import load_settings
from shared.db import make_engine
from shared.pii import PiiBox

COUNTY = "110105"
TOWNSHIPS = [f"{t:03d}" for t in range(1, 41)]            # 40 subdistricts
VILLAGES = [f"{v:03d}" for v in range(1, 51)]             # 50 residents' committees each


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


def timed(fn, samples) -> list[float]:
    out = []
    for sample in samples:
        t = time.perf_counter()
        fn(sample)
        out.append((time.perf_counter() - t) * 1000)
    return out


def run(residents: int) -> None:
    from services.registry import matching, search
    from services.registry.importer import import_residents
    from services.registry.usecases import import_reference_data, resolve_identities

    env = SuiteEnvironment(f"benchreg{uuid.uuid4().hex[:6]}")
    env.create()
    settings = load_settings(env.variables)
    engine = make_engine(settings.database_url_for("registry"))
    pii = PiiBox(*settings.require_keys())
    synth = Synthesizer(seed=5)
    rng = random.Random(5)
    try:
        with Session(engine) as session:
            import_reference_data(session, *reference_data())
        villages = [COUNTY + t + v for t in TOWNSHIPS for v in VILLAGES]
        people = []
        t0 = time.perf_counter()
        rows = []
        for n in range(residents):
            village = villages[n % len(villages)]
            person = synth.resident(village, f"C{village[:9]}")
            rows.append((n + 2, person.archive_request()))
            if n % 97 == 0:
                people.append(person)
        generated = time.perf_counter() - t0
        print(f"generated {residents:,} synthetic residents in {generated:.0f}s", flush=True)

        t0 = time.perf_counter()
        with Session(engine) as session:
            report = import_residents(session, pii, iter(rows), Actor(user="bench"), chunk_size=2000)
        load_s = time.perf_counter() - t0
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
        print(f"{'load rate':34} {report.created / load_s:>8,.0f}/s  (bulk import, {load_s:.0f}s)")
        for label, values in (("resolve by ID number (ms)", by_id), ("scored resolve (ms)", scored),
                              ("name search, 2-char prefix (ms)", by_name), ("pinyin search (ms)", by_pinyin)):
            print(f"{label:34} {statistics.median(values):>8.2f} {pct(values, .95):>8.2f} {pct(values, .99):>8.2f}")
    finally:
        engine.dispose()
        env.destroy()
