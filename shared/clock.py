"""The suite's calendar: the day in 北京时间 (UTC+8, no daylight saving), whatever the server's
own time zone. Every "not in the future", "today" and "the year of service" of the national
specification is a date in China; a server or container on UTC would otherwise call 07:30 in a
township centre yesterday and refuse a form dated today as a future one.

    today()                      -> date(2026, 12, 5) at 2026-12-04T23:30:00Z
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

CHINA_TIME = timezone(timedelta(hours=8))


def today() -> date:
    """Today's date in 北京时间."""
    return datetime.now(CHINA_TIME).date()
