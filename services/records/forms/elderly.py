"""The elderly programmes' own forms (domain.md §5): 老年人生活自理能力评估表 (``elderly_self_care``)
and 老年人中医药健康管理服务记录表 (``elderly_tcm``). The yearly check itself is a 健康体检表.

Both are asked of residents aged 65 or more in the year of the form's date (the programme's
"65 and over in the year of service"): refused below, by the birth date the archive holds.
Scores are the server's (``shared.elderly_assessments``): the self-care total and level, the
nine constitutions' scores and judgments are derived from the answers and stored; a client that
sends its own is checked against them, so a hand-added score cannot disagree with its answers.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from shared.codes import SelfCareAbility
from shared.elderly_assessments import (
    ANSWER_MAX, ANSWER_MIN, QUESTIONS, SELF_CARE_ITEMS, SELF_CARE_MAX, Constitution, GuidanceArea, Judgment,
    SelfCareOption, constitution_scores, judge_constitutions, self_care_level, self_care_score,
)

from .common import FormSchema, Requires, Section, Text, code, code_list
from .resident import ELDERLY_IN_YEAR

CONSTITUTIONS = Constitution.codes()
IDENTIFIED = frozenset({Judgment.YES.value, Judgment.TENDING.value, Judgment.BASICALLY.value})


def _self_care_item(item: str) -> fields.Str:
    label, scores = SELF_CARE_ITEMS[item]
    offered = [option for option in SelfCareOption if option.value in scores]
    return fields.Str(required=True, validate=validate.OneOf([o.value for o in offered]), metadata={
        "description": f"{label}: " + "; ".join(f"{o.value} {o.label} ({scores[o.value]}分)" for o in offered),
        "x-enum-descriptions": [o.label for o in offered]})


class SelfCareItems(Section):
    """The five items, each answered with the column (1 可自理 … 4 不能自理) that fits; 进餐 and 穿衣
    have no 轻度依赖 column."""

    meals = _self_care_item("meals")
    grooming = _self_care_item("grooming")
    dressing = _self_care_item("dressing")
    toileting = _self_care_item("toileting")
    activity = _self_care_item("activity")


class ElderlySelfCareSchema(FormSchema):
    """record_type ``elderly_self_care``: 老年人生活自理能力评估表; ``occurred_on`` is the 评估日期.
    Example::

        {"occurred_on": "2024-05-20",
         "items": {"meals": "1", "grooming": "2", "dressing": "1", "toileting": "2", "activity": "3"},
         "doctor": "李医生"}

    stored with ``"score": 7, "level": "2"`` (轻度依赖: 0-3 可自理, 4-8 轻度依赖, 9-18 中度依赖,
    ≥19 不能自理).
    """

    asked_of = ELDERLY_IN_YEAR

    items = fields.Nested(SelfCareItems, required=True)
    score = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=SELF_CARE_MAX))
    level = code(SelfCareAbility, allow_none=True)
    doctor = Text(64, allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def _derived_agree(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not isinstance(data.get("items"), dict) or len(data["items"]) != len(SELF_CARE_ITEMS):
            return
        score = self_care_score(data["items"])
        errors = {}
        if data.get("score") is not None and data["score"] != score:
            errors["score"] = ["Disagrees with the score of the items."]
        if data.get("level") is not None and data["level"] != self_care_level(score):
            errors["level"] = ["Disagrees with the level of the items' score."]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _derive(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["score"] = self_care_score(data["items"])
        data["level"] = self_care_level(data["score"])
        return data


class GuidanceGiven(Section):
    """中医药保健指导 given for one constitution: ``{"areas": ["1", "2", "6"], "other": "八段锦视频"}``."""

    areas = code_list(GuidanceArea, required=True)
    other = Text(200, allow_none=True)

    rules = (Requires("other", on="areas", when=GuidanceArea.OTHER),)


class ElderlyTcmSchema(FormSchema):
    """record_type ``elderly_tcm``: 老年人中医药健康管理服务记录表; ``occurred_on`` is the 填表日期.
    ``answers`` are the 33 questions in order (``shared.elderly_assessments.QUESTIONS``), each
    1 没有 … 5 总是; ``guidance`` is given for each constitution identified (是, 倾向是, or 平和质
    基本是) and for no other. Example::

        {"occurred_on": "2024-05-20",
         "answers": [2, 4, 4, 3, 2, 2, 1, 2, 2, 2, 2, 2, 2, 4, 1, 2, 1, 1, 1, 1, 2, 2, 1, 2, 1, 2, 2,
                     2, 2, 1, 2, 2, 1],
         "guidance": {"qi_deficiency": {"areas": ["2", "4", "5"]}},
         "doctor": "李医生"}

    stored with ``scores`` ({"qi_deficiency": 15, ..., "balanced": 15}) and ``judgments``
    ({"qi_deficiency": "yes", ..., "balanced": "no"}).
    """

    asked_of = ELDERLY_IN_YEAR

    answers = fields.List(fields.Integer(strict=True, validate=validate.Range(min=ANSWER_MIN, max=ANSWER_MAX)),
                          required=True, validate=validate.Length(equal=len(QUESTIONS),
                                                                   error="Answer all {equal} questions."))
    scores = fields.Dict(keys=fields.Str(validate=validate.OneOf(CONSTITUTIONS)), values=fields.Integer(),
                         allow_none=True)
    judgments = fields.Dict(keys=fields.Str(validate=validate.OneOf(CONSTITUTIONS)),
                            values=code(Judgment), allow_none=True)
    guidance = fields.Dict(keys=fields.Str(validate=validate.OneOf(CONSTITUTIONS)),
                           values=fields.Nested(GuidanceGiven), load_default=dict)
    doctor = Text(64, allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def _derived_agree(self, data: dict[str, Any], **kwargs: Any) -> None:
        answers = data.get("answers")
        if not isinstance(answers, list) or len(answers) != len(QUESTIONS):
            return
        scores = constitution_scores(answers)
        judged = judge_constitutions(scores)
        errors: dict[str, Any] = {}
        if data.get("scores") is not None and data["scores"] != scores:
            errors["scores"] = ["Disagrees with the scores of the answers."]
        if data.get("judgments") is not None and data["judgments"] != judged:
            errors["judgments"] = ["Disagrees with the judgments of the answers' scores."]
        given = data.get("guidance") or {}
        wrong = {name: ["Not identified by the answers (是, 倾向是 or 基本是): no guidance for it."]
                 for name in given if judged.get(name) not in IDENTIFIED}
        missing = {name: ["Identified by the answers: give the guidance given for it."]
                   for name in CONSTITUTIONS if judged[name] in IDENTIFIED and name not in given}
        if wrong or missing:
            errors["guidance"] = {**missing, **wrong}
        if errors:
            raise ValidationError(errors)

    @post_load
    def _derive(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["scores"] = constitution_scores(data["answers"])
        data["judgments"] = judge_constitutions(data["scores"])
        return data
