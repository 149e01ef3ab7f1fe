"""The follow-up forms of the hypertension and type 2 diabetes programmes (domain.md §5):
高血压患者随访服务记录表 (``hypertension_follow_up``), 2型糖尿病患者随访服务记录表
(``diabetes_follow_up``) and the integrated visit of a resident with both (多病共管,
``integrated_follow_up``): the shared parts asked once, the diabetes-only parts (足背动脉搏动,
空腹血糖, 主食, 低血糖反应, 胰岛素) added, and one 此次随访分类 per programme.

``occurred_on`` is the 随访日期. Rules beyond each field's own (``forms.follow_up_parts``):

- 症状: 无症状 alone; 其他 needs ``symptoms_other``. 危急情况 (``danger_signs``, the urgent
  signs of ``shared.follow_ups``) only of the form's programmes.
- What a visit must have measured [M]: a face-to-face visit (门诊, 家庭) the blood pressure and
  the weight, and the heart rate (hypertension) or 足背动脉搏动 (diabetes); a 电话 visit
  measures nothing and may record what the resident reports.
- 此次随访分类 [M, domain.md §5]: 1 控制满意 only when the programme's reading was taken and is
  on target (``shared.follow_ups.on_target``, by the resident's age on the visit date) and no
  adverse reaction is recorded; 3 不良反应 only with an adverse reaction recorded.
- The tests' date is not after the visit; the next visit (下次随访日期) is after it and within a
  year.

Whether the resident has the condition is not asked here: the programmes service enrols.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, ClassVar

from marshmallow import ValidationError, fields, validates_schema

from shared.codes import CodeEnum, MedicationAdherence
from shared.follow_ups import (
    DIABETES, FACE_TO_FACE, HYPERTENSION, DangerSign, DiabetesSymptom, FollowUpClassification, Hypoglycaemia,
    HypertensionSymptom, IntegratedSymptom, Readings, VisitMethod, on_target, signs_of,
)

from .common import FormSchema, Presence, Requires, Section, Text, code, code_list
from .follow_up_parts import (
    DiabetesLifestyle, DiabetesSigns, DiabetesTests, HypertensionLifestyle, Insulin, IntegratedLifestyle, Referral,
    Signs, Tests, medicines,
)

NEXT_VISIT_WITHIN = timedelta(days=366)


def readings_of(content: Mapping[str, Any]) -> Readings:
    """The readings a follow-up recorded (loaded or stored content)."""
    signs = content.get("signs") or {}
    pressure = signs.get("blood_pressure") or {}
    return Readings(sbp=pressure.get("systolic"), dbp=pressure.get("diastolic"),
                    fbg=(content.get("tests") or {}).get("fbg"), heart_rate=signs.get("heart_rate"))


def _measured(data: Mapping[str, Any], original: Any, paths: tuple[str, ...]) -> dict[str, Any]:
    """Errors for the ``signs`` items a face-to-face visit left out (not those given but invalid,
    which are reported already)."""
    given = original.get("signs") if isinstance(original, Mapping) else None
    if data.get("method") not in FACE_TO_FACE or not isinstance(data.get("signs"), Mapping) \
            or not isinstance(given, Mapping):
        return {}
    missing = {path: ["Required at a face-to-face visit (门诊 or 家庭)."]
               for path in paths if data["signs"].get(path) is None and given.get(path) is None}
    return {"signs": missing} if missing else {}


def classification_error(programme: str, classification: str | None, data: Mapping[str, Any],
                         age: int | None) -> str | None:
    """Why this 此次随访分类 cannot stand for the visit, or None."""
    adverse = (data.get("adverse_reaction") or {}).get("present") is True
    if classification == FollowUpClassification.SATISFACTORY.value:
        reached = on_target(programme, readings_of(data), age)
        if reached is None:
            reading = "blood pressure" if programme == HYPERTENSION else "fasting glucose (tests.fbg)"
            return f"控制满意 (1) needs the {reading} measured."
        if not reached:
            return "控制满意 (1) needs the reading on target (shared.follow_ups)."
        if adverse:
            return "控制满意 (1) is not allowed with an adverse reaction; choose 不良反应 (3)."
    if classification == FollowUpClassification.ADVERSE_REACTION.value and not adverse:
        return "不良反应 (3) needs adverse_reaction.present."
    return None


class FollowUpForm(FormSchema):
    """What every follow-up form asks; each form adds its symptoms, parts and classification."""

    programmes: ClassVar[tuple[str, ...]] = ()
    symptom_table: ClassVar[type[CodeEnum]]
    measured_face_to_face: ClassVar[tuple[str, ...]] = ("blood_pressure", "weight")

    method = code(VisitMethod, required=True)                        # 随访方式
    symptoms_other = Text(200, allow_none=True)
    danger_signs = code_list(DangerSign, at_least=0, load_default=list)  # 危急情况
    adherence = code(MedicationAdherence, required=True)             # 服药依从性
    adverse_reaction = fields.Nested(Presence, required=True)        # 药物不良反应
    medicines = medicines()                                          # 用药情况
    referral = fields.Nested(Referral, allow_none=True)              # 转诊
    next_visit_date = fields.Date(required=True)                     # 下次随访日期
    doctor = Text(64, allow_none=True)                               # 随访医生签名

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _visit_rules(self, data: dict[str, Any], original_data: Any, **kwargs: Any) -> None:
        errors: dict[str, Any] = _measured(data, original_data, self.measured_face_to_face)
        visit = data.get("occurred_on")
        if isinstance(visit, date):
            following = data.get("next_visit_date")
            if following is not None and following <= visit:
                errors["next_visit_date"] = ["Must be after the visit date (occurred_on)."]
            elif following is not None and following > visit + NEXT_VISIT_WITHIN:
                errors["next_visit_date"] = ["Must be within a year of the visit date."]
            tested = (data.get("tests") or {}).get("date")
            if tested is not None and tested > visit:
                errors["tests"] = {"date": ["Must not be after the visit date (occurred_on)."]}
        allowed = signs_of(self.programmes)
        foreign = [code for code in data.get("danger_signs") or [] if code not in allowed]
        if foreign:
            errors["danger_signs"] = [f"Not a sign of this form's programmes: {', '.join(foreign)}."]
        errors.update(self._classification_errors(data))
        if errors:
            raise ValidationError(errors)

    def _classification_errors(self, data: dict[str, Any]) -> dict[str, Any]:
        age = self.resident.age_on(data.get("occurred_on"))
        message = classification_error(self.programmes[0], data.get("classification"), data, age)
        return {"classification": [message]} if message else {}


class HypertensionFollowUpSchema(FollowUpForm):
    """record_type ``hypertension_follow_up``: 高血压患者随访服务记录表. Example::

        {"occurred_on": "2024-05-20", "method": "1", "symptoms": ["2"],
         "signs": {"blood_pressure": {"systolic": 150, "diastolic": 92}, "weight": 70,
                   "target_weight": 65, "height": 168, "heart_rate": 78},
         "lifestyle": {"smoking": 10, "smoking_target": 5, "drinking": 2, "drinking_target": 1,
                       "exercise_per_week": 3, "exercise_minutes": 30, "exercise_per_week_target": 5,
                       "exercise_minutes_target": 30, "salt": "3", "salt_target": "2",
                       "psychology": "1", "compliance": "2"},
         "tests": {"description": "心电图未见异常", "date": "2024-05-20"},
         "adherence": "2", "adverse_reaction": {"present": false}, "classification": "2",
         "medicines": [{"name": "苯磺酸氨氯地平片", "times_per_day": 1, "dose": 5, "unit": "mg"}],
         "next_visit_date": "2024-06-03", "doctor": "李医生"}

    The stored ``signs.bmi`` (24.8) and ``signs.target_bmi`` (23.0) are derived.
    """

    programmes = (HYPERTENSION,)
    symptom_table = HypertensionSymptom
    measured_face_to_face = ("blood_pressure", "weight", "heart_rate")

    symptoms = code_list(HypertensionSymptom, alone=HypertensionSymptom.NONE, required=True)
    signs = fields.Nested(Signs, required=True)
    lifestyle = fields.Nested(HypertensionLifestyle, required=True)
    tests = fields.Nested(Tests, allow_none=True)
    classification = code(FollowUpClassification, required=True)

    rules = (Requires("symptoms_other", on="symptoms", when=HypertensionSymptom.OTHER),)


class DiabetesFollowUpSchema(FollowUpForm):
    """record_type ``diabetes_follow_up``: 2型糖尿病患者随访服务记录表. Example::

        {"occurred_on": "2024-05-20", "method": "2", "symptoms": ["2", "4"],
         "signs": {"blood_pressure": {"systolic": 132, "diastolic": 80}, "weight": 66, "height": 165,
                   "dorsalis_pedis": {"pulse": "2", "side": "2"}},
         "lifestyle": {"smoking": 0, "drinking": 0, "exercise_per_week": 7, "exercise_minutes": 40,
                       "staple_food": 300, "staple_food_target": 250, "psychology": "1", "compliance": "1"},
         "tests": {"fbg": 8.1, "hba1c": 7.4, "date": "2024-05-20"},
         "adherence": "1", "adverse_reaction": {"present": false}, "hypoglycaemia": "1",
         "classification": "2",
         "medicines": [{"name": "盐酸二甲双胍片", "times_per_day": 3, "dose": 500, "unit": "mg"}],
         "insulin": {"kind": "甘精胰岛素", "usage": "睡前10IU皮下注射"},
         "next_visit_date": "2024-06-03", "doctor": "李医生"}
    """

    programmes = (DIABETES,)
    symptom_table = DiabetesSymptom
    measured_face_to_face = ("blood_pressure", "weight", "dorsalis_pedis")

    symptoms = code_list(DiabetesSymptom, alone=DiabetesSymptom.NONE, required=True)
    signs = fields.Nested(DiabetesSigns, required=True)
    lifestyle = fields.Nested(DiabetesLifestyle, required=True)
    tests = fields.Nested(DiabetesTests, allow_none=True)
    hypoglycaemia = code(Hypoglycaemia, required=True)                # 低血糖反应
    classification = code(FollowUpClassification, required=True)
    insulin = fields.Nested(Insulin, allow_none=True)

    rules = (Requires("symptoms_other", on="symptoms", when=DiabetesSymptom.OTHER),)


class Classifications(Section):
    """此次随访分类 of each programme of an integrated visit: ``{"hypertension": "1", "type2_diabetes": "2"}``."""

    hypertension = code(FollowUpClassification, required=True)
    type2_diabetes = code(FollowUpClassification, required=True)


class IntegratedSigns(DiabetesSigns):
    """体征 of both forms (the diabetes form's, which has all the hypertension form's)."""


class IntegratedFollowUpSchema(FollowUpForm):
    """record_type ``integrated_follow_up``: one visit of a resident with hypertension and type 2
    diabetes (多病共管), a follow-up of each programme. The diabetes form's fields plus 心率 and
    摄盐, the symptoms of both lists (``IntegratedSymptom``), and ``classifications`` instead of
    ``classification``. Example::

        {"occurred_on": "2024-05-20", "method": "1", "symptoms": ["1"],
         "signs": {"blood_pressure": {"systolic": 136, "diastolic": 84}, "weight": 72, "height": 170,
                   "heart_rate": 76, "dorsalis_pedis": {"pulse": "1"}},
         "lifestyle": {"smoking": 0, "drinking": 0, "exercise_per_week": 5, "exercise_minutes": 30,
                       "salt": "2", "salt_target": "1", "staple_food": 250,
                       "psychology": "1", "compliance": "1"},
         "tests": {"fbg": 6.4, "date": "2024-05-20"},
         "adherence": "1", "adverse_reaction": {"present": false}, "hypoglycaemia": "1",
         "classifications": {"hypertension": "1", "type2_diabetes": "1"},
         "medicines": [{"name": "缬沙坦胶囊", "times_per_day": 1, "dose": 80, "unit": "mg"}],
         "next_visit_date": "2024-08-18"}
    """

    programmes = (HYPERTENSION, DIABETES)
    symptom_table = IntegratedSymptom
    measured_face_to_face = ("blood_pressure", "weight", "heart_rate", "dorsalis_pedis")

    symptoms = code_list(IntegratedSymptom, alone=IntegratedSymptom.NONE, required=True)
    signs = fields.Nested(IntegratedSigns, required=True)
    lifestyle = fields.Nested(IntegratedLifestyle, required=True)
    tests = fields.Nested(DiabetesTests, allow_none=True)
    hypoglycaemia = code(Hypoglycaemia, required=True)
    classifications = fields.Nested(Classifications, required=True)
    insulin = fields.Nested(Insulin, allow_none=True)

    rules = (Requires("symptoms_other", on="symptoms", when=IntegratedSymptom.OTHER),)

    def _classification_errors(self, data: dict[str, Any]) -> dict[str, Any]:
        age = self.resident.age_on(data.get("occurred_on"))
        chosen = data.get("classifications") or {}
        errors = {programme: [message] for programme in self.programmes
                  if (message := classification_error(programme, chosen.get(programme), data, age))}
        return {"classifications": errors} if errors else {}
