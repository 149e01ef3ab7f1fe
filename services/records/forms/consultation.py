"""会诊记录表: why a consultation was asked for, what the consultants advised, and who they were."""

from __future__ import annotations

from marshmallow import fields, validate

from .common import FormSchema, Section, Text

MAX_CONSULTANTS = 10


class Consultant(Section):
    institution = Text(100, required=True)  # 医疗卫生机构名称
    doctor = Text(64, required=True)  # 会诊医生签字


class ConsultationSchema(FormSchema):
    """record_type ``consultation``: 会诊记录表; ``occurred_on`` is the 会诊日期.  Example::

        {"occurred_on": "2024-05-10",
         "reason": "血糖控制不佳，请上级医院协助调整治疗方案",
         "opinion": "加用二甲双胍，一月后复查糖化血红蛋白",
         "consultants": [{"institution": "县人民医院", "doctor": "王医生"}],
         "responsible_doctor": "李医生"}
    """

    reason = Text(1000, required=True)  # 会诊原因
    opinion = Text(2000, required=True)  # 会诊意见
    consultants = fields.List(fields.Nested(Consultant), required=True, validate=validate.Length(
        min=1, max=MAX_CONSULTANTS, error="Give 1 to {max} consultants."))
    responsible_doctor = Text(64, required=True)  # 责任医生
