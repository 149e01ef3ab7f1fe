"""The two scored forms of the elderly programmes (domain.md §5): the 老年人生活自理能力评估表 and
the 中医体质辨识 of the 老年人中医药健康管理服务记录表. Plain data and functions, no service's
imports (re-exported by `shared.follow_ups`).

    self_care_score({"meals": "1", "grooming": "2", "dressing": "1", "toileting": "2", "activity": "1"}) -> 2
    self_care_level(2)                        -> "1"  (SelfCareAbility 可自理, 0-3)
    scores = constitution_scores([3] * 33)    -> {"balanced": 15, "qi_deficiency": 12, ...}
    judge_constitutions(scores)               -> {"balanced": "no", "qi_deficiency": "yes", ...}

生活自理能力 [M: the national form's five items and their scores as remembered; the 0-3 / 4-8 /
9-18 / ≥19 levels are domain.md's [S]]. 中医体质辨识 [M: the 33 questions and which
constitution each one scores are the national form's as remembered; the judging rule is
domain.md's, itself [M]].
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence

from shared.codes import CodeEnum, SelfCareAbility

# -- 老年人生活自理能力评估表 ----------------------------------------------------------------------


@enum.unique
class SelfCareOption(CodeEnum):
    """The four graded columns of each item of the 生活自理能力 form."""

    INDEPENDENT = "1", "可自理"
    MILDLY_DEPENDENT = "2", "轻度依赖"
    MODERATELY_DEPENDENT = "3", "中度依赖"
    DEPENDENT = "4", "不能自理"


# item -> (its label, {option code: score}) [M]. 进餐 and 穿衣 print no 轻度依赖 column ("—"), so
# that option is refused for them.
SELF_CARE_ITEMS: dict[str, tuple[str, dict[str, int]]] = {
    "meals": ("进餐：使用餐具将饭菜送入口、咀嚼、吞咽等活动", {"1": 0, "3": 3, "4": 5}),
    "grooming": ("梳洗：梳头、洗脸、刷牙、剃须、洗澡等活动", {"1": 0, "2": 1, "3": 3, "4": 7}),
    "dressing": ("穿衣：穿衣裤、袜子、鞋子等活动", {"1": 0, "3": 3, "4": 5}),
    "toileting": ("如厕：小便、大便等活动及自控", {"1": 0, "2": 1, "3": 5, "4": 10}),
    "activity": ("活动：站立、室内行走、上下楼梯、户外活动", {"1": 0, "2": 1, "3": 5, "4": 10}),
}
SELF_CARE_MAX = sum(max(options.values()) for _, options in SELF_CARE_ITEMS.values())  # 37

# total score -> level (SelfCareAbility): 0-3 可自理, 4-8 轻度依赖, 9-18 中度依赖, ≥19 不能自理.
SELF_CARE_LEVELS = (
    (3, SelfCareAbility.INDEPENDENT),
    (8, SelfCareAbility.MILDLY_DEPENDENT),
    (18, SelfCareAbility.MODERATELY_DEPENDENT),
    (SELF_CARE_MAX, SelfCareAbility.DEPENDENT),
)


def self_care_score(answers: Mapping[str, str]) -> int:
    """The total of the five items' scores (each answer a ``SelfCareOption`` code)."""
    return sum(SELF_CARE_ITEMS[item][1][answers[item]] for item in SELF_CARE_ITEMS)


def self_care_level(score: int) -> str:
    """The ``SelfCareAbility`` code of a total: ``self_care_level(4) -> "2"`` (轻度依赖)."""
    if not 0 <= score <= SELF_CARE_MAX:
        raise ValueError(f"a self-care score is 0-{SELF_CARE_MAX}")
    return next(level.value for upper, level in SELF_CARE_LEVELS if score <= upper)


# -- 中医体质辨识 ----------------------------------------------------------------------------------


@enum.unique
class Constitution(CodeEnum):
    """The nine constitutions (体质), in the order of the record form."""

    QI_DEFICIENCY = "qi_deficiency", "气虚质"
    YANG_DEFICIENCY = "yang_deficiency", "阳虚质"
    YIN_DEFICIENCY = "yin_deficiency", "阴虚质"
    PHLEGM_DAMPNESS = "phlegm_dampness", "痰湿质"
    DAMP_HEAT = "damp_heat", "湿热质"
    BLOOD_STASIS = "blood_stasis", "血瘀质"
    QI_STAGNATION = "qi_stagnation", "气郁质"
    INHERITED_SPECIAL = "inherited_special", "特禀质"
    BALANCED = "balanced", "平和质"


@enum.unique
class Judgment(CodeEnum):
    """体质辨识 result: a biased type is 是 or 倾向是; 平和质 is 是 or 基本是; otherwise 否."""

    YES = "yes", "是"
    TENDING = "tending", "倾向是"
    BASICALLY = "basically", "基本是"
    NO = "no", "否"


@enum.unique
class GuidanceArea(CodeEnum):
    """中医药保健指导, ticked per constitution identified."""

    EMOTION = "1", "情志调摄"
    DIET = "2", "饮食调养"
    DAILY_LIFE = "3", "起居调摄"
    EXERCISE = "4", "运动保健"
    ACUPOINTS = "5", "穴位保健"
    OTHER = "6", "其他"


# The 33 questions, answered 1 没有(根本不) … 5 总是(非常) [M for the wording, shortened].
QUESTIONS: tuple[str, ...] = (
    "您精力充沛吗？",
    "您容易疲乏吗？",
    "您容易气短，呼吸短促，接不上气吗？",
    "您说话声音低弱无力吗？",
    "您感到闷闷不乐、情绪低沉吗？",
    "您容易精神紧张、焦虑不安吗？",
    "您因为生活状态改变而感到孤独、失落吗？",
    "您容易感到害怕或受到惊吓吗？",
    "您感到身体超重不轻松吗？",
    "您眼睛干涩吗？",
    "您手脚发凉吗？",
    "您胃脘部、背部或腰膝部怕冷吗？",
    "您比一般人耐受不了寒冷吗？",
    "您容易患感冒吗？",
    "您没有感冒时也会鼻塞、流鼻涕吗？",
    "您有口粘口腻，或睡眠打鼾吗？",
    "您容易过敏（对药物、食物、气味、花粉或在季节交替、气候变化时）吗？",
    "您的皮肤容易起荨麻疹吗？",
    "您的皮肤在不知不觉中会出现青紫瘀斑、皮下出血吗？",
    "您的皮肤一抓就红，并出现抓痕吗？",
    "您皮肤或口唇干吗？",
    "您有肢体麻木或固定部位疼痛的感觉吗？",
    "您面部或鼻部有油腻感或者油亮发光吗？",
    "您面色或目眶晦黯，或出现褐色斑块/斑点吗？",
    "您有皮肤湿疹、疮疖吗？",
    "您感到口干咽燥、总想喝水吗？",
    "您感到口苦或嘴里有异味吗？",
    "您腹部肥大吗？",
    "您吃（喝）凉的东西会感到不舒服或者怕吃（喝）凉的东西吗？",
    "您有大便黏滞不爽、解不尽的感觉吗？",
    "您容易大便干燥吗？",
    "您舌苔厚腻或有舌苔厚厚的感觉吗？",
    "您舌下静脉瘀紫或增粗吗？",
)
ANSWER_MIN, ANSWER_MAX = 1, 5

# Constitution -> the questions (1-based) it sums [M: the national form's mapping as remembered].
# 平和质 scores question 1 as answered and 2, 4, 5 and 13 reversed (6 minus the answer).
CONSTITUTION_QUESTIONS: dict[str, tuple[int, ...]] = {
    Constitution.QI_DEFICIENCY.value: (2, 3, 4, 14),
    Constitution.YANG_DEFICIENCY.value: (11, 12, 13, 29),
    Constitution.YIN_DEFICIENCY.value: (10, 21, 26, 31),
    Constitution.PHLEGM_DAMPNESS.value: (9, 16, 28, 32),
    Constitution.DAMP_HEAT.value: (23, 25, 27, 30),
    Constitution.BLOOD_STASIS.value: (19, 22, 24, 33),
    Constitution.QI_STAGNATION.value: (5, 6, 7, 8),
    Constitution.INHERITED_SPECIAL.value: (15, 17, 18, 20),
    Constitution.BALANCED.value: (1, 2, 4, 5, 13),
}
REVERSED: frozenset[int] = frozenset({2, 4, 5, 13})  # of 平和质 only

# The judging rule (domain.md §5, [M]): a biased type ≥11 是, 9-10 倾向是; 平和质 ≥17 with every
# other type ≤8 是, with every other ≤10 基本是.
BIASED_YES, BIASED_TENDING = 11, 9
BALANCED_MIN, OTHERS_YES_MAX, OTHERS_BASICALLY_MAX = 17, 8, 10


def constitution_scores(answers: Sequence[int]) -> dict[str, int]:
    """Each constitution's score from the 33 answers (1-5), in ``Constitution``'s order."""
    if len(answers) != len(QUESTIONS):
        raise ValueError(f"give {len(QUESTIONS)} answers")
    balanced = Constitution.BALANCED.value
    return {name: sum((ANSWER_MAX + 1 - answers[q - 1]) if name == balanced and q in REVERSED else answers[q - 1]
                      for q in questions)
            for name, questions in CONSTITUTION_QUESTIONS.items()}


def judge_constitutions(scores: Mapping[str, int]) -> dict[str, str]:
    """Each constitution's ``Judgment`` code from its score (the rule above)."""
    balanced = Constitution.BALANCED.value
    others = [score for name, score in scores.items() if name != balanced]
    judged = {}
    for name, score in scores.items():
        if name == balanced:
            if score >= BALANCED_MIN and max(others) <= OTHERS_YES_MAX:
                judged[name] = Judgment.YES.value
            elif score >= BALANCED_MIN and max(others) <= OTHERS_BASICALLY_MAX:
                judged[name] = Judgment.BASICALLY.value
            else:
                judged[name] = Judgment.NO.value
        elif score >= BIASED_YES:
            judged[name] = Judgment.YES.value
        elif score >= BIASED_TENDING:
            judged[name] = Judgment.TENDING.value
        else:
            judged[name] = Judgment.NO.value
    return judged


# 中医药保健指导 per constitution and area [M: a short paraphrase of the usual guidance of the
# 老年人中医药健康管理 technical spec, for the doctor to expand on; not the national text].
GUIDANCE: dict[str, dict[str, str]] = {
    Constitution.QI_DEFICIENCY.value: {
        "1": "保持乐观，避免过度思虑和劳神。",
        "2": "宜食益气健脾之品，如山药、大枣、小米、鸡肉；少食生冷、油腻。",
        "3": "起居规律，避免过劳，注意保暖防感冒。",
        "4": "宜柔缓运动，如散步、太极拳、八段锦，避免大汗。",
        "5": "常按足三里、气海、关元。",
    },
    Constitution.YANG_DEFICIENCY.value: {
        "1": "宜多与人交流，保持心情愉快。",
        "2": "宜食温阳之品，如羊肉、韭菜、生姜；少食生冷寒凉。",
        "3": "注意腰背、足部保暖，秋冬避寒，夏季少用空调。",
        "4": "宜在阳光充足时运动，如慢跑、太极拳，避免在寒冷处锻炼。",
        "5": "常灸或按揉关元、命门、足三里。",
    },
    Constitution.YIN_DEFICIENCY.value: {
        "1": "遇事冷静，避免急躁动怒。",
        "2": "宜食滋阴之品，如百合、银耳、鸭肉、梨；少食辛辣燥热。",
        "3": "作息规律，避免熬夜，忌在高温酷暑下劳作。",
        "4": "宜中小强度运动，如太极拳、八段锦，避免大汗伤阴。",
        "5": "常按太溪、三阴交。",
    },
    Constitution.PHLEGM_DAMPNESS.value: {
        "1": "保持心境平和，多参加社会活动。",
        "2": "饮食清淡，宜食冬瓜、薏苡仁、赤小豆；少食肥甘厚味，控制食量。",
        "3": "居处避潮湿，多户外活动，衣着宽松透气。",
        "4": "坚持较长时间的有氧运动，如快走、游泳，逐渐减重。",
        "5": "常按丰隆、足三里。",
    },
    Constitution.DAMP_HEAT.value: {
        "1": "宜稳定情绪，避免烦躁。",
        "2": "饮食清淡，宜食绿豆、苦瓜、冬瓜；戒烟限酒，少食辛辣油腻。",
        "3": "避免长期熬夜，居处通风干燥，保持二便通畅。",
        "4": "宜中高强度运动，如跑步、游泳、爬山。",
        "5": "常按支沟、阴陵泉。",
    },
    Constitution.BLOOD_STASIS.value: {
        "1": "保持心情舒畅，避免郁闷。",
        "2": "宜食活血之品，如山楂、黑木耳、玫瑰花；少食寒凉、油腻。",
        "3": "作息规律，注意保暖，避免久坐。",
        "4": "宜持续的有氧运动，如步行、舞蹈、太极拳。",
        "5": "常按期门、血海。",
    },
    Constitution.QI_STAGNATION.value: {
        "1": "多参加社交和集体活动，培养兴趣，舒畅情志。",
        "2": "宜食理气解郁之品，如黄花菜、柑橘、玫瑰花茶；少饮浓茶、咖啡。",
        "3": "居室安静明亮，起居有常，多户外活动。",
        "4": "宜多参加群体运动，如广场舞、太极拳、登山。",
        "5": "常按合谷、太冲。",
    },
    Constitution.INHERITED_SPECIAL.value: {
        "1": "避免紧张焦虑，保持心情平和。",
        "2": "饮食均衡，避免食用已知致敏食物，少食腥膻发物。",
        "3": "居室通风，避开过敏原，季节交替时注意防护。",
        "4": "适度运动增强体质，避免在花粉多或寒冷时户外锻炼。",
        "5": "常按足三里、关元。",
    },
    Constitution.BALANCED.value: {
        "1": "保持乐观平和的心态。",
        "2": "饮食有节，荤素均衡，不偏食。",
        "3": "起居有常，劳逸结合。",
        "4": "坚持适量运动，如散步、太极拳。",
        "5": "常按足三里、涌泉。",
    },
}
