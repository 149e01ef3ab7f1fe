"""The README's quick start, followed as written: `scripts/up` (which is `ehr up --demo` once
installed) prints the framed block, the block's own `curl` line answers, `/` leads to the docs,
the README's search request answers with the key the block printed, and the fake regional
platform the block names (`ehr platform`, started by the demo) holds every demo archive's
registration (HSDA00.01) and documents of its records, acknowledged: the sync service sent them.
(The hospitals' encounters are not among them yet: the sync service queues them as HSDC00.03 and
holds them, `build: NotBuildable`; the 门诊摘要 HSDC00.02 is the sync service's to build.)"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from ehr.platform.launch import DEMO_HOST, DEMO_PORT
from ehr.sandbox import SuiteEnvironment
from shared.config import load_settings
from shared.db import make_engine
from tests.e2e.test_suite_end_to_end import free_port
from tests.support.amqp import wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
QUICK_START = ROOT / "README.md"
LAST_LINE = "Ctrl-C stops every service"


def quick_start() -> str:
    text = QUICK_START.read_text()
    return text[text.index("## Quick start"):text.index("\n## ", text.index("## Quick start") + 1)]


def test_the_quick_start_names_the_two_commands_and_scripts_up_runs_ehr_up_demo():
    section = quick_start()
    commands = [line.split("#")[0].strip() for line in section.split("```sh", 1)[1].split("```", 1)[0].splitlines()]
    assert [c for c in commands if c] == ["scripts/up", "scripts/test"]
    assert (ROOT / "scripts" / "up").read_text().rstrip().endswith('exec .venv/bin/ehr up --demo "$@"')


def _scalars(env, service: str, sql: str) -> list:
    engine = make_engine(load_settings(env.variables).database_url_for(service), pool_size=1)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql)))
    finally:
        engine.dispose()


def _accepted(url: str, token: str) -> list[dict]:
    """Every document the fake platform lists as accepted, page by page."""
    items, after = [], "0"
    while after is not None:
        page = requests.get(url, params={"after": after, "limit": 1000}, headers={"Authorization": f"Bearer {token}"},
                            timeout=10)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        after = page.json()["next"]
    return items


def _platform_port_free() -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the platform's server does: TIME_WAIT is no owner
        try:
            s.bind((DEMO_HOST, DEMO_PORT))
        except OSError:
            return False
    return True


def test_the_quick_start_followed_as_written(run_id, tmp_path):
    # the demo's fake platform listens on its fixed port; something else there would take the documents
    assert _platform_port_free(), f"{DEMO_HOST}:{DEMO_PORT} is taken: the demo's fake platform could not listen"
    env = SuiteEnvironment(f"t{run_id}qs")
    env.create()
    port = free_port()
    proc_env = {**os.environ, **env.variables, "EHR_GATEWAY_PORT": str(port), "EHR_STATE_DIR": str(tmp_path)}
    log_path = tmp_path / "ehr-up.log"
    with open(log_path, "w+") as log:
        proc = subprocess.Popen([sys.executable, "-m", "ehr", "up", "--demo"], env=proc_env, stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: LAST_LINE in log_path.read_text() or proc.poll() is not None, timeout=240,
                       interval=0.5, message="the what-next block")
            output = log_path.read_text()
            assert proc.poll() is None and LAST_LINE in output, output[-3000:]
            block = output[output.rindex("ehr is up ("):]

            # The block's own curl line, run as printed.
            curl = re.search(r"^\s*(curl -H 'Authorization: Bearer (ehrk_\S+)' \S+)$", block, re.M)
            assert curl, block
            answer = subprocess.run(curl.group(1) + " -s -w '\\n%{http_code}'", shell=True, capture_output=True,
                                    text=True, timeout=30)
            body, status = answer.stdout.rsplit("\n", 1)
            assert status == "200" and "items" in json.loads(body)

            # The block's work list, with the same key: the demo's follow-ups made it urgent, overdue
            # and due items, and a hospital's I10 diagnosis a resident to confirm.
            worklist = re.search(r"^\s*curl -H 'Authorization: Bearer ehrk_\S+' (\S+/api/v1/worklist)$", block, re.M)
            assert worklist, block
            key = {"Authorization": f"Bearer {curl.group(2)}"}
            items = requests.get(worklist.group(1) + "?limit=200", headers=key, timeout=10).json()["items"]
            assert {"urgent", "overdue", "due"} <= {i["status"] for i in items}, items
            suggestions = requests.get(f"http://127.0.0.1:{port}/api/v1/programme-suggestions", headers=key,
                                       timeout=10).json()["items"]
            assert suggestions and all(s["status"] == "open" for s in suggestions)

            # `/` leads to the docs.
            root = requests.get(f"http://127.0.0.1:{port}/", allow_redirects=False, timeout=10)
            assert root.status_code == 302 and root.headers["Location"].endswith("/api/v1/docs")

            # The README's search request, with the key the block printed.
            search = quick_start().split("```sh")[2].split("```", 1)[0]
            search = search.replace("KEY=ehrk_...", f"KEY={curl.group(2)}").replace("127.0.0.1:8000", f"127.0.0.1:{port}")
            answer = subprocess.run(["bash", "-c", search.rstrip() + " -w '\\n%{http_code}'"], capture_output=True, text=True,
                                    timeout=30)
            body, status = answer.stdout.rsplit("\n", 1)
            assert status == "200", answer.stdout[-500:]
            assert json.loads(body)["items"], body[:500]

            # The fake regional platform the block names: the sync service sent it every demo
            # archive's registration and documents of their records, and it accepted them.
            platform = re.search(r"^\s*platform\s+(http://\S+/api/documents)\s.*token in (\S+)\)$", block, re.M)
            assert platform, block
            token = Path(platform.group(2)).read_text().strip()
            archives = {row[0] for row in _scalars(env, "registry", "SELECT archive_no FROM archives")}
            assert archives

            def everything_sent():
                accepted = _accepted(platform.group(1), token)
                registered = {d["archive_no"] for d in accepted if d["document_type"] == "HSDA00.01"}
                records = [d for d in accepted if d["document_type"] != "HSDA00.01"]  # follow-ups, referrals ...
                return accepted if archives <= registered and records else None

            try:
                accepted = wait_until(everything_sent, timeout=180, interval=2, message="the demo's documents accepted")
            except TimeoutError:
                states = _scalars(env, "sync", "SELECT state, type_code, count(*) FROM documents GROUP BY 1, 2")
                held = _scalars(env, "sync", "SELECT document_id_hint, last_error, reasons FROM (SELECT set_id || ':' || 'v' "
                                             "|| version AS document_id_hint, last_error, reasons, state FROM documents) d "
                                             "WHERE state IN ('rejected', 'held') LIMIT 5")
                listed = _accepted(platform.group(1), token)
                types = sorted({d["document_type"] for d in listed})
                raise AssertionError(f"{len(archives)} archives; the platform accepted {len(listed)} documents of types "
                                     f"{types}; the sync queue: {states}; rejected or held: {held}") from None
            # what the platform took, the suite knows as acknowledged (once the sender's round commits)
            taken = {d["document_id"] for d in accepted}
            wait_until(lambda: taken <= {row[0] for row in _scalars(
                env, "sync", "SELECT set_id || ':' || 'v' || version FROM documents WHERE state = 'acknowledged'")},
                timeout=30, interval=1, message="the accepted documents acknowledged in the sync queue")
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            env.destroy()
