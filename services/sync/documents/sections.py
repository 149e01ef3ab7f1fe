"""What goes into a document's body, as data: for each source (the archive, a record type) the
sections, and in each a table from a field of the content to a WS 363 data element (DE code and
name), its HL7 data type, unit and code table. Both builders (CDA entries, FHIR Observations) read
the same facts, so a new form gets its sections by adding a table here:

    SECTIONS["health_exam"] = (Section("8716-3", "一般状况", (
        F("general.temperature", "体温", "PQ", de="DE04.10.186.00", unit="℃"), ...)), ...)
    section_facts("health_exam", content)  -> [SectionFacts(section, [Fact(...), ...]), ...]

Paths: ``a.b`` a nested field; ``a[]`` each item of a list of codes or texts; ``a[].b`` the field
``b`` of each item of a list of objects. Empty values (None, "", []) make no fact. Coded values
(``CD``) are the suite's stored codes with their labels from the code table (``shared.codes``,
``shared.follow_ups``); ``system`` names the national code system OID only where the table's
codes are that system's codes.

DE codes: only identifiers confirmed in public WS/T 483 / WS/T 500 templates are written (WS 363,
OID 2.16.156.10011.2.2.1); a fact whose identifier is not confirmed has ``de=None`` and is written
with its name only (CDA ``code nullFlavor="UNK"`` with ``originalText``, FHIR ``code.text``), never
with a guessed code. Filling one in is a one-line change here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

import shared.codes
import shared.follow_ups

DE_OID = "2.16.156.10011.2.2.1"                # WS 363 卫生信息数据元目录
ICD10_OID = "2.16.156.10011.2.3.3.11"          # ICD-10 (GB/T 14396)
SEX_OID = "2.16.156.10011.2.3.3.4"             # GB/T 2261.1
MARITAL_OID = "2.16.156.10011.2.3.3.5"         # GB/T 2261.2
VISIT_METHOD_OID = "2.16.156.10011.2.3.1.183"  # CV06.00.207 随访方式代码表 (1 门诊, 2 家庭, 3 电话 as the form's)
LOINC_OID = "2.16.840.1.113883.6.1"


@dataclass(frozen=True)
class F:
    """One field of a section's table."""

    path: str
    label: str                       # the data element's name (displayName)
    kind: str                        # PQ, INT, REAL, ST, CD, TS, BL; RESULT: a list of test results
    de: str | None = None            # WS 363 identifier, confirmed only (see the module's doc)
    unit: str | None = None          # PQ
    table: str | None = None         # CD: the code table's class name in shared.codes / shared.follow_ups
    system: str | None = None        # CD: national code system OID, where the table's codes are its codes


@dataclass(frozen=True)
class Section:
    code: str                        # LOINC section code (as WS/T 483 templates use)
    title: str
    fields: tuple[F, ...]


@dataclass(frozen=True)
class Fact:
    field: F
    value: Any                       # number, str, bool, date or datetime; a CD's code
    label: str = ""                  # the fact's name (the field's, or a test result's item)
    display: str | None = None       # CD: the code's label
    unit: str | None = None
    de: str | None = None


@dataclass(frozen=True)
class SectionFacts:
    section: Section
    facts: list[Fact] = field(default_factory=list)


@dataclass(frozen=True)
class Diagnosis:
    code: str
    name: str | None = None
    system: str = "ICD-10"
    primary: bool = False


@dataclass(frozen=True)
class Medication:
    name: str
    dose: float | None = None        # numeric dose with its unit (a follow-up's 每次剂量)
    unit: str | None = None
    usage: str | None = None         # 用法 as text: "口服 20mg bid", "每日3次 每次5mg"
    route: str | None = None


@cache
def code_table(name: str) -> dict[str, str]:
    """{code: label} of one of the suite's code tables."""
    table = getattr(shared.codes, name, None) or getattr(shared.follow_ups, name)
    return {member.value: member.label for member in table}


# Test items of the health examination with a confirmed data element.
RESULT_DE = {"fasting_glucose": ("DE04.50.102.00", "mmol/L")}

VITALS = "8716-3"
SYMPTOMS = "10187-3"
LIFESTYLE = "29762-2"
TESTS = "30954-2"
MEDICATIONS = "10160-0"
PLAN = "18776-5"
PAST = "11348-0"
FAMILY = "10157-6"
ALLERGIES = "48765-2"
EXAM = "29545-1"
PROBLEMS = "11450-4"
HOSPITAL = "46240-8"
IMMUNIZATIONS = "11369-6"
ASSESSMENT = "51848-0"
PRESENT_ILLNESS = "10164-2"
REFERRAL = "42349-1"
PAYMENT = "48768-6"
FUNCTION = "47420-5"
ENCOUNTER = "46240-8"


def _follow_up(symptom_table: str, diabetes: bool, classification: str = "classification") -> tuple[Section, ...]:
    signs = [
        F("signs.blood_pressure.systolic", "收缩压", "PQ", de="DE04.10.174.00", unit="mmHg"),
        F("signs.blood_pressure.diastolic", "舒张压", "PQ", de="DE04.10.176.00", unit="mmHg"),
        F("signs.weight", "体重", "PQ", de="DE04.10.188.00", unit="kg"),
        F("signs.target_weight", "目标体重", "PQ", unit="kg"),
        F("signs.height", "身高", "PQ", de="DE04.10.167.00", unit="cm"),
        F("signs.bmi", "体质指数", "PQ", unit="kg/m2"),
        F("signs.target_bmi", "目标体质指数", "PQ", unit="kg/m2"),
        F("signs.heart_rate", "心率", "PQ", de="DE04.10.206.00", unit="次/min"),
        F("signs.other", "其他体征", "ST"),
    ]
    lifestyle = [
        F("lifestyle.smoking", "日吸烟量", "PQ", unit="支"),
        F("lifestyle.smoking_target", "目标日吸烟量", "PQ", unit="支"),
        F("lifestyle.drinking", "日饮酒量", "PQ", unit="两"),
        F("lifestyle.drinking_target", "目标日饮酒量", "PQ", unit="两"),
        F("lifestyle.exercise_per_week", "每周运动次数", "INT"),
        F("lifestyle.exercise_minutes", "每次运动时长", "PQ", unit="min"),
        F("lifestyle.exercise_per_week_target", "目标每周运动次数", "INT"),
        F("lifestyle.exercise_minutes_target", "目标每次运动时长", "PQ", unit="min"),
        F("lifestyle.salt", "摄盐情况", "CD", table="SaltIntake"),
        F("lifestyle.salt_target", "目标摄盐情况", "CD", table="SaltIntake"),
        F("lifestyle.psychology", "心理调整", "CD", table="Rating"),
        F("lifestyle.compliance", "遵医行为", "CD", table="Rating"),
    ]
    tests = [F("tests.date", "辅助检查日期", "TS"), F("tests.description", "辅助检查结果", "ST")]
    medication = [
        F("adherence", "服药依从性", "CD", table="MedicationAdherence"),
        F("adverse_reaction.present", "药物不良反应", "BL"),
        F("adverse_reaction.detail", "药物不良反应描述", "ST"),
    ]
    if diabetes:
        signs += [F("signs.dorsalis_pedis.pulse", "足背动脉搏动", "CD", table="PedalPulse"),
                  F("signs.dorsalis_pedis.side", "足背动脉搏动减弱或消失侧", "CD", table="PulseSide")]
        lifestyle += [F("lifestyle.staple_food", "主食量", "PQ", unit="g/d"),
                      F("lifestyle.staple_food_target", "目标主食量", "PQ", unit="g/d")]
        tests = [F("tests.fbg", "空腹血糖值", "PQ", de="DE04.50.102.00", unit="mmol/L"),
                 F("tests.hba1c", "糖化血红蛋白值", "PQ", unit="%")] + tests
        medication += [F("hypoglycaemia", "低血糖反应", "CD", table="Hypoglycaemia"),
                       F("insulin.kind", "胰岛素种类", "ST"), F("insulin.usage", "胰岛素用法和用量", "ST")]
    return (
        Section(PLAN, "随访", (
            F("occurred_on", "随访日期", "TS"),
            F("method", "随访方式", "CD", de="DE06.00.108.00", table="VisitMethod", system=VISIT_METHOD_OID),
            F(classification, "此次随访分类", "CD", table="FollowUpClassification"),
            F("next_visit_date", "下次随访日期", "TS"),
            F("doctor", "随访医生", "ST"),
            F("referral.reason", "转诊原因", "ST"),
            F("referral.institution", "转诊机构", "ST"),
            F("referral.department", "转诊科室", "ST"),
        )),
        Section(SYMPTOMS, "症状", (
            F("symptoms[]", "症状", "CD", table=symptom_table),
            F("symptoms_other", "其他症状", "ST"),
            F("danger_signs[]", "危急情况", "CD", table="DangerSign"),
        )),
        Section(VITALS, "体征", tuple(signs)),
        Section(LIFESTYLE, "生活方式指导", tuple(lifestyle)),
        Section(TESTS, "辅助检查", tuple(tests)),
        Section(MEDICATIONS, "用药情况", tuple(medication)),
    )


def _absent(path: str, label: str) -> F:
    return F(path, label, "BL")


HEALTH_EXAM: tuple[Section, ...] = (
    Section(SYMPTOMS, "症状", (
        F("symptoms[]", "症状", "CD", table="Symptom"),
        F("symptoms_other", "其他症状", "ST"),
    )),
    Section(VITALS, "一般状况", (
        F("general.temperature", "体温", "PQ", de="DE04.10.186.00", unit="℃"),
        F("general.pulse", "脉率", "PQ", de="DE04.10.118.00", unit="次/min"),
        F("general.respiratory_rate", "呼吸频率", "PQ", de="DE04.10.082.00", unit="次/min"),
        F("general.blood_pressure.left.systolic", "左侧收缩压", "PQ", de="DE04.10.174.00", unit="mmHg"),
        F("general.blood_pressure.left.diastolic", "左侧舒张压", "PQ", de="DE04.10.176.00", unit="mmHg"),
        F("general.blood_pressure.right.systolic", "右侧收缩压", "PQ", de="DE04.10.174.00", unit="mmHg"),
        F("general.blood_pressure.right.diastolic", "右侧舒张压", "PQ", de="DE04.10.176.00", unit="mmHg"),
        F("general.height", "身高", "PQ", de="DE04.10.167.00", unit="cm"),
        F("general.weight", "体重", "PQ", de="DE04.10.188.00", unit="kg"),
        F("general.waist", "腰围", "PQ", unit="cm"),
        F("general.bmi", "体质指数", "PQ", unit="kg/m2"),
        F("general.health_self_assessment", "老年人健康状态自我评估", "CD", table="HealthSelfAssessment"),
        F("general.self_care", "老年人生活自理能力自我评估", "CD", table="SelfCareAbility"),
        F("general.self_care_score", "生活自理能力评分", "INT"),
        F("general.cognition.screen", "老年人认知功能粗筛", "CD", table="ScreenResult"),
        F("general.cognition.score", "简易智力状态检查总分", "INT"),
        F("general.emotion.screen", "老年人情感状态粗筛", "CD", table="ScreenResult"),
        F("general.emotion.score", "老年人抑郁评分总分", "INT"),
    )),
    Section(LIFESTYLE, "生活方式", (
        F("lifestyle.exercise.frequency", "锻炼频率", "CD", table="ExerciseFrequency"),
        F("lifestyle.exercise.minutes", "每次锻炼时间", "PQ", unit="min"),
        F("lifestyle.exercise.years", "坚持锻炼时间", "PQ", unit="a"),
        F("lifestyle.exercise.kind", "锻炼方式", "ST"),
        F("lifestyle.diet[]", "饮食习惯", "CD", table="DietHabit"),
        F("lifestyle.smoking.status", "吸烟状况", "CD", table="SmokingStatus"),
        F("lifestyle.smoking.daily_cigarettes", "日吸烟量", "PQ", unit="支"),
        F("lifestyle.smoking.start_age", "开始吸烟年龄", "PQ", unit="岁"),
        F("lifestyle.smoking.quit_age", "戒烟年龄", "PQ", unit="岁"),
        F("lifestyle.drinking.frequency", "饮酒频率", "CD", table="DrinkingFrequency"),
        F("lifestyle.drinking.daily_liang", "日饮酒量", "PQ", unit="两"),
        F("lifestyle.drinking.quit", "是否戒酒", "BL"),
        F("lifestyle.drinking.quit_age", "戒酒年龄", "PQ", unit="岁"),
        F("lifestyle.drinking.start_age", "开始饮酒年龄", "PQ", unit="岁"),
        F("lifestyle.drinking.drunk_last_year", "近一年内是否曾醉酒", "BL"),
        F("lifestyle.drinking.types[]", "饮酒种类", "CD", table="AlcoholType"),
        F("lifestyle.drinking.types_other", "其他饮酒种类", "ST"),
        F("lifestyle.occupational_exposure.exposed", "职业病危害因素接触史", "BL"),
        F("lifestyle.occupational_exposure.job", "工种", "ST"),
        F("lifestyle.occupational_exposure.years", "从业时间", "PQ", unit="a"),
        F("lifestyle.occupational_exposure.agents[].kind", "职业病危害因素类别", "CD", table="OccupationalHazard"),
        F("lifestyle.occupational_exposure.agents[].substance", "职业病危害因素名称", "ST"),
        F("lifestyle.occupational_exposure.agents[].protected", "防护措施", "BL"),
    )),
    Section(EXAM, "脏器功能与查体", (
        F("organ_function.oral.lips", "口唇", "CD", table="Lips"),
        F("organ_function.oral.dentition[]", "齿列", "CD", table="Dentition"),
        F("organ_function.oral.pharynx", "咽部", "CD", table="Pharynx"),
        F("organ_function.vision.left", "左眼视力", "REAL"),
        F("organ_function.vision.right", "右眼视力", "REAL"),
        F("organ_function.vision.corrected_left", "左眼矫正视力", "REAL"),
        F("organ_function.vision.corrected_right", "右眼矫正视力", "REAL"),
        F("organ_function.hearing", "听力", "CD", table="Hearing"),
        F("organ_function.motor_function", "运动功能", "CD", table="MotorFunction"),
        F("physical_exam.fundus.normal", "眼底正常", "BL"),
        F("physical_exam.fundus.detail", "眼底异常描述", "ST"),
        F("physical_exam.skin", "皮肤", "CD", table="Skin"),
        F("physical_exam.sclera", "巩膜", "CD", table="Sclera"),
        F("physical_exam.lymph_nodes", "淋巴结", "CD", table="LymphNodes"),
        F("physical_exam.lungs.barrel_chest", "桶状胸", "BL"),
        F("physical_exam.lungs.breath_sounds.normal", "呼吸音正常", "BL"),
        F("physical_exam.lungs.rales", "罗音", "CD", table="Rales"),
        F("physical_exam.heart.rate", "心率", "PQ", de="DE04.10.206.00", unit="次/min"),
        F("physical_exam.heart.rhythm", "心律", "CD", table="HeartRhythm"),
        _absent("physical_exam.heart.murmur.present", "心脏杂音"),
        _absent("physical_exam.abdomen.tenderness.present", "腹部压痛"),
        _absent("physical_exam.abdomen.mass.present", "腹部包块"),
        _absent("physical_exam.abdomen.hepatomegaly.present", "肝大"),
        _absent("physical_exam.abdomen.splenomegaly.present", "脾大"),
        _absent("physical_exam.abdomen.shifting_dullness.present", "移动性浊音"),
        F("physical_exam.lower_limb_oedema", "下肢水肿", "CD", table="LowerLimbOedema"),
        F("physical_exam.dorsalis_pedis", "足背动脉搏动", "CD", table="DorsalisPedisPulse"),
        F("physical_exam.digital_rectal", "肛门指诊", "CD", table="DigitalRectalExam"),
        F("physical_exam.breast[]", "乳腺", "CD", table="BreastFinding"),
        F("physical_exam.other", "查体其他", "ST"),
    )),
    Section(TESTS, "辅助检查", (F("tests[]", "辅助检查", "RESULT", table="ExamTestItem"),)),
    Section(PROBLEMS, "现存主要健康问题", (
        F("health_problems.cerebrovascular[]", "脑血管疾病", "CD", table="CerebrovascularDisease"),
        F("health_problems.kidney[]", "肾脏疾病", "CD", table="KidneyDisease"),
        F("health_problems.heart[]", "心脏疾病", "CD", table="HeartDisease"),
        F("health_problems.vascular[]", "血管疾病", "CD", table="VascularDisease"),
        F("health_problems.eye[]", "眼部疾病", "CD", table="EyeDisease"),
        _absent("health_problems.nervous_system.present", "神经系统疾病"),
        F("health_problems.nervous_system.detail", "神经系统疾病描述", "ST"),
        _absent("health_problems.other_systems.present", "其他系统疾病"),
        F("health_problems.other_systems.detail", "其他系统疾病描述", "ST"),
    )),
    Section(HOSPITAL, "住院治疗情况", (
        F("hospital_stays[].admitted_on", "入院日期", "TS"),
        F("hospital_stays[].discharged_on", "出院日期", "TS"),
        F("hospital_stays[].reason", "住院原因", "ST"),
        F("hospital_stays[].institution", "住院医疗机构名称", "ST"),
        F("home_sickbeds[].admitted_on", "家庭病床建床日期", "TS"),
        F("home_sickbeds[].discharged_on", "家庭病床撤床日期", "TS"),
        F("home_sickbeds[].reason", "家庭病床原因", "ST"),
    )),
    Section(MEDICATIONS, "主要用药情况", (
        F("medications[].adherence", "服药依从性", "CD", table="MedicationAdherence"),
    )),
    Section(IMMUNIZATIONS, "非免疫规划预防接种史", (
        F("vaccinations[].name", "疫苗名称", "ST"),
        F("vaccinations[].date", "接种日期", "TS"),
        F("vaccinations[].institution", "接种机构", "ST"),
    )),
    Section(ASSESSMENT, "健康评价与指导", (
        F("assessment.result", "健康评价", "CD", table="HealthAssessment"),
        F("assessment.abnormalities[]", "健康评价异常", "ST"),
        F("guidance.codes[]", "健康指导", "CD", table="HealthGuidance"),
        F("guidance.risk_factors[]", "危险因素控制", "CD", table="RiskFactorControl"),
        F("guidance.target_weight_kg", "减体重目标", "PQ", unit="kg"),
        F("guidance.vaccine", "建议接种疫苗", "ST"),
        F("guidance.risk_factors_other", "危险因素控制其他", "ST"),
        F("responsible_doctor", "责任医生", "ST"),
    )),
)

ENCOUNTER_SECTIONS: tuple[Section, ...] = (
    Section(ENCOUNTER, "就诊信息", (
        F("kind", "就诊类型", "CD", table="EncounterKind"),
        F("started_at", "就诊日期时间", "TS"),
        F("ended_at", "结束日期时间", "TS"),
        F("department", "就诊科室", "ST"),
        F("clinician", "接诊医生", "ST"),
        F("chief_complaint", "主诉", "ST", de="DE04.01.119.00"),
        F("summary", "摘要", "ST"),
    )),
    Section(VITALS, "生命体征", (
        F("vital_signs.sbp", "收缩压", "PQ", de="DE04.10.174.00", unit="mmHg"),
        F("vital_signs.dbp", "舒张压", "PQ", de="DE04.10.176.00", unit="mmHg"),
        F("vital_signs.heart_rate", "心率", "PQ", de="DE04.10.206.00", unit="次/min"),
        F("vital_signs.respiratory_rate", "呼吸频率", "PQ", de="DE04.10.082.00", unit="次/min"),
        F("vital_signs.temperature", "体温", "PQ", de="DE04.10.186.00", unit="℃"),
        F("vital_signs.height_cm", "身高", "PQ", de="DE04.10.167.00", unit="cm"),
        F("vital_signs.weight_kg", "体重", "PQ", de="DE04.10.188.00", unit="kg"),
        F("vital_signs.spo2", "血氧饱和度", "PQ", unit="%"),
        F("vital_signs.glucose_mmol", "血糖检测值", "PQ", de="DE04.50.102.00", unit="mmol/L"),
    )),
    Section(TESTS, "检验检查结果", (F("results[]", "检验检查结果", "RESULT"),)),
)

ARCHIVE_SECTIONS: tuple[Section, ...] = (
    Section(LIFESTYLE, "基本信息", (
        F("archive_date", "建档日期", "TS"),
        F("responsible_doctor", "责任医生", "ST"),
        F("residence_type", "常住类型", "CD", table="ResidenceType"),
        F("ethnicity_name", "少数民族名称", "ST"),
        F("registered_address", "户籍地址", "ST"),
        F("employer", "工作单位", "ST"),
        F("contact_name", "联系人姓名", "ST"),
        F("contact_phone", "联系人电话", "ST"),
        F("personal_info.education", "文化程度", "CD", table="Education"),
        F("personal_info.occupation", "职业", "CD", table="Occupation"),
        F("personal_info.marital_status", "婚姻状况", "CD", table="MaritalStatus"),
    )),
    Section(PAYMENT, "医疗费用支付方式", (
        F("personal_info.payment.methods[]", "医疗付费方式代码", "CD", de="DE07.00.007.00", table="PaymentMethod"),
        F("personal_info.payment.other", "其他医疗费用支付方式", "ST"),
        F("personal_info.payment.employee_insurance_no", "城镇职工基本医疗保险卡号", "ST"),
        F("personal_info.payment.resident_insurance_no", "城镇居民基本医疗保险卡号", "ST"),
        F("personal_info.payment.rural_cooperative_no", "新型农村合作医疗卡号", "ST"),
    )),
    Section(TESTS, "血型", (
        F("personal_info.blood_type.abo", "ABO血型代码", "CD", de="DE04.50.001.00", table="BloodTypeABO"),
        F("personal_info.blood_type.rh", "Rh(D)血型代码", "CD", de="DE04.50.010.00", table="BloodTypeRh"),
    )),
    Section(ALLERGIES, "药物过敏史", (
        F("personal_info.drug_allergies[]", "过敏史", "CD", de="DE02.10.022.00", table="DrugAllergy"),
        F("personal_info.drug_allergies_other", "其他过敏药物", "ST"),
        F("personal_info.exposures[]", "暴露史", "CD", table="Exposure"),
    )),
    Section(PAST, "既往史", (
        F("personal_info.past_history.diseases[].code", "疾病史(含外伤)", "CD", de="DE02.10.026.00",
          table="PastDisease"),
        F("personal_info.past_history.diseases[].diagnosed_on", "确诊时间", "ST"),
        F("personal_info.past_history.diseases[].text", "疾病名称", "ST"),
        F("personal_info.past_history.operations[].name", "手术史", "ST", de="DE02.10.061.00"),
        F("personal_info.past_history.operations[].date", "手术日期", "TS"),
        F("personal_info.past_history.injuries[].name", "外伤史", "ST"),
        F("personal_info.past_history.injuries[].date", "外伤日期", "TS"),
        F("personal_info.past_history.transfusions[].reason", "输血史", "ST", de="DE02.10.100.00"),
        F("personal_info.past_history.transfusions[].date", "输血日期", "TS"),
    )),
    Section(FAMILY, "家族史", (
        F("personal_info.family_history.father[]", "家族史(父亲)", "CD", de="DE02.10.103.00",
          table="FamilyHistoryDisease"),
        F("personal_info.family_history.father_other", "家族史其他(父亲)", "ST"),
        F("personal_info.family_history.mother[]", "家族史(母亲)", "CD", de="DE02.10.103.00",
          table="FamilyHistoryDisease"),
        F("personal_info.family_history.mother_other", "家族史其他(母亲)", "ST"),
        F("personal_info.family_history.siblings[]", "家族史(兄弟姐妹)", "CD", de="DE02.10.103.00",
          table="FamilyHistoryDisease"),
        F("personal_info.family_history.siblings_other", "家族史其他(兄弟姐妹)", "ST"),
        F("personal_info.family_history.children[]", "家族史(子女)", "CD", de="DE02.10.103.00",
          table="FamilyHistoryDisease"),
        F("personal_info.family_history.children_other", "家族史其他(子女)", "ST"),
        F("personal_info.hereditary_disease.has", "遗传病史", "BL"),
        F("personal_info.hereditary_disease.name", "遗传病名称", "ST"),
    )),
    Section(FUNCTION, "残疾情况与生活环境", (
        F("personal_info.disabilities[]", "残疾情况", "CD", table="Disability"),
        F("personal_info.disabilities_other", "其他残疾", "ST"),
        F("personal_info.living_environment.kitchen_ventilation", "厨房排风设施", "CD", table="KitchenVentilation"),
        F("personal_info.living_environment.fuel", "燃料类型", "CD", table="Fuel"),
        F("personal_info.living_environment.fuel_other", "其他燃料", "ST"),
        F("personal_info.living_environment.drinking_water", "饮水", "CD", table="DrinkingWater"),
        F("personal_info.living_environment.drinking_water_other", "其他饮水", "ST"),
        F("personal_info.living_environment.toilet", "厕所", "CD", table="Toilet"),
        F("personal_info.living_environment.livestock_pen", "禽畜栏", "CD", table="LivestockPen"),
    )),
)

SECTIONS: dict[str, tuple[Section, ...]] = {
    "archive": ARCHIVE_SECTIONS,
    "health_exam": HEALTH_EXAM,
    "hypertension_follow_up": _follow_up("HypertensionSymptom", diabetes=False),
    "diabetes_follow_up": _follow_up("DiabetesSymptom", diabetes=True),
    "hospital_encounter": ENCOUNTER_SECTIONS,
    "consultation": (Section(PLAN, "会诊", (
        F("occurred_on", "会诊日期", "TS"),
        F("reason", "会诊原因", "ST"),
        F("opinion", "会诊意见", "ST"),
        F("consultants[].institution", "会诊医疗机构名称", "ST"),
        F("consultants[].doctor", "会诊医师姓名", "ST"),
        F("responsible_doctor", "责任医生", "ST"),
    )),),
    "referral_out": (Section(REFERRAL, "转出", (
        F("occurred_on", "转诊日期", "TS"),
        F("urgency", "紧急程度", "ST"),
        F("from_institution", "转出医疗机构名称", "ST"),
        F("from_doctor", "转出医生", "ST"),
        F("to_institution", "转入医疗机构名称", "ST"),
        F("to_department", "转入科室", "ST"),
        F("to_doctor", "接诊医生", "ST"),
        F("impression", "初步印象", "ST"),
    )), Section(PRESENT_ILLNESS, "病史与治疗经过", (
        F("present_illness", "现病史", "ST", de="DE02.10.071.00"),
        F("past_history", "既往史", "ST"),
        F("treatment", "治疗经过", "ST"),
    ))),
    "referral_back": (Section(REFERRAL, "回转", (
        F("occurred_on", "回转日期", "TS"),
        F("from_institution", "转出医疗机构名称", "ST"),
        F("doctor", "转出医生", "ST"),
        F("to_institution", "转入医疗机构名称", "ST"),
        F("diagnosis", "诊断结果", "ST"),
        F("findings", "主要检查结果", "ST"),
        F("treatment", "治疗经过", "ST"),
        F("plan", "下一步治疗方案及康复建议", "ST"),
    )),),
}


# A source that makes more than one document (types.MULTIPLE) has the sections of each: an
# integrated visit's HSDB04.01 is the hypertension form's table, HSDB04.02 the diabetes form's, each
# with the visit's symptoms (the integrated list) and its programme's 此次随访分类.
SECTIONS_BY_TYPE: dict[tuple[str, str], tuple[Section, ...]] = {
    ("integrated_follow_up", "HSDB04.01"): _follow_up("IntegratedSymptom", diabetes=False,
                                                      classification="classifications.hypertension"),
    ("integrated_follow_up", "HSDB04.02"): _follow_up("IntegratedSymptom", diabetes=True,
                                                      classification="classifications.type2_diabetes"),
}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


@cache
def _steps(path: str) -> tuple[tuple[str, bool], ...]:
    """A path as (key, many) steps: ``a[].b`` -> (("a", True), ("b", False))."""
    return tuple((part[:-2], True) if part.endswith("[]") else (part, False) for part in path.split("."))


def _walk(value: Any, steps: tuple[tuple[str, bool], ...], out: list[Any], at: int = 0) -> list[Any]:
    """The values at a path (``a.b``, ``a[]``, ``a[].b``) appended to ``out``; nothing for a missing
    or empty one."""
    for index in range(at, len(steps)):
        key, many = steps[index]
        child = value.get(key) if type(value) is dict or isinstance(value, Mapping) else None
        if many:
            if type(child) is list or isinstance(child, list):
                for item in child:
                    _walk(item, steps, out, index + 1)
            return out
        if child is None:
            return out
        value = child
    if not _empty(value):
        out.append(value)
    return out


def _parse_time(value: Any) -> Any:
    if isinstance(value, (date, datetime)) or not isinstance(value, str):
        return value
    try:
        return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    except ValueError:
        return value


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    try:
        parsed = float(str(value).strip())
    except ValueError:
        return None
    return int(parsed) if parsed.is_integer() and "." not in str(value) else parsed


def _result_facts(spec: F, item: Mapping[str, Any]) -> Iterator[Fact]:
    """A test result: an exam's ``{"item": "fasting_glucose", "value": 5.6, "unit": "mmol/L"}`` or
    ``{"item": "ecg", "result": "1", "description": ...}``, or an encounter's
    ``{"code": "GLU", "name": "葡萄糖", "value": "7.8", "unit": "mmol/L", "abnormal_flag": "H"}``."""
    if not isinstance(item, Mapping):
        return
    item_code = item.get("item")
    label = item.get("name") or (code_table(spec.table).get(item_code) if spec.table and item_code else None) \
        or item.get("code") or spec.label
    de, unit = RESULT_DE.get(item_code, (None, None))
    value = item.get("value")
    if not _empty(value):
        number = _number(value)
        result_unit = item.get("unit") or unit
        if number is not None and result_unit:
            yield Fact(F(spec.path, label, "PQ", de=de, unit=result_unit), number, label, unit=result_unit, de=de)
        elif number is not None:
            yield Fact(F(spec.path, label, "REAL", de=de), number, label, de=de)
        else:
            yield Fact(F(spec.path, label, "ST", de=de), str(value), label, de=de)
    if not _empty(item.get("result")):
        yield Fact(F(spec.path, f"{label}结果", "CD", table="NormalAbnormal"), item["result"], f"{label}结果",
                   display=code_table("NormalAbnormal").get(item["result"]))
    for key, suffix in (("description", "描述"), ("abnormal_flag", "异常标志"), ("reference_range", "参考范围")):
        if not _empty(item.get(key)):
            yield Fact(F(spec.path, f"{label}{suffix}", "ST"), str(item[key]), f"{label}{suffix}")


def field_facts(spec: F, content: Mapping[str, Any]) -> list[Fact]:
    """The facts one field of a table makes from the content (none when it is empty)."""
    found = _walk(content, _steps(spec.path), [])
    return _facts(spec, found) if found else found


def _facts(spec: F, found: list[Any]) -> list[Fact]:
    """The facts of the values found at a field's path."""
    facts: list[Fact] = []
    kind, label, de = spec.kind, spec.label, spec.de
    if kind == "CD":
        table = code_table(spec.table) if spec.table else None
        for value in found:
            code = str(value)
            display = table.get(code) if table is not None else None
            facts.append(Fact(spec, code, label, display or code, None, de))
    elif kind in ("PQ", "INT", "REAL"):
        for value in found:
            number = _number(value)
            if number is not None:
                facts.append(Fact(spec, number, label, None, spec.unit, de))
    elif kind == "TS":
        facts.extend(Fact(spec, _parse_time(value), label, None, None, de) for value in found)
    elif kind == "BL":
        facts.extend(Fact(spec, value, label, None, None, de) for value in found if isinstance(value, bool))
    elif kind == "RESULT":
        for value in found:
            facts.extend(_result_facts(spec, value))
    else:
        for value in found:
            text = str(value).strip()
            if text:
                facts.append(Fact(spec, text, label, None, None, de))
    return facts


# id(section) -> (the section, and per field: the field, the keys of a path of single values or
# None, the path's steps); the section held so that its id names no other
_PLANS: dict[int, tuple[Section, tuple[tuple[F, tuple[str, ...] | None, tuple[tuple[str, bool], ...]], ...]]] = {}


def _plan(section: Section) -> tuple[tuple[F, tuple[str, ...] | None, tuple[tuple[str, bool], ...]], ...]:
    found = _PLANS.get(id(section))
    if found is None or found[0] is not section:
        plan = []
        for spec in section.fields:
            steps = _steps(spec.path)
            plan.append((spec, None if any(many for _, many in steps) else tuple(key for key, _ in steps), steps))
        if len(_PLANS) >= 1000:        # sections are the tables' (a few dozen): a bound all the same
            _PLANS.clear()
        found = _PLANS[id(section)] = (section, tuple(plan))
    return found[1]


def section_facts(source: str, content: Mapping[str, Any], type_code: str | None = None) -> list[SectionFacts]:
    """The non-empty sections of a source's content, in the table's order (of the document type's
    table, for a source that makes more than one: SECTIONS_BY_TYPE)."""
    out = []
    for section in SECTIONS_BY_TYPE.get((source, type_code or "")) or SECTIONS.get(source, ()):
        facts: list[Fact] = []
        for spec, keys, steps in _plan(section):
            if keys is None:
                found = _walk(content, steps, [])
                if found:
                    facts.extend(_facts(spec, found))
                continue
            value: Any = content           # `_walk` of a path of single values, inline
            for key in keys:
                value = value.get(key) if type(value) is dict or isinstance(value, Mapping) else None
                if value is None:
                    break
            if value is not None and not _empty(value):
                facts.extend(_facts(spec, [value]))
        if facts:
            out.append(SectionFacts(section, facts))
    return out


def diagnoses(source: str, content: Mapping[str, Any]) -> list[Diagnosis]:
    """Coded diagnoses the record carries (a hospital encounter's, ICD-10)."""
    if source != "hospital_encounter":
        return []
    out = []
    for item in content.get("diagnoses") or ():
        if isinstance(item, Mapping) and not _empty(item.get("code")):
            out.append(Diagnosis(code=str(item["code"]), name=item.get("name") or None,
                                 system=item.get("system") or "ICD-10", primary=bool(item.get("primary"))))
    return out


def medications(source: str, content: Mapping[str, Any]) -> list[Medication]:
    """The medicines a record names: a follow-up's 用药情况, an exam's 主要用药情况, an encounter's
    prescriptions."""
    out = []
    if source in ("hypertension_follow_up", "diabetes_follow_up", "integrated_follow_up"):
        for item in content.get("medicines") or ():
            if isinstance(item, Mapping) and item.get("name"):
                times = item.get("times_per_day")
                usage = " ".join(part for part in (
                    f"每日{times}次" if times else "",
                    f"每次{item.get('dose')}{item.get('unit') or ''}" if item.get("dose") is not None else "") if part)
                out.append(Medication(item["name"], dose=_number(item.get("dose")), unit=item.get("unit"),
                                      usage=usage or None))
    elif source == "health_exam":
        for item in content.get("medications") or ():
            if isinstance(item, Mapping) and item.get("drug"):
                usage = " ".join(str(item[k]) for k in ("usage", "dose", "duration") if not _empty(item.get(k)))
                out.append(Medication(item["drug"], usage=usage or None))
    elif source == "hospital_encounter":
        for item in content.get("prescriptions") or ():
            if isinstance(item, Mapping) and item.get("drug"):
                days = f"{item['days']}天" if item.get("days") else ""
                usage = " ".join(str(part) for part in (item.get("route"), item.get("dose"), item.get("frequency"),
                                                        days) if part)
                out.append(Medication(item["drug"], usage=usage or None, route=item.get("route") or None))
    return out
