"""`ehr up`: every service (`services.SERVICES`) as its own process on this machine, restarted if
one dies, all stopped cleanly on Ctrl-C or SIGTERM. Replicas of a service are more processes of
it: records workers compete for the same queues, gateways share one listening port (SO_REUSEPORT).

Each process is named `<service>.<n>` (`EHR_PROCESS`: its heartbeat file and its logs carry the
name). With `log_format="text"` (a terminal) the processes log readable lines, which are relayed
prefixed with that name (`records.2  | 12:00:01 INFO  batch filed count=50`); with "json" they
write their JSON lines straight to this process's output.

Besides the services, `extras` are other processes to run beside them (`ehr up --demo`: the fake
regional platform, ehr/platform/launch.py): each is `<name>.1`, started, restarted and stopped
like a service process, given no key variable, and ready when its own `probe` says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable

import services as suite
from shared.config import is_key_variable, service_environment
from shared.transport.health import heartbeat_path, is_ready, readiness

RESTART_BACKOFF_MAX = 30.0


@dataclass(frozen=True)
class ExtraProcess:
    """A process that is not a service: its command line and its readiness (None: ready)."""
    args: list[str]
    probe: Callable[[], str | None]


def log_format_for(requested: str | None, environ, stream) -> str:
    """`ehr up --log-format`, else EHR_LOG_FORMAT, else text on a terminal and JSON otherwise."""
    return requested or environ.get("EHR_LOG_FORMAT") or ("text" if stream.isatty() else "json")


class Supervisor:
    def __init__(self, replicas: dict[str, int], echo=print, log_format: str = "json",
                 run_dir: str = "var/run", extras: dict[str, ExtraProcess] | None = None) -> None:
        self.replicas = {s.name: replicas.get(s.name, 1) for s in suite.SERVICES}
        self.extras = dict(extras or {})
        self.echo = echo
        self.log_format = log_format
        self.run_dir = run_dir
        self.procs: dict[tuple[str, int], subprocess.Popen] = {}
        self.spawned_at: dict[tuple[str, int], float] = {}
        self.restarts: dict[tuple[str, int], int] = {}
        self.stopping = False
        self._width = max(len(self.process_name(name, n - 1))
                          for name, n in [*self.replicas.items(), *((name, 1) for name in self.extras)])

    @staticmethod
    def process_name(name: str, index: int) -> str:
        return f"{name}.{index + 1}"

    def _spawn(self, name: str, index: int) -> None:
        process = self.process_name(name, index)
        if name in self.extras:
            own = {k: v for k, v in os.environ.items() if not is_key_variable(k)}
            args = self.extras[name].args
        else:
            own = service_environment(suite.service(name), dict(os.environ))
            args = [sys.executable, "-m", "ehr", "run", name]
        env = {**own, "EHR_PROCESS": process, "EHR_LOG_FORMAT": self.log_format, "EHR_RUN_DIR": str(self.run_dir)}
        self.spawned_at[(name, index)] = time.time()
        if self.log_format != "text":
            self.procs[(name, index)] = subprocess.Popen(args, env=env)
            return
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", bufsize=1)
        self.procs[(name, index)] = proc
        threading.Thread(target=self._relay, args=(process, proc.stdout), daemon=True).start()

    def _relay(self, process: str, stream) -> None:
        prefix = f"{process:<{self._width}} | "
        for line in stream:
            self.echo(prefix + line.rstrip("\n"))

    def start(self) -> None:
        for name, count in self.replicas.items():
            for index in range(count):
                self._spawn(name, index)
        for name in self.extras:
            self._spawn(name, 0)

    def not_ready(self, settings) -> dict[str, str]:
        """What keeps the suite from being ready: each process that has not written its heartbeat
        since it was (re)started, each service readiness check that fails (empty: ready)."""
        waiting = {}
        for (name, index), proc in self.procs.items():
            process = self.process_name(name, index)
            try:
                fresh = heartbeat_path(self.run_dir, process).stat().st_mtime >= self.spawned_at[(name, index)]
            except FileNotFoundError:
                fresh = False
            if proc.poll() is not None:
                waiting[process] = f"exited with {proc.returncode}"
            elif name in self.extras:
                why = self.extras[name].probe()
                if why:
                    waiting[process] = why
            elif not fresh:
                waiting[process] = "starting"
        for descriptor in suite.SERVICES:
            checks = readiness(descriptor, settings)
            if not is_ready(checks):
                waiting[descriptor.name] = ", ".join(f"{k} {v}" for k, v in checks.items() if v != "ok")
        return waiting

    def wait_ready(self, settings, timeout: float = 60.0) -> dict[str, str]:
        """Poll `not_ready` until it is empty or `timeout` passes; what was still not ready."""
        deadline = time.monotonic() + timeout
        while True:
            waiting = self.not_ready(settings)
            if not waiting or time.monotonic() > deadline or self.stopping:
                return waiting
            time.sleep(0.5)

    def supervise(self) -> None:
        """Restart any process that exits, with a growing pause, until asked to stop."""
        while not self.stopping:
            for key, proc in list(self.procs.items()):
                if proc.poll() is not None and not self.stopping:
                    count = self.restarts.get(key, 0) + 1
                    self.restarts[key] = count
                    delay = min(RESTART_BACKOFF_MAX, 2 ** (count - 1))
                    self.echo(f"{self.process_name(*key)} exited with {proc.returncode}; restarting in {delay:.0f}s")
                    time.sleep(delay)
                    if not self.stopping:
                        self._spawn(*key)
            time.sleep(0.5)

    def stop(self, timeout: float = 20.0) -> None:
        self.stopping = True
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
