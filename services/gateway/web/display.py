"""How values read on a page, in Chinese: roles, codes of the identity, record types, dates.
Display only: what a role may do is `access.py`'s, what a code means in a form is the form's
published schema (`forms.py`)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")

ROLE_NAMES = {
    "village_doctor": "村医",
    "township_doctor": "乡镇（社区）医生",
    "archive_manager": "档案管理员",
    "institution_admin": "机构管理员",
    "supervisor": "卫健委监管",
    "system_operator": "运维人员",
}
SEX = {"1": "男", "2": "女", "0": "未知的性别", "9": "未说明的性别"}
STATUS = {"active": "在管", "terminated": "已结案", "merged": "已合并", "transferred": "已迁出"}
RECORD_STATUS = {"active": "有效", "current": "有效", "amended": "已更正", "entered_in_error": "录入错误"}
RESIDENCE = {"1": "户籍", "2": "非户籍"}
ID_TYPES = {"01": "居民身份证", "02": "居民户口簿", "03": "护照", "04": "军官证", "05": "驾驶证",
            "06": "港澳居民来往内地通行证", "07": "台湾居民来往内地通行证", "99": "其他"}
RECORD_TYPES = {
    "personal_info": "个人基本信息表", "health_exam": "健康体检表", "visit": "接诊记录表",
    "consultation": "会诊记录表", "encounter": "医院就诊记录", "hospital_encounter": "医院就诊记录",
    "hypertension_follow_up": "高血压患者随访服务记录表", "diabetes_follow_up": "2型糖尿病患者随访服务记录表",
    "integrated_follow_up": "高血压、2型糖尿病患者随访服务记录表（多病共管）",
    "elderly_self_care": "老年人生活自理能力评估表", "elderly_tcm": "老年人中医药健康管理服务记录表",
    "attachment": "附件", "insurance_settlement": "医保结算",
}
PROGRAMMES = {"hypertension": "高血压", "type2_diabetes": "2型糖尿病", "elderly": "65岁及以上老年人"}
ENROLMENT_STATUS = {"active": "管理中", "ended": "已结束管理"}
END_REASONS = {"death": "死亡", "migration_out": "迁出", "loss_to_follow_up": "失访", "cured": "治愈（排除诊断）",
               "not_eligible": "不符合纳入条件"}
ENROLMENT_EVENTS = {"enrolled": "纳入管理", "ended": "结束管理", "resumed": "恢复管理", "moved": "随档案迁移",
                    "moved_back": "迁回", "transferred": "转入其他机构"}
DUE_STATUS = {"urgent": "紧急", "overdue": "逾期", "due": "本周到期"}
FLAGS = {"urgent_referral": "紧急转诊"}
EVIDENCE_KINDS = {"diagnosis": "诊断", "screening": "筛查"}
POPULATIONS = {"children": "0-6岁儿童", "elderly": "65岁及以上老年人", "hypertension": "高血压患者",
               "diabetes": "2型糖尿病患者", "maternal": "孕产妇", "severe_mental": "严重精神障碍患者",
               "tuberculosis": "肺结核患者"}
# where a record came from (`origin` of its revision)
ORIGINS = {"hospital_message": "医院", "form": "表单", "import": "导入", "referral": "转诊", "insurance": "医保"}
# the quarantine (services/records/filing.py, quarantine.py)
QUARANTINE_REASONS = {"schema_invalid": "内容不符合接口规范", "not_json": "不是有效的 JSON", "routing_mismatch": "路由键与内容不符",
                      "publisher_mismatch": "发送方与内容不符", "unknown_institution": "未知的机构",
                      "missing_message_id": "缺少消息编号", "too_large": "消息过大", "dead_lettered": "多次处理失败",
                      "unauthenticated": "签名校验失败"}
QUARANTINE_STATUS = {"held": "待处理", "replayed": "已重放", "discarded": "已丢弃", "all": "全部"}


def field_paths(details, prefix: str = "") -> list[str]:
    """The dotted paths a quarantined message's field errors name (`encounter.vital_signs.sbp`)."""
    if not isinstance(details, dict):
        return [prefix] if prefix else []
    paths: list[str] = []
    for key, value in details.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        paths.extend(field_paths(value, path) if isinstance(value, dict) else [path])
    return paths


def record_type_name(code: str | None) -> str:
    return RECORD_TYPES.get(code or "", code or "")


def local_time(value) -> str:
    """An instant as 北京时间, to the minute: `2026-11-20 09:30`."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(BEIJING)
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def code_name(table: dict, code) -> str:
    """`男` for `1`; an unknown code as it is."""
    return table.get(str(code), str(code)) if code not in (None, "") else ""


FILTERS = {"local_time": local_time, "record_type_name": record_type_name, "field_paths": field_paths}
GLOBALS = {"ROLE_NAMES": ROLE_NAMES, "SEX": SEX, "STATUS": STATUS, "RECORD_STATUS": RECORD_STATUS,
           "RESIDENCE": RESIDENCE, "RECORD_TYPES_LIST": list(RECORD_TYPES.items()), "ID_TYPES": ID_TYPES, "POPULATIONS": POPULATIONS, "code_name": code_name,
           "PROGRAMMES": PROGRAMMES, "ENROLMENT_STATUS": ENROLMENT_STATUS, "END_REASONS": END_REASONS,
           "ENROLMENT_EVENTS": ENROLMENT_EVENTS, "DUE_STATUS": DUE_STATUS, "FLAGS": FLAGS,
           "EVIDENCE_KINDS": EVIDENCE_KINDS}
GLOBALS.update(QUARANTINE_REASONS=QUARANTINE_REASONS, QUARANTINE_STATUS=QUARANTINE_STATUS, ORIGINS=ORIGINS)

# the upload to the regional platform (services/sync; WS/T 483 document types)
SYNC_STATES = {"queued": "待发送", "sent": "已发送待确认", "acknowledged": "已确认", "rejected": "被拒收",
               "failed": "发送失败（将重试）", "held": "已暂停（待处理）", "cancelled": "已取消（记录作废，未发送）"}
SYNC_TYPES = {"HSDA00.01": "个人基本健康信息登记", "HSDC00.01": "成人健康体检", "HSDC00.02": "门诊摘要",
              "HSDC00.03": "住院摘要", "HSDC00.04": "会诊记录", "HSDC00.05": "转诊记录",
              "HSDB04.01": "高血压患者随访服务",
              "HSDB04.02": "2型糖尿病患者随访服务"}
GLOBALS.update(SYNC_STATES=SYNC_STATES, SYNC_TYPES=SYNC_TYPES)
