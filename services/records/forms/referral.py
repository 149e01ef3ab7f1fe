"""双向转诊单: the 转出单 a referring institution sends a resident up with, and the 回转单 the
receiving institution sends them back down with. Both are filed into the archive by the
referrals service (origin `referral`), never typed in as forms: the referral is the source, and
the archive keeps what was sent and what came back."""

from __future__ import annotations

from marshmallow import fields, validate

from .common import FormSchema, Text

NOTE_MAX = 2000


class ReferralOutSchema(FormSchema):
    """record_type ``referral_out``: 双向转诊（转出）单; ``occurred_on`` is the 转出日期.  Example::

        {"occurred_on": "2026-12-01", "referral_id": 7, "urgency": "urgent",
         "from_institution": "T1101051011", "from_doctor": "doc01",
         "to_institution": "H1101050001", "to_department": "心内科",
         "impression": "高血压3级，血压控制不佳", "present_illness": "头痛三天",
         "record_ids": ["8f3e..."]}
    """

    referral_id = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    urgency = fields.Str(required=True, validate=validate.OneOf(("routine", "urgent")))  # 普通 / 紧急
    from_institution = Text(22, required=True)  # 转出机构
    from_doctor = Text(80, allow_none=True)  # 转诊医生
    to_institution = Text(22, required=True)  # 转入机构
    to_department = Text(100, allow_none=True)  # 转入科室
    to_doctor = Text(100, allow_none=True)  # 接诊医生
    impression = Text(NOTE_MAX, required=True)  # 初步印象
    present_illness = Text(NOTE_MAX, allow_none=True)  # 主要现病史
    past_history = Text(NOTE_MAX, allow_none=True)  # 主要既往史
    treatment = Text(NOTE_MAX, allow_none=True)  # 治疗经过
    record_ids = fields.List(Text(64), load_default=list, validate=validate.Length(max=20))  # 附：随转资料


class ReferralBackSchema(FormSchema):
    """record_type ``referral_back``: 双向转诊（回转）单; ``occurred_on`` is the 回转日期.  Example::

        {"occurred_on": "2026-12-09", "referral_id": 7, "from_institution": "H1101050001",
         "doctor": "王医生", "to_institution": "T1101051011", "diagnosis": "原发性高血压3级",
         "findings": "心电图：左室高电压", "treatment": "住院调整降压方案",
         "plan": "氨氯地平5mg qd，两周后社区随访"}
    """

    referral_id = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    from_institution = Text(22, required=True)  # 回转机构 (the hospital)
    doctor = Text(100, allow_none=True)  # 接诊医生
    to_institution = Text(22, required=True)  # 接收机构 (the referring one)
    diagnosis = Text(NOTE_MAX, required=True)  # 诊断结果
    findings = Text(NOTE_MAX, allow_none=True)  # 主要检查结果
    treatment = Text(NOTE_MAX, required=True)  # 治疗经过
    plan = Text(NOTE_MAX, required=True)  # 下一步治疗方案及康复建议
