"""The referral (双向转诊) and consultation (会诊) pages in a real browser.

A township doctor refers a resident to a hospital from the archive's page; the hospital accepts,
marks the patient arrived and back-refers (a hospital takes part through its system, the
`hospital_system` API key: the access matrix has no hospital person who signs in to these pages);
the township sees the back-referral in its inbox, with the 回转单 and the history. The receiving
side's pages are driven by a township doctor receiving a village clinic's referral: accept,
arrived, the 回转单 (a field left empty said beside it), and the village doctor sees it back. A
consultation is asked and answered likewise."""

from __future__ import annotations

import time

import eventlet
import pytest

from tests.browser.conftest import CLINIC, TOWNSHIP

HOSPITAL = "H1101050002"  # 朝阳区中医医院
VISIT = {"occurred_on": "2026-11-20", "subjective": "头晕两天", "assessment": "原发性高血压",
         "plan": "氨氯地平 5mg qd", "clinician": "李医生"}


@pytest.fixture(scope="module")
def hospital(module_gateway, staff):  # noqa: F811 - the fixture of conftest
    from tests.support.auth import bearer

    session = bearer(staff.api_key("hospital_system", HOSPITAL))
    session.base = module_gateway
    return session


def _with_a_visit(township, api) -> str:
    resident = api()
    answer = township.post(f"{township.base}/api/v1/archives/{resident['archive_no']}/records", timeout=30,
                           json={"record_type": "visit", "content": VISIT})
    assert answer.status_code == 201, answer.text
    return resident["archive_no"]


def _sent(township, archive_no: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        items = township.get(f"{township.base}/api/v1/referrals", params={"box": "sent", "limit": 200},
                             timeout=30).json()["items"]
        found = [r for r in items if r["archive_no"] == archive_no]
        if found or time.monotonic() > deadline:
            break
        eventlet.sleep(0.3)
    assert len(found) == 1, found
    return found[0]


def test_a_township_doctor_refers_to_the_hospital_and_sees_its_back_referral_in_the_inbox(scenario, staff, api,
                                                                                         township, hospital):
    doctor = staff.user("township_doctor", TOWNSHIP)
    archive_no = _with_a_visit(township, api)
    scenario("referral_scenarios.refer_to_hospital", doctor=doctor, archive_no=archive_no, hospital=HOSPITAL)

    referral = _sent(township, archive_no)
    assert (referral["state"], referral["urgency"], referral["to_institution_code"]) == ("requested", "urgent",
                                                                                          HOSPITAL)
    assert referral["reason"]["impression"] == "高血压3级，血压控制不佳" and len(referral["record_ids"]) == 1
    base = f"{hospital.base}/api/v1/referrals/{referral['referral_id']}"
    for move, body in (("accept", {"note": "已安排心内科床位"}), ("arrived", {}),
                       ("back-referral", {"diagnosis": "原发性高血压3级", "treatment": "调整降压方案",
                                          "plan": "两周后社区随访"})):
        answer = hospital.post(f"{base}/{move}", json=body, timeout=30)
        assert answer.status_code == 200, answer.text

    scenario("referral_scenarios.back_referral_in_inbox", doctor=doctor, referral_id=referral["referral_id"])


def test_the_receiver_accepts_and_back_refers_and_the_sender_sees_it(scenario, staff, api, township):
    archive_no = _with_a_visit(township, api)
    scenario("referral_scenarios.refer_up_and_answer", archive_no=archive_no, township=TOWNSHIP,
             village_doctor=staff.user("village_doctor", CLINIC), township_doctor=staff.user("township_doctor", TOWNSHIP))


def test_a_consultation_is_asked_and_answered(scenario, staff, api):
    resident = api()
    scenario("referral_scenarios.consultation_asked_and_answered", archive_no=resident["archive_no"],
             township=TOWNSHIP, village_doctor=staff.user("village_doctor", CLINIC),
             township_doctor=staff.user("township_doctor", TOWNSHIP))
