"""The archive's front page (首页, 《居民电子健康档案首页基本内容（试行）》2024): what a doctor
sees first, derived from the records, never entered twice.

    {"archive_no": "...", "age": 76,
     "key_populations": ["elderly", "hypertension"],
     "chronic_conditions": [{"code": "hypertension", "label": "高血压", "since": "2015-06",
                             "sources": ["hospital_encounter", "personal_info"]}],
     "blood_type": {"abo": "1", "rh": "2"}, "drug_allergies": ["2"], "drug_allergies_other": null,
     "last_exam": {"record_id": "8f3e...", "occurred_on": "2026-11-01",
                   "abnormal_findings": [{"item": "ecg", "label": "心电图", "description": "ST段压低"}]},
     "last_service": {"hospital_encounter": "2026-11-20T...", "visit": "..."},
     "dynamic": true, "dynamic_since": "2025-11-26",
     "insurance": {"settlements": 3, "total": "1523.40", "out_of_pocket": "312.80", "since": "2025-11-26",
                   "last_settled_at": "2026-11-26T10:15:00+08:00", "last_institution_code": "H3301020001",
                   "last_type": "outpatient", "last_insurance_type": "1"}}

`insurance` sums the insurer's settlements (`insurance_settlement` records, their current
revisions) of the past 12 months (the dynamic window): how many, the total and out-of-pocket
amounts in yuan, and the last one's date, institution visited and type; null when the archive
holds no settlement at all.

An archive is "dynamic" (动态使用) when it has a service or a linked medical record within the
past 365 days. A read model only: which codes and diagnoses make a condition and a key population
(`shared.key_populations`), and which exam results are abnormal, are `services.records.rules`.

Each part reads only what it needs (`services.records.standing`), not every record's content:
the last service per type by one aggregate, the 个人基本信息表 (one, or two a merge brought) and
the latest 健康体检表 whole, and of the hospital encounters only their distinct diagnoses with the
earliest time of each. The answer is the one the archive's standing records read whole would give
(tests/service/test_summary_reads.py holds it to that). A new part is one more small query here.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy.orm import Session

from services.records.forms.resident import age_on
from services.records.rules import abnormal_findings, archive_conditions, key_populations
from services.records.standing import encounter_diagnoses, last_services, standing_records

DYNAMIC_WINDOW = timedelta(days=365)


def archive_summary(session: Session, archive: dict, now: datetime | None = None) -> dict:
    """The front page of `archive` (its `archive_no`, `birth_date` and `sex`, as the registry
    answers them), from its standing records."""
    now = now or datetime.now(timezone.utc)
    archive_no = archive["archive_no"]

    last_service = last_services(session, archive_no)
    personal_infos = standing_records(session, archive_no, ("personal_info",))
    personal = personal_infos[0][2] if personal_infos else None
    exams = standing_records(session, archive_no, ("health_exam",), limit=1)
    conditions = archive_conditions(personal_infos + encounter_diagnoses(session, archive_no))

    age = age_on(date.fromisoformat(archive["birth_date"]), now.date())
    newest = max(last_service.values(), default=None)
    return {
        "archive_no": archive_no,
        "age": age,
        "key_populations": key_populations(age, conditions, archive.get("sex")),
        "chronic_conditions": sorted(conditions.values(), key=lambda c: c["code"]),
        "blood_type": (personal or {}).get("blood_type"),
        "drug_allergies": (personal or {}).get("drug_allergies"),
        "drug_allergies_other": (personal or {}).get("drug_allergies_other"),
        "last_exam": _last_exam(exams),
        "last_service": {record_type: at.isoformat() for record_type, at in last_service.items()},
        "dynamic": newest is not None and now - newest <= DYNAMIC_WINDOW,
        "dynamic_since": (now - DYNAMIC_WINDOW).date().isoformat(),
        "insurance": insurance_summary(standing_records(session, archive_no, ("insurance_settlement",)), now),
    }


def insurance_summary(rows, now: datetime) -> dict | None:
    """The insurer's settlements of the past 12 months (see the module doc), from the standing
    records (newest first); None without any settlement."""
    settlements = [(occurred_at, content) for record_type, occurred_at, content, _ in rows
                   if record_type == "insurance_settlement"]
    if not settlements:
        return None
    since = now - DYNAMIC_WINDOW
    recent = [content for occurred_at, content in settlements if occurred_at >= since]
    amounts = [content.get("amounts") or {} for content in recent]
    last_at, last = settlements[0]
    return {
        "settlements": len(recent),
        "total": str(sum((Decimal(str(a.get("total") or 0)) for a in amounts), Decimal("0.00"))),
        "out_of_pocket": str(sum((Decimal(str(a.get("out_of_pocket") or 0)) for a in amounts), Decimal("0.00"))),
        "since": since.date().isoformat(),
        "last_settled_at": last.get("settled_at") or last_at.isoformat(),
        "last_institution_code": last.get("institution_code"),
        "last_type": last.get("type"),
        "last_insurance_type": last.get("insurance_type"),
    }


def _last_exam(exams: list) -> dict | None:
    if not exams:
        return None
    _, _, content, record_id = exams[0]
    return {"record_id": record_id, "occurred_on": content.get("occurred_on"),
            "abnormal_findings": abnormal_findings(content)}
