"""Paper-form records of the resident health archive (国家基本公共卫生服务规范 第三版).

    FORMS["health_exam"]  -> HealthExamSchema, and so on for each record_type
    validate_form("visit", {"occurred_on": "2024-05-10", "subjective": "头晕两天",
                            "assessment": "高血压", "clinician": "李医生"},
                  birth_date=date(1950, 1, 1))
        -> {"occurred_on": "2024-05-10", "subjective": "头晕两天", ...}

``birth_date`` and ``today`` bound every date of a form: nothing before birth, nothing in the
future.  ``sex``, ``village_code`` and ``conditions`` (the archive's) decide who is asked what
(``forms.resident``: the elderly items, women's and men's items, 足背动脉搏动 for diabetics,
生活环境 for villagers, the 个人基本信息表 from age 7).  marshmallow 4 has no schema context, so they are constructor arguments of the form
schema, which publishes them to its nested sections through a ContextVar only while it loads
(``forms.common``).  Error details are marshmallow's nested messages (list entries keyed by
index); no message repeats an input value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from marshmallow import ValidationError

from shared.contracts.fields import field_errors
from shared.errors import ValidationFailed

from .common import FormSchema
from .consultation import ConsultationSchema
from .elderly import ElderlySelfCareSchema, ElderlyTcmSchema
from .follow_up import DiabetesFollowUpSchema, HypertensionFollowUpSchema, IntegratedFollowUpSchema
from .health_exam import HealthExamSchema
from .personal_info import PersonalInfoSchema
from .referral import ReferralBackSchema, ReferralOutSchema
from .visit import VisitSchema

FORMS: dict[str, type[FormSchema]] = {
    "personal_info": PersonalInfoSchema,
    "health_exam": HealthExamSchema,
    "visit": VisitSchema,
    "consultation": ConsultationSchema,
    "hypertension_follow_up": HypertensionFollowUpSchema,
    "diabetes_follow_up": DiabetesFollowUpSchema,
    "integrated_follow_up": IntegratedFollowUpSchema,
    "elderly_self_care": ElderlySelfCareSchema,
    "elderly_tcm": ElderlyTcmSchema,
    "referral_out": ReferralOutSchema,
    "referral_back": ReferralBackSchema,
}
# Forms only the referrals service files (origin `referral`): the referral is their source.
REFERRAL_FORMS = frozenset({"referral_out", "referral_back"})


def validate_form(record_type: str, content: dict[str, Any], *, birth_date: date | None,
                  today: date | None = None, sex: str | None = None, village_code: str | None = None,
                  conditions: Iterable[str] = (), previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Load ``content`` as the form ``record_type`` and return it normalised and JSON-ready.

    ``sex``, ``village_code`` (the archive's) and ``conditions`` (what the archive's records say
    the resident has, ``services.records.rules.archive_conditions``) decide which items are asked
    (``forms.resident``); unknown, those rules do not apply. ``previous`` is the content an
    amendment replaces (results it carries unchanged keep their old shape).

    Raises ``ValidationFailed("invalid <record_type>", details)``; an unknown record type
    raises ``ValidationFailed`` with ``{"record_type": [...]}`` naming the known ones.
    """
    schema_class = FORMS.get(record_type) if isinstance(record_type, str) else None
    if schema_class is None:
        raise ValidationFailed("unknown record type",
                               {"record_type": [f"Must be one of: {', '.join(FORMS)}."]})
    schema = schema_class(birth_date=birth_date, today=today, sex=sex, village_code=village_code,
                          conditions=conditions, previous=previous)
    try:
        loaded = schema.load(content)
    except ValidationError as exc:
        raise ValidationFailed(f"invalid {record_type}", field_errors(exc)) from None
    return schema.dump(loaded)


__all__ = ["FORMS", "REFERRAL_FORMS", "validate_form"]
