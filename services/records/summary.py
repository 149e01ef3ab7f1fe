"""The archive's front page (首页, 《居民电子健康档案首页基本内容（试行）》2024): what a doctor
sees first, derived from the records, never entered twice.

    {"archive_no": "...", "age": 76,
     "key_populations": ["elderly", "hypertension"],
     "chronic_conditions": [{"code": "hypertension", "label": "高血压", "since": "2015-06",
                             "sources": ["personal_info", "hospital_encounter"]}],
     "blood_type": {"abo": "1", "rh": "2"}, "drug_allergies": ["2"], "drug_allergies_other": null,
     "last_service": {"hospital_encounter": "2026-11-20T...", "visit": "..."},
     "dynamic": true, "dynamic_since": "2025-11-26"}

An archive is "dynamic" (动态使用) when it has a service or a linked medical record within the
past 365 days.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.codes import PastDisease

from services.records.models import Record, RecordRevision

DYNAMIC_WINDOW = timedelta(days=365)

# The programme populations of the service specification, from past-history codes (个人基本信息表)
# and from ICD-10 prefixes of hospital diagnoses.
CONDITIONS = {
    "hypertension": (PastDisease.HYPERTENSION.value, ("I10", "I11", "I12", "I13", "I15")),
    "type2_diabetes": (PastDisease.DIABETES.value, ("E11",)),
    "severe_mental_disorder": (PastDisease.SEVERE_MENTAL_DISORDER.value,
                               ("F20", "F25", "F31", "F06", "F72", "F73")),  # 6 disorders of the programme [M]
    "tuberculosis": (PastDisease.TUBERCULOSIS.value, ("A15", "A16", "A17", "A18", "A19")),
    "coronary_heart_disease": (PastDisease.CORONARY_HEART_DISEASE.value, ("I20", "I21", "I22", "I25")),
    "stroke": (PastDisease.STROKE.value, ("I60", "I61", "I62", "I63", "I64")),
    "copd": (PastDisease.COPD.value, ("J44",)),
}
LABELS = {"hypertension": "高血压", "type2_diabetes": "2型糖尿病", "severe_mental_disorder": "严重精神障碍",
          "tuberculosis": "结核病", "coronary_heart_disease": "冠心病", "stroke": "脑卒中", "copd": "慢性阻塞性肺疾病"}
PROGRAMME_CONDITIONS = ("hypertension", "type2_diabetes", "severe_mental_disorder", "tuberculosis")


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def archive_summary(session: Session, archive: dict, now: datetime | None = None) -> dict:
    now = now or datetime.now(timezone.utc)
    archive_no = archive["archive_no"]
    rows = session.execute(
        sa.select(Record.record_type, Record.occurred_at, RecordRevision.content)
        .join(RecordRevision, sa.and_(RecordRevision.record_id == Record.id,
                                      RecordRevision.revision == Record.current_revision))
        .where(Record.archive_no == archive_no, Record.status == "active")
        .order_by(Record.occurred_at.desc())
    ).all()

    last_service: dict[str, str] = {}
    personal = None
    conditions: dict[str, dict] = {}
    for record_type, occurred_at, content in rows:
        last_service.setdefault(record_type, occurred_at.isoformat())
        if record_type == "personal_info" and personal is None:
            personal = content
            for disease in (content.get("past_history") or {}).get("diseases") or []:
                for name, (code, _) in CONDITIONS.items():
                    if disease.get("code") == code:
                        entry = conditions.setdefault(name, {"code": name, "label": LABELS[name],
                                                             "since": disease.get("diagnosed_on"), "sources": []})
                        entry["sources"].append("personal_info")
        elif record_type == "hospital_encounter":
            for diagnosis in content.get("diagnoses") or []:
                icd = (diagnosis.get("code") or "").upper()
                for name, (_, prefixes) in CONDITIONS.items():
                    if diagnosis.get("system", "ICD-10") == "ICD-10" and icd.startswith(prefixes):
                        entry = conditions.setdefault(name, {"code": name, "label": LABELS[name],
                                                             "since": None, "sources": []})
                        if "hospital_encounter" not in entry["sources"]:
                            entry["sources"].append("hospital_encounter")
                        entry["since"] = min(filter(None, [entry["since"], occurred_at.strftime("%Y-%m")]))

    birth = date.fromisoformat(archive["birth_date"])
    age = _age(birth, now.date())
    populations = [p for p, test in (("children_0_6", age <= 6), ("elderly", age >= 65)) if test]
    populations += [c for c in PROGRAMME_CONDITIONS if c in conditions]
    newest = max((occurred for _, occurred, _ in rows), default=None)
    return {
        "archive_no": archive_no,
        "age": age,
        "key_populations": populations,
        "chronic_conditions": sorted(conditions.values(), key=lambda c: c["code"]),
        "blood_type": (personal or {}).get("blood_type"),
        "drug_allergies": (personal or {}).get("drug_allergies"),
        "drug_allergies_other": (personal or {}).get("drug_allergies_other"),
        "last_service": last_service,
        "dynamic": newest is not None and now - newest <= DYNAMIC_WINDOW,
        "dynamic_since": (now - DYNAMIC_WINDOW).date().isoformat(),
    }
