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
