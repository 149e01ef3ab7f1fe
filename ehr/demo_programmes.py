"""The programmes part of `ehr demo`: a few months of key-population work at one township centre,
so a newcomer opening its work list (`GET /api/v1/worklist`) finds due, overdue and urgent items
and a resident to confirm, each saying why.

Everything goes through the gateway's HTTP API with the centre's demo key (`township_system`: the
centre's own software, which files its doctors' follow-ups and enrols its residents,
services/gateway/access.py), as a township system would:

- a cast of residents aged 35 or more is registered and enrolled (`POST .../programmes`, enrolled
  months ago) in hypertension, type 2 diabetes or both, and their follow-ups of the past months
  are filed (`POST .../records`) on the national forms, valid as the records service checks them:
  one with its next visit due this week, one past the next visit date it was given, a diabetic
  whose last glucose was unsatisfactory (a re-visit within 2 weeks, now overdue), one with two
  unsatisfactory readings in a row (a referral suggested), one with SBP ≥ 180 at the last visit
  (urgent referral, top of the list), and one with both conditions seen at integrated
  (多病共管) visits, which move both schedules;
- the centre's residents of 65 or more are enrolled in the elderly programme (the daily sweep
  would do it on its own; an enrolment it made already answers 409 and is passed over), one with a
  中医药健康管理 record filed;
- a resident not enrolled gets a hospital encounter with an I10 diagnosis (`hospital_encounter`,
  published by the caller with the other encounters), which becomes a suggestion to confirm.

Dates are relative to today: visits in the past months, enrolments before them, next-visit dates
chosen so that some lie ahead and some have passed. Schedules follow services/programmes/schedules.py
(90 days after a face-to-face follow-up or the next-visit date if sooner; 14 days after an
unsatisfactory one, a referral or an urgent trigger).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Callable

from shared.elderly_assessments import constitution_scores, judge_constitutions

DOCTOR = "王建国"
REFERRAL_TO = {"institution": "北京市朝阳区第二医院", "department": "心内科"}
# the 33 questions of the 中医体质辨识, as one resident answered them (a 气虚质 leaning)
TCM_ANSWERS = [2, 4, 4, 3, 2, 2, 1, 2, 2, 2, 2, 2, 2, 4, 1, 2, 1, 1, 1, 1, 2, 2, 1, 2, 1, 2, 2, 2, 2, 1, 2, 2, 1]
IDENTIFIED = ("yes", "tending", "basically")


def _lifestyle(diabetes: bool = False, hypertension: bool = True) -> dict:
    lifestyle = {"smoking": 5, "smoking_target": 0, "drinking": 1, "drinking_target": 0,
                 "exercise_per_week": 3, "exercise_minutes": 30, "exercise_per_week_target": 5,
                 "exercise_minutes_target": 30, "psychology": "1", "compliance": "2"}
    if hypertension:
        lifestyle |= {"salt": "2", "salt_target": "1"}
    if diabetes:
        lifestyle |= {"staple_food": 300, "staple_food_target": 250}
    return lifestyle


def _signs(sbp: int, dbp: int, weight: float = 72, heart_rate: int | None = 76, pedal: bool = False) -> dict:
    signs = {"blood_pressure": {"systolic": sbp, "diastolic": dbp}, "weight": weight, "target_weight": 66,
             "height": 168}
    if heart_rate is not None:
        signs["heart_rate"] = heart_rate
    if pedal:
        signs["dorsalis_pedis"] = {"pulse": "1"}
    return signs


def hypertension_follow_up(day: date, next_visit: date, sbp: int, dbp: int, classification: str,
                           symptoms: tuple[str, ...] = ("1",), referral: str | None = None) -> dict:
    """高血压患者随访服务记录表 of a clinic visit (门诊) on `day`."""
    content = {"occurred_on": day.isoformat(), "method": "1", "symptoms": list(symptoms),
               "signs": _signs(sbp, dbp), "lifestyle": _lifestyle(),
               "adherence": "1" if classification == "1" else "2", "adverse_reaction": {"present": False},
               "classification": classification,
               "medicines": [{"name": "苯磺酸氨氯地平片", "times_per_day": 1, "dose": 5, "unit": "mg"}],
               "next_visit_date": next_visit.isoformat(), "doctor": DOCTOR}
    if referral:
        content["referral"] = {"reason": referral, **REFERRAL_TO}
    return {"record_type": "hypertension_follow_up", "content": content}


def diabetes_follow_up(day: date, next_visit: date, fbg: float, classification: str) -> dict:
    """2型糖尿病患者随访服务记录表 of a home visit (家庭) on `day`."""
    content = {"occurred_on": day.isoformat(), "method": "2", "symptoms": ["1"] if fbg < 7 else ["2", "4"],
               "signs": _signs(128, 80, weight=66, heart_rate=None, pedal=True),
               "lifestyle": _lifestyle(diabetes=True, hypertension=False),
               "tests": {"fbg": fbg, "date": day.isoformat()},
               "adherence": "1" if classification == "1" else "2", "adverse_reaction": {"present": False},
               "hypoglycaemia": "1", "classification": classification,
               "medicines": [{"name": "盐酸二甲双胍片", "times_per_day": 3, "dose": 500, "unit": "mg"}],
               "next_visit_date": next_visit.isoformat(), "doctor": DOCTOR}
    return {"record_type": "diabetes_follow_up", "content": content}


def integrated_follow_up(day: date, next_visit: date, sbp: int, dbp: int, fbg: float,
                         classifications: dict[str, str]) -> dict:
    """One 多病共管 visit of a resident with both: the shared parts once, one 此次随访分类 each."""
    content = {"occurred_on": day.isoformat(), "method": "1", "symptoms": ["1"],
               "signs": _signs(sbp, dbp, pedal=True), "lifestyle": _lifestyle(diabetes=True),
               "tests": {"fbg": fbg, "date": day.isoformat()},
               "adherence": "1", "adverse_reaction": {"present": False}, "hypoglycaemia": "1",
               "classifications": classifications,
               "medicines": [{"name": "缬沙坦胶囊", "times_per_day": 1, "dose": 80, "unit": "mg"},
                             {"name": "盐酸二甲双胍片", "times_per_day": 2, "dose": 500, "unit": "mg"}],
               "next_visit_date": next_visit.isoformat(), "doctor": DOCTOR}
    return {"record_type": "integrated_follow_up", "content": content}


def tcm_record(day: date) -> dict:
    """老年人中医药健康管理服务记录表 with guidance for each constitution the answers identify."""
    judged = judge_constitutions(constitution_scores(TCM_ANSWERS))
    guidance = {name: {"areas": ["1", "2", "4"]} for name, judgment in judged.items() if judgment in IDENTIFIED}
    return {"record_type": "elderly_tcm", "content": {"occurred_on": day.isoformat(), "answers": TCM_ANSWERS,
                                                       "guidance": guidance, "doctor": DOCTOR}}


@dataclass
class Case:
    """One resident of the cast: age, programmes (with the days ago enrolled), and follow-ups."""

    label: str
    age: int
    programmes: tuple[str, ...]
    enrolled_days_ago: int = 200
    records: Callable[[date], list[dict]] = lambda today: []
    archive_no: str | None = None
    filed: list[str] = field(default_factory=list)


def cast() -> list[Case]:
    """The residents and what happened to them, `today` given when their records are made."""
    ago = lambda today, days: today - timedelta(days=days)  # noqa: E731 - a table's shorthand
    return [
        # due this week: satisfactory visits, the next one agreed in 4 days
        Case("due", 62, ("hypertension",), records=lambda t: [
            hypertension_follow_up(ago(t, 170), ago(t, 80), 136, 86, "1"),
            hypertension_follow_up(ago(t, 80), t + timedelta(days=4), 132, 84, "1")]),
        # overdue: the agreed next visit (25 days ago) did not happen
        Case("overdue", 57, ("hypertension",), records=lambda t: [
            hypertension_follow_up(ago(t, 150), ago(t, 60), 138, 88, "1"),
            hypertension_follow_up(ago(t, 60), ago(t, 25), 134, 86, "1")]),
        # a diabetic whose last fasting glucose was unsatisfactory: re-visit within 2 weeks, overdue
        Case("revisit", 53, ("type2_diabetes",), records=lambda t: [
            diabetes_follow_up(ago(t, 130), ago(t, 40), 6.4, "1"),
            diabetes_follow_up(ago(t, 40), ago(t, 26), 9.2, "2")]),
        # two unsatisfactory readings in a row: referral suggested, follow up within 2 weeks
        Case("referral", 66, ("hypertension",), records=lambda t: [
            hypertension_follow_up(ago(t, 110), ago(t, 36), 142, 86, "1"),
            hypertension_follow_up(ago(t, 36), ago(t, 22), 158, 96, "2", symptoms=("2",)),
            hypertension_follow_up(ago(t, 22), ago(t, 8), 162, 98, "2", symptoms=("2",),
                                   referral="连续两次血压控制不满意")]),
        # SBP ≥ 180 at the last visit: urgent referral, at the top of the work list
        Case("urgent", 71, ("hypertension",), records=lambda t: [
            hypertension_follow_up(ago(t, 95), ago(t, 5), 144, 88, "1"),
            hypertension_follow_up(ago(t, 3), t + timedelta(days=11), 186, 112, "2", symptoms=("2",),
                                   referral="血压≥180/110mmHg，紧急转诊")]),
        # both conditions, seen at integrated visits: the next one, in 2 days, is due in both programmes
        Case("integrated", 60, ("hypertension", "type2_diabetes"), records=lambda t: [
            integrated_follow_up(ago(t, 130), ago(t, 45), 134, 82, 6.6, {"hypertension": "1", "type2_diabetes": "1"}),
            integrated_follow_up(ago(t, 45), t + timedelta(days=2), 130, 80, 6.5,
                                 {"hypertension": "1", "type2_diabetes": "1"})]),
        # elderly, enrolled two months ago: the 中医药 service done, the annual check overdue
        Case("elderly", 74, ("elderly",), enrolled_days_ago=60, records=lambda t: [tcm_record(ago(t, 20))]),
        # not enrolled: a hospital's I10 diagnosis makes a suggestion to confirm (published by run_demo)
        Case("suggested", 58, ()),
    ]


def born(age: int, today: date) -> date:
    """A birth date giving `age` completed years today (mid-year, so a leap day never matters)."""
    return date(today.year - age - (1 if today.month < 7 else 0), 6, 15)


def enrol_and_file(http, key: str, cases: list[Case], today: date) -> dict[str, int]:
    """Enrol each registered case and file its records; what was done, counted (a refusal raises:
    the demo's content must be valid)."""
    done = {"enrolled": 0, "follow_ups": 0}
    for case in cases:
        if case.archive_no is None:
            continue
        for programme in case.programmes:
            status, body = http("POST", f"/api/v1/archives/{case.archive_no}/programmes",
                                {"programme": programme,
                                 "enrolled_on": (today - timedelta(days=case.enrolled_days_ago)).isoformat()}, key)
            if status == 409:   # the daily sweep enrolled this elder already
                continue
            if status != 201:
                raise RuntimeError(f"demo enrolment of the {case.label} case in {programme} refused: {status} {body}")
            done["enrolled"] += 1
        for record in case.records(today):
            status, body = http("POST", f"/api/v1/archives/{case.archive_no}/records", record, key)
            if status != 201:
                raise RuntimeError(f"demo {record['record_type']} of the {case.label} case refused: {status} {body}")
            case.filed.append(body["record_id"])
            done["follow_ups"] += 1
    return done


def enrol_elders(http, keys: dict[str, str], archives: dict, births: dict[str, date], today: date) -> int:
    """Enrol the demo's residents who are 65 or more this year in the elderly programme of their
    managing centre (25 days ago, within this year: their first annual services fall due this week)."""
    start = max(date(today.year, 1, 1), today - timedelta(days=25))
    enrolled = 0
    for id_number, (archive_no, manager) in archives.items():
        birth = births.get(id_number)
        if birth is None or today.year - birth.year < 65 or manager not in keys:
            continue
        status, _ = http("POST", f"/api/v1/archives/{archive_no}/programmes",
                         {"programme": "elderly", "enrolled_on": start.isoformat()}, keys[manager])
        enrolled += status == 201
    return enrolled


def wait_for_worklist(http, key: str, cases: list[Case], timeout: float = 20.0) -> dict[str, int]:
    """The centre's work list and suggestions once the programmes service has heard of the filed
    records (it learns of them by events): the counts per status, and suggestions to confirm."""
    urgent_no = next((c.archive_no for c in cases if c.label == "urgent"), None)
    suggested_no = next((c.archive_no for c in cases if c.label == "suggested"), None)
    deadline = time.monotonic() + timeout
    while True:
        _, page = http("GET", "/api/v1/worklist?limit=200", None, key)
        _, suggestions = http("GET", "/api/v1/programme-suggestions?limit=200", None, key)
        items = page.get("items", []) if isinstance(page, dict) else []
        open_ = suggestions.get("items", []) if isinstance(suggestions, dict) else []
        counts = {status: sum(1 for i in items if i["status"] == status) for status in ("urgent", "overdue", "due")}
        counts["to_confirm"] = len(open_)
        ready = any(i["archive_no"] == urgent_no for i in items if i["status"] == "urgent") and \
            any(s["archive_no"] == suggested_no for s in open_)
        if ready or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)
