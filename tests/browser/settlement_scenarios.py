"""What the settlement pages' browser test does in Chromium (`test_settlement_pages.py` has the
insurer publish the settlement; `run_scenario.py settlement_scenarios.<name>`)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.scenarios import shoot, sign_in, unlabelled_inputs


def front_page_and_timeline(page, data: dict) -> None:
    base, archive_no = data["base"], data["archive_no"]
    sign_in(page, base, data["doctor"], then=None)
    page.goto(f"{base}/web/archives/{archive_no}")
    insurance = page.get_by_test_id("insurance")
    # the 首页: one settlement in the last 12 months, 356.80 in all, 82.72 paid by the resident
    expect(insurance).to_contain_text("近12个月 1 次")
    expect(insurance).to_contain_text("医疗费用总额 356.80 元")
    expect(insurance).to_contain_text("个人自付 82.72 元")
    expect(insurance).to_contain_text(data["visit_date"])      # settled the day of the visit
    expect(insurance).to_contain_text("朝阳区人民医院")
    expect(insurance).to_contain_text("城镇职工基本医疗保险")
    assert unlabelled_inputs(page) == []
    shoot(page, "archive-insurance")

    row = page.get_by_test_id("timeline").locator("tr", has=page.get_by_role("link", name="医保结算"))
    expect(row).to_have_count(1)
    expect(row).to_contain_text("门诊 · 朝阳区人民医院 · 总额 356.80 元 · 个人自付 82.72 元")
    expect(row).to_contain_text("朝阳区医疗保障局（医保结算平台）")  # who sent it
    expect(row).to_contain_text("有效")
    page.get_by_role("heading", name="服务记录").scroll_into_view_if_needed()
    shoot(page, "timeline-insurance")
    page.get_by_label("类型").select_option(label="医保结算")   # the timeline filtered to settlements
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_test_id("timeline").locator("tbody tr")).to_have_count(1)

    row = page.get_by_test_id("timeline").locator("tbody tr")
    row.get_by_role("link", name="医保结算").click()
    page.wait_for_url(f"**/records/{data['record_id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("医保结算")
    shown = page.get_by_test_id("settlement")
    for text in ("门诊", "朝阳区人民医院", "城镇职工基本医疗保险", "I10 原发性高血压（主要诊断）", "医疗费用总额",
                 "356.80 元", "统筹基金支付", "214.08 元", "个人账户支付", "60.00 元", "个人自付", "82.72 元"):
        expect(shown).to_contain_text(text)
    fees = page.get_by_test_id("settlement-fees")
    expect(fees.locator("tr", has_text="西药费")).to_contain_text("216.80 元")
    expect(fees.locator("tr", has_text="检查费")).to_contain_text("140.00 元")
    expect(page.get_by_role("link", name="更正")).to_have_count(0)    # no form: the insurer corrects it
    shoot(page, "settlement")
