"""`python -m bench [all|filing|scaleout|gateway|memory|registry] [--quick]` (or `ehr bench ...`):
run the benchmarks, print each one's table, then one summary table.

    python -m bench                   # all of them, full sizes (the registry at 1,000,000 residents)
    python -m bench --quick           # all of them, small sizes, under two minutes
    python -m bench filing --workers 2
    python -m bench gateway --seconds 30

`all` runs filing, scale-out, gateway and memory on one suite (the scale-out reuses the filing
run's one-worker drain; the memory figures are the peaks of every process that ran for them),
then the registry benchmark in its own environment.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from dataclasses import dataclass

import ehr  # noqa: F401 - quiets eventlet's deprecation notice
from bench.common import Measure, heading, sandbox, table

BENCHMARKS = ("all", "filing", "scaleout", "gateway", "memory", "registry")
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
    args = parser.parse_args(argv)
    for name in ("encounters", "workers", "rate", "seconds", "residents"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be at least 1")
    quick = args.quick
    residents = args.residents or (1_000_000 if not quick else 10_000 if args.which == "all" else 100_000)
    return Plan(which=args.which, encounters=args.encounters or (5000 if quick else 20000), workers=args.workers,
                rate=args.rate or (300 if quick else 1000), steady_seconds=5 if quick else 15,
                gateway_seconds=args.seconds or (5 if quick else 15), residents=residents)


def run_filing(p: Plan) -> list[Measure]:
    from bench import filing

    with sandbox() as box, filing.FilingRig(box) as rig:
        return filing.run(rig, p.encounters, p.workers, p.rate, p.steady_seconds)[0]


def run_scaleout(p: Plan) -> list[Measure]:
    from bench import filing, scaleout

    with sandbox() as box, filing.FilingRig(box) as rig:
        return scaleout.run(rig, p.encounters)


def run_memory(p: Plan) -> list[Measure]:
    from bench import filing, memory

    with sandbox() as box, filing.FilingRig(box) as rig:
        return memory.run(rig, p.encounters, p.workers, p.rate, p.steady_seconds)


def run_gateway(p: Plan) -> list[Measure]:
    from bench import gateway

    with sandbox("benchgw") as box:
        box.procs.start("registry")
        box.procs.start("records")
        return gateway.run(box, p.gateway_seconds)


def run_registry(p: Plan) -> list[Measure]:
    from bench.registry import run

    heading(f"registry at {p.residents:,} residents")
    try:
        return run(p.residents)
    except Exception:  # noqa: BLE001 - the other sections' figures still deserve their summary
        traceback.print_exc()
        return [Measure("registry", f"at {p.residents:,} residents", "", verdict=FAILED)]


def run_all(p: Plan) -> list[Measure]:
    from bench import filing, gateway, memory, scaleout

    measures: list[Measure] = []
    with sandbox() as box, filing.FilingRig(box) as rig:
        box.start_gateway(healthy=False)  # up during the filing load, for its memory figure
        filed, drain = filing.run(rig, p.encounters, p.workers, p.rate, p.steady_seconds)
        measures += filed
        known = {drain.workers: drain} if drain.workers in scaleout.WORKER_COUNTS else {}
        measures += scaleout.run(rig, p.encounters, known=known)
        box.procs.start("records", note="the gateway benchmark")
        measures += gateway.run(box, p.gateway_seconds)
        measures += memory.report(box.procs, "every process of the filing, scale-out and gateway runs above")
    return measures + run_registry(p)


RUNS = {"all": run_all, "filing": run_filing, "scaleout": run_scaleout, "gateway": run_gateway,
        "memory": run_memory, "registry": run_registry}


def summary(measures: list[Measure], elapsed: float) -> None:
    heading(f"summary ({elapsed:.0f}s)")
    table(["section", "measure", "figure", "target", "ratio / met"],
          [[m.section, m.name, m.figure, m.target, m.verdict] for m in measures], left=2)


def main(argv: list[str] | None = None) -> None:
    p = plan(argv)
    started = time.monotonic()
    measures = RUNS[p.which](p)
    summary(measures, time.monotonic() - started)
    if any(m.verdict == FAILED for m in measures):
        sys.exit(1)


if __name__ == "__main__":
    main()
