"""Memory benchmark: the peak resident set of every service process (registry, each records
worker, gateway) while the suite files a backlog and a steady load, against the issue's
limit of 150 MB per worker.

The peak is the kernel's high-water mark (VmHWM in /proc/<pid>/status), read just before each
process is stopped and at the end, so no short peak is missed between two samples.

    python -m bench memory [--quick] [--workers N]
"""

from __future__ import annotations

from bench.common import MB, Measure, Processes, against, heading, table, workers_label
from bench.filing import FilingRig

LIMIT = 150 * MB


def _order(label: str) -> tuple[str, int]:
    service, _, n = label.partition("[")
    return service, int(n.rstrip("]"))


def report(procs: Processes, during: str) -> list[Measure]:
    """Each process's peak in a table; for the summary, the highest of each service."""
    peaks = procs.read_peaks()
    heading(f"memory: peak RSS of each service process ({during})")
    table(["process", "started for", "peak RSS", "ratio to 150 MB"],
          [[label, procs.notes.get(label) or "the whole run", f"{peaks[label] / MB:.0f} MB", against(peaks[label], LIMIT)]
           for label in sorted(peaks, key=_order)], left=2)
    measures = []
    for service in sorted({_order(label)[0] for label in peaks}):
        mine = [peak for label, peak in peaks.items() if _order(label)[0] == service]
        name = f"peak RSS {service}" + (f" (highest of {len(mine)} processes)" if len(mine) > 1 else "")
        measures.append(Measure("memory", name, f"{max(mine) / MB:.0f} MB", "< 150 MB", against(max(mine), LIMIT)))
    return measures


def run(rig: FilingRig, encounters: int, workers: int, per_second: int, steady_seconds: int) -> list[Measure]:
    """A backlog and a steady load through a started rig, with the gateway up too."""
    rig.box.start_gateway(healthy=False)
    rig.drain(encounters, workers)
    rig.steady(per_second, steady_seconds)
    return report(rig.box.procs, f"filing: backlog of {encounters:,} and {per_second}/s for {steady_seconds}s, "
                                 f"{workers_label(workers)}")
