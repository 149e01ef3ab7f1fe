"""Code tables of the 个人基本信息表 and 健康体检表 (国家基本公共卫生服务规范 第三版, 2017).

Values are the codes printed on the paper forms.  Where a national standard
applies it is named on the class: GB/T 2261.1-2003 (sex), GB 3304 (ethnicity,
collapsed to 汉族/少数民族 on the form), GB/T 6565 (occupation major groups),
WS 364 CV02.01.101 (identity document type).  Marital status uses the form's
own 1-5 codes, not the GB/T 2261.2 codes 10/20/30/40/90.
"""

from __future__ import annotations

import enum


class CodeEnum(enum.Enum):
    """Enum whose members are declared as ``NAME = code, label``.

    ``value`` is the code string, so ``Sex("1") is Sex.MALE``.
    """

    _label: str

    def __new__(cls, code: str, label: str) -> CodeEnum:
        member = object.__new__(cls)
        member._value_ = code
        member._label = label
        return member

    @property
    def label(self) -> str:
        return self._label

    @classmethod
    def codes(cls) -> list[str]:
        return [member.value for member in cls]


# @enum.unique guards against a copy-paste code silently becoming an alias.


@enum.unique
class Sex(CodeEnum):
    """GB/T 2261.1-2003."""

    UNKNOWN = "0", "未知的性别"
    MALE = "1", "男"
    FEMALE = "2", "女"
    UNSTATED = "9", "未说明的性别"


@enum.unique
class ResidenceType(CodeEnum):
    REGISTERED = "1", "户籍"
    NON_REGISTERED = "2", "非户籍"


@enum.unique
class Ethnicity(CodeEnum):
    """GB 3304 as collapsed on the form; the minority name is kept as free text."""

    HAN = "01", "汉族"
    MINORITY = "99", "少数民族"


@enum.unique
class ArchiveSource(CodeEnum):
    """How the archive came to be built (第三版 居民健康档案管理服务规范, 服务流程: when a resident
    receives care at a primary unit, or through home visits, screening or health checks). Not a
    national code table: numbered in the order the specification lists them [M]."""

    VISIT = "1", "就诊"
    HOME_VISIT = "2", "入户"
    SCREENING = "3", "筛查"
    HEALTH_CHECK = "4", "体检"


@enum.unique
class ArchiveConsent(CodeEnum):
    """The resident's answer when asked to have an archive built (自愿与引导相结合), kept with its
    date. Not a national code table."""

    GIVEN = "given", "同意建档"
    REFUSED = "refused", "拒绝建档"


@enum.unique
class BloodTypeABO(CodeEnum):
    A = "1", "A"
    B = "2", "B"
    O = "3", "O"
    AB = "4", "AB"
    UNKNOWN = "5", "不详"


@enum.unique
class BloodTypeRh(CodeEnum):
    NEGATIVE = "1", "阴性"
    POSITIVE = "2", "阳性"
    UNKNOWN = "3", "不详"


@enum.unique
class Education(CodeEnum):
    POSTGRADUATE = "1", "研究生"
    BACHELOR = "2", "大学本科"
    JUNIOR_COLLEGE = "3", "大学专科和专科学校"
    SECONDARY_SPECIALISED = "4", "中等专业学校"
    TECHNICAL_SCHOOL = "5", "技工学校"
    SENIOR_HIGH = "6", "高中"
    JUNIOR_HIGH = "7", "初中"
    PRIMARY = "8", "小学"
    ILLITERATE = "9", "文盲或半文盲"
    UNKNOWN = "10", "不详"


@enum.unique
class Occupation(CodeEnum):
    """GB/T 6565 major groups."""

    HEADS_OF_ORGANISATIONS = "0", "国家机关、党群组织、企业、事业单位负责人"
    PROFESSIONALS = "1", "专业技术人员"
    CLERKS = "2", "办事人员和有关人员"
    COMMERCE_AND_SERVICE = "3", "商业、服务业人员"
    AGRICULTURE = "4", "农、林、牧、渔、水利业生产人员"
    PRODUCTION_AND_TRANSPORT = "5", "生产、运输设备操作人员及有关人员"
    MILITARY = "6", "军人"
    OTHER = "7", "不便分类的其他从业人员"
    NO_OCCUPATION = "8", "无职业"


@enum.unique
class MaritalStatus(CodeEnum):
    SINGLE = "1", "未婚"
    MARRIED = "2", "已婚"
    WIDOWED = "3", "丧偶"
    DIVORCED = "4", "离婚"
    UNSTATED = "5", "未说明的婚姻状况"


@enum.unique
class PaymentMethod(CodeEnum):
    URBAN_EMPLOYEE_INSURANCE = "1", "城镇职工基本医疗保险"
    URBAN_RESIDENT_INSURANCE = "2", "城镇居民基本医疗保险"
    NEW_RURAL_COOPERATIVE = "3", "新型农村合作医疗"
    POVERTY_RELIEF = "4", "贫困救助"
    COMMERCIAL_INSURANCE = "5", "商业医疗保险"
    FULLY_PUBLIC = "6", "全公费"
    FULLY_SELF_PAID = "7", "全自费"
    OTHER = "8", "其他"


@enum.unique
class DrugAllergy(CodeEnum):
    NONE = "1", "无"
    PENICILLIN = "2", "青霉素"
    SULFONAMIDE = "3", "磺胺"
    STREPTOMYCIN = "4", "链霉素"
    OTHER = "5", "其他"


@enum.unique
class Exposure(CodeEnum):
    NONE = "1", "无"
    CHEMICALS = "2", "化学品"
    POISONS = "3", "毒物"
    RADIATION = "4", "射线"


@enum.unique
class PastDisease(CodeEnum):
    NONE = "1", "无"
    HYPERTENSION = "2", "高血压"
    DIABETES = "3", "糖尿病"
    CORONARY_HEART_DISEASE = "4", "冠心病"
    COPD = "5", "慢性阻塞性肺疾病"
    MALIGNANT_TUMOUR = "6", "恶性肿瘤"
    STROKE = "7", "脑卒中"
    SEVERE_MENTAL_DISORDER = "8", "严重精神障碍"
    TUBERCULOSIS = "9", "结核病"
    HEPATITIS = "10", "肝炎"
    OTHER_NOTIFIABLE_INFECTIOUS_DISEASE = "11", "其他法定传染病"
    OCCUPATIONAL_DISEASE = "12", "职业病"
    OTHER = "13", "其他"


@enum.unique
class FamilyHistoryDisease(CodeEnum):
    """Same as PastDisease up to 10, then 11 先天畸形 and 12 其他."""

    NONE = "1", "无"
    HYPERTENSION = "2", "高血压"
    DIABETES = "3", "糖尿病"
    CORONARY_HEART_DISEASE = "4", "冠心病"
    COPD = "5", "慢性阻塞性肺疾病"
    MALIGNANT_TUMOUR = "6", "恶性肿瘤"
    STROKE = "7", "脑卒中"
    SEVERE_MENTAL_DISORDER = "8", "严重精神障碍"
    TUBERCULOSIS = "9", "结核病"
    HEPATITIS = "10", "肝炎"
    CONGENITAL_MALFORMATION = "11", "先天畸形"
    OTHER = "12", "其他"


@enum.unique
class Disability(CodeEnum):
    NONE = "1", "无残疾"
    VISUAL = "2", "视力残疾"
    HEARING = "3", "听力残疾"
    SPEECH = "4", "言语残疾"
    PHYSICAL = "5", "肢体残疾"
    INTELLECTUAL = "6", "智力残疾"
    MENTAL = "7", "精神残疾"
    OTHER = "8", "其他残疾"


@enum.unique
class KitchenVentilation(CodeEnum):
    NONE = "1", "无"
    RANGE_HOOD = "2", "油烟机"
    EXHAUST_FAN = "3", "换气扇"
    CHIMNEY = "4", "烟囱"


@enum.unique
class Fuel(CodeEnum):
    LPG = "1", "液化气"
    COAL = "2", "煤"
    NATURAL_GAS = "3", "天然气"
    BIOGAS = "4", "沼气"
    FIREWOOD = "5", "柴火"
    OTHER = "6", "其他"


@enum.unique
class DrinkingWater(CodeEnum):
    TAP = "1", "自来水"
    PURIFIED = "2", "经净化过滤的水"
    WELL = "3", "井水"
    RIVER_OR_LAKE = "4", "河湖水"
    POND = "5", "塘水"
    OTHER = "6", "其他"


@enum.unique
class Toilet(CodeEnum):
    SANITARY = "1", "卫生厕所"
    ONE_OR_TWO_COMPARTMENT_SEPTIC = "2", "一格或二格粪池式"
    # On the rural form 马桶 is the traditional chamber pot; flush toilets count as 卫生厕所.
    CHAMBER_POT = "3", "马桶"
    OPEN_PIT = "4", "露天粪坑"
    SIMPLE_SHED = "5", "简易棚厕"


@enum.unique
class LivestockPen(CodeEnum):
    NONE = "1", "无"
    SEPARATE = "2", "单设"
    INDOORS = "3", "室内"
    OUTDOORS = "4", "室外"


@enum.unique
class IdType(CodeEnum):
    """WS 364 CV02.01.101 身份证件类别代码."""

    RESIDENT_ID_CARD = "01", "居民身份证"
    HOUSEHOLD_REGISTER = "02", "居民户口簿"
    PASSPORT = "03", "护照"
    MILITARY_OFFICER_CARD = "04", "军官证"
    DRIVING_LICENCE = "05", "驾驶证"
    HONG_KONG_MACAU_PERMIT = "06", "港澳居民来往内地通行证"
    TAIWAN_PERMIT = "07", "台湾居民来往内地通行证"
    OTHER = "99", "其他法定有效证件"


@enum.unique
class Symptom(CodeEnum):
    """健康体检表 section 1 症状."""

    NONE = "1", "无症状"
    HEADACHE = "2", "头痛"
    DIZZINESS = "3", "头晕"
    PALPITATIONS = "4", "心悸"
    CHEST_TIGHTNESS = "5", "胸闷"
    CHEST_PAIN = "6", "胸痛"
    CHRONIC_COUGH = "7", "慢性咳嗽"
    SPUTUM = "8", "咳痰"
    DYSPNOEA = "9", "呼吸困难"
    POLYDIPSIA = "10", "多饮"
    POLYURIA = "11", "多尿"
    WEIGHT_LOSS = "12", "体重下降"
    FATIGUE = "13", "乏力"
    JOINT_SWELLING_AND_PAIN = "14", "关节肿痛"
    BLURRED_VISION = "15", "视力模糊"
    NUMB_HANDS_AND_FEET = "16", "手脚麻木"
    URINARY_URGENCY = "17", "尿急"
    DYSURIA = "18", "尿痛"
    CONSTIPATION = "19", "便秘"
    DIARRHOEA = "20", "腹泻"
    NAUSEA_AND_VOMITING = "21", "恶心呕吐"
    DIM_VISION = "22", "眼花"
    TINNITUS = "23", "耳鸣"
    BREAST_TENDERNESS = "24", "乳房胀痛"
    OTHER = "25", "其他"


@enum.unique
class EncounterKind(CodeEnum):
    """Kinds of hospital event fed into the archive (not a national code table)."""

    OUTPATIENT = "outpatient", "门诊"
    EMERGENCY = "emergency", "急诊"
    INPATIENT_ADMISSION = "inpatient_admission", "入院"
    INPATIENT_DISCHARGE = "inpatient_discharge", "出院"
    LAB_RESULT = "lab_result", "检验结果"
    EXAM_REPORT = "exam_report", "检查报告"


# --- 健康体检表 (sections 2-12) ------------------------------------------------------------
# domain.md §4 confirms the items of each section but not always their numbering; where it
# says [M] or gives no codes, the codes below follow the printed 第三版 form as remembered
# (the same order the options are printed in) and are marked [M].  Check them against the
# official PDF before exchanging them with other systems.


@enum.unique
class HealthSelfAssessment(CodeEnum):
    """老年人健康状态自我评估; 2-4 are [M] (domain.md gives only 1 满意 … 5 不满意)."""

    SATISFIED = "1", "满意"
    MOSTLY_SATISFIED = "2", "基本满意"
    UNSURE = "3", "说不清楚"
    NOT_QUITE_SATISFIED = "4", "不太满意"
    DISSATISFIED = "5", "不满意"


@enum.unique
class SelfCareAbility(CodeEnum):
    """老年人生活自理能力自我评估, with the score band of each grade."""

    INDEPENDENT = "1", "可自理(0～3分)"
    MILDLY_DEPENDENT = "2", "轻度依赖(4～8分)"
    MODERATELY_DEPENDENT = "3", "中度依赖(9～18分)"
    DEPENDENT = "4", "不能自理(≥19分)"


@enum.unique
class ScreenResult(CodeEnum):
    """认知功能 and 情感状态 rough screens."""

    NEGATIVE = "1", "粗筛阴性"
    POSITIVE = "2", "粗筛阳性"


@enum.unique
class ExerciseFrequency(CodeEnum):
    DAILY = "1", "每天"
    WEEKLY_OR_MORE = "2", "每周一次以上"
    OCCASIONALLY = "3", "偶尔"
    NEVER = "4", "不锻炼"


@enum.unique
class DietHabit(CodeEnum):
    """[M] numbering. 1-3 are alternatives; 4-6 may be combined with any of them."""

    BALANCED = "1", "荤素均衡"
    MAINLY_MEAT = "2", "荤食为主"
    MAINLY_VEGETARIAN = "3", "素食为主"
    SALTY = "4", "嗜盐"
    OILY = "5", "嗜油"
    SWEET = "6", "嗜糖"


@enum.unique
class SmokingStatus(CodeEnum):
    NEVER = "1", "从不吸烟"
    QUIT = "2", "已戒烟"
    SMOKER = "3", "吸烟"


@enum.unique
class DrinkingFrequency(CodeEnum):
    NEVER = "1", "从不"
    OCCASIONALLY = "2", "偶尔"
    OFTEN = "3", "经常"
    DAILY = "4", "每天"


@enum.unique
class AlcoholType(CodeEnum):
    BAIJIU = "1", "白酒"
    BEER = "2", "啤酒"
    WINE = "3", "红酒"
    HUANGJIU = "4", "黄酒"
    OTHER = "5", "其他"


@enum.unique
class OccupationalHazard(CodeEnum):
    """职业病危害因素 agent kinds; the form has one row per kind, each with 防护措施 无/有."""

    DUST = "1", "粉尘"
    RADIOACTIVE = "2", "放射物质"
    PHYSICAL = "3", "物理因素"
    CHEMICAL = "4", "化学物质"
    OTHER = "5", "其他"


@enum.unique
class Lips(CodeEnum):
    """[M]"""

    RED_AND_MOIST = "1", "红润"
    PALE = "2", "苍白"
    CYANOTIC = "3", "发绀"
    CHAPPED = "4", "皲裂"
    HERPES = "5", "疱疹"


@enum.unique
class Dentition(CodeEnum):
    """[M] multiple choice, 1 正常 alone; the tooth-position grid of the form is not kept."""

    NORMAL = "1", "正常"
    MISSING_TEETH = "2", "缺齿"
    CARIES = "3", "龋齿"
    DENTURES = "4", "义齿(假牙)"


@enum.unique
class Pharynx(CodeEnum):
    """[M]"""

    NO_CONGESTION = "1", "无充血"
    CONGESTION = "2", "充血"
    LYMPHOID_HYPERPLASIA = "3", "淋巴滤泡增生"


@enum.unique
class Hearing(CodeEnum):
    HEARS = "1", "听见"
    CANNOT_HEAR = "2", "听不清或无法听见"


@enum.unique
class MotorFunction(CodeEnum):
    CAN_COMPLETE = "1", "可顺利完成"
    CANNOT_COMPLETE = "2", "无法独立完成任何一个动作"


@enum.unique
class Skin(CodeEnum):
    """[M]"""

    NORMAL = "1", "正常"
    FLUSHED = "2", "潮红"
    PALE = "3", "苍白"
    CYANOTIC = "4", "发绀"
    JAUNDICED = "5", "黄染"
    PIGMENTED = "6", "色素沉着"
    OTHER = "7", "其他"


@enum.unique
class Sclera(CodeEnum):
    """[M]"""

    NORMAL = "1", "正常"
    JAUNDICED = "2", "黄染"
    CONGESTED = "3", "充血"
    OTHER = "4", "其他"


@enum.unique
class LymphNodes(CodeEnum):
    """[M]"""

    NOT_PALPABLE = "1", "未触及"
    SUPRACLAVICULAR = "2", "锁骨上"
    AXILLARY = "3", "腋窝"
    OTHER = "4", "其他"


@enum.unique
class Rales(CodeEnum):
    """[M]"""

    NONE = "1", "无"
    DRY = "2", "干罗音"
    MOIST = "3", "湿罗音"
    OTHER = "4", "其他"


@enum.unique
class HeartRhythm(CodeEnum):
    REGULAR = "1", "齐"
    IRREGULAR = "2", "不齐"
    ABSOLUTELY_IRREGULAR = "3", "绝对不齐"


@enum.unique
class LowerLimbOedema(CodeEnum):
    """[M]"""

    NONE = "1", "无"
    ONE_SIDE = "2", "单侧"
    BOTH_ASYMMETRIC = "3", "双侧不对称"
    BOTH_SYMMETRIC = "4", "双侧对称"


@enum.unique
class DorsalisPedisPulse(CodeEnum):
    """足背动脉搏动 [M]"""

    NOT_PALPABLE = "1", "未触及"
    BOTH_SYMMETRIC = "2", "触及双侧对称"
    LEFT_WEAK_OR_ABSENT = "3", "触及左侧弱或消失"
    RIGHT_WEAK_OR_ABSENT = "4", "触及右侧弱或消失"


@enum.unique
class DigitalRectalExam(CodeEnum):
    """肛门指诊 [M]"""

    NO_ABNORMALITY = "1", "未及异常"
    TENDERNESS = "2", "触痛"
    MASS = "3", "包块"
    PROSTATE_ABNORMAL = "4", "前列腺异常"
    OTHER = "5", "其他"


@enum.unique
class BreastFinding(CodeEnum):
    """乳腺 [M] multiple choice, 1 未见异常 alone."""

    NO_ABNORMALITY = "1", "未见异常"
    MASTECTOMY = "2", "乳房切除"
    ABNORMAL_LACTATION = "3", "异常泌乳"
    MASS = "4", "乳腺包块"
    OTHER = "5", "其他"


@enum.unique
class ExamTestItem(CodeEnum):
    """健康体检表 section 6 辅助检查 items.

    Not a national code table: word codes like EncounterKind, since the form numbers none of
    them.  The sub-items follow domain.md §4 ([M] for the sub-items); units and plausible
    ranges live with the form schema (services.records.forms.exam_tests).
    """

    HAEMOGLOBIN = "haemoglobin", "血红蛋白"
    WHITE_CELLS = "white_cells", "白细胞"
    PLATELETS = "platelets", "血小板"
    BLOOD_ROUTINE_OTHER = "blood_routine_other", "血常规其他"
    URINE_PROTEIN = "urine_protein", "尿蛋白"
    URINE_GLUCOSE = "urine_glucose", "尿糖"
    URINE_KETONES = "urine_ketones", "尿酮体"
    URINE_OCCULT_BLOOD = "urine_occult_blood", "尿潜血"
    URINE_ROUTINE_OTHER = "urine_routine_other", "尿常规其他"
    FASTING_GLUCOSE = "fasting_glucose", "空腹血糖"
    ECG = "ecg", "心电图"
    URINE_MICROALBUMIN = "urine_microalbumin", "尿微量白蛋白"
    FAECAL_OCCULT_BLOOD = "faecal_occult_blood", "大便潜血"
    HBA1C = "hba1c", "糖化血红蛋白"
    HBSAG = "hbsag", "乙型肝炎表面抗原"
    ALT = "alt", "血清谷丙转氨酶"
    AST = "ast", "血清谷草转氨酶"
    ALBUMIN = "albumin", "白蛋白"
    TOTAL_BILIRUBIN = "total_bilirubin", "总胆红素"
    CONJUGATED_BILIRUBIN = "conjugated_bilirubin", "结合胆红素"
    CREATININE = "creatinine", "血清肌酐"
    UREA = "urea", "血尿素"
    POTASSIUM = "potassium", "血钾浓度"
    SODIUM = "sodium", "血钠浓度"
    TOTAL_CHOLESTEROL = "total_cholesterol", "总胆固醇"
    TRIGLYCERIDES = "triglycerides", "甘油三酯"
    LDL_C = "ldl_c", "血清低密度脂蛋白胆固醇"
    HDL_C = "hdl_c", "血清高密度脂蛋白胆固醇"
    CHEST_XRAY = "chest_xray", "胸部X线片"
    ULTRASOUND_ABDOMEN = "ultrasound_abdomen", "B超(腹部)"
    ULTRASOUND_OTHER = "ultrasound_other", "B超(其他)"
    CERVICAL_SMEAR = "cervical_smear", "宫颈涂片"
    OTHER = "other", "其他"


@enum.unique
class NormalAbnormal(CodeEnum):
    """辅助检查 心电图, 胸部X线片, B超 (腹部, 其他) and 宫颈涂片: 1 正常 / 2 异常, the abnormality
    described beside it."""

    NORMAL = "1", "正常"
    ABNORMAL = "2", "异常"


@enum.unique
class CerebrovascularDisease(CodeEnum):
    """现存主要健康问题 脑血管疾病 [M]; 1 未发现 alone."""

    NONE_FOUND = "1", "未发现"
    ISCHAEMIC_STROKE = "2", "缺血性卒中"
    CEREBRAL_HAEMORRHAGE = "3", "脑出血"
    SUBARACHNOID_HAEMORRHAGE = "4", "蛛网膜下腔出血"
    TIA = "5", "短暂性脑缺血发作"
    OTHER = "6", "其他"


@enum.unique
class KidneyDisease(CodeEnum):
    """现存主要健康问题 肾脏疾病 [M]; 1 未发现 alone."""

    NONE_FOUND = "1", "未发现"
    DIABETIC_NEPHROPATHY = "2", "糖尿病肾病"
    RENAL_FAILURE = "3", "肾功能衰竭"
    ACUTE_NEPHRITIS = "4", "急性肾炎"
    CHRONIC_NEPHRITIS = "5", "慢性肾炎"
    OTHER = "6", "其他"


@enum.unique
class HeartDisease(CodeEnum):
    """现存主要健康问题 心脏疾病 [M]; 1 未发现 alone."""

    NONE_FOUND = "1", "未发现"
    MYOCARDIAL_INFARCTION = "2", "心肌梗死"
    ANGINA = "3", "心绞痛"
    CORONARY_REVASCULARISATION = "4", "冠状动脉血运重建"
    CONGESTIVE_HEART_FAILURE = "5", "充血性心力衰竭"
    PRECORDIAL_PAIN = "6", "心前区疼痛"
    OTHER = "7", "其他"


@enum.unique
class VascularDisease(CodeEnum):
    """现存主要健康问题 血管疾病 [M]; 1 未发现 alone."""

    NONE_FOUND = "1", "未发现"
    DISSECTING_ANEURYSM = "2", "夹层动脉瘤"
    ARTERIAL_OCCLUSIVE_DISEASE = "3", "动脉闭塞性疾病"
    OTHER = "4", "其他"


@enum.unique
class EyeDisease(CodeEnum):
    """现存主要健康问题 眼部疾病 [M]; 1 未发现 alone."""

    NONE_FOUND = "1", "未发现"
    RETINAL_HAEMORRHAGE_OR_EXUDATE = "2", "视网膜出血或渗出"
    PAPILLOEDEMA = "3", "视乳头水肿"
    CATARACT = "4", "白内障"
    OTHER = "5", "其他"


@enum.unique
class MedicationAdherence(CodeEnum):
    """服药依从性 ([M] for the codes, per domain.md §4)."""

    REGULAR = "1", "规律"
    INTERMITTENT = "2", "间断"
    NOT_TAKING = "3", "不服药"


@enum.unique
class HealthAssessment(CodeEnum):
    NO_ABNORMALITY = "1", "体检无异常"
    ABNORMAL = "2", "有异常"


@enum.unique
class HealthGuidance(CodeEnum):
    """健康指导 (domain.md §4: [M] for the exact option list)."""

    CHRONIC_DISEASE_MANAGEMENT = "1", "纳入慢性病患者健康管理"
    RECHECK = "2", "建议复查"
    REFERRAL = "3", "建议转诊"


@enum.unique
class RiskFactorControl(CodeEnum):
    """健康指导 危险因素控制 ([M] for the exact option list).

    5 carries a target weight in kg, 6 the vaccine, 7 free text.
    """

    QUIT_SMOKING = "1", "戒烟"
    HEALTHY_DRINKING = "2", "健康饮酒"
    DIET = "3", "饮食"
    EXERCISE = "4", "锻炼"
    LOSE_WEIGHT = "5", "减体重"
    VACCINATION = "6", "建议接种疫苗"
    OTHER = "7", "其他"
