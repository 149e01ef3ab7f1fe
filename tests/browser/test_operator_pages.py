"""The operators' pages in a real browser: the quarantine (a message with its reason and its
masked body as the API answers it, replayed corrected until it files, or discarded with a note),
pending encounters (an operator proposes the archive, a township doctor links it), and a doctor,
who is offered neither and is refused them by typed URL."""

from __future__ import annotations

import copy
import json
import time

import eventlet
import pytest
import requests

from ehr.synthetic import Synthesizer
from shared.identity import mask_id_number
from tests.browser.conftest import CLINIC, TOWNSHIP, VILLAGE
from tests.service.conftest import hospital  # noqa: F401 - the fixture, shared

HOSPITAL = "H3301020001"
OPERATOR_INSTITUTION = "G1101050001"  # 朝阳区卫生健康委员会


def _until(find, what: str, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = find()
        if found:
            return found
        eventlet.sleep(0.3)
    raise AssertionError(f"never: {what}")


@pytest.fixture(scope="module")
def operator_api(module_gateway, staff):  # noqa: F811 - the fixture imported by conftest
    session = requests.Session()
    username = staff.user("system_operator", OPERATOR_INSTITUTION)
    session.headers["Authorization"] = f"Bearer {staff.token(username)}"
    session.base, session.username = module_gateway, username
    return session


def _quarantined(operator_api, message_id: str) -> dict:
    def find():
        items = operator_api.get(f"{operator_api.base}/api/v1/quarantine", params={"limit": 200, "status": "all"},
                                 timeout=30).json()["items"]
        return next((q for q in items if q["message_id"] == message_id), None)
    return _until(find, "the message in quarantine")


def _archive(township, resident) -> str:
    answer = township.post(f"{township.base}/api/v1/archives", json={**resident.archive_request(), "confirm_new": True},
                           timeout=30)
    assert answer.status_code == 201, answer.text
    return answer.json()["archive_no"]


def test_an_operator_replays_a_quarantined_encounter_corrected_and_it_files(scenario, staff, township, operator_api,
                                                                            hospital):  # noqa: F811
    synth = Synthesizer()
    resident = synth.resident(VILLAGE, CLINIC)
    archive_no = _archive(township, resident)
    body = synth.encounter(resident, HOSPITAL)
    broken = copy.deepcopy(body)
    del broken["encounter"]["started_at"]
    message_id = hospital.publish(broken)
    entry = _quarantined(operator_api, message_id)
    assert entry["reason"] == "schema_invalid"

    scenario("operator_scenarios.quarantine_replay", operator=operator_api.username, message_id=message_id,
             id_number=resident.id_number, masked_id_number=mask_id_number(resident.id_number), name=resident.name,
             corrected=json.dumps(body, ensure_ascii=False))

    records = _until(lambda: township.get(f"{township.base}/api/v1/archives/{archive_no}/records", timeout=30)
                     .json()["items"], "the replayed encounter filed")
    assert [r["source"]["record_id"] for r in records] == [body["source"]["record_id"]]
    shown = operator_api.get(f"{operator_api.base}/api/v1/quarantine/{entry['id']}", timeout=30).json()
    assert shown["status"] == "replayed"


def test_an_operator_discards_a_message_with_a_note(scenario, staff, operator_api, hospital):  # noqa: F811
    message_id = hospital.publish(b"not json at all", routing_key=f"encounter.{HOSPITAL}.outpatient")
    entry = _quarantined(operator_api, message_id)
    scenario("operator_scenarios.quarantine_discard", operator=operator_api.username, quarantine_id=entry["id"])
    shown = operator_api.get(f"{operator_api.base}/api/v1/quarantine/{entry['id']}", timeout=30).json()
    assert shown["status"] == "discarded"


def test_an_operator_proposes_a_pending_encounters_archive_and_a_township_doctor_links_it(
        scenario, staff, township, operator_api, hospital):  # noqa: F811
    synth = Synthesizer()
    resident = synth.resident(VILLAGE, CLINIC)
    body = synth.encounter(resident, HOSPITAL)
    body["patient"]["id_number"] = None  # no ID number: only a person links it
    message_id = hospital.publish(body)
    _until(lambda: [p for p in operator_api.get(f"{operator_api.base}/api/v1/pending", params={"limit": 200},
                                                timeout=30).json()["items"] if p["message_id"] == message_id],
           "the encounter pending")
    archive_no = _archive(township, resident)

    scenario("operator_scenarios.pending_propose", operator=operator_api.username, message_id=message_id,
             archive_no=archive_no)
    scenario("operator_scenarios.pending_link", doctor=staff.user("township_doctor", TOWNSHIP),
             message_id=message_id, archive_no=archive_no)
    records = township.get(f"{township.base}/api/v1/archives/{archive_no}/records", timeout=30).json()["items"]
    assert [r["source"]["record_id"] for r in records] == [body["source"]["record_id"]]


def test_a_doctor_is_not_offered_the_quarantine_and_a_typed_url_is_refused(scenario, staff, operator_api,
                                                                           hospital):  # noqa: F811
    message_id = hospital.publish(b"{broken", routing_key=f"encounter.{HOSPITAL}.outpatient")
    entry = _quarantined(operator_api, message_id)
    scenario("operator_scenarios.doctor_refused", doctor=staff.user("village_doctor", CLINIC),
             quarantine_id=entry["id"])
    shown = operator_api.get(f"{operator_api.base}/api/v1/quarantine/{entry['id']}", timeout=30).json()
    assert shown["status"] == "held"
