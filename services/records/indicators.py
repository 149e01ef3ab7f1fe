"""What the records know of the work indicators (考核指标, domain.md §6), counted per village:
no personal data, counts only.

    archive_activity(session, "110105101", [date(2026, 11, 30), date(2026, 12, 31)])
    -> {"electronic": [{"village_code": "110105101101", "archives": 812}],
        "dynamic": [{"village_code": "110105101101", "month_end": "2026-12-31", "archives": 655}, ...]}

- electronic: archives whose 个人基本信息表 is filed here (a standing `personal_info` record): the
  numerator of the 电子健康档案建档率 (an archive counts as electronic once its 个人基本信息表 is in
  the system, not when only its identity is registered) [M];
- dynamic, at each month's end: archives with a standing service or linked medical record within
  the 365 days before it (`summary.DYNAMIC_WINDOW`, the 首页's "dynamic"): the numerator of the
  健康档案使用率.

The village is the archive number's first 12 digits as the records hold it: a record filed under
an archive's number before a transfer counts for the village it was filed in.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.clock import CHINA_TIME

from services.records.models import Record
from services.records.rules import ACTIVE
from services.records.summary import DYNAMIC_WINDOW

ARCHIVE_NO_DIGITS = 17


def _under(prefix: str) -> sa.ColumnElement[bool]:
    return Record.archive_no.between(prefix.ljust(ARCHIVE_NO_DIGITS, "0"), prefix.ljust(ARCHIVE_NO_DIGITS, "9"))


def _village():
    return sa.func.substr(Record.archive_no, 1, 12)


def archive_activity(session: Session, prefix: str, month_ends: list[date]) -> dict:
    """Electronic archives now, and dynamic archives at each of `month_ends`, per village under
    `prefix` (see the module doc)."""
    electronic = session.execute(
        sa.select(_village(), sa.func.count(sa.distinct(Record.archive_no)))
        .where(_under(prefix), Record.status == ACTIVE, Record.record_type == "personal_info")
        .group_by(_village()).order_by(_village()))
    dynamic = []
    for month_end in sorted(set(month_ends)):
        end = datetime.combine(month_end + timedelta(days=1), time.min, CHINA_TIME)  # the month's last instant
        rows = session.execute(
            sa.select(_village(), sa.func.count(sa.distinct(Record.archive_no)))
            .where(_under(prefix), Record.status == ACTIVE, Record.occurred_at < end,
                   Record.occurred_at >= end - DYNAMIC_WINDOW)
            .group_by(_village()).order_by(_village()))
        dynamic.extend({"village_code": village, "month_end": month_end.isoformat(), "archives": n}
                       for village, n in rows)
    return {"electronic": [{"village_code": village, "archives": n} for village, n in electronic],
            "dynamic": dynamic}
