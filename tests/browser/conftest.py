"""Browser tests: the web pages driven in Debian's Chromium (launched by its path, never a browser
Playwright downloads) against a real registry, records, programmes, referrals, sync and gateway (`module_gateway`).

    apt-get install -y chromium           (scripts/bootstrap does it when run as root)
    EHR_CHROMIUM=/path/to/chromium        another build, if wanted
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import eventlet

import pytest
import requests

from ehr.synthetic import Synthesizer
from tests.service.conftest import module_gateway, sync_platform  # noqa: F401 - the fixtures, shared
from tests.support.auth import PASSWORD, Credentials

CHROMIUM = os.environ.get("EHR_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCENARIO_SECONDS = 180

TOWNSHIP = "T1101051011"        # 孙河镇卫生院
CLINIC = "V1101051011"          # 上辛堡村卫生室, village 110105101101
VILLAGE = "110105101101"
OTHER_VILLAGE = "110105101102"  # 下辛堡村: the township's, not the clinic's


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's (`apt-get install -y chromium`, which "
                    "scripts/bootstrap does as root) or set EHR_CHROMIUM; never `playwright install`")
    return CHROMIUM


@pytest.fixture
def scenario(chromium_path, module_gateway):  # noqa: F811 - the fixture imported above
    """scenario(name, **data): run `scenarios.<name>` in Chromium from a process of its own
    (`run_scenario.py` says why), waiting for it without blocking the services of this one;
    fails with the scenario's traceback."""

    def run(scenario_name: str, **data) -> None:
        payload = json.dumps({"base": module_gateway, "chromium": chromium_path, **data})
        with tempfile.TemporaryFile() as out:
            proc = subprocess.Popen([sys.executable, "-m", "tests.browser.run_scenario", scenario_name, payload],
                                    stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                    env={**os.environ, "PYTHONPATH": str(ROOT)})
            deadline = time.monotonic() + SCENARIO_SECONDS
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    proc.kill()
                    break
                eventlet.sleep(0.2)  # the services in this process go on answering the browser
            out.seek(0)
            output = out.read().decode(errors="replace")
        assert proc.returncode == 0, f"scenario {scenario_name} failed:\n{output}"

    return run


@pytest.fixture(scope="module")
def staff(suite_env):
    from shared.config import load_settings

    creds = Credentials(load_settings(suite_env.variables))
    yield creds
    creds.close()


@pytest.fixture(scope="module")
def api(module_gateway, staff):  # noqa: F811 - the fixture imported above
    """create(village, institution, **overrides) -> an archive number, made through the HTTP API
    by a township doctor of the township."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {staff.token(staff.user('township_doctor', TOWNSHIP))}"
    synth = Synthesizer()

    def create(village: str = VILLAGE, institution: str = CLINIC, **overrides) -> dict:
        resident = synth.resident(village, institution, **overrides)
        body = {**resident.archive_request(), "confirm_new": True}
        answer = session.post(f"{module_gateway}/api/v1/archives", json=body, timeout=30)
        assert answer.status_code == 201, answer.text
        return {**answer.json(), "id_number": body.get("id_number")}

    return create


@pytest.fixture(scope="module")
def township(module_gateway, staff):  # noqa: F811 - the fixture imported above
    """An HTTP session of a township doctor of the township, for what a test prepares through the API."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {staff.token(staff.user('township_doctor', TOWNSHIP))}"
    session.base = module_gateway
    return session


@pytest.fixture(scope="module")
def enrol(township):
    """enrol(archive_no, programme, enrolled_on, doctor) -> the archive's programmes, enrolled
    through the API once the programmes service has heard of the archive (it learns of it from the
    registry's event: until then the API answers 404)."""

    def run(archive_no: str, programme: str, enrolled_on, doctor: str) -> dict:
        body = {"programme": programme, "enrolled_on": enrolled_on.isoformat(), "responsible_doctor": doctor}
        deadline = time.monotonic() + 30
        while True:
            answer = township.post(f"{township.base}/api/v1/archives/{archive_no}/programmes", json=body, timeout=30)
            if answer.status_code == 201 or time.monotonic() > deadline:
                break
            eventlet.sleep(0.3)
        assert answer.status_code == 201, answer.text
        return answer.json()

    return run
