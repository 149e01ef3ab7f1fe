"""Realistic inputs of the document builders: a synthetic resident (ehr/synthetic.py) and each
buildable source's content as the records service stores it (the forms' complete examples, loaded
through services.records.forms.validate_form, and a synthetic hospital encounter)."""

from __future__ import annotations

from datetime import date, datetime

from ehr.synthetic import CST, Synthesizer
from services.records.forms import validate_form
from services.sync.documents import Author, DocumentInput, Institution, Patient
from shared.contracts.encounter import load_encounter
from tests.unit.test_follow_up_forms import diabetes, hypertension, integrated
from tests.unit.test_forms import consultation, health_exam, personal_info

TODAY = date(2024, 6, 1)
VILLAGE = "110105003001"
CENTRE = Institution("C1101050031", "呼家楼社区卫生服务中心")
AUTHOR = Author("doc01", CENTRE, "李医生")

REFERRAL_OUT = {"occurred_on": "2024-05-12", "referral_id": 7, "urgency": "urgent",
                "from_institution": "C1101050031", "from_doctor": "李医生", "to_institution": "H1101050001",
                "to_department": "心内科", "impression": "高血压3级，血压控制不佳",
                "present_illness": "头晕一周，血压180/110 mmHg", "past_history": "高血压10年",
                "treatment": "氨氯地平5mg qd"}
REFERRAL_BACK = {"occurred_on": "2024-05-25", "referral_id": 7, "from_institution": "H1101050001",
                 "doctor": "王医生", "to_institution": "C1101050031", "diagnosis": "原发性高血压3级",
                 "findings": "心电图左室高电压", "treatment": "调整为氨氯地平+缬沙坦",
                 "plan": "社区每两周随访血压"}


def resident(seed: int = 14) -> Patient:
    person = Synthesizer(seed).resident(VILLAGE, CENTRE.code, born=date(1950, 6, 15), sex="2")
    return Patient(archive_no="11010500300100001", name=person.name, sex=person.sex, birth_date=person.birth_date,
                   id_type="01", id_number=person.id_number, health_card_no="H0000123456789",
                   ethnicity="01", current_address="北京市朝阳区呼家楼北街3号院2-301", phone=person.phone,
                   village_code=VILLAGE)


def _form(record_type: str, content: dict) -> dict:
    return validate_form(record_type, content, birth_date=date(1950, 6, 15), today=TODAY, sex="2",
                         village_code=VILLAGE)


def encounter_content(kind: str = "outpatient") -> dict:
    synth = Synthesizer(14)
    person = synth.resident(VILLAGE, CENTRE.code, born=date(1950, 6, 15), sex="2")
    body = synth.encounter(person, "H1101050001", kind=kind, started_at=datetime(2024, 5, 20, 9, 30, tzinfo=CST))
    body["encounter"]["results"] = [{"code": "GLU", "name": "葡萄糖", "value": "7.8", "unit": "mmol/L",
                                     "abnormal_flag": "H"}]
    return load_encounter(body).content


def archive_content() -> dict:
    return {"archive_no": "11010500300100001", "residence_type": "1", "ethnicity": "01", "archive_date": "2024-03-01",
            "responsible_doctor": "doc01", "registered_address": "同现住址", "employer": "退休（原北京第一机床厂）",
            "contact_name": "李建国", "contact_phone": "13900000000",
            "personal_info": _form("personal_info", personal_info())}


def sources() -> dict[str, tuple[str, dict]]:
    """type code -> (source, content) for every type the suite builds."""
    return {
        "HSDA00.01": ("archive", archive_content()),
        "HSDC00.01": ("health_exam", _form("health_exam", health_exam())),
        "HSDC00.02": ("hospital_encounter", encounter_content("outpatient")),
        "HSDC00.03": ("hospital_encounter", encounter_content("inpatient_discharge")),
        "HSDC00.04": ("consultation", _form("consultation", consultation())),
        "HSDC00.05": ("referral_out", _form("referral_out", REFERRAL_OUT)),
        "HSDB04.01": ("hypertension_follow_up", _form("hypertension_follow_up", hypertension())),
        "HSDB04.02": ("diabetes_follow_up", _form("diabetes_follow_up", diabetes())),
    }


def integrated_content() -> dict:
    """An integrated visit (多病共管) whose programmes are classified apart: hypertension 控制满意,
    diabetes 控制不满意 (fasting glucose 7.5)."""
    return _form("integrated_follow_up", integrated(
        tests={"fbg": 7.5, "date": "2024-05-20"}, classifications={"hypertension": "1", "type2_diabetes": "2"},
        symptoms=["2", "10"], medicines=[{"name": "缬沙坦胶囊", "times_per_day": 1, "dose": 80, "unit": "mg"},
                                         {"name": "盐酸二甲双胍片", "times_per_day": 2, "dose": 500, "unit": "mg"}]))


def document(type_code: str, source: str, content: dict, version: int = 1, patient: Patient | None = None,
             **extra) -> DocumentInput:
    set_id = "archive:11010500300100001" if source == "archive" else f"record:{type_code.lower()}-0001"
    return DocumentInput(type_code=type_code, set_id=set_id, version=version, patient=patient or resident(),
                         custodian=CENTRE, author=AUTHOR, effective_time=datetime(2024, 5, 20, 10, 15, tzinfo=CST),
                         source=source, content=content,
                         replaces=f"{set_id}:v{version - 1}" if version > 1 else None, **extra)
