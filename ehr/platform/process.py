"""The `ehr platform` fake as the sync service's peer in service tests and `python -m bench sync`: the real
process (`python -m ehr platform --port 0 --data DIR --token T`), started on a free port that it
keeps across a restart (`stop()` then `start()`: same port, same data directory, so what it
accepted survives), and driven over its HTTP interface (docs/contracts.md, "The regional
platform"): its accepted list, one document's last answer, its fault control, and how many times
each document id was posted to it since it started (`GET /control/received`).

    fake = PlatformProcess(tmp_path / "platform").start()      # fake.url -> "http://127.0.0.1:40123"
    fake.faults(mode="down", seconds=30); fake.faults(reject_one_in=1); fake.reset()
    fake.accepted(custodian="C1101050031")   -> {"archive:110...:v1": {"platform_id": ..., ...}, ...}
    fake.document("record:8f3e...:v1")      -> {"status": "rejected", "reasons": [...]}
    fake.received()                          -> {"archive:110...:v1": 1, ...}
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-platform-token"
_LISTENING = re.compile(r"platform listening on http://[\d.]+:(\d+)")


class PlatformProcess:
    def __init__(self, data: Path, token: str = TOKEN, *extra: str) -> None:
        self.data = Path(data)
        self.data.mkdir(parents=True, exist_ok=True)
        self.token = token
        self.extra = extra
        self.port = 0
        self.url = ""
        self.proc: subprocess.Popen | None = None
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.headers["Authorization"] = f"Bearer {token}"

    def start(self, timeout: float = 30.0) -> "PlatformProcess":
        """Start the process (on the port it had before, after a `stop`) and wait for its health."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("EHR_PLATFORM")}
        env["PYTHONPATH"] = str(ROOT)
        log = self.data / "process.log"
        offset = log.stat().st_size if log.exists() else 0
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ehr", "platform", "--port", str(self.port), "--token", self.token,
                 "--data", str(self.data), *self.extra], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if not self.port:
                found = _LISTENING.search(log.read_bytes()[offset:].decode(errors="replace"))
                if found:
                    self.port = int(found.group(1))
            if self.port:
                self.url = f"http://127.0.0.1:{self.port}"
                try:
                    if self.http.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                        return self
                except requests.ConnectionError:
                    pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"ehr platform did not start: {log.read_bytes()[offset:].decode(errors='replace')}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    # -- what it holds -------------------------------------------------------------------------

    def accepted(self, custodian: str | None = None, type_code: str | None = None) -> dict[str, dict]:
        """Every accepted document (of the custodian, of the type), by document id."""
        found: dict[str, dict] = {}
        params: dict = {"limit": 1000, **({"custodian": custodian} if custodian else {}),
                        **({"type": type_code} if type_code else {})}
        while True:
            page = self.http.get(f"{self.url}/api/documents", params=params, timeout=10).json()
            found.update({item["document_id"]: item for item in page["items"]})
            if not page["next"]:
                return found
            params["after"] = page["next"]

    def document(self, document_id: str) -> dict:
        return self.http.get(f"{self.url}/api/documents/{document_id}", timeout=10).json()

    def received(self) -> dict[str, int]:
        """How many times each document id was posted since the process started."""
        answer = self.http.get(f"{self.url}/control/received", timeout=10)
        answer.raise_for_status()
        return answer.json()["documents"]

    # -- faults --------------------------------------------------------------------------------

    def faults(self, **settings) -> dict:
        answer = self.http.post(f"{self.url}/control/faults", json=settings, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def reset(self) -> dict:
        answer = self.http.post(f"{self.url}/control/reset", timeout=10)
        answer.raise_for_status()
        return answer.json()
