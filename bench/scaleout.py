"""Scale-out benchmark: the backlog drain rate with 1, 2 and 4 records workers, one after the
other on the same suite (the filing benchmark's rig), each from the moment all its workers
consume. On a 2-core machine that also runs PostgreSQL and RabbitMQ, 4 workers are not
expected to beat 2: the table shows how far each step gets against the one-worker rate.

    python -m bench scaleout [--quick] [--encounters N]
"""

from __future__ import annotations

from bench.common import Measure, heading, rate, table, workers_label
from bench.filing import Drain, FilingRig

WORKER_COUNTS = (1, 2, 4)


def run(rig: FilingRig, encounters: int, counts=WORKER_COUNTS, known: dict[int, Drain] | None = None) -> list[Measure]:
    """Drain a backlog of `encounters` with each worker count (those in `known` were measured
    already on this rig, by the filing benchmark) and report the rates side by side."""
    drains = dict(known or {})
    for workers in counts:
        if workers not in drains:
            drains[workers] = rig.drain(encounters, workers)
            rig.stop_workers()
    base = drains[min(drains)]
    heading(f"scale-out: backlog of {encounters:,} per run, {', '.join(map(str, sorted(drains)))} records workers")
    rows, measures = [], []
    for workers in sorted(drains):
        d = drains[workers]
        scaling = f"{d.rate / base.rate:.2f}"
        rows.append([workers_label(workers), rate(d.rate), rate(d.update_rate), f"{d.measured:,}/{d.filed:,}", scaling])
        measures.append(Measure("scale-out", f"backlog drain, {workers_label(workers)}", rate(d.rate),
                                verdict=f"{scaling} x {base.workers} worker"))
    table(["records workers", "filed", "updates", "measured/filed", f"x {base.workers} worker"], rows)
    print("(measured: filed by transactions begun once every worker consumed)")
    return measures
