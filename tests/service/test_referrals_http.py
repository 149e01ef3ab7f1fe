"""Referrals through the gateway: a township doctor refers a resident of the centre's scope to a
hospital naming a record; the hospital's system sees it in its inbox and, while it is open, reads
that record through the referral (the audit entry says `referral:<id>`, out of scope), but not the
archive itself; once the hospital sends the resident back, the referral no longer opens anything.
A racing second answer is a 409 naming both states; the sender's sent box shows it."""

from __future__ import annotations

import pytest

from tests.support.amqp import wait_until
from tests.support.db import query
from ehr.synthetic import Synthesizer

VILLAGE, TOWNSHIP, HOSPITAL = "110105101101", "T1101051011", "H1101050002"
VISIT = {"occurred_on": "2026-11-20", "subjective": "头晕两天", "assessment": "原发性高血压",
         "plan": "氨氯地平 5mg qd", "clinician": "李医生"}


@pytest.fixture(scope="module")
def sides(module_gateway, auth):
    return (module_gateway, auth.session_for("township_doctor", TOWNSHIP),
            auth.session_for("hospital_system", HOSPITAL))


def audit(resp):
    return query("gateway", "SELECT * FROM audit_entries WHERE request_id = :r ORDER BY seq DESC LIMIT 1",
                 r=resp.headers["X-Request-Id"])[0]


def test_the_referral_opens_the_records_it_names_to_the_receiver_until_it_closes(sides):
    base, township, hospital = sides
    created = township.post(base + "/api/v1/archives", json=Synthesizer().resident(VILLAGE, TOWNSHIP).archive_request())
    assert created.status_code == 201, created.text
    archive_no = created.json()["archive_no"]
    record = township.post(f"{base}/api/v1/archives/{archive_no}/records", json={"record_type": "visit",
                                                                                 "content": VISIT})
    assert record.status_code == 201, record.text
    record_id = record.json()["record_id"]

    sent = township.post(base + "/api/v1/referrals", json={
        "archive_no": archive_no, "to_institution_code": HOSPITAL, "urgency": "urgent",
        "reason": {"impression": "高血压3级"}, "record_ids": [record_id]})
    assert sent.status_code == 201, sent.text
    referral_id = sent.json()["referral_id"]
    assert (audit(sent).archive_no, audit(sent).target) == (archive_no, f"referral:{referral_id}")

    inbox = hospital.get(base + "/api/v1/referrals", params={"box": "inbox", "state": "requested"})
    assert referral_id in [r["referral_id"] for r in inbox.json()["items"]]
    # The archive itself stays closed to the hospital; the named record opens through the referral.
    assert hospital.get(f"{base}/api/v1/archives/{archive_no}").status_code == 403
    opened = hospital.get(f"{base}/api/v1/referrals/{referral_id}/records")
    assert opened.status_code == 200, opened.text
    assert [r["record_id"] for r in opened.json()["items"]] == [record_id]
    entry = audit(opened)
    assert (entry.outcome, entry.out_of_scope, entry.reason, entry.archive_no) == (
        "granted", True, f"referral:{referral_id}", archive_no)

    assert hospital.post(f"{base}/api/v1/referrals/{referral_id}/accept", json={}).status_code == 200
    racing = hospital.post(f"{base}/api/v1/referrals/{referral_id}/reject", json={"reason": "无床位"})
    assert racing.status_code == 409 and "accepted" in racing.json()["error"]["message"]
    # The sender cannot answer for the receiver.
    assert township.post(f"{base}/api/v1/referrals/{referral_id}/arrived", json={}).status_code == 409
    assert hospital.post(f"{base}/api/v1/referrals/{referral_id}/arrived", json={}).status_code == 200
    back = hospital.post(f"{base}/api/v1/referrals/{referral_id}/back-referral", json={
        "diagnosis": "原发性高血压3级", "treatment": "调整降压方案", "plan": "两周后社区随访"})
    assert back.status_code == 200 and back.json()["state"] == "back_referred"

    closed = hospital.get(f"{base}/api/v1/referrals/{referral_id}/records")
    assert closed.status_code == 404
    sent_box = township.get(base + "/api/v1/referrals", params={"box": "sent", "state": "back_referred"})
    assert referral_id in [r["referral_id"] for r in sent_box.json()["items"]]
    wait_until(lambda: {r["record_type"] for r in township.get(
        f"{base}/api/v1/archives/{archive_no}/records").json()["items"]} >= {"referral_out", "referral_back"},
               message="both referral records on the timeline")


def test_a_referral_of_an_archive_outside_the_senders_scope_is_hidden(sides):
    base, township, _ = sides
    resp = township.post(base + "/api/v1/referrals", json={
        "archive_no": "11010520110199999", "to_institution_code": HOSPITAL, "reason": {"impression": "x"}})
    assert resp.status_code == 404
