"""健康体检表 (domain.md §4): the twelve sections, assembled from the ``exam_*`` modules.

Sections 1 (症状), 2 (一般状况) and 11 (健康评价) are required; the others may be left out
when they were not done.  BMI is always derived from height and weight; a client BMI that
disagrees by more than 0.1 is rejected (see ``exam_general``).

Who is asked what (``resident_rules``, see ``forms.resident``; ages on the exam date):

- the elderly items of 一般状况 (健康状态自我评估, 生活自理能力 and its score, 认知功能, 情感状态):
  required at 65 and over, refused below;
- 乳腺 and 妇科: women only; 肛门指诊's 前列腺异常 (4): men only (the form has no other
  前列腺 item); a resident whose sex is 0 未知 or 9 未说明 is refused neither;
- 足背动脉搏动: required for residents with diabetes, once 查体 is given.  The form has no
  diabetes item of its own, so the archive says it: the service passes the conditions its
  records name (既往史 3 糖尿病 of the 个人基本信息表, hospital diagnoses E11 and E14,
  ``services.records.rules.archive_conditions``), and the exam itself adds 糖尿病肾病 under
  现存主要健康问题 (a diabetic kidney means diabetes).  A raised 空腹血糖 is a finding to
  follow up, not a diagnosis: it requires nothing;
- 住院史, 家庭病床史 and 非免疫规划预防接种史: "最近1年内", the 365 days up to the exam date.
  主要用药情况 has no date on the form, so its window is the clinician's to keep.

辅助检查's coded results (``exam_tests``): a result still in its former free-text shape is
refused unless the revision being amended (``previous``) holds the same one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, fields, validates_schema

from shared.codes import DigitalRectalExam, KidneyDisease, Symptom
from shared.key_populations import DIABETES

from .common import FormSchema, Requires, Text, code_list
from .exam_findings import OrganFunction, PhysicalExam
from .exam_general import GeneralState
from .exam_history import Assessment, Guidance, HealthProblems, Medication, Stay, Vaccination, rows
from .exam_lifestyle import Lifestyle
from .exam_tests import exam_results, uncoded
from .resident import ELDERLY, MEN, WOMEN, Asked, Group, InLastYear, Resident


def _diabetic(resident: Resident, form: Mapping[str, Any]) -> bool:
    kidney = (form.get("health_problems") or {}).get("kidney") or []
    return bool(resident.conditions & DIABETES) or KidneyDisease.DIABETIC_NEPHROPATHY.value in kidney


DIABETIC = Group("residents with diabetes", _diabetic)
ELDERLY_ITEMS = ("health_self_assessment", "self_care", "cognition", "emotion")


class HealthExamSchema(FormSchema):
    """record_type ``health_exam``: 健康体检表; ``occurred_on`` is the 体检日期.  Example::

        {"occurred_on": "2024-05-10", "responsible_doctor": "李医生",
         "symptoms": ["3", "25"], "symptoms_other": "失眠",
         "general": {"temperature": 36.5, "pulse": 72, "respiratory_rate": 18,
                     "blood_pressure": {"left": {"systolic": 128, "diastolic": 82}},
                     "height": 170, "weight": 65, "waist": 82,
                     "health_self_assessment": "2", "self_care": "1", "self_care_score": 0,
                     "cognition": {"screen": "1"}, "emotion": {"screen": "2", "score": 12}},
         "tests": [{"item": "fasting_glucose", "value": 5.6, "unit": "mmol/L"},
                   {"item": "urine_protein", "value": "-"},
                   {"item": "ecg", "result": "2", "description": "ST段压低"}],
         "medications": [{"drug": "硝苯地平缓释片", "usage": "口服", "dose": "20mg bid",
                          "adherence": "1"}],
         "assessment": {"result": "2", "abnormalities": ["血压偏高"]},
         "guidance": {"codes": ["1"], "risk_factors": ["5"], "target_weight_kg": 62}}

    and so on for lifestyle, organ_function, physical_exam, health_problems, hospital_stays,
    home_sickbeds and vaccinations (see their sections).  The stored ``general.bmi`` is 22.5.
    """

    responsible_doctor = Text(64, required=True)
    symptoms = code_list(Symptom, alone=Symptom.NONE, required=True)
    symptoms_other = Text(200, allow_none=True)
    general = fields.Nested(GeneralState, required=True)
    lifestyle = fields.Nested(Lifestyle, allow_none=True)
    organ_function = fields.Nested(OrganFunction, allow_none=True)
    physical_exam = fields.Nested(PhysicalExam, allow_none=True)
    tests = exam_results(allow_none=True)
    health_problems = fields.Nested(HealthProblems, allow_none=True)
    hospital_stays = rows(Stay)
    home_sickbeds = rows(Stay)
    medications = rows(Medication)
    vaccinations = rows(Vaccination)
    assessment = fields.Nested(Assessment, required=True)
    guidance = fields.Nested(Guidance, allow_none=True)

    rules = (Requires("symptoms_other", on="symptoms", when=Symptom.OTHER),)
    resident_rules = (
        *(Asked(f"general.{item}", of=ELDERLY, required=True) for item in ELDERLY_ITEMS),
        Asked("general.self_care_score", of=ELDERLY),
        Asked("physical_exam.breast", of=WOMEN),
        Asked("physical_exam.gynaecology", of=WOMEN),
        Asked("physical_exam.digital_rectal", of=MEN, code=DigitalRectalExam.PROSTATE_ABNORMAL),
        Asked("physical_exam.dorsalis_pedis", of=DIABETIC, required=True, only=False),
        InLastYear("hospital_stays", start="admitted_on", end="discharged_on"),
        InLastYear("home_sickbeds", start="admitted_on", end="discharged_on"),
        InLastYear("vaccinations", start="date"),
    )

    @validates_schema(skip_on_field_errors=False)
    def _results_coded(self, data: dict[str, Any], **kwargs: Any) -> None:
        kept = [(r.get("item"), r.get("value")) for r in (self.previous or {}).get("tests") or [] if uncoded(r)]
        errors = {index: {"value": ["Code it: give result (1 正常, 2 异常) and description; free text alone "
                                    "is kept only on results filed before they were coded."]}
                  for index, result in enumerate(data.get("tests") or [])
                  if uncoded(result) and (result["item"], result["value"]) not in kept}
        if errors:
            raise ValidationError({"tests": errors})
