"""What the benchmarks share: a throwaway suite (its own vhost and databases, services as
processes like `ehr up`), percentiles, tables and the summary rows.

    with sandbox("benchgw") as box:
        box.procs.start("registry")
        box.procs.start("records", 2)
        base = box.start_gateway()          # on a free port, once healthy
        base = box.start_gateway(count=2)   # or two gateway processes sharing that port
        ...
    table(["measure", "p50"], [["resolve", ms(0.8)]])
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

from ehr.sandbox import SuiteEnvironment
from shared.config import Settings, load_settings
from shared.transport.topology import declare_topology

MB = 1024 * 1024
_STARTED = time.monotonic()


# -- figures ---------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    """The q-quantile of `values` (nearest rank, as the filing figures were always computed)."""
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def timed(fn, count: int, warm: bool = False) -> list[float]:
    """The seconds each of `count` calls of `fn` took (after one untimed call with `warm`)."""
    if warm:
        fn()
    out = []
    for _ in range(count):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def ms(seconds: float) -> str:
    return f"{1000 * seconds:.1f} ms"


def rate(per_second: float) -> str:
    return f"{per_second:,.0f}/s"


def workers_label(count: int) -> str:
    return f"{count} records worker{'s' if count != 1 else ''}"


@dataclass
class Measure:
    """One row of the summary table: a figure and, where the issue sets one, its target."""

    section: str
    name: str
    figure: str
    target: str = ""
    verdict: str = ""  # a ratio, "met" or "MISSED"


def against(value: float, limit: float) -> str:
    """`value` as a share of an upper limit, and whether it stays under it."""
    return f"{value / limit:.2f} {'met' if value < limit else 'MISSED'}"


def table(headers: list[str], rows: list[list[str]], left: int = 1) -> None:
    """Print an aligned table: the first `left` columns left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells):
        return "  ".join(str(c).ljust(w) if i < left else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    print(line(headers))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))


def heading(title: str) -> None:
    print(f"\n== {title} ==  [{time.monotonic() - _STARTED:.0f}s]", flush=True)


# -- processes -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid: int, field_name: str) -> int | None:
    """A `kB` field of /proc/<pid>/status (VmRSS, VmHWM) in bytes; None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def listening(port: int, pids) -> set[int]:
    """Those of `pids` that hold a socket listening on 127.0.0.1 or 0.0.0.0:`port` (from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as lines:
                next(lines)
                for line in lines:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                        inodes.add(f"socket:[{fields[9]}]")
        except FileNotFoundError:
            pass
    found = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except (FileNotFoundError, PermissionError):
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    found.add(pid)
                    break
            except OSError:
                pass
    return found


def machine_busy() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs so far, from /proc/stat (idle and iowait are not busy)."""
    with open("/proc/stat") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:]]
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Processes:
    """The suite's services as processes (`ehr run SERVICE`, as `ehr up` starts them).

    Each process's peak resident set (the kernel's VmHWM) is read just before it is stopped,
    so `peaks` holds every process that ran, also those stopped between two measurements.
    `BENCH_PROFILE=<service>` runs that service under cProfile (/tmp/bench-<service>-<n>.prof).
    """

    def __init__(self, variables: dict[str, str]) -> None:
        self.env = {**os.environ, **variables, "EHR_LOG_LEVEL": "WARNING"}
        self.running: dict[str, subprocess.Popen] = {}   # "records[1]" -> process
        self.peaks: dict[str, int] = {}                   # label -> bytes
        self.notes: dict[str, str] = {}                   # label -> what it was started for
        self._started: dict[str, int] = {}

    def start(self, service: str, count: int = 1, note: str = "") -> list[subprocess.Popen]:
        procs = []
        for _ in range(count):
            n = self._started.get(service, 0)
            self._started[service] = n + 1
            self.notes[f"{service}[{n}]"] = note
            profile = os.environ.get("BENCH_PROFILE") == service
            cmd = ([sys.executable, "-m", "cProfile", "-o", f"/tmp/bench-{service}-{n}.prof"] if profile
                   else [sys.executable]) + ["-m", "ehr", "run", service]
            proc = subprocess.Popen(cmd, env=self.env)
            self.running[f"{service}[{n}]"] = proc
            procs.append(proc)
        return procs

    def pids(self, service: str | None = None) -> dict[str, int]:
        return {label: p.pid for label, p in self.running.items()
                if service is None or label.startswith(service + "[")}

    def read_peaks(self) -> dict[str, int]:
        """Peak RSS of every process that ran: those stopped, and the running ones so far."""
        for label, proc in self.running.items():
            peak = proc_status(proc.pid, "VmHWM")
            if peak is not None:
                self.peaks[label] = peak
        return dict(self.peaks)

    def stop(self, service: str | None = None) -> None:
        chosen = {label: p for label, p in self.running.items()
                  if service is None or label.startswith(service + "[")}
        for label, proc in chosen.items():
            peak = proc_status(proc.pid, "VmHWM")
            if peak is not None:
                self.peaks[label] = peak
            proc.terminate()
        for label, proc in chosen.items():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            del self.running[label]


@dataclass
class Sandbox:
    env: SuiteEnvironment
    settings: Settings
    procs: Processes
    gateway_base: str | None = None

    def start_gateway(self, healthy: bool = True, timeout: float = 60.0, count: int = 1) -> str:
        """Start `count` gateway processes on one free port (once; they share it as `ehr up
        --replicas gateway=N` does, through SO_REUSEPORT) and return the base URL when every one
        listens and it answers: with `healthy`, when /api/v1/health/ready answers 200 (its database,
        the broker and its migrations; the services a benchmark needs are the benchmark's to start,
        not every one the suite's /api/v1/health asks); otherwise as soon as it answers at all."""
        if self.gateway_base is None:
            port = free_port()
            self.procs.env["EHR_GATEWAY_PORT"] = str(port)
            self.procs.start("gateway", count)
            self.gateway_base = f"http://127.0.0.1:{port}"
        port = int(self.gateway_base.rsplit(":", 1)[1])
        deadline = time.monotonic() + timeout
        while True:
            if len(listening(port, self.procs.pids("gateway").values())) == len(self.procs.pids("gateway")):
                try:
                    with urllib.request.urlopen(self.gateway_base + "/api/v1/health/ready", timeout=5):
                        return self.gateway_base
                except urllib.error.HTTPError:
                    if not healthy:
                        return self.gateway_base
                except OSError:
                    pass
            if time.monotonic() > deadline:
                raise TimeoutError("the gateway did not become healthy")
            time.sleep(0.3)


@contextmanager
def sandbox(prefix: str = "bench"):
    """A throwaway environment (vhost, databases with the demo county, fresh keys) with its
    variables in os.environ for the duration, as the services' own code reads them there;
    every process started in it is stopped and everything is removed afterwards."""
    env = SuiteEnvironment(f"{prefix}{uuid.uuid4().hex[:6]}")
    env.create()
    saved = {name: os.environ.get(name) for name in env.variables}
    os.environ.update(env.variables)
    box = Sandbox(env, load_settings(env.variables), Processes(env.variables))
    try:
        declare_topology(env.amqp_uri)  # as `ehr up` does: nothing published before a worker starts is lost
        yield box
    finally:
        box.procs.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _destroy(env)


def _destroy(env: SuiteEnvironment) -> None:
    # The broker's management API now and then times out on a loaded machine; once more, then
    # leave word rather than lose the figures.
    from ehr.broker import BrokerAdminError

    for attempt in (1, 2):
        try:
            env.destroy()
            return
        except BrokerAdminError as exc:
            if attempt == 2:
                print(f"could not remove the environment {env.name} ({exc}); "
                      f"remove it with `rabbitmqctl delete_vhost {env.vhost}`", file=sys.stderr)
            time.sleep(1)
