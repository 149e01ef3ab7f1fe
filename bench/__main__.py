"""`python -m bench [all|filing|scaleout|gateway|memory|registry|programmes|web|documents|sync] [--quick]` (or `ehr bench ...`):
run the benchmarks, print each one's table, then one summary table.

    python -m bench                   # all of them, full sizes (the registry at 1,000,000 residents)
    python -m bench --quick           # all of them, small sizes, under two minutes
    python -m bench filing --workers 2
    python -m bench gateway --seconds 30
    python -m bench programmes --enrolled 100000 --follow-ups 3000
    python -m bench web --samples 50  # the archive page's first render (500 records, one user)
    python -m bench documents --quick   # the sync document builders, in this process
    python -m bench sync              # documents acknowledged a second, 1 and 2 sync workers, the fake platform

`all` runs filing, scale-out, gateway and memory on one suite (the scale-out reuses the filing
run's one-worker drain; the memory figures are the peaks of every process that ran for them),
then the programmes and registry benchmarks, each in its own environment, and the document
builders (no environment).
"""

from __future__ import annotations

import sys
import time
import traceback

import ehr  # noqa: F401 - quiets eventlet's deprecation notice
from bench.common import Measure, heading, sandbox
from bench.plan import FAILED, Plan, plan, summary


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


def run_programmes(p: Plan) -> list[Measure]:
    from bench import programmes

    with sandbox("benchprog") as box:
        try:
            return programmes.run(box, p.enrolled, p.follow_ups, programmes.follow_up_residents(p.follow_ups),
                                  programmes.samples(p.enrolled))
        except Exception:  # noqa: BLE001 - the other sections' figures still deserve their summary
            traceback.print_exc()
            return [Measure("programmes", f"at {p.enrolled:,} enrolled", "", verdict=FAILED)]


def run_web(p: Plan) -> list[Measure]:
    from bench import web

    with sandbox("benchweb") as box:
        for service in ("registry", "records", "programmes"):
            box.procs.start(service)
        try:
            return web.run(box, p.web_samples)
        except Exception:  # noqa: BLE001 - the other sections' figures still deserve their summary
            traceback.print_exc()
            return [Measure("web", "archive page", "", verdict=FAILED)]


def run_documents(p: Plan) -> list[Measure]:
    from bench import documents

    return documents.run(p.quick)


def run_sync(p: Plan) -> list[Measure]:
    from bench import sync

    with sandbox("benchsync") as box:
        try:
            return sync.run(box, p.sync_archives, p.sync_format)
        except Exception:  # noqa: BLE001 - the other sections' figures still deserve their summary
            traceback.print_exc()
            return [Measure("sync", "documents acknowledged", "", verdict=FAILED)]


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
    return measures + run_programmes(p) + run_web(p) + run_registry(p) + run_documents(p)


RUNS = {"all": run_all, "filing": run_filing, "scaleout": run_scaleout, "gateway": run_gateway,
        "memory": run_memory, "registry": run_registry, "programmes": run_programmes, "web": run_web,
        "documents": run_documents, "sync": run_sync}


def main(argv: list[str] | None = None) -> None:
    p = plan(argv)
    started = time.monotonic()
    measures = RUNS[p.which](p)
    summary(measures, time.monotonic() - started)
    if any(m.verdict == FAILED for m in measures):
        sys.exit(1)


if __name__ == "__main__":
    main()
