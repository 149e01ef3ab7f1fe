"""What the indicator pages' browser tests do in Chromium (`test_indicator_pages.py` prepares the
archives and the API's answers and runs each; `run_scenario.py indicator_scenarios.<name>`)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.operator_scenarios import refused, sign_in_as
from tests.browser.scenarios import shoot, unlabelled_inputs


def _cell(table, code: str, key: str) -> str:
    return table.locator(f'tr[data-code="{code}"] td[data-key="{key}"]').inner_text().strip()


def supervisor_sees_indicators(page, data: dict) -> None:
    base, expected = data["base"], data["expected"]
    sign_in_as(page, base, data["supervisor"], "/web/indicators")  # a supervisor's day starts here
    expect(page.get_by_role("navigation", name="主菜单").get_by_role("link", name="考核指标")).to_be_visible()
    assert unlabelled_inputs(page) == []
    for key in ("coverage_rate", "electronic_coverage_rate", "use_rate"):
        chart = page.get_by_test_id(f"chart-{key}")
        svg = chart.locator("svg[role=img]")
        expect(svg).to_have_count(1)
        assert svg.locator("title").count() == 1 and svg.locator("desc").count() == 1
        table = page.get_by_test_id(f"table-{key}")
        for code, row in expected["villages"].items():
            assert _cell(table, code, key) == row[key], (key, code, _cell(table, code, key), row[key])
            bar = chart.locator(f'g.bar-row[data-label="{row["name"]}"]')
            assert bar.get_attribute("data-value") == row["raw"][key], (key, code)
    total = page.get_by_test_id("total")
    for key in ("coverage_rate", "electronic_coverage_rate", "use_rate"):
        assert total.locator(f'td[data-key="{key}"]').inner_text().strip() == expected["total"][key], key
    trend = page.get_by_test_id("table-trend")
    for month, row in expected["trend"].items():
        cells = trend.locator(f'tr[data-month="{month}"]')
        assert cells.locator('td[data-key="coverage_rate"]').inner_text().strip() == row["coverage_rate"], month
        assert cells.locator('td[data-key="use_rate"]').inner_text().strip() == row["use_rate"], month
    # A line joins the months that have a figure: none when no month has one (the 常住人口 of a village
    # of the jurisdiction unknown, as another test's imported village leaves it: the rate is then 无).
    for key in ("coverage_rate", "use_rate"):
        known = [row[key] for row in expected["trend"].values() if row[key] != "—"]
        expect(page.get_by_test_id(f"chart-trend-{key}").locator("svg polyline")).to_have_count(1 if known else 0)
    programme = page.get_by_test_id("table-hypertension-standard_rate")
    assert programme.locator('tfoot td[data-key="standard_rate"]').inner_text().strip() == \
        expected["hypertension_standard_rate"]
    assert page.evaluate("() => document.scripts.length") == 1, "no script but the one static file"
    shoot(page, "indicators")

    # a township of the county: its own villages and trend
    page.get_by_label("地区", exact=True).select_option(data["township"])
    page.get_by_role("button", name="查看").click()
    page.wait_for_url(f"**/web/indicators?division={data['township']}*")
    rows = page.get_by_test_id("table-coverage_rate").locator("tbody tr")
    assert {rows.nth(i).get_attribute("data-code")[:9] for i in range(rows.count())} == {data["township"]}
    page.get_by_test_id("chart-trend-use_rate").scroll_into_view_if_needed()
    shoot(page, "indicators-trend")


def village_doctor_sees_no_figures(page, data: dict) -> None:
    base = data["base"]
    sign_in_as(page, base, data["doctor"], "/web/worklist")
    refused(page, base, ("考核指标",), ("/web/indicators",))
    assert page.locator("svg").count() == 0 and page.locator("table").count() == 0
    assert "建档率" not in page.content()
