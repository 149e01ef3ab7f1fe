"""The follow-up rules of the hypertension and type 2 diabetes programmes (domain.md §5): the
follow-up forms' code lists, the control targets, the urgent-referral triggers and the
screening rule of a 健康体检表. Plain data and functions, no service's imports: the records
service's forms and the programmes service read the same tables.

    urgent_triggers(Readings(sbp=185, dbp=100), programmes=("hypertension",))       -> ["sbp_180"]
    urgent_triggers(Readings(fbg=2.8), signs=["7"], programmes=("type2_diabetes",)) -> ["fbg_low", "ketoacidosis"]
    symptom_triggers(HypertensionSymptom, ["3", "6"]) -> ["nausea_vomiting", "palpitations_chest_tightness"]
    on_target("hypertension", Readings(sbp=145, dbp=85), age=70)                   -> True   (<150/90 from 65)
    on_target("type2_diabetes", Readings(fbg=7.0), age=60)                          -> False  (<7.0 mmol/L)
    screening(Readings(sbp=142, dbp=86, fbg=6.1))                                   -> ["hypertension"]

Where domain.md marks a rule [M] (from memory, not confirmed in the specification), it is
implemented as written there and said so on its table below, each in one place so that it can be
corrected in one place. The 老年人 forms' scoring (生活自理能力, 中医体质辨识) is
`shared.elderly_assessments`, re-exported here for the programmes' one import.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from shared.codes import CodeEnum
from shared.elderly_assessments import (  # noqa: F401  (re-exported: the programmes' one import)
    CONSTITUTION_QUESTIONS, GUIDANCE, QUESTIONS, REVERSED, SELF_CARE_ITEMS, Constitution, GuidanceArea,
    Judgment, SelfCareOption, constitution_scores, judge_constitutions, self_care_level, self_care_score,
)

HYPERTENSION, DIABETES = "hypertension", "type2_diabetes"  # shared.key_populations PROGRAMMES keys
ELDERLY, ELDERLY_TCM = "elderly", "elderly_tcm"             # the elderly check and the 中医药 service
FOLLOW_UP_PROGRAMMES = (HYPERTENSION, DIABETES)

# The programme enrolment each programme form is a service of (its ``occurred_on`` may not fall
# before that enrolment's date): the integrated visit serves both chronic programmes, the
# elderly forms the elderly programme (the 中医药 service is part of it).
FORM_ENROLMENTS: dict[str, tuple[str, ...]] = {
    "hypertension_follow_up": (HYPERTENSION,),
    "diabetes_follow_up": (DIABETES,),
    "integrated_follow_up": (HYPERTENSION, DIABETES),
    "elderly_self_care": (ELDERLY,),
    "elderly_tcm": (ELDERLY,),
}


# -- the follow-up forms' code lists -----------------------------------------------------------


@enum.unique
class VisitMethod(CodeEnum):
    """随访方式 [S]. 门诊 and 家庭 are face to face; a 电话 visit measures nothing itself."""

    CLINIC = "1", "门诊"
    HOME = "2", "家庭"
    PHONE = "3", "电话"


FACE_TO_FACE = frozenset({VisitMethod.CLINIC.value, VisitMethod.HOME.value})


@enum.unique
class FollowUpClassification(CodeEnum):
    """此次随访分类 [M for the codes, domain.md §5]; an integrated visit has one per programme."""

    SATISFACTORY = "1", "控制满意"
    UNSATISFACTORY = "2", "控制不满意"
    ADVERSE_REACTION = "3", "不良反应"
    COMPLICATION = "4", "并发症"


@enum.unique
class HypertensionSymptom(CodeEnum):
    """症状 of the 高血压患者随访服务记录表 [M for the numbering]; 无症状 is exclusive, 其他 is written."""

    NONE = "1", "无症状"
    HEADACHE_DIZZINESS = "2", "头痛头晕"
    NAUSEA_VOMITING = "3", "恶心呕吐"
    BLURRED_VISION_TINNITUS = "4", "眼花耳鸣"
    DYSPNOEA = "5", "呼吸困难"
    PALPITATIONS_CHEST_TIGHTNESS = "6", "心悸胸闷"
    NOSEBLEED = "7", "鼻衄出血不止"
    LIMB_NUMBNESS = "8", "四肢发麻"
    LEG_OEDEMA = "9", "下肢水肿"
    OTHER = "10", "其他"


@enum.unique
class DiabetesSymptom(CodeEnum):
    """症状 of the 2型糖尿病患者随访服务记录表 [M for the numbering]; 无症状 exclusive, 其他 written."""

    NONE = "1", "无症状"
    POLYDIPSIA = "2", "多饮"
    POLYPHAGIA = "3", "多食"
    POLYURIA = "4", "多尿"
    BLURRED_VISION = "5", "视力模糊"
    INFECTION = "6", "感染"
    HAND_FOOT_NUMBNESS = "7", "手脚麻木"
    LEG_OEDEMA = "8", "下肢浮肿"
    WEIGHT_LOSS = "9", "体重明显下降"
    OTHER = "10", "其他"


@enum.unique
class IntegratedSymptom(CodeEnum):
    """症状 of the integrated (多病共管) visit: the hypertension form's list (same codes) and the
    diabetes form's symptoms it lacks, each once [M: the suite's merge; 手脚麻木 is 四肢发麻 (8),
    下肢浮肿 is 下肢水肿 (9)]."""

    NONE = "1", "无症状"
    HEADACHE_DIZZINESS = "2", "头痛头晕"
    NAUSEA_VOMITING = "3", "恶心呕吐"
    BLURRED_VISION_TINNITUS = "4", "眼花耳鸣"
    DYSPNOEA = "5", "呼吸困难"
    PALPITATIONS_CHEST_TIGHTNESS = "6", "心悸胸闷"
    NOSEBLEED = "7", "鼻衄出血不止"
    LIMB_NUMBNESS = "8", "四肢发麻"
    LEG_OEDEMA = "9", "下肢水肿"
    POLYDIPSIA = "10", "多饮"
    POLYPHAGIA = "11", "多食"
    POLYURIA = "12", "多尿"
    BLURRED_VISION = "13", "视力模糊"
    INFECTION = "14", "感染"
    WEIGHT_LOSS = "15", "体重明显下降"
    OTHER = "16", "其他"


@enum.unique
class SaltIntake(CodeEnum):
    """摄盐情况(咸淡), now and the target."""

    LIGHT = "1", "轻"
    MODERATE = "2", "中"
    HEAVY = "3", "重"


@enum.unique
class Rating(CodeEnum):
    """心理调整 and 遵医行为."""

    GOOD = "1", "良好"
    FAIR = "2", "一般"
    POOR = "3", "差"


@enum.unique
class Hypoglycaemia(CodeEnum):
    """低血糖反应 (2型糖尿病)."""

    NONE = "1", "无"
    OCCASIONAL = "2", "偶尔"
    FREQUENT = "3", "频繁"


@enum.unique
class PedalPulse(CodeEnum):
    """足背动脉搏动 of the diabetes follow-up form: 触及正常, or 减弱 / 消失 with the side (``PulseSide``) [M]."""

    NORMAL = "1", "触及正常"
    WEAKENED = "2", "减弱"
    ABSENT = "3", "消失"


@enum.unique
class PulseSide(CodeEnum):
    BOTH = "1", "双侧"
    LEFT = "2", "左侧"
    RIGHT = "3", "右侧"


@enum.unique
class DangerSign(CodeEnum):
    """危急情况: the conditions of domain.md §5 that call for an urgent referral and that no reading
    shows, ticked by the doctor at each follow-up [M: the national forms have no such field;
    the specification asks that they be looked for at every visit]. Which programme each one
    belongs to: ``SIGN_TRIGGERS``."""

    ALTERED_CONSCIOUSNESS = "1", "意识改变"
    SEVERE_HEADACHE_DIZZINESS = "2", "剧烈头痛或头晕"
    NAUSEA_VOMITING = "3", "恶心呕吐"
    BLURRED_VISION_EYE_PAIN = "4", "视力模糊、眼痛"
    PALPITATIONS_CHEST_TIGHTNESS = "5", "心悸、胸闷"
    ORTHOPNOEA = "6", "喘憋不能平卧"
    KETOACIDOSIS = "7", "酮症酸中毒表现(呼气有烂苹果味、深大呼吸、恶心呕吐、意识改变等)"
    SUDDEN_VISION_LOSS = "8", "视力骤降"
    PREGNANCY_RAISED = "9", "妊娠期或哺乳期血压(血糖)升高"
    UNMANAGEABLE = "10", "其他本机构无法处理的情况"


# -- targets -----------------------------------------------------------------------------------

# Blood pressure on target (控制满意): below 140/90, from 65 years below 150/90 [M, domain.md §5].
BP_TARGET = (140, 90)
BP_TARGET_ELDERLY = (150, 90)
BP_TARGET_ELDERLY_FROM_AGE = 65
# Fasting glucose on target: below 7.0 mmol/L [M, domain.md §5].
FBG_TARGET = 7.0


@dataclass(frozen=True)
class Readings:
    """What was measured: blood pressure (mmHg), fasting glucose (mmol/L; a hospital's glucose
    of unknown timing counts for the glucose triggers only), heart rate (/min), temperature (°C)."""

    sbp: int | None = None
    dbp: int | None = None
    fbg: float | None = None
    heart_rate: int | None = None
    temperature: float | None = None


def bp_target(age: int | None) -> tuple[int, int]:
    """The (systolic, diastolic) limit a reading must stay below: ``bp_target(70) -> (150, 90)``;
    an unknown age takes the general target."""
    return BP_TARGET_ELDERLY if age is not None and age >= BP_TARGET_ELDERLY_FROM_AGE else BP_TARGET


def on_target(programme: str, readings: Readings, age: int | None = None) -> bool | None:
    """Whether the reading of a programme is on target (控制满意 as far as the reading goes), or
    None when it was not measured. ``age`` is in completed years on the day of the reading."""
    if programme == HYPERTENSION:
        if readings.sbp is None or readings.dbp is None:
            return None
        systolic, diastolic = bp_target(age)
        return readings.sbp < systolic and readings.dbp < diastolic
    if programme == DIABETES:
        return None if readings.fbg is None else readings.fbg < FBG_TARGET
    raise ValueError(f"no target for programme {programme!r}")


# -- urgent-referral triggers (domain.md §5) -----------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    """An urgent-referral condition: its label and the programmes whose rule lists it."""

    label: str
    programmes: tuple[str, ...]


BOTH = (HYPERTENSION, DIABETES)
# Every trigger, by name: the one table the forms, the hospital encounters and the programmes
# read. The reading thresholds are domain.md's: SBP ≥180 and/or DBP ≥110 [S]; glucose ≥16.7 or
# ≤3.9 mmol/L [S]; heart rate >100 and temperature >39 °C for diabetes [M]. The hypertension
# signs are [S]; the diabetes signs and the pregnancy rule of diabetes are [M].
TRIGGERS: dict[str, Trigger] = {
    "sbp_180": Trigger("收缩压≥180mmHg", BOTH),
    "dbp_110": Trigger("舒张压≥110mmHg", BOTH),
    "fbg_high": Trigger("血糖≥16.7mmol/L", (DIABETES,)),
    "fbg_low": Trigger("血糖≤3.9mmol/L", (DIABETES,)),
    "heart_rate_100": Trigger("心率>100次/分钟", (DIABETES,)),
    "temperature_39": Trigger("体温>39℃", (DIABETES,)),
    "altered_consciousness": Trigger("意识改变", BOTH),
    "severe_headache_dizziness": Trigger("剧烈头痛或头晕", (HYPERTENSION,)),
    "nausea_vomiting": Trigger("恶心呕吐", (HYPERTENSION,)),
    "blurred_vision_eye_pain": Trigger("视力模糊、眼痛", (HYPERTENSION,)),
    "palpitations_chest_tightness": Trigger("心悸、胸闷", (HYPERTENSION,)),
    "orthopnoea": Trigger("喘憋不能平卧", (HYPERTENSION,)),
    "ketoacidosis": Trigger("酮症酸中毒表现", (DIABETES,)),
    "sudden_vision_loss": Trigger("视力骤降", (DIABETES,)),
    "pregnancy_raised": Trigger("妊娠期或哺乳期血压(血糖)升高", BOTH),
    "unmanageable": Trigger("其他本机构无法处理的情况", BOTH),
}

SBP_URGENT, DBP_URGENT = 180, 110
GLUCOSE_HIGH, GLUCOSE_LOW = 16.7, 3.9
HEART_RATE_URGENT, TEMPERATURE_URGENT = 100, 39.0   # strictly above

# 危急情况 ticked -> trigger.
SIGN_TRIGGERS: dict[str, str] = {
    DangerSign.ALTERED_CONSCIOUSNESS.value: "altered_consciousness",
    DangerSign.SEVERE_HEADACHE_DIZZINESS.value: "severe_headache_dizziness",
    DangerSign.NAUSEA_VOMITING.value: "nausea_vomiting",
    DangerSign.BLURRED_VISION_EYE_PAIN.value: "blurred_vision_eye_pain",
    DangerSign.PALPITATIONS_CHEST_TIGHTNESS.value: "palpitations_chest_tightness",
    DangerSign.ORTHOPNOEA.value: "orthopnoea",
    DangerSign.KETOACIDOSIS.value: "ketoacidosis",
    DangerSign.SUDDEN_VISION_LOSS.value: "sudden_vision_loss",
    DangerSign.PREGNANCY_RAISED.value: "pregnancy_raised",
    DangerSign.UNMANAGEABLE.value: "unmanageable",
}

# The follow-up forms' coded symptoms that are themselves a trigger, by the form's symptom table
# [M: the hypertension rule names 恶心呕吐 and 心悸、胸闷 as the form prints them among its
# symptoms; 头痛头晕, 眼花耳鸣 and 呼吸困难 are the everyday, milder ones (the rule says 剧烈头痛或头晕,
# 视力模糊、眼痛, 喘憋不能平卧: ticked as 危急情况). No symptom of the diabetes form is one].
SYMPTOM_TRIGGERS: dict[type[CodeEnum], dict[str, str]] = {
    HypertensionSymptom: {
        HypertensionSymptom.NAUSEA_VOMITING.value: "nausea_vomiting",
        HypertensionSymptom.PALPITATIONS_CHEST_TIGHTNESS.value: "palpitations_chest_tightness",
    },
    DiabetesSymptom: {},
    IntegratedSymptom: {
        IntegratedSymptom.NAUSEA_VOMITING.value: "nausea_vomiting",
        IntegratedSymptom.PALPITATIONS_CHEST_TIGHTNESS.value: "palpitations_chest_tightness",
    },
}


def signs_of(programmes: Iterable[str]) -> list[str]:
    """The 危急情况 codes that belong to any of these programmes (what a form may tick)."""
    wanted = set(programmes)
    return [code for code, name in SIGN_TRIGGERS.items() if wanted & set(TRIGGERS[name].programmes)]


def symptom_triggers(table: type[CodeEnum], symptoms: Iterable[str]) -> list[str]:
    """The triggers a follow-up form's coded symptoms meet (``symptoms``: codes of ``table``)."""
    table = SYMPTOM_TRIGGERS[table]
    return [table[code] for code in symptoms if code in table]


def urgent_triggers(readings: Readings, signs: Iterable[str] = (), symptoms: Iterable[str] = (),
                    programmes: Iterable[str] = FOLLOW_UP_PROGRAMMES) -> list[str]:
    """The urgent-referral triggers met, in ``TRIGGERS``' order, counting only those of
    ``programmes``: by the readings, the 危急情况 codes ticked (``signs``) and trigger names
    already found among a form's symptoms (``symptoms``, from ``symptom_triggers``)."""
    met = {SIGN_TRIGGERS[code] for code in signs if code in SIGN_TRIGGERS} | set(symptoms)
    if readings.sbp is not None and readings.sbp >= SBP_URGENT:
        met.add("sbp_180")
    if readings.dbp is not None and readings.dbp >= DBP_URGENT:
        met.add("dbp_110")
    if readings.fbg is not None and readings.fbg >= GLUCOSE_HIGH:
        met.add("fbg_high")
    if readings.fbg is not None and readings.fbg <= GLUCOSE_LOW:
        met.add("fbg_low")
    if readings.heart_rate is not None and readings.heart_rate > HEART_RATE_URGENT:
        met.add("heart_rate_100")
    if readings.temperature is not None and readings.temperature > TEMPERATURE_URGENT:
        met.add("temperature_39")
    wanted = set(programmes)
    return [name for name, trigger in TRIGGERS.items() if name in met and wanted & set(trigger.programmes)]


# -- screening of a 健康体检表 [M] ------------------------------------------------------------------

# The readings of a health examination that suggest a condition for the programme's doctor to
# confirm [M, the suite's rule]: SBP ≥140 or DBP ≥90 suggests hypertension; a fasting glucose
# ≥7.0 mmol/L suggests diabetes (of a type the exam does not say: `diabetes`, which the
# type 2 programme takes, shared.key_populations).
SCREEN_SBP, SCREEN_DBP, SCREEN_FBG = 140, 90, 7.0


def screening(readings: Readings) -> list[str]:
    """The conditions (``shared.key_populations`` names) the exam's readings suggest."""
    found = []
    if (readings.sbp is not None and readings.sbp >= SCREEN_SBP) or \
            (readings.dbp is not None and readings.dbp >= SCREEN_DBP):
        found.append("hypertension")
    if readings.fbg is not None and readings.fbg >= SCREEN_FBG:
        found.append("diabetes")
    return found
