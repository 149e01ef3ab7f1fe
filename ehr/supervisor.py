"""`ehr up`: every service as its own process on this machine, restarted if one dies, all
stopped cleanly on Ctrl-C or SIGTERM. Replicas of a service are more processes of it: records
workers compete for the same queues, gateways share one listening port (SO_REUSEPORT)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from ehr.runner import SERVICES
from shared.config import service_environment

RESTART_BACKOFF_MAX = 30.0


class Supervisor:
    def __init__(self, replicas: dict[str, int], echo=print) -> None:
        self.replicas = {name: replicas.get(name, 1) for name in SERVICES}
        self.echo = echo
        self.procs: dict[tuple[str, int], subprocess.Popen] = {}
        self.restarts: dict[tuple[str, int], int] = {}
        self.stopping = False

    def _spawn(self, name: str, index: int) -> None:
        proc = subprocess.Popen([sys.executable, "-m", "ehr", "run", name],
                                env=service_environment(name, dict(os.environ)))
        self.procs[(name, index)] = proc

    def start(self) -> None:
        for name, count in self.replicas.items():
            for index in range(count):
                self._spawn(name, index)

    def wait_healthy(self, url: str, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    if resp.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.5)
        return False

    def supervise(self) -> None:
        """Restart any process that exits, with a growing pause, until asked to stop."""
        while not self.stopping:
            for key, proc in list(self.procs.items()):
                if proc.poll() is not None and not self.stopping:
                    count = self.restarts.get(key, 0) + 1
                    self.restarts[key] = count
                    delay = min(RESTART_BACKOFF_MAX, 2 ** (count - 1))
                    self.echo(f"{key[0]}[{key[1]}] exited with {proc.returncode}; restarting in {delay:.0f}s")
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
