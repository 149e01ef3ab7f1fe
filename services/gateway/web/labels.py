"""The Chinese labels of the forms' fields, as the paper forms word them, by record type and
path (rows without their numbers: `tests.item`). The forms' schemas carry the code lists and
their meanings; they carry no field titles, so these are the one thing a new form's page may
want added here. A field without a label shows its name; a form without a title its record type.
`DERIVED` fields are computed by the server (BMI) and not asked."""

from __future__ import annotations

TITLES = {
    "personal_info": "个人基本信息表",
    "health_exam": "健康体检表",
    "visit": "接诊记录表",
    "consultation": "会诊记录表",
    "hypertension_follow_up": "高血压患者随访服务记录表",
    "diabetes_follow_up": "2型糖尿病患者随访服务记录表",
    "integrated_follow_up": "高血压、2型糖尿病患者随访服务记录表（多病共管）",
    "elderly_self_care": "老年人生活自理能力评估表",
    "elderly_tcm": "老年人中医药健康管理服务记录表",
    "referral_out": "双向转诊（转出）单",
    "referral_back": "双向转诊（回转）单",
}

_FOLLOW_UP_DERIVED = {"signs.bmi", "signs.target_bmi"}
DERIVED = {"health_exam": {"general.bmi"}, "hypertension_follow_up": _FOLLOW_UP_DERIVED,
           "diabetes_follow_up": _FOLLOW_UP_DERIVED, "integrated_follow_up": _FOLLOW_UP_DERIVED,
           "elderly_self_care": {"score", "level"}, "elderly_tcm": {"scores", "judgments"}}

# The follow-up forms' fields (高血压/2型糖尿病患者随访服务记录表), as the national forms word them;
# each form has the ones its schema asks.
_FOLLOW_UP = {
    "occurred_on": "随访日期", "method": "随访方式", "symptoms": "症状", "symptoms_other": "其他症状",
    "danger_signs": "危急情况（须紧急转诊）",
    "signs": "体征", "signs.blood_pressure": "血压", "signs.blood_pressure.systolic": "收缩压（mmHg）",
    "signs.blood_pressure.diastolic": "舒张压（mmHg）", "signs.weight": "体重（kg）",
    "signs.target_weight": "目标体重（kg）", "signs.height": "身高（cm）", "signs.heart_rate": "心率（次/分钟）",
    "signs.other": "其他体征", "signs.dorsalis_pedis": "足背动脉搏动", "signs.dorsalis_pedis.pulse": "搏动",
    "signs.dorsalis_pedis.side": "侧别",
    "lifestyle": "生活方式指导", "lifestyle.smoking": "日吸烟量（支）", "lifestyle.smoking_target": "日吸烟量目标（支）",
    "lifestyle.drinking": "日饮酒量（两）", "lifestyle.drinking_target": "日饮酒量目标（两）",
    "lifestyle.exercise_per_week": "运动（次/周）", "lifestyle.exercise_minutes": "运动（分钟/次）",
    "lifestyle.exercise_per_week_target": "运动目标（次/周）", "lifestyle.exercise_minutes_target": "运动目标（分钟/次）",
    "lifestyle.salt": "摄盐情况（咸淡）", "lifestyle.salt_target": "摄盐情况目标",
    "lifestyle.staple_food": "主食（克/天）", "lifestyle.staple_food_target": "主食目标（克/天）",
    "lifestyle.psychology": "心理调整", "lifestyle.compliance": "遵医行为",
    "tests": "辅助检查", "tests.description": "检查项目及结果", "tests.date": "检查日期",
    "tests.fbg": "空腹血糖值（mmol/L）", "tests.hba1c": "糖化血红蛋白（%）",
    "adherence": "服药依从性", "adverse_reaction": "药物不良反应", "adverse_reaction.present": "有无药物不良反应",
    "adverse_reaction.detail": "不良反应描述", "hypoglycaemia": "低血糖反应",
    "classification": "此次随访分类", "classifications": "此次随访分类",
    "classifications.hypertension": "此次随访分类（高血压）", "classifications.type2_diabetes": "此次随访分类（糖尿病）",
    "medicines": "用药情况", "medicines.name": "药物名称", "medicines.times_per_day": "每日次数",
    "medicines.dose": "每次剂量", "medicines.unit": "剂量单位",
    "insulin": "胰岛素", "insulin.kind": "种类", "insulin.usage": "用法和用量",
    "referral": "转诊", "referral.reason": "转诊原因", "referral.institution": "机构", "referral.department": "科别",
    "next_visit_date": "下次随访日期", "doctor": "随访医生签名",
}

_COMMON = {"occurred_on": "日期", "responsible_doctor": "责任医生"}

LABELS: dict[str, dict[str, str]] = {
    "health_exam": {
        "occurred_on": "体检日期", "symptoms": "症状", "symptoms_other": "其他症状",
        "general": "一般状况", "general.temperature": "体温（℃）", "general.pulse": "脉率（次/分钟）",
        "general.respiratory_rate": "呼吸频率（次/分钟）", "general.blood_pressure": "血压",
        "general.blood_pressure.left": "左侧", "general.blood_pressure.right": "右侧",
        "general.blood_pressure.left.systolic": "左侧收缩压（mmHg）",
        "general.blood_pressure.left.diastolic": "左侧舒张压（mmHg）",
        "general.blood_pressure.right.systolic": "右侧收缩压（mmHg）",
        "general.blood_pressure.right.diastolic": "右侧舒张压（mmHg）",
        "general.height": "身高（cm）", "general.weight": "体重（kg）", "general.waist": "腰围（cm）",
        "general.health_self_assessment": "老年人健康状态自我评估", "general.self_care": "老年人生活自理能力自我评估",
        "general.self_care_score": "生活自理能力评分", "general.cognition": "老年人认知功能",
        "general.cognition.screen": "认知功能粗筛", "general.cognition.score": "简易智力状态检查总分",
        "general.emotion": "老年人情感状态", "general.emotion.screen": "情感状态粗筛",
        "general.emotion.score": "老年人抑郁评分总分",
        "lifestyle": "生活方式", "lifestyle.exercise": "体育锻炼", "lifestyle.exercise.frequency": "锻炼频率",
        "lifestyle.exercise.minutes": "每次锻炼时间（分钟）", "lifestyle.exercise.years": "坚持锻炼时间（年）",
        "lifestyle.exercise.kind": "锻炼方式", "lifestyle.diet": "饮食习惯", "lifestyle.smoking": "吸烟情况",
        "lifestyle.smoking.status": "吸烟状况", "lifestyle.smoking.daily_cigarettes": "日吸烟量（支）",
        "lifestyle.smoking.start_age": "开始吸烟年龄（岁）", "lifestyle.smoking.quit_age": "戒烟年龄（岁）",
        "lifestyle.drinking": "饮酒情况", "lifestyle.drinking.frequency": "饮酒频率",
        "lifestyle.drinking.daily_liang": "日饮酒量（两）", "lifestyle.drinking.quit": "是否戒酒",
        "lifestyle.drinking.quit_age": "戒酒年龄（岁）", "lifestyle.drinking.start_age": "开始饮酒年龄（岁）",
        "lifestyle.drinking.drunk_last_year": "近一年内是否曾醉酒", "lifestyle.drinking.types": "饮酒种类",
        "lifestyle.drinking.types_other": "其他酒类", "lifestyle.occupational_exposure": "职业病危害因素接触史",
        "lifestyle.occupational_exposure.exposed": "有无接触", "lifestyle.occupational_exposure.job": "工种",
        "lifestyle.occupational_exposure.years": "从业时间（年）",
        "lifestyle.occupational_exposure.agents": "毒物种类",
        "lifestyle.occupational_exposure.agents.kind": "类别",
        "lifestyle.occupational_exposure.agents.substance": "毒物",
        "lifestyle.occupational_exposure.agents.protected": "有无防护措施",
        "lifestyle.occupational_exposure.agents.protection": "防护措施",
        "organ_function": "脏器功能", "organ_function.oral": "口腔", "organ_function.oral.lips": "口唇",
        "organ_function.oral.dentition": "齿列", "organ_function.oral.pharynx": "咽部",
        "organ_function.vision": "视力", "organ_function.vision.left": "左眼", "organ_function.vision.right": "右眼",
        "organ_function.vision.corrected_left": "矫正视力 左眼", "organ_function.vision.corrected_right": "矫正视力 右眼",
        "organ_function.hearing": "听力", "organ_function.motor_function": "运动功能",
        "physical_exam": "查体", "physical_exam.fundus": "眼底", "physical_exam.skin": "皮肤",
        "physical_exam.sclera": "巩膜", "physical_exam.lymph_nodes": "淋巴结", "physical_exam.lungs": "肺",
        "physical_exam.lungs.barrel_chest": "桶状胸", "physical_exam.lungs.breath_sounds": "呼吸音",
        "physical_exam.lungs.rales": "罗音", "physical_exam.heart": "心脏", "physical_exam.heart.rate": "心率（次/分钟）",
        "physical_exam.heart.rhythm": "心律", "physical_exam.heart.murmur": "杂音", "physical_exam.abdomen": "腹部",
        "physical_exam.abdomen.tenderness": "压痛", "physical_exam.abdomen.mass": "包块",
        "physical_exam.abdomen.hepatomegaly": "肝大", "physical_exam.abdomen.splenomegaly": "脾大",
        "physical_exam.abdomen.shifting_dullness": "移动性浊音", "physical_exam.lower_limb_oedema": "下肢水肿",
        "physical_exam.dorsalis_pedis": "足背动脉搏动", "physical_exam.digital_rectal": "肛门指诊",
        "physical_exam.breast": "乳腺", "physical_exam.gynaecology": "妇科", "physical_exam.gynaecology.vulva": "外阴",
        "physical_exam.gynaecology.vagina": "阴道", "physical_exam.gynaecology.cervix": "宫颈",
        "physical_exam.gynaecology.uterus": "宫体", "physical_exam.gynaecology.adnexa": "附件",
        "physical_exam.other": "其他",
        "tests": "辅助检查", "tests.item": "项目", "tests.name": "名称", "tests.value": "结果",
        "tests.unit": "单位", "tests.result": "正常/异常", "tests.description": "异常描述",
        "health_problems": "现存主要健康问题", "health_problems.cerebrovascular": "脑血管疾病",
        "health_problems.kidney": "肾脏疾病", "health_problems.heart": "心脏疾病",
        "health_problems.vascular": "血管疾病", "health_problems.eye": "眼部疾病",
        "health_problems.nervous_system": "神经系统疾病", "health_problems.other_systems": "其他系统疾病",
        "hospital_stays": "住院史", "hospital_stays.admitted_on": "入院日期",
        "hospital_stays.discharged_on": "出院日期", "hospital_stays.reason": "原因",
        "hospital_stays.institution": "医疗机构名称", "hospital_stays.record_no": "病案号",
        "home_sickbeds": "家庭病床史", "home_sickbeds.admitted_on": "建床日期",
        "home_sickbeds.discharged_on": "撤床日期", "home_sickbeds.reason": "原因",
        "home_sickbeds.institution": "医疗机构名称", "home_sickbeds.record_no": "病案号",
        "medications": "主要用药情况", "medications.drug": "药物名称", "medications.usage": "用法",
        "medications.dose": "用量", "medications.duration": "用药时间", "medications.adherence": "服药依从性",
        "vaccinations": "非免疫规划预防接种史", "vaccinations.name": "名称", "vaccinations.date": "接种日期",
        "vaccinations.institution": "接种机构",
        "assessment": "健康评价", "assessment.result": "评价", "assessment.abnormalities": "异常（每行一项）",
        "guidance": "健康指导", "guidance.codes": "指导", "guidance.risk_factors": "危险因素控制",
        "guidance.target_weight_kg": "减体重目标（kg）", "guidance.vaccine": "建议接种疫苗",
        "guidance.risk_factors_other": "其他危险因素",
    },
    "personal_info": {
        "occurred_on": "填表日期", "blood_type": "血型", "blood_type.abo": "ABO血型", "blood_type.rh": "Rh血型",
        "education": "文化程度", "occupation": "职业", "marital_status": "婚姻状况", "payment": "医疗费用支付方式",
        "payment.methods": "支付方式", "payment.other": "其他支付方式", "payment.employee_insurance_no": "职工医保卡号",
        "payment.resident_insurance_no": "居民医保卡号", "payment.rural_cooperative_no": "贫困救助卡号",
        "drug_allergies": "药物过敏史", "drug_allergies_other": "其他过敏药物", "exposures": "暴露史",
        "past_history": "既往史", "past_history.diseases": "疾病", "past_history.diseases.code": "疾病",
        "past_history.diseases.diagnosed_on": "确诊时间", "past_history.diseases.text": "说明",
        "past_history.operations": "手术", "past_history.operations.name": "名称",
        "past_history.operations.date": "时间", "past_history.injuries": "外伤", "past_history.injuries.name": "名称",
        "past_history.injuries.date": "时间", "past_history.transfusions": "输血",
        "past_history.transfusions.reason": "原因", "past_history.transfusions.date": "时间",
        "family_history": "家族史", "family_history.father": "父亲", "family_history.father_other": "父亲 其他",
        "family_history.mother": "母亲", "family_history.mother_other": "母亲 其他",
        "family_history.siblings": "兄弟姐妹", "family_history.siblings_other": "兄弟姐妹 其他",
        "family_history.children": "子女", "family_history.children_other": "子女 其他",
        "hereditary_disease": "遗传病史", "hereditary_disease.has": "有无遗传病史",
        "hereditary_disease.name": "疾病名称", "disabilities": "残疾情况", "disabilities_other": "其他残疾",
        "living_environment": "生活环境", "living_environment.kitchen_ventilation": "厨房排风设施",
        "living_environment.fuel": "燃料类型", "living_environment.fuel_other": "其他燃料",
        "living_environment.drinking_water": "饮水", "living_environment.drinking_water_other": "其他饮水",
        "living_environment.toilet": "厕所", "living_environment.livestock_pen": "禽畜栏",
    },
    "visit": {"occurred_on": "接诊日期", "subjective": "就诊者的主观资料", "objective": "就诊者的客观资料",
              "assessment": "评估", "plan": "处置计划", "clinician": "医生签字"},
    "hypertension_follow_up": _FOLLOW_UP,
    "diabetes_follow_up": _FOLLOW_UP,
    "integrated_follow_up": _FOLLOW_UP,
    "elderly_self_care": {
        "occurred_on": "评估日期", "items": "评估事项",
        "items.meals": "进餐：使用餐具将饭菜送入口、咀嚼、吞咽等活动",
        "items.grooming": "梳洗：梳头、洗脸、刷牙、剃须、洗澡等活动",
        "items.dressing": "穿衣：穿衣裤、袜子、鞋子等活动",
        "items.toileting": "如厕：小便、大便等活动及自控",
        "items.activity": "活动：站立、室内行走、上下楼梯、户外活动",
        "doctor": "评估医生签名",
    },
    "elderly_tcm": {
        "occurred_on": "填表日期",
        "answers": "33个问题的回答，依次每行一个（1 没有，2 很少，3 有时，4 经常，5 总是）",
        "guidance": "中医药保健指导（按体质）", "doctor": "医生签名",
    },
    "referral_out": {"occurred_on": "转出日期", "referral_id": "转诊单号", "urgency": "紧急程度",
                     "from_institution": "转出机构", "from_doctor": "转诊医生", "to_institution": "转入机构",
                     "to_department": "转入科室", "to_doctor": "接诊医生", "impression": "初步印象",
                     "present_illness": "主要现病史", "past_history": "主要既往史", "treatment": "治疗经过",
                     "record_ids": "随转资料"},
    "referral_back": {"occurred_on": "回转日期", "referral_id": "转诊单号", "from_institution": "回转机构",
                      "doctor": "接诊医生", "to_institution": "接收机构", "diagnosis": "诊断结果",
                      "findings": "主要检查结果", "treatment": "治疗经过", "plan": "下一步治疗方案及康复建议"},
    "consultation": {"occurred_on": "会诊日期", "reason": "会诊原因", "opinion": "会诊意见",
                     "consultants": "会诊医生", "consultants.institution": "医疗卫生机构名称",
                     "consultants.doctor": "会诊医生签字", "responsible_doctor": "责任医生"},
}
_SUFFIXES = {"_other": "（其他）"}
_LEAVES = {"present": "有无", "detail": "描述", "normal": "是否正常", "screen": "粗筛", "score": "评分"}


def title(record_type: str) -> str:
    return TITLES.get(record_type, record_type)


def label(record_type: str, path: str, name: str) -> str:
    """The label of the field at `path` (row numbers are ignored)."""
    generic = ".".join(part for part in path.split(".") if not part.isdigit())
    known = LABELS.get(record_type, {})
    if generic in known:
        return known[generic]
    if name in _LEAVES and "." in generic:
        parent = generic.rsplit(".", 1)[0]
        if parent in known:
            return f"{known[parent]} {_LEAVES[name]}"
    if name.endswith("_other") and generic.removesuffix("_other") in known:
        return known[generic.removesuffix("_other")] + _SUFFIXES["_other"]
    return _COMMON.get(generic, name if not name.isdigit() else f"第{int(name) + 1}行")


def derived(record_type: str, path: str) -> bool:
    return path in DERIVED.get(record_type, set())
