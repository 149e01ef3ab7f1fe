"""健康体检表 section 2, 一般状况: vital signs, body measures, BMI and the elderly self-assessments.

BMI is derived from height and weight (kg / m², rounded half-up to one decimal) and always
stored as derived.  A client may send its own ``bmi``; it is rejected if it differs from the
derived one by more than 0.1, which catches a height keyed in metres or a swapped field.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from shared.codes import HealthSelfAssessment, ScreenResult, SelfCareAbility

from .common import Requires, Section, code

BMI_TOLERANCE = 0.1

# Plausible ranges for an examined (not resuscitated) person; they catch unit and keying errors.
TEMPERATURE_C = validate.Range(min=34.0, max=43.0)
PULSE_PER_MIN = validate.Range(min=20, max=250)
RESPIRATION_PER_MIN = validate.Range(min=5, max=80)
SYSTOLIC_MMHG = validate.Range(min=50, max=300)
DIASTOLIC_MMHG = validate.Range(min=20, max=200)
HEIGHT_CM = validate.Range(min=40.0, max=250.0)
WEIGHT_KG = validate.Range(min=2.0, max=350.0)
WAIST_CM = validate.Range(min=30.0, max=250.0)

# 老年人生活自理能力评估表: five items (进餐 5, 梳洗 7, 穿衣 5, 如厕 10, 活动 10), total 0-37 [M].
SELF_CARE_MAX = 37
SELF_CARE_BANDS = {
    SelfCareAbility.INDEPENDENT.value: (0, 3),
    SelfCareAbility.MILDLY_DEPENDENT.value: (4, 8),
    SelfCareAbility.MODERATELY_DEPENDENT.value: (9, 18),
    SelfCareAbility.DEPENDENT.value: (19, SELF_CARE_MAX),
}
# 简易智力状态检查 (MMSE) totals 0-30; the 老年人抑郁评分 is taken as the 30-item GDS, 0-30 [M].
SCREEN_SCORE = validate.Range(min=0, max=30)


def derive_bmi(height_cm: float, weight_kg: float) -> float:
    """``derive_bmi(170, 65) == 22.5``."""
    metres = Decimal(str(height_cm)) / 100
    return float((Decimal(str(weight_kg)) / (metres * metres)).quantize(Decimal("0.1"), ROUND_HALF_UP))


class BloodPressure(Section):
    """One arm, mmHg: ``{"systolic": 128, "diastolic": 82}``."""

    systolic = fields.Integer(required=True, validate=SYSTOLIC_MMHG)
    diastolic = fields.Integer(required=True, validate=DIASTOLIC_MMHG)

    @validates_schema
    def _systolic_above_diastolic(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["systolic"] <= data["diastolic"]:
            raise ValidationError("Must be higher than the diastolic pressure.", "systolic")


class BloodPressures(Section):
    """Left and right arm; the form has both, at least one must be measured."""

    left = fields.Nested(BloodPressure, allow_none=True)
    right = fields.Nested(BloodPressure, allow_none=True)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _one_arm_at_least(self, data: dict[str, Any], original_data: Any, **kwargs: Any) -> None:
        if isinstance(original_data, dict) and not any(original_data.get(arm) for arm in ("left", "right")):
            raise ValidationError("Measure at least one arm.")


class Screen(Section):
    """A rough screen; the full test's total score is recorded only when it is positive."""

    screen = code(ScreenResult, required=True)
    score = fields.Integer(allow_none=True, validate=SCREEN_SCORE)

    rules = (Requires("score", on="screen", when=ScreenResult.POSITIVE),)


class GeneralState(Section):
    """一般状况.  The four self-assessments (for the elderly) are optional here; the form requires
    them from 65 and refuses them below (``HealthExamSchema.resident_rules``)."""

    temperature = fields.Float(required=True, validate=TEMPERATURE_C)
    pulse = fields.Integer(required=True, validate=PULSE_PER_MIN)
    respiratory_rate = fields.Integer(required=True, validate=RESPIRATION_PER_MIN)
    blood_pressure = fields.Nested(BloodPressures, required=True)
    height = fields.Float(required=True, validate=HEIGHT_CM)
    weight = fields.Float(required=True, validate=WEIGHT_KG)
    waist = fields.Float(allow_none=True, validate=WAIST_CM)
    bmi = fields.Float(allow_none=True)
    health_self_assessment = code(HealthSelfAssessment, allow_none=True)
    self_care = code(SelfCareAbility, allow_none=True)
    self_care_score = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=SELF_CARE_MAX))
    cognition = fields.Nested(Screen, allow_none=True)
    emotion = fields.Nested(Screen, allow_none=True)

    rules = (Requires("self_care_score", on="self_care", when=list(SelfCareAbility), required=False),)

    @validates_schema(skip_on_field_errors=False)
    def _bmi_agrees(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("bmi") is None or "height" not in data or "weight" not in data:
            return
        if abs(data["bmi"] - derive_bmi(data["height"], data["weight"])) > BMI_TOLERANCE + 1e-9:
            raise ValidationError("Disagrees with the BMI derived from height and weight.", "bmi")

    @validates_schema(skip_on_field_errors=False)
    def _self_care_band(self, data: dict[str, Any], **kwargs: Any) -> None:
        grade, score = data.get("self_care"), data.get("self_care_score")
        if grade is None or score is None:
            return
        low, high = SELF_CARE_BANDS[grade]
        if not low <= score <= high:
            raise ValidationError("Does not match the score band of self_care.", "self_care_score")

    @post_load
    def _derive_bmi(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["bmi"] = derive_bmi(data["height"], data["weight"])
        return data
