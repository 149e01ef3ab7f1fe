"""What the browser tests of the 区域平台上传 page do in Chromium (`test_sync_pages.py` prepares the
documents and runs each; `run_scenario.py sync_scenarios.<name>`)."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.browser.operator_scenarios import refused, sign_in_as
from tests.browser.scenarios import shoot, unlabelled_inputs


def operator_resends(page, data: dict) -> None:
    base, document_id = data["base"], data["document_id"]
    sign_in_as(page, base, data["operator"], "/web/quarantine")
    nav = page.get_by_role("navigation", name="主菜单")
    nav.get_by_role("link", name="区域平台上传").click()
    page.wait_for_url(f"{base}/web/sync")
    expect(page.get_by_role("heading", level=1)).to_have_text("区域平台上传")

    # the counts by type and state: the archive's registration acknowledged, the follow-up rejected
    counts = page.get_by_test_id("sync-counts")
    assert int(counts.locator('tr[data-type="HSDB04.01"] td[data-state="rejected"]').inner_text()) >= 1
    assert int(counts.locator('tr[data-type="HSDA00.01"] td[data-state="acknowledged"]').inner_text()) >= 1
    expect(counts.locator('tr[data-type="HSDB04.01"] th')).to_contain_text("高血压患者随访服务")
    expect(page.get_by_test_id("sync-oldest")).to_be_visible()

    # the rejected documents (the page's default), with the platform's reasons
    row = page.get_by_test_id("sync-documents").locator(f'tr[data-document="{document_id}"]')
    expect(row).to_contain_text("被拒收")
    expect(row).to_contain_text("injected")  # the platform's reason code and its message
    expect(row).to_contain_text("rejected on purpose by the fake platform")
    expect(row).to_contain_text(data["archive_no"])
    content = page.content()
    assert data["name"] not in content and data["id_number"] not in content  # ids and codes only
    assert unlabelled_inputs(page) == []
    shoot(page, "sync")

    # a POST without the form's CSRF token is refused before anything is done
    refused = page.request.post(f"{base}/web/sync/documents/{data['row_id']}/resend", form={"x": "1"})
    assert refused.status == 403, refused.status

    row.get_by_role("button", name="重发").click()
    expect(page.get_by_role("status")).to_contain_text("已重新排队")
    assert page.url.startswith(f"{base}/web/sync?") and "state=rejected" in page.url

    # the platform takes it now: it turns up among the acknowledged documents
    deadline = time.monotonic() + 30
    while True:
        page.goto(f"{base}/web/sync?state=acknowledged&type=HSDB04.01&archive_no={data['archive_no']}")
        acknowledged = page.locator(f'[data-testid="sync-documents"] tr[data-document="{document_id}"]')
        if acknowledged.count() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    expect(acknowledged).to_contain_text("已确认")
    expect(acknowledged).to_contain_text("平台编号")
    expect(acknowledged.get_by_role("button", name="重发")).to_have_count(0)  # nothing to resend
    shoot(page, "sync-acknowledged")


def backfill_and_bad_date(page, data: dict) -> None:
    base = data["base"]
    sign_in_as(page, base, data["operator"], "/web/quarantine")
    page.goto(f"{base}/web/sync?state=lost")
    expect(page.get_by_role("alert").first).to_contain_text("state")  # the filter typed into the URL, named
    page.goto(f"{base}/web/sync")
    page.get_by_label("起始日期").fill(data["tomorrow"])
    page.get_by_role("button", name="开始补传").click()
    expect(page.locator('.field-error[data-field="since"]')).to_be_visible()
    page.get_by_label("起始日期").fill("2026-01-01")
    page.get_by_role("button", name="开始补传").click()
    expect(page.get_by_role("status")).to_contain_text("已开始补传")
    expect(page.get_by_test_id("sync-backfills")).to_contain_text("2026-01-01")


def doctor_refused(page, data: dict) -> None:
    base = data["base"]
    sign_in_as(page, base, data["doctor"], "/web/worklist")
    refused(page, base, ("区域平台上传",), ("/web/sync",))
