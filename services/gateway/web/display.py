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
RECORD_STATUS = {"current": "有效", "amended": "已更正", "entered_in_error": "录入错误"}
RESIDENCE = {"1": "户籍", "2": "非户籍"}
ID_TYPES = {"01": "居民身份证", "02": "居民户口簿", "03": "护照", "04": "军官证", "05": "驾驶证",
            "06": "港澳居民来往内地通行证", "07": "台湾居民来往内地通行证", "99": "其他"}
RECORD_TYPES = {
    "personal_info": "个人基本信息表", "health_exam": "健康体检表", "visit": "接诊记录表",
    "consultation": "会诊记录表", "encounter": "医院就诊记录", "attachment": "附件",
}
POPULATIONS = {"children": "0-6岁儿童", "elderly": "65岁及以上老年人", "hypertension": "高血压患者",
               "diabetes": "2型糖尿病患者", "maternal": "孕产妇", "severe_mental": "严重精神障碍患者",
               "tuberculosis": "肺结核患者"}


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


FILTERS = {"local_time": local_time, "record_type_name": record_type_name}
GLOBALS = {"ROLE_NAMES": ROLE_NAMES, "SEX": SEX, "STATUS": STATUS, "RECORD_STATUS": RECORD_STATUS,
           "RESIDENCE": RESIDENCE, "RECORD_TYPES_LIST": list(RECORD_TYPES.items()), "ID_TYPES": ID_TYPES, "POPULATIONS": POPULATIONS, "code_name": code_name}
