"""What `python -m bench` runs and at which sizes (`plan`), and the summary table it ends with:
shared by `bench.__main__` and `python -m bench.gateway`, which runs one benchmark its own way.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from bench.common import Measure, heading, table

BENCHMARKS = ("all", "filing", "scaleout", "gateway", "memory", "registry", "programmes", "web", "documents", "sync")
FAILED = "FAILED (see above)"


@dataclass(frozen=True)
class Plan:
    which: str
    encounters: int       # backlog size of each drain, and of the ceiling
    workers: int          # records workers of the filing and memory runs
    rate: int             # steady-load publish rate per second
    steady_seconds: int
    gateway_seconds: float
    residents: int        # registry size
    enrolled: int = 100_000       # programmes: residents enrolled under the work list
    follow_ups: int = 3_000       # programmes: follow-ups filed end to end (and as many again apart)
    web_samples: int = 100        # web: archive pages asked (and half as many opened in Chromium)
    quick: bool = False           # documents: 0.2 s of CPU per type and format instead of 1 s
    sync_archives: int = 600      # sync: archives of each run (5 documents each)
    sync_format: str = "cda"      # sync: what the platform receives


def plan(argv: list[str] | None = None) -> Plan:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Run the suite's benchmarks (all of them "
                                     "by default), print each one's table, then a summary against the targets.")
    parser.add_argument("which", nargs="?", default="all", choices=BENCHMARKS)
    parser.add_argument("--quick", action="store_true", help="small sizes: all of them in under two minutes")
    parser.add_argument("--encounters", type=int, default=None, help="backlog size (5,000 quick, 20,000)")
    parser.add_argument("--workers", type=int, default=1, help="records workers of the filing and memory runs")
    parser.add_argument("--rate", type=int, default=None, help="steady-load publish rate per second (300, 1,000)")
    parser.add_argument("--seconds", type=float, default=None, help="gateway load per endpoint (5, 15)")
    parser.add_argument("--residents", type=int, default=None,
                        help="registry size (1,000,000; --quick: 100,000 alone, 10,000 within all)")
    parser.add_argument("--enrolled", type=int, default=None,
                        help="programmes: residents enrolled under the work list (100,000; --quick: 10,000)")
    parser.add_argument("--follow-ups", type=int, default=None,
                        help="programmes: follow-ups filed end to end, and as many again apart (3,000; --quick: 1,000)")
    parser.add_argument("--archives", type=int, default=None,
                        help="sync: archives of each run, 5 documents each (600; --quick: 150)")
    parser.add_argument("--format", choices=("cda", "fhir"), default="cda", help="sync: the documents' format")
    parser.add_argument("--samples", type=int, default=None,
                        help="web: archive pages asked over HTTP, half as many in Chromium (100; --quick: 20)")
    args = parser.parse_args(argv)
    for name in ("encounters", "workers", "rate", "seconds", "residents", "enrolled", "follow_ups", "samples"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    quick = args.quick
    residents = args.residents or (1_000_000 if not quick else 10_000 if args.which == "all" else 100_000)
    return Plan(which=args.which, encounters=args.encounters or (5000 if quick else 20000), workers=args.workers,
                rate=args.rate or (300 if quick else 1000), steady_seconds=5 if quick else 15,
                gateway_seconds=args.seconds or (5 if quick else 15), residents=residents,
                enrolled=args.enrolled or (10_000 if quick else 100_000),
                follow_ups=args.follow_ups or (1_000 if quick else 3_000),
                web_samples=args.samples or (20 if quick else 100), quick=quick,
                sync_archives=args.archives or (150 if quick else 600), sync_format=args.format)


def summary(measures: list[Measure], elapsed: float) -> None:
    heading(f"summary ({elapsed:.0f}s)")
    table(["section", "measure", "figure", "target", "ratio / met"],
          [[m.section, m.name, m.figure, m.target, m.verdict] for m in measures], left=2)
