"""The parts of the 高血压 and 2型糖尿病 follow-up forms (随访服务记录表), shared by the single and
the integrated (多病共管) forms of ``forms.follow_up``: 体征, 生活方式指导, 辅助检查, 用药情况,
胰岛素 and 转诊. A part asked on one programme's form only is a subclass (``DiabetesSigns`` adds
足背动脉搏动, ``HypertensionLifestyle`` 摄盐, ``DiabetesLifestyle`` 主食), and the integrated form
takes both, so nothing is asked twice.

体质指数 is derived from 体重 and 身高 as on the 健康体检表 (``exam_general.derive_bmi``), its
target from 目标体重; a client's own BMI is checked against it. The form prints no 身高, so it is
asked here: without it no BMI is derived and none may be given.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from shared.follow_ups import PedalPulse, PulseSide, Rating, SaltIntake

from .common import LifeDate, Requires, Section, Text, code
from .exam_general import BMI_TOLERANCE, HEIGHT_CM, WEIGHT_KG, BloodPressure, derive_bmi

HEART_RATE = validate.Range(min=20, max=250)
CIGARETTES_PER_DAY = validate.Range(min=0, max=100)          # 支
ALCOHOL_LIANG_PER_DAY = validate.Range(min=0, max=50)        # 两 (50 g)
EXERCISE_PER_WEEK = validate.Range(min=0, max=21)            # 次/周
EXERCISE_MINUTES = validate.Range(min=0, max=600)            # 分钟/次
STAPLE_FOOD_G_PER_DAY = validate.Range(min=0, max=2000)      # 克/天
FBG_MMOL = validate.Range(min=0.5, max=60)                   # mmol/L, as on the 健康体检表
HBA1C_PERCENT = validate.Range(min=2, max=20)
MAX_MEDICINES = 10
# 用法用量 "每日 __ 次，每次 __": the units a dose is written in.
DOSE_UNITS = ("mg", "g", "μg", "ml", "IU", "片", "粒", "袋", "支")


class PedalPulseFinding(Section):
    """足背动脉搏动: ``{"pulse": "2", "side": "2"}`` (减弱, 左侧); 减弱 and 消失 name the side."""

    pulse = code(PedalPulse, required=True)
    side = code(PulseSide, allow_none=True)

    rules = (Requires("side", on="pulse", when=(PedalPulse.WEAKENED, PedalPulse.ABSENT)),)


class Signs(Section):
    """体征: ``{"blood_pressure": {"systolic": 150, "diastolic": 92}, "weight": 70, "target_weight": 65,
    "height": 168, "heart_rate": 78}``; the stored ``bmi`` and ``target_bmi`` are derived. What a
    visit must have measured depends on how it was made (``forms.follow_up``)."""

    blood_pressure = fields.Nested(BloodPressure, allow_none=True)
    weight = fields.Float(allow_none=True, validate=WEIGHT_KG)
    target_weight = fields.Float(allow_none=True, validate=WEIGHT_KG)
    height = fields.Float(allow_none=True, validate=HEIGHT_CM)
    bmi = fields.Float(allow_none=True)
    target_bmi = fields.Float(allow_none=True)
    heart_rate = fields.Integer(allow_none=True, validate=HEART_RATE)
    other = Text(200, allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def _bmi_agrees(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors = {}
        for bmi, weight in (("bmi", "weight"), ("target_bmi", "target_weight")):
            if data.get(bmi) is None:
                continue
            if data.get("height") is None or data.get(weight) is None:
                errors[bmi] = [f"Derived from height and {weight}: give them, or leave it out."]
            elif abs(data[bmi] - derive_bmi(data["height"], data[weight])) > BMI_TOLERANCE + 1e-9:
                errors[bmi] = [f"Disagrees with the BMI derived from height and {weight}."]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _derive_bmi(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        for bmi, weight in (("bmi", "weight"), ("target_bmi", "target_weight")):
            if data.get("height") is not None and data.get(weight) is not None:
                data[bmi] = derive_bmi(data["height"], data[weight])
        return data


class DiabetesSigns(Signs):
    """体征 of the diabetes form: with 足背动脉搏动."""

    dorsalis_pedis = fields.Nested(PedalPulseFinding, allow_none=True)


class Lifestyle(Section):
    """生活方式指导, each now and its target (目标): ``{"smoking": 10, "smoking_target": 5,
    "drinking": 2, "drinking_target": 1, "exercise_per_week": 5, "exercise_minutes": 30,
    "exercise_per_week_target": 7, "exercise_minutes_target": 30, "psychology": "1",
    "compliance": "2"}``. 日吸烟量 in 支, 日饮酒量 in 两; 运动 in times a week and minutes a time
    (minutes are given with a number of times and only then)."""

    smoking = fields.Integer(required=True, validate=CIGARETTES_PER_DAY)
    smoking_target = fields.Integer(allow_none=True, validate=CIGARETTES_PER_DAY)
    drinking = fields.Float(required=True, validate=ALCOHOL_LIANG_PER_DAY)
    drinking_target = fields.Float(allow_none=True, validate=ALCOHOL_LIANG_PER_DAY)
    exercise_per_week = fields.Integer(required=True, validate=EXERCISE_PER_WEEK)
    exercise_minutes = fields.Integer(allow_none=True, validate=EXERCISE_MINUTES)
    exercise_per_week_target = fields.Integer(allow_none=True, validate=EXERCISE_PER_WEEK)
    exercise_minutes_target = fields.Integer(allow_none=True, validate=EXERCISE_MINUTES)
    psychology = code(Rating, required=True)    # 心理调整
    compliance = code(Rating, required=True)    # 遵医行为

    @validates_schema(skip_on_field_errors=False)
    def _minutes_with_times(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors = {}
        for times, minutes in (("exercise_per_week", "exercise_minutes"),
                               ("exercise_per_week_target", "exercise_minutes_target")):
            if times not in data:
                continue  # missing or invalid, and reported
            exercising = bool(data.get(times))
            if exercising and not data.get(minutes):
                errors[minutes] = [f"Required when {times} is above 0."]
            elif not exercising and data.get(minutes):
                errors[minutes] = [f"Not allowed unless {times} is above 0."]
        if errors:
            raise ValidationError(errors)


class HypertensionLifestyle(Lifestyle):
    """With 摄盐情况(咸淡) and its target."""

    salt = code(SaltIntake, required=True)
    salt_target = code(SaltIntake, allow_none=True)


class DiabetesLifestyle(Lifestyle):
    """With 主食 (g a day) and its target."""

    staple_food = fields.Integer(required=True, validate=STAPLE_FOOD_G_PER_DAY)
    staple_food_target = fields.Integer(allow_none=True, validate=STAPLE_FOOD_G_PER_DAY)


class IntegratedLifestyle(HypertensionLifestyle, DiabetesLifestyle):
    """Both programmes' lifestyle items, each asked once."""


class Tests(Section):
    """辅助检查: what was done and its result, with the date it was done (not after the visit:
    ``forms.follow_up``). ``{"description": "尿常规未见异常", "date": "2024-05-20"}``."""

    description = Text(500, allow_none=True)
    date = LifeDate(allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def _dated(self, data: dict[str, Any], **kwargs: Any) -> None:
        results = [name for name in ("description", "fbg", "hba1c") if data.get(name) is not None]
        if results and data.get("date") is None:
            raise ValidationError("Required with a test result.", "date")
        if not results and data.get("date") is not None:
            raise ValidationError("Not allowed without a test result.", "date")


class DiabetesTests(Tests):
    """辅助检查 of the diabetes form: 空腹血糖值 (mmol/L, the day of the visit) and 糖化血红蛋白 (%).
    ``{"fbg": 7.8, "hba1c": 7.2, "date": "2024-05-20"}``: ``date`` is that of the other tests."""

    fbg = fields.Float(allow_none=True, validate=FBG_MMOL)
    hba1c = fields.Float(allow_none=True, validate=HBA1C_PERCENT)


class Medicine(Section):
    """用药情况: ``{"name": "苯磺酸氨氯地平片", "times_per_day": 1, "dose": 5, "unit": "mg"}``."""

    name = Text(100, required=True)
    times_per_day = fields.Integer(required=True, validate=validate.Range(min=1, max=12))
    dose = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False, max=10000))
    unit = fields.Str(required=True, validate=validate.OneOf(DOSE_UNITS))


def medicines() -> fields.List:
    return fields.List(fields.Nested(Medicine), load_default=list,
                       validate=validate.Length(max=MAX_MEDICINES))


class Insulin(Section):
    """胰岛素: ``{"kind": "门冬胰岛素30", "usage": "早餐前12IU、晚餐前10IU皮下注射"}``."""

    kind = Text(100, required=True)     # 种类
    usage = Text(200, required=True)    # 用法和用量


class Referral(Section):
    """转诊: ``{"reason": "血压控制不满意", "institution": "区人民医院", "department": "心内科"}``."""

    reason = Text(500, required=True)
    institution = Text(100, required=True)  # 机构
    department = Text(64, required=True)    # 科别
