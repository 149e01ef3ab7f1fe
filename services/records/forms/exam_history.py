"""健康体检表 sections 7-12: current problems, hospital care, medicines, vaccinations,
assessment and guidance."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from shared.codes import (
    CerebrovascularDisease,
    EyeDisease,
    HealthAssessment,
    HealthGuidance,
    HeartDisease,
    KidneyDisease,
    MedicationAdherence,
    RiskFactorControl,
    VascularDisease,
)

from .common import LifeDate, Presence, Requires, Section, Text, code, code_list

OTHER_TEXT = 100
MAX_ROWS = 30
MAX_ABNORMALITIES = 10  # the paper has four lines; the electronic record allows a few more


class HealthProblems(Section):
    """现存主要健康问题; each disease group is 未发现 (1) alone or its conditions."""

    cerebrovascular = code_list(CerebrovascularDisease, alone=CerebrovascularDisease.NONE_FOUND, required=True)
    cerebrovascular_other = Text(OTHER_TEXT, allow_none=True)
    kidney = code_list(KidneyDisease, alone=KidneyDisease.NONE_FOUND, required=True)
    kidney_other = Text(OTHER_TEXT, allow_none=True)
    heart = code_list(HeartDisease, alone=HeartDisease.NONE_FOUND, required=True)
    heart_other = Text(OTHER_TEXT, allow_none=True)
    vascular = code_list(VascularDisease, alone=VascularDisease.NONE_FOUND, required=True)
    vascular_other = Text(OTHER_TEXT, allow_none=True)
    eye = code_list(EyeDisease, alone=EyeDisease.NONE_FOUND, required=True)
    eye_other = Text(OTHER_TEXT, allow_none=True)
    nervous_system = fields.Nested(Presence, required=True)
    other_systems = fields.Nested(Presence, required=True)

    rules = (
        Requires("cerebrovascular_other", on="cerebrovascular", when=CerebrovascularDisease.OTHER),
        Requires("kidney_other", on="kidney", when=KidneyDisease.OTHER),
        Requires("heart_other", on="heart", when=HeartDisease.OTHER),
        Requires("vascular_other", on="vascular", when=VascularDisease.OTHER),
        Requires("eye_other", on="eye", when=EyeDisease.OTHER),
    )


class Stay(Section):
    """A 住院史 row, or a 家庭病床史 row (admitted_on = 建床, discharged_on = 撤床), of the year
    before the exam (the form's ``InLastYear`` rules).

    ``{"admitted_on": "2023-11-02", "discharged_on": "2023-11-12", "reason": "肺炎",
    "institution": "县人民医院", "record_no": "ZY2023-1102"}``; no discharge date while ongoing.
    """

    admitted_on = LifeDate(required=True)
    discharged_on = LifeDate(allow_none=True)
    reason = Text(200, required=True)
    institution = Text(100, required=True)
    record_no = Text(50, allow_none=True)

    @validates_schema
    def _discharged_after_admission(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("discharged_on") is not None and data["discharged_on"] < data["admitted_on"]:
            raise ValidationError("Must not be before admitted_on.", "discharged_on")


class Medication(Section):
    """``{"drug": "硝苯地平缓释片", "usage": "口服", "dose": "20mg bid", "duration": "3年", "adherence": "1"}``."""

    drug = Text(100, required=True)
    usage = Text(50, required=True)
    dose = Text(50, required=True)
    duration = Text(50, allow_none=True)
    adherence = code(MedicationAdherence, required=True)


class Vaccination(Section):
    """非免疫规划预防接种史: ``{"name": "流感疫苗", "date": "2023-10-08", "institution": "社区卫生服务中心"}``."""

    name = Text(100, required=True)
    date = LifeDate(required=True)
    institution = Text(100, required=True)


class Assessment(Section):
    """健康评价: ``{"result": "2", "abnormalities": ["血压偏高"]}``."""

    result = code(HealthAssessment, required=True)
    abnormalities = fields.List(Text(200), allow_none=True,
                                validate=validate.Length(max=MAX_ABNORMALITIES))

    rules = (Requires("abnormalities", on="result", when=HealthAssessment.ABNORMAL),)


class Guidance(Section):
    """健康指导; either list may be empty.  5 减体重 carries the target weight, 6 the vaccine."""

    codes = code_list(HealthGuidance, at_least=0, required=True)
    risk_factors = code_list(RiskFactorControl, at_least=0, required=True)
    target_weight_kg = fields.Float(allow_none=True, validate=validate.Range(min=10, max=300))
    vaccine = Text(OTHER_TEXT, allow_none=True)
    risk_factors_other = Text(200, allow_none=True)

    rules = (
        Requires("target_weight_kg", on="risk_factors", when=RiskFactorControl.LOSE_WEIGHT),
        Requires("vaccine", on="risk_factors", when=RiskFactorControl.VACCINATION),
        Requires("risk_factors_other", on="risk_factors", when=RiskFactorControl.OTHER),
    )


def rows(entry: type[Section]) -> fields.List:
    """A repeatable table of the form; an empty list (or leaving it out) records 无."""
    return fields.List(fields.Nested(entry), allow_none=True, validate=validate.Length(max=MAX_ROWS))
