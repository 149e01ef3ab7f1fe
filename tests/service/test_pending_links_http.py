"""Linking a pending encounter through the gateway: an operator proposes, a clinician with the
archive in scope links (issue 11, finding 4)."""

from __future__ import annotations

import pytest

from tests.support.amqp import wait_until
from tests.support.db import query

HOSPITAL = "H1101050002"
VILLAGE, MANAGER = "110105201102", "T1101052011"
OTHER_TOWNSHIP = "T1101051011"


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway


def _waiting(base, operator, synth, hospital, manager_session):
    resident = synth.resident(VILLAGE, MANAGER)
    body = synth.encounter(resident, HOSPITAL)
    body["patient"]["id_number"] = None
    message_id = hospital.publish(body)

    def find():
        items = operator.get(base + "/api/v1/pending?limit=200").json()["items"]
        return [p for p in items if p["message_id"] == message_id]

    [item] = wait_until(find, message="pending")
    resp = manager_session.post(base + "/api/v1/archives", json={**resident.archive_request(), "confirm_new": True})
    assert resp.status_code == 201, resp.text
    return item, resp.json()["archive_no"]


def test_an_operator_proposes_and_a_township_doctor_in_scope_links(base, auth, synth, hospital):
    operator = auth.session_for("system_operator", "G1101050001")
    doctor = auth.session_for("township_doctor", MANAGER)
    elsewhere = auth.session_for("township_doctor", OTHER_TOWNSHIP)
    item, archive_no = _waiting(base, operator, synth, hospital, doctor)
    link = f"{base}/api/v1/pending/{item['id']}/link"

    assert operator.post(link, json={"archive_no": archive_no}).status_code == 403
    proposed = operator.post(f"{base}/api/v1/pending/{item['id']}/proposal", json={"archive_no": archive_no})
    assert proposed.status_code == 200 and proposed.json()["proposed_archive_no"] == archive_no
    assert item["id"] in [p["id"] for p in doctor.get(base + "/api/v1/pending/proposals").json()["items"]]
    assert item["id"] not in [p["id"] for p in elsewhere.get(base + "/api/v1/pending/proposals").json()["items"]]

    assert elsewhere.post(link, json={"archive_no": archive_no}).status_code == 404  # not their archive
    linked = doctor.post(link, json={"archive_no": archive_no})
    assert linked.status_code == 200, linked.text
    assert linked.json()["status"] == "filed"
    [row] = query("records", "SELECT linked_by FROM pending_encounters WHERE id = :i", i=item["id"])
    assert row.linked_by.startswith("townshipdoct")


def test_a_grant_does_not_let_a_clinician_link_into_an_archive_outside_their_scope(base, auth, synth, hospital):
    operator = auth.session_for("system_operator", "G1101050001")
    owner = auth.session_for("township_doctor", MANAGER)
    stranger = auth.session_for("archive_manager", OTHER_TOWNSHIP)
    item, archive_no = _waiting(base, operator, synth, hospital, owner)
    granted = stranger.post(f"{base}/api/v1/archives/{archive_no}/access", json={"reason": "急诊就诊"})
    assert granted.status_code == 201
    refused = stranger.post(f"{base}/api/v1/pending/{item['id']}/link", json={"archive_no": archive_no})
    assert refused.status_code == 404
