"""The programmes' pages in a real browser: the work list a clinician lands on, one click to the
follow-up form that satisfies an item (a server error beside its field, then right), the urgent
flag said on filing and shown in the timeline; an archive's programmes (enrol, end, resume) and
the suggestions to confirm or dismiss."""

from __future__ import annotations

import time
from datetime import date, timedelta

import eventlet
from shared import clock

from tests.browser.conftest import CLINIC

BORN = date(1961, 6, 2)  # 65 in 2026: a target of 150/90, and old enough for the elderly forms


def test_a_village_doctor_files_a_due_hypertension_follow_up_from_the_work_list(scenario, staff, api, enrol):
    doctor = staff.user("village_doctor", CLINIC)
    resident = api(born=BORN)
    enrol(resident["archive_no"], "hypertension", clock.today() - timedelta(days=40), doctor)
    scenario("worklist_follow_up", doctor=doctor, archive_no=resident["archive_no"], name=resident["name"],
             id_number=resident["id_number"])


def _health_exam(day: date, systolic: int, diastolic: int) -> dict:
    return {"occurred_on": day.isoformat(), "responsible_doctor": "王医生", "symptoms": ["1"],
            "general": {"temperature": 36.5, "pulse": 76, "respiratory_rate": 18,
                        "blood_pressure": {"left": {"systolic": systolic, "diastolic": diastolic}},
                        "height": 168, "weight": 70},
            "assessment": {"result": "2", "abnormalities": ["血压升高"]}}


def test_an_archives_programmes_are_enrolled_ended_and_resumed_and_a_suggestion_dismissed(scenario, staff, api,
                                                                                          township):
    doctor = staff.user("township_doctor", "T1101051011")
    resident = api(born=date(1970, 3, 1))  # 35 or more: type 2 diabetes may enrol them
    suggested = api(born=date(1975, 2, 3))
    answer = township.post(f"{township.base}/api/v1/archives/{suggested['archive_no']}/records", timeout=30,
                           json={"record_type": "health_exam", "content": _health_exam(clock.today(), 168, 102)})
    assert answer.status_code == 201, answer.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the programmes service hears of the exam from the records' event
        items = township.get(f"{township.base}/api/v1/programme-suggestions", params={"limit": 200},
                             timeout=30).json()["items"]
        if any(s["archive_no"] == suggested["archive_no"] for s in items):
            break
        eventlet.sleep(0.3)
    else:
        raise AssertionError("no suggestion for the exam's readings")
    while township.get(f"{township.base}/api/v1/archives/{resident['archive_no']}/programmes",
                       timeout=30).status_code != 200:  # the programmes service hears of the archive
        assert time.monotonic() < deadline + 30, "the programmes service never heard of the archive"
        eventlet.sleep(0.3)
    scenario("programmes_and_suggestions", doctor=doctor, archive_no=resident["archive_no"],
             suggested_archive_no=suggested["archive_no"])
