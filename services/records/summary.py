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
past 365 days. A read model only: which codes and diagnoses make a key population is
`services.records.rules`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.records.forms.common import age_on
from services.records.models import Record, RecordRevision
from services.records.rules import ACTIVE, LABELS, condition_of_diagnosis, condition_of_past_disease, key_populations

DYNAMIC_WINDOW = timedelta(days=365)


def archive_summary(session: Session, archive: dict, now: datetime | None = None) -> dict:
    """The front page of `archive` (as the registry answers it), from its active records."""
    now = now or datetime.now(timezone.utc)
    archive_no = archive["archive_no"]
    rows = session.execute(
        sa.select(Record.record_type, Record.occurred_at, RecordRevision.content)
        .join(RecordRevision, sa.and_(RecordRevision.record_id == Record.id,
                                      RecordRevision.revision == Record.current_revision))
        .where(Record.archive_no == archive_no, Record.status == ACTIVE)
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
                name = condition_of_past_disease(disease.get("code"))
                if name:
                    entry = conditions.setdefault(name, {"code": name, "label": LABELS[name],
                                                         "since": disease.get("diagnosed_on"), "sources": []})
                    entry["sources"].append("personal_info")
        elif record_type == "hospital_encounter":
            for diagnosis in content.get("diagnoses") or []:
                name = condition_of_diagnosis(diagnosis)
                if name:
                    entry = conditions.setdefault(name, {"code": name, "label": LABELS[name],
                                                         "since": None, "sources": []})
                    if "hospital_encounter" not in entry["sources"]:
                        entry["sources"].append("hospital_encounter")
                    entry["since"] = min(filter(None, [entry["since"], occurred_at.strftime("%Y-%m")]))

    birth = date.fromisoformat(archive["birth_date"])
    age = age_on(birth, now.date())
    populations = key_populations(age, conditions)
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
