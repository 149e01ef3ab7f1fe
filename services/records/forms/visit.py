"""接诊记录表: a visit written up as SOAP notes."""

from __future__ import annotations

from .common import FormSchema, Text

NOTE_MAX = 2000


class VisitSchema(FormSchema):
    """record_type ``visit``: 接诊记录表; ``occurred_on`` is the 接诊日期.  Example::

        {"occurred_on": "2024-05-10",
         "subjective": "头晕两天，无恶心呕吐",
         "objective": "BP 150/95 mmHg，心肺未见异常",
         "assessment": "高血压控制不满意",
         "plan": "调整用药，两周后复诊",
         "clinician": "李医生"}
    """

    subjective = Text(NOTE_MAX, required=True)  # 就诊者的主观资料
    objective = Text(NOTE_MAX, allow_none=True)  # 就诊者的客观资料
    assessment = Text(NOTE_MAX, required=True)  # 评估
    plan = Text(NOTE_MAX, allow_none=True)  # 处置计划
    clinician = Text(64, required=True)  # 医生签字
