"""The README's quick start, followed as written: `scripts/up` (which is `ehr up --demo` once
installed) prints the framed block, the block's own `curl` line answers, `/` leads to the docs,
and the README's search request answers with the key the block printed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from ehr.sandbox import SuiteEnvironment
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


def test_the_quick_start_followed_as_written(run_id, tmp_path):
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
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            env.destroy()
