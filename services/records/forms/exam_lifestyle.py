"""健康体检表 section 3, 生活方式: exercise, diet, smoking, drinking, occupational hazards."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates, validates_schema

from shared.codes import (
    AlcoholType,
    DietHabit,
    DrinkingFrequency,
    ExerciseFrequency,
    OccupationalHazard,
    SmokingStatus,
)

from .common import Age, Requires, Section, Text, code, code_list, distinct_by

_MAIN_DIETS = {DietHabit.BALANCED.value, DietHabit.MAINLY_MEAT.value, DietHabit.MAINLY_VEGETARIAN.value}


def _started_before_quitting(data: dict[str, Any]) -> None:
    start, quit_ = data.get("start_age"), data.get("quit_age")
    if start is not None and quit_ is not None and quit_ < start:
        raise ValidationError("Must not be below start_age.", "quit_age")


class Exercise(Section):
    """体育锻炼; minutes, years and kind are asked only of those who exercise."""

    frequency = code(ExerciseFrequency, required=True)
    minutes = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=1440))
    years = fields.Float(allow_none=True, validate=validate.Range(min=0, max=100))
    kind = Text(100, allow_none=True)

    rules = tuple(Requires(name, on="frequency", unless=ExerciseFrequency.NEVER)
                  for name in ("minutes", "years", "kind"))


class Smoking(Section):
    """吸烟情况; ``daily_cigarettes`` is the (former) average per day."""

    status = code(SmokingStatus, required=True)
    daily_cigarettes = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=200))
    start_age = Age(allow_none=True)
    quit_age = Age(allow_none=True)

    rules = (
        Requires("daily_cigarettes", on="status", when=(SmokingStatus.QUIT, SmokingStatus.SMOKER)),
        Requires("start_age", on="status", when=(SmokingStatus.QUIT, SmokingStatus.SMOKER)),
        Requires("quit_age", on="status", when=SmokingStatus.QUIT),
    )

    @validates_schema
    def _ages(self, data: dict[str, Any], **kwargs: Any) -> None:
        _started_before_quitting(data)


class Drinking(Section):
    """饮酒情况; ``daily_liang`` is the 日饮酒量 in 两 (50 g)."""

    frequency = code(DrinkingFrequency, required=True)
    daily_liang = fields.Float(allow_none=True, validate=validate.Range(min=0, max=50))
    quit = fields.Boolean(allow_none=True)
    quit_age = Age(allow_none=True)
    start_age = Age(allow_none=True)
    drunk_last_year = fields.Boolean(allow_none=True)
    types = code_list(AlcoholType, allow_none=True)
    types_other = Text(50, allow_none=True)

    rules = (
        *(Requires(name, on="frequency", unless=DrinkingFrequency.NEVER)
          for name in ("daily_liang", "quit", "start_age", "drunk_last_year", "types")),
        Requires("quit_age", on="quit", when=True),
        Requires("types_other", on="types", when=AlcoholType.OTHER),
    )

    @validates_schema
    def _ages(self, data: dict[str, Any], **kwargs: Any) -> None:
        _started_before_quitting(data)


class HazardAgent(Section):
    """One row of 毒物种类: ``{"kind": "1", "substance": "煤尘", "protected": true, "protection": "口罩"}``."""

    kind = code(OccupationalHazard, required=True)
    substance = Text(100, required=True)
    protected = fields.Boolean(required=True)
    protection = Text(100, allow_none=True)

    rules = (Requires("protection", on="protected", when=True),)


class OccupationalExposure(Section):
    """职业病危害因素接触史."""

    exposed = fields.Boolean(required=True)
    job = Text(50, allow_none=True)
    years = fields.Float(allow_none=True, validate=validate.Range(min=0, max=80))
    agents = fields.List(fields.Nested(HazardAgent), allow_none=True,
                         validate=[validate.Length(max=len(OccupationalHazard)), distinct_by("kind")])

    rules = tuple(Requires(name, on="exposed", when=True) for name in ("job", "years", "agents"))


class Lifestyle(Section):
    exercise = fields.Nested(Exercise, required=True)
    diet = code_list(DietHabit, required=True)
    smoking = fields.Nested(Smoking, required=True)
    drinking = fields.Nested(Drinking, required=True)
    occupational_exposure = fields.Nested(OccupationalExposure, required=True)

    @validates("diet")
    def _one_main_diet(self, value: list[str], **kwargs: Any) -> None:
        if len(_MAIN_DIETS.intersection(value)) > 1:
            raise ValidationError("Choose at most one of 荤素均衡 (1), 荤食为主 (2) and 素食为主 (3).")
