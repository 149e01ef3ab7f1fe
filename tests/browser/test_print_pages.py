"""Printing in a real browser: the 居民健康档案信息卡 and the 封面 as print pages and as PDFs
(WeasyPrint, Debian's CJK font), each print in the audit trail naming the archive and the
document."""

from __future__ import annotations

from tests.browser.conftest import CLINIC
from tests.support.db import query


def test_a_village_doctor_prints_the_card_and_the_cover_and_each_print_is_audited(scenario, staff, api):
    doctor = staff.user("village_doctor", CLINIC)
    resident = api()
    scenario("print_card_and_cover", doctor=doctor, archive_no=resident["archive_no"], name=resident["name"])
    printed = query("gateway", "SELECT target, count(*) FROM audit_entries WHERE archive_no = :a AND actor = :u "
                               "AND target LIKE 'print:%' AND outcome = 'ok' GROUP BY target",
                    a=resident["archive_no"], u=doctor)
    # the card: its page and its PDF; the cover: its page and its PDF, each with the archive and the card's back
    assert dict(printed) == {"print:card": 2, "print:cover": 4}, printed
