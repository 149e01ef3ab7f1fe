"""The whole suite as `ehr up` starts it: real processes, a hospital publishing with a plain
AMQP client, a township system listening on its own queue and using the HTTP API with its
API key."""

import os
import signal
import socket
import subprocess
import sys

import pytest
import requests
import sqlalchemy as sa

from ehr.synthetic import Synthesizer
from shared.config import load_settings
from shared.db import make_engine
from shared.messaging import jurisdiction_binding
from tests.support.amqp import Hospital, Listener, wait_until
from tests.support.auth import Credentials
from ehr.sandbox import SuiteEnvironment

pytestmark = pytest.mark.e2e

VILLAGE = "110105201101"
MANAGER = "T1101052011"
HOSPITAL = "H3301020001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def suite(run_id, tmp_path_factory):
    env = SuiteEnvironment(f"t{run_id}e2e")
    env.create()
    port = free_port()
    proc_env = {**os.environ, **env.variables, "EHR_GATEWAY_PORT": str(port),
                "EHR_STATE_DIR": str(tmp_path_factory.mktemp("state"))}
    log = open(tmp_path_factory.mktemp("logs") / "ehr-up.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "ehr", "up", "--replicas", "records=2"],
                            env=proc_env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _healthy(base) or proc.poll() is not None, timeout=90, interval=0.5,
                   message="ehr up to become healthy")
        assert proc.poll() is None, _tail(log)
        creds = Credentials(load_settings(env.variables))
        township_system = creds.session_for("township_system", MANAGER)
        creds.close()
        yield {"base": base, "env": env, "proc": proc, "log": log, "api": township_system}
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
        env.destroy()


def _healthy(base):
    try:
        return requests.get(base + "/api/v1/health", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _tail(log) -> str:
    log.flush()
    log.seek(0)
    return log.read()[-3000:]


def test_a_hospital_encounter_reaches_the_archive_and_the_township_once(suite):
    base, amqp_uri, api = suite["base"], suite["env"].amqp_uri, suite["api"]
    synth = Synthesizer()
    resident = synth.resident(VILLAGE, MANAGER)
    created = api.post(base + "/api/v1/archives", json=resident.archive_request())
    assert created.status_code == 201, created.text
    archive_no = created.json()["archive_no"]

    township = Listener(amqp_uri, "ehr.archive-updates", jurisdiction_binding(VILLAGE[:9]))
    hospital = Hospital(amqp_uri)
    body = synth.encounter(resident, HOSPITAL)
    message_id = hospital.publish(body)
    hospital.publish(body, message_id=message_id)  # a redelivery by the hospital
    hospital.close()

    [update] = township.wait(1, timeout=30)
    assert update["body"]["archive_no"] == archive_no
    assert update["routing_key"] == f"archive.{VILLAGE[:6]}.{VILLAGE[6:9]}.{VILLAGE[9:]}.hospital_encounter"
    assert resident.id_number not in str(update["body"])
    assert len(township.settle(quiet=2.0)) == 1
    township.close()

    records = api.get(f"{base}/api/v1/archives/{archive_no}/records").json()["items"]
    assert len(records) == 1
    assert records[0]["source"]["record_id"] == body["source"]["record_id"]
    assert records[0]["source"]["institution_code"] == HOSPITAL


def test_an_encounter_before_registration_is_filed_once_the_archive_exists(suite):
    base, amqp_uri, api = suite["base"], suite["env"].amqp_uri, suite["api"]
    synth = Synthesizer()
    resident = synth.resident(VILLAGE, MANAGER)
    hospital = Hospital(amqp_uri)
    message_id = hospital.publish(synth.encounter(resident, HOSPITAL))
    hospital.close()
    records_db = load_settings(suite["env"].variables).database_url_for("records")
    engine = make_engine(records_db, pool_size=1)
    with engine.connect() as conn:
        wait_until(lambda: conn.execute(sa.text("SELECT 1 FROM pending_encounters WHERE message_id = :m"),
                                        {"m": message_id}).first(), message="the encounter parked as pending")
    engine.dispose()
    archive_no = api.post(base + "/api/v1/archives", json=resident.archive_request()).json()["archive_no"]
    wait_until(lambda: api.get(f"{base}/api/v1/archives/{archive_no}/records").json()["items"],
               timeout=40, message="pending encounter filed")


def test_ctrl_c_stops_every_process_cleanly(suite):
    proc = suite["proc"]
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert len(children) == 7  # registry, records x2, gateway, programmes, referrals, sync
    proc.send_signal(signal.SIGINT)
    assert proc.wait(40) == 0, _tail(suite["log"])
    for pid in children:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    assert "stopped" in _tail(suite["log"])
