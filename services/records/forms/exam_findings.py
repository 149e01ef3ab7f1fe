"""健康体检表 sections 4 (脏器功能) and 5 (查体).

Items the form stars (*, asked only of some groups: 眼底, 足背动脉搏动, 肛门指诊, 乳腺, 妇科)
may be left out here; the rest are required once the section is given.  Which group is asked
which (乳腺 and 妇科 women only, 前列腺异常 men only, 足背动脉搏动 required for diabetics) is
the form's ``HealthExamSchema.resident_rules``.
"""

from __future__ import annotations

from marshmallow import fields, validate

from shared.codes import (
    BreastFinding,
    Dentition,
    DigitalRectalExam,
    DorsalisPedisPulse,
    Hearing,
    HeartRhythm,
    Lips,
    LowerLimbOedema,
    LymphNodes,
    MotorFunction,
    Pharynx,
    Rales,
    Sclera,
    Skin,
)

from .common import Finding, Presence, Requires, Section, Text, code, code_list

OTHER_TEXT = 100

# Both notations are in use on the form: decimal (0.1-2.0) and five-point (4.0-5.3) [M]; the
# value is kept as written and only bounded.
VISION = validate.Range(min=0.0, max=5.3)
HEART_RATE_PER_MIN = validate.Range(min=20, max=250)


class Oral(Section):
    lips = code(Lips, required=True)
    dentition = code_list(Dentition, alone=Dentition.NORMAL, required=True)
    pharynx = code(Pharynx, required=True)


class Vision(Section):
    left = fields.Float(required=True, validate=VISION)
    right = fields.Float(required=True, validate=VISION)
    corrected_left = fields.Float(allow_none=True, validate=VISION)
    corrected_right = fields.Float(allow_none=True, validate=VISION)


class OrganFunction(Section):
    """脏器功能: ``{"oral": {"lips": "1", "dentition": ["1"], "pharynx": "1"},
    "vision": {"left": 1.0, "right": 0.8}, "hearing": "1", "motor_function": "1"}``."""

    oral = fields.Nested(Oral, required=True)
    vision = fields.Nested(Vision, required=True)
    hearing = code(Hearing, required=True)
    motor_function = code(MotorFunction, required=True)


class Lungs(Section):
    barrel_chest = fields.Boolean(required=True)
    breath_sounds = fields.Nested(Finding, required=True)
    rales = code(Rales, required=True)
    rales_other = Text(OTHER_TEXT, allow_none=True)

    rules = (Requires("rales_other", on="rales", when=Rales.OTHER),)


class Heart(Section):
    rate = fields.Integer(required=True, validate=HEART_RATE_PER_MIN)
    rhythm = code(HeartRhythm, required=True)
    murmur = fields.Nested(Presence, required=True)


class Abdomen(Section):
    tenderness = fields.Nested(Presence, required=True)
    mass = fields.Nested(Presence, required=True)
    hepatomegaly = fields.Nested(Presence, required=True)
    splenomegaly = fields.Nested(Presence, required=True)
    shifting_dullness = fields.Nested(Presence, required=True)


class Gynaecology(Section):
    vulva = fields.Nested(Finding, required=True)
    vagina = fields.Nested(Finding, required=True)
    cervix = fields.Nested(Finding, required=True)
    uterus = fields.Nested(Finding, required=True)
    adnexa = fields.Nested(Finding, required=True)


class PhysicalExam(Section):
    """查体; ``<item>_other`` is the 其他 text of a coded item."""

    fundus = fields.Nested(Finding, allow_none=True)
    skin = code(Skin, required=True)
    skin_other = Text(OTHER_TEXT, allow_none=True)
    sclera = code(Sclera, required=True)
    sclera_other = Text(OTHER_TEXT, allow_none=True)
    lymph_nodes = code(LymphNodes, required=True)
    lymph_nodes_other = Text(OTHER_TEXT, allow_none=True)
    lungs = fields.Nested(Lungs, required=True)
    heart = fields.Nested(Heart, required=True)
    abdomen = fields.Nested(Abdomen, required=True)
    lower_limb_oedema = code(LowerLimbOedema, required=True)
    dorsalis_pedis = code(DorsalisPedisPulse, allow_none=True)
    digital_rectal = code(DigitalRectalExam, allow_none=True)
    digital_rectal_other = Text(OTHER_TEXT, allow_none=True)
    breast = code_list(BreastFinding, alone=BreastFinding.NO_ABNORMALITY, allow_none=True)
    breast_other = Text(OTHER_TEXT, allow_none=True)
    gynaecology = fields.Nested(Gynaecology, allow_none=True)
    other = Text(500, allow_none=True)

    rules = (
        Requires("skin_other", on="skin", when=Skin.OTHER),
        Requires("sclera_other", on="sclera", when=Sclera.OTHER),
        Requires("lymph_nodes_other", on="lymph_nodes", when=LymphNodes.OTHER),
        Requires("digital_rectal_other", on="digital_rectal", when=DigitalRectalExam.OTHER),
        Requires("breast_other", on="breast", when=BreastFinding.OTHER),
    )
