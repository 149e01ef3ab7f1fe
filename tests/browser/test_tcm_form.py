"""The 老年人中医药健康管理服务记录表 in a real browser, laid out as the paper form: 33 questions of
five labelled radio buttons answered with the keyboard, the guidance the answers call for asked
beside its constitution, and the judged constitutions shown once filed."""

from __future__ import annotations

from datetime import date

from tests.browser.conftest import CLINIC


def test_a_village_doctor_fills_in_the_tcm_form_with_the_keyboard_and_sees_the_judged_constitution(
        scenario, staff, api):
    doctor = staff.user("village_doctor", CLINIC)
    resident = api(born=date(1950, 6, 2))  # 65 and over: the form is asked of them
    scenario("elderly_tcm_form", doctor=doctor, archive_no=resident["archive_no"])
