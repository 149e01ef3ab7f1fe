"""健康体检表 (domain.md §4): the twelve sections, assembled from the ``exam_*`` modules.

Sections 1 (症状), 2 (一般状况) and 11 (健康评价) are required; the others may be left out
when they were not done (the starred items apply only to some groups).  BMI is always derived
from height and weight; a client BMI that disagrees by more than 0.1 is rejected
(see ``exam_general``).
"""

from __future__ import annotations

from marshmallow import fields

from shared.codes import Symptom

from .common import FormSchema, Requires, Text, code_list
from .exam_findings import OrganFunction, PhysicalExam
from .exam_general import GeneralState
from .exam_history import Assessment, Guidance, HealthProblems, Medication, Stay, Vaccination, rows
from .exam_lifestyle import Lifestyle
from .exam_tests import exam_results


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
                   {"item": "urine_protein", "value": "-"}],
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
