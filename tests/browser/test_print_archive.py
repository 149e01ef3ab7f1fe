"""The full copy of an archive for the resident, in a real browser: from the archive's page, as a
print page and a PDF (WeasyPrint, Debian's CJK font) holding the 个人基本信息表, the latest
健康体检表 and the last year's follow-ups, with the archive number and the page number on every
page; each print audited; a role or a doctor that may not read the archive cannot print it."""

from __future__ import annotations

from datetime import date, timedelta

from shared import clock
from ehr.demo_programmes import hypertension_follow_up

from tests.browser.conftest import CLINIC, TOWNSHIP
from tests.support.db import query

FOLLOW_UP_SBP, OLD_SBP = 137, 163


def _file(township, archive_no: str, body: dict) -> None:
    answer = township.post(f"{township.base}/api/v1/archives/{archive_no}/records", json=body, timeout=30)
    assert answer.status_code == 201, answer.text


def _exam(day: date) -> dict:
    return {"record_type": "health_exam", "content": {
        "occurred_on": day.isoformat(), "responsible_doctor": "王医生", "symptoms": ["1"],
        "general": {"temperature": 36.5, "pulse": 76, "respiratory_rate": 18,
                    "blood_pressure": {"left": {"systolic": 128, "diastolic": 80}}, "height": 168, "weight": 70},
        "assessment": {"result": "1"}}}


def test_a_village_doctor_prints_the_full_copy_and_others_cannot(scenario, staff, api, township):
    doctor = staff.user("village_doctor", CLINIC)
    resident = api(born=date(1970, 3, 1))  # under 65: the exam asks no elderly items
    today, archive_no = clock.today(), resident["archive_no"]
    _file(township, archive_no, _exam(today - timedelta(days=30)))
    _file(township, archive_no, hypertension_follow_up(today - timedelta(days=10), today + timedelta(days=80),
                                                       FOLLOW_UP_SBP, 85, "1"))
    _file(township, archive_no, hypertension_follow_up(today - timedelta(days=400), today - timedelta(days=310),
                                                       OLD_SBP, 99, "2"))
    scenario("print_archive_copy", doctor=doctor, archive_no=archive_no, name=resident["name"],
             id_number=resident["id_number"], follow_up_sbp=FOLLOW_UP_SBP, old_sbp=OLD_SBP,
             admin=staff.user("institution_admin", TOWNSHIP), other_doctor=staff.user("village_doctor", "V1101051012"))
    printed = query("gateway", "SELECT actor, outcome, count(*) FROM audit_entries WHERE archive_no = :a "
                               "AND target = 'print:archive' GROUP BY actor, outcome", a=archive_no)
    by = {(actor, outcome): n for actor, outcome, n in printed}
    assert by.get((doctor, "ok"), 0) >= 2, printed  # the print page and its PDF, each audited
    assert not any(actor != doctor and outcome in ("ok", "granted") for actor, outcome, _ in printed), printed
