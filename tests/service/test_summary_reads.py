"""The 首页 read the narrow way (`services.records.summary`: an aggregate for the last services,
the 个人基本信息表 and the latest 健康体检表 whole, the encounters' distinct diagnoses) is the
首页 the archive's standing records give when every one is read whole (`reference_summary`, the
summary as it was computed before). Records are written straight into the records database
(the summary reads, it does not validate): chosen archives, then random ones."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from services.records.forms.resident import age_on
from services.records.models import Record, RecordRevision
from services.records.rules import ACTIVE, ENTERED_IN_ERROR, abnormal_findings, archive_conditions, key_populations
from services.records.standing import standing_records
from services.records.summary import DYNAMIC_WINDOW, archive_summary, insurance_summary
from shared.config import load_settings
from shared.db import make_engine

NOW = datetime(2026, 12, 5, 4, 0, tzinfo=timezone.utc)
NUMBERS = itertools.count(1)


def reference_summary(session: Session, archive: dict, now: datetime) -> dict:
    """The 首页 from every standing record read whole (the summary before it read narrowly)."""
    rows = standing_records(session, archive["archive_no"])
    last_service: dict[str, str] = {}
    for record_type, occurred_at, _, _ in rows:
        last_service.setdefault(record_type, occurred_at.isoformat())
    personal = next((content for record_type, _, content, _ in rows if record_type == "personal_info"), None)
    exam = next(((content, record_id) for record_type, _, content, record_id in rows
                 if record_type == "health_exam"), None)
    conditions = archive_conditions(rows)
    age = age_on(date.fromisoformat(archive["birth_date"]), now.date())
    newest = max((occurred for _, occurred, _, _ in rows), default=None)
    return {
        "archive_no": archive["archive_no"], "age": age,
        "key_populations": key_populations(age, conditions, archive.get("sex")),
        "chronic_conditions": sorted(conditions.values(), key=lambda c: c["code"]),
        "blood_type": (personal or {}).get("blood_type"),
        "drug_allergies": (personal or {}).get("drug_allergies"),
        "drug_allergies_other": (personal or {}).get("drug_allergies_other"),
        "last_exam": exam and {"record_id": exam[1], "occurred_on": exam[0].get("occurred_on"),
                               "abnormal_findings": abnormal_findings(exam[0])},
        "last_service": last_service,
        "dynamic": newest is not None and now - newest <= DYNAMIC_WINDOW,
        "dynamic_since": (now - DYNAMIC_WINDOW).date().isoformat(),
        "insurance": insurance_summary(rows, now),
    }


@pytest.fixture(scope="module")
def records_db(suite_env):
    engine = make_engine(load_settings().database_url_for("records"))
    yield engine
    engine.dispose()


def new_archive(birth_date: str = "1950-04-02", sex: str | None = "1") -> dict:
    return {"archive_no": f"110105777{next(NUMBERS):08d}", "birth_date": birth_date, "sex": sex}


def add(session: Session, archive: dict, record_type: str, at: datetime, *revisions: dict,
        status: str = ACTIVE) -> str:
    """A record of `archive` with its revisions (the last one current)."""
    record_id = str(uuid.uuid4())
    session.add(Record(id=record_id, archive_no=archive["archive_no"], record_type=record_type, status=status,
                       institution_code="B11010500301", occurred_at=at, current_revision=len(revisions)))
    session.flush()
    for number, content in enumerate(revisions, start=1):
        session.add(RecordRevision(record_id=record_id, revision=number, content=content, origin="form",
                                   author="test"))
    session.flush()
    return record_id


def encounter(*codes: str, system: str | None = "ICD-10") -> dict:
    diagnoses = [{"code": code} if system is None else {"system": system, "code": code} for code in codes]
    return {"started_at": "2026-01-01T08:00:00+08:00", "diagnoses": diagnoses, "vital_signs": {"sbp": 150}}


def personal(*diseases: tuple[str, str | None], blood: str = "1", allergies=("2",)) -> dict:
    return {"occurred_on": "2024-03-01", "blood_type": {"abo": blood, "rh": "2"}, "drug_allergies": list(allergies),
            "drug_allergies_other": "头孢" if "5" in allergies else None,
            "past_history": {"diseases": [{"code": code, **({"diagnosed_on": on} if on else {})}
                                          for code, on in diseases]}}


def exam(occurred_on: str, *abnormal: str) -> dict:
    tests = [{"item": item, "result": "2" if item in abnormal else "1", "description": "异常" if item in abnormal
              else None} for item in ("ecg", "chest_xray", "b_ultrasound")]
    return {"occurred_on": occurred_on, "tests": tests + [{"item": "haemoglobin", "value": 130}]}


def at(days_ago: float) -> datetime:
    return NOW - timedelta(days=days_ago)


def same(session: Session, archive: dict) -> dict:
    fast, whole = archive_summary(session, archive, NOW), reference_summary(session, archive, NOW)
    assert fast == whole
    assert list(fast["last_service"]) == list(whole["last_service"])  # newest first, as the page lists them
    return fast


def test_hypertension_from_encounter_diagnoses_since_the_earliest_and_diabetes_folded(records_db):
    with Session(records_db) as session:
        archive = new_archive()
        add(session, archive, "hospital_encounter", at(400), encounter("I10.x01"))
        add(session, archive, "hospital_encounter", at(30), encounter("i10", "E11.9"))
        add(session, archive, "hospital_encounter", at(900), encounter("E14.9"))   # 糖尿病, folded into type 2
        add(session, archive, "hospital_encounter", at(20), encounter("I10", system="ICD-9"))  # another system
        add(session, archive, "hospital_encounter", at(1200), encounter("I15.0", system=None))  # ICD-10 by default
        add(session, archive, "hospital_encounter", at(3000), encounter("J44.1"), status=ENTERED_IN_ERROR)
        add(session, archive, "visit", at(10), {"occurred_on": "2026-11-25"})
        summary = same(session, archive)
        session.rollback()
    assert {c["code"]: c["since"] for c in summary["chronic_conditions"]} == {
        "hypertension": at(400).strftime("%Y-%m"), "type2_diabetes": at(900).strftime("%Y-%m"),
        "secondary_hypertension": at(1200).strftime("%Y-%m")}
    assert {"hypertension", "type2_diabetes"} <= set(summary["key_populations"])
    assert list(summary["last_service"]) == ["visit", "hospital_encounter"] and summary["dynamic"] is True


def test_hypertension_from_the_personal_info_history_as_its_latest_revision_says(records_db):
    with Session(records_db) as session:
        archive = new_archive()
        add(session, archive, "personal_info", at(500),
            personal(("3", "2010-02"), blood="2"),                          # the first revision: diabetes
            personal(("2", "2015-06"), ("4", None), blood="1", allergies=("2", "5")))  # amended
        add(session, archive, "hospital_encounter", at(450), encounter("I11.9"))
        summary = same(session, archive)
        session.rollback()
    assert [(c["code"], c["since"], c["sources"]) for c in summary["chronic_conditions"]] == [
        ("coronary_heart_disease", None, ["personal_info"]),
        ("hypertension", "2015-06", ["hospital_encounter", "personal_info"])]
    assert summary["blood_type"] == {"abo": "1", "rh": "2"}
    assert summary["drug_allergies"] == ["2", "5"] and summary["drug_allergies_other"] == "头孢"
    assert summary["dynamic"] is False


def test_the_latest_standing_exam_with_its_abnormal_findings(records_db):
    with Session(records_db) as session:
        archive = new_archive(sex="2")
        add(session, archive, "health_exam", at(700), exam("2025-01-05", "chest_xray"))
        latest = add(session, archive, "health_exam", at(200), exam("2025-05-19", "ecg"), exam("2025-05-19", "ecg",
                                                                                               "b_ultrasound"))
        add(session, archive, "health_exam", at(100), exam("2025-08-27"), status=ENTERED_IN_ERROR)
        summary = same(session, archive)
        session.rollback()
    assert summary["last_exam"]["record_id"] == latest
    assert [f["item"] for f in summary["last_exam"]["abnormal_findings"]] == ["ecg", "b_ultrasound"]
    assert set(summary["last_service"]) == {"health_exam"}


def test_two_personal_infos_a_merge_brought_and_an_entered_in_error_one(records_db):
    with Session(records_db) as session:
        archive = new_archive(birth_date="1990-01-01")
        add(session, archive, "personal_info", at(100), personal(("5", "2019-03"), blood="3"))
        add(session, archive, "personal_info", at(50), personal(("1", None), blood="4"))
        add(session, archive, "personal_info", at(10), personal(("8", "2001-01"), blood="2"), status=ENTERED_IN_ERROR)
        summary = same(session, archive)
        session.rollback()
    assert summary["blood_type"]["abo"] == "4"
    assert [c["code"] for c in summary["chronic_conditions"]] == ["copd"]


def test_an_archive_without_records(records_db):
    with Session(records_db) as session:
        archive = new_archive(birth_date="2020-02-29", sex=None)
        summary = same(session, archive)
    assert summary["last_service"] == {} and summary["last_exam"] is None and summary["chronic_conditions"] == []


CODES = ["I10", "I13.2", "I15.1", "E11.9", "E14", "F20.0", "A15.3", "A18", "I21", "I63.9", "J44.0", "K29", "", None]
diagnosis = st.fixed_dictionaries({"code": st.sampled_from(CODES)},
                                  optional={"system": st.sampled_from(["ICD-10", "ICD-9", None])})
past = st.tuples(st.sampled_from([str(n) for n in range(1, 14)]),
                 st.sampled_from([None, "1999-09", "2010-01", "2024-12"]))
contents = {
    "hospital_encounter": st.builds(lambda d: {"diagnoses": d}, st.lists(diagnosis, max_size=3)),
    "personal_info": st.builds(lambda d, b: personal(*d, blood=b), st.lists(past, max_size=3),
                               st.sampled_from(["1", "2", "5"])),
    "health_exam": st.builds(lambda a: exam("2025-03-01", *a), st.sets(st.sampled_from(["ecg", "chest_xray"]))),
    "visit": st.just({"occurred_on": "2026-01-01"}),
    "hypertension_follow_up": st.just({"occurred_on": "2026-01-01"}),
}
record = st.sampled_from(sorted(contents)).flatmap(lambda record_type: st.tuples(
    st.just(record_type), st.integers(0, 4000), st.lists(contents[record_type], min_size=1, max_size=2),
    st.sampled_from([ACTIVE, ACTIVE, ENTERED_IN_ERROR])))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(record, max_size=12), born=st.sampled_from(["1940-05-06", "1985-10-10", "2024-01-01"]),
       sex=st.sampled_from(["1", "2", None]))
def test_any_archive_reads_the_same_either_way(records_db, records, born, sex):
    with Session(records_db) as session:
        archive = new_archive(born, sex)
        for record_type, days_ago, revisions, status in records:
            add(session, archive, record_type, at(days_ago + 0.5 * len(revisions)), *revisions, status=status)
        summary = same(session, archive)
        session.rollback()
    json.dumps(summary)  # JSON-ready, as the RPC sends it
