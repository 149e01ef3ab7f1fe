"""The archive's lifecycle pages in Chromium, step by step (`test_lifecycle_pages.py` prepares the
users and archives and runs each as `lifecycle_scenarios.<function>`)."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from shared import clock

from tests.browser.scenarios import VIEWPORT, shoot, sign_in, unlabelled_inputs


def _lifecycle(page, base: str, archive_no: str) -> None:
    page.goto(f"{base}/web/archives/{archive_no}")
    page.get_by_role("navigation", name="档案变更").get_by_role("link", name="终止、恢复、迁出、合并").click()
    page.wait_for_url(f"**/web/archives/{archive_no}/lifecycle")


def terminate_then_reactivate(page, data: dict) -> None:
    """Migration out without its handover: the server's error beside 档案交接情况; with it, the
    archive is terminated; then reactivated with a reason."""
    base, archive_no = data["base"], data["archive_no"]
    sign_in(page, base, data["doctor"], then=None)
    _lifecycle(page, base, archive_no)
    assert unlabelled_inputs(page) == []
    form = page.get_by_test_id("terminate")
    form.get_by_label("终止原因").select_option("migration_out")
    form.get_by_label("迁往地").fill("河北省保定市莲池区")
    form.get_by_role("button", name="终止档案").click()
    error = page.locator('[data-testid="terminate"] .field-error[data-field="handover"]')
    expect(error).to_be_visible()  # the registry asks it of a migration: said beside its field
    form = page.get_by_test_id("terminate")
    assert form.get_by_label("迁往地").input_value() == "河北省保定市莲池区", "what was entered is kept"
    shoot(page, "lifecycle-error")
    form.get_by_label("档案交接情况").fill("纸质档案交莲池区五四路社区卫生服务中心")
    form.get_by_role("button", name="终止档案").click()
    page.wait_for_url(f"**/web/archives/{archive_no}/lifecycle?done=terminated")
    expect(page.get_by_test_id("status")).to_have_text("已结案")
    expect(page.get_by_test_id("termination")).to_contain_text("迁出")
    expect(page.get_by_test_id("terminate")).to_have_count(0)
    shoot(page, "lifecycle")

    reactivate = page.get_by_test_id("reactivate")
    reactivate.get_by_role("button", name="恢复档案").click()  # no reason: said beside it, nothing sent
    expect(reactivate.locator(".field-error").first).to_contain_text("必填")
    reactivate.get_by_label("恢复原因").fill("居民返回本村居住")
    reactivate.get_by_role("button", name="恢复档案").click()
    page.wait_for_url(f"**/web/archives/{archive_no}/lifecycle?done=reactivated")
    expect(page.get_by_test_id("status")).to_have_text("在管")

    page.goto(f"{base}/web/archives/{archive_no}/identity")
    revisions = page.get_by_test_id("revisions")
    expect(revisions).to_contain_text("终止")
    expect(revisions).to_contain_text("居民返回本村居住")


def not_offered_and_forged_post_refused(page, data: dict) -> None:
    """A village doctor may not terminate: no form is offered, and a termination posted anyway
    (with the session's own CSRF token) is refused by the gate; the archive stays active."""
    base, archive_no = data["base"], data["archive_no"]
    sign_in(page, base, data["doctor"], then=None)
    _lifecycle(page, base, archive_no)
    expect(page.get_by_test_id("terminate")).to_have_count(0)
    expect(page.get_by_role("button", name="终止档案")).to_have_count(0)
    expect(page.get_by_role("button", name="合并")).to_have_count(0)
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    answer = page.request.post(f"{base}/web/archives/{archive_no}/termination", max_redirects=0, form={
        "csrf_token": token, "reason": "death", "date": clock.today().isoformat(), "cause": "脑梗死"})
    assert answer.status == 403, answer.status
    assert "无权操作" in answer.text()
    page.goto(f"{base}/web/archives/{archive_no}/lifecycle")
    expect(page.get_by_test_id("status")).to_have_text("在管")


def termination_without_csrf_refused(page, data: dict) -> None:
    """A township doctor's browser posting the termination without the form's token: 403, and the
    archive stays active."""
    base, archive_no = data["base"], data["archive_no"]
    sign_in(page, base, data["doctor"], then=None)
    answer = page.request.post(f"{base}/web/archives/{archive_no}/termination", max_redirects=0, form={
        "reason": "death", "date": clock.today().isoformat(), "cause": "脑梗死"})
    assert answer.status == 403, answer.status
    _lifecycle(page, base, archive_no)
    expect(page.get_by_test_id("status")).to_have_text("在管")
    expect(page.get_by_test_id("terminate")).to_have_count(1)


def transfer_requested_and_accepted(page, data: dict) -> None:
    """The township requests a transfer to another township's village; the receiving township
    finds it among the transfers waiting and accepts it: the archive is theirs, under a new number."""
    base, archive_no = data["base"], data["archive_no"]
    sign_in(page, base, data["doctor"], then=None)
    _lifecycle(page, base, archive_no)
    transfers = page.get_by_test_id("transfers")
    transfers.get_by_label("迁入村（居）委会").select_option(data["to_village"])
    transfers.get_by_label("接收机构").select_option(data["to_institution"])
    transfers.get_by_label("迁出原因").fill("迁居东窑村")
    transfers.get_by_role("button", name="申请迁出").click()
    page.wait_for_url(f"**/web/archives/{archive_no}/lifecycle?done=transfer_requested")
    expect(page.get_by_test_id("transfers")).to_contain_text("待接收")
    expect(page.get_by_role("button", name="申请迁出")).to_have_count(0)  # one request at a time

    context = page.context.browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    receiver = context.new_page()
    receiver.set_default_timeout(15000)
    try:
        sign_in(receiver, base, data["receiving_doctor"], then=None)
        receiver.get_by_role("navigation", name="主菜单").get_by_role("link", name="迁入").click()
        receiver.wait_for_url(f"{base}/web/transfers")
        assert unlabelled_inputs(receiver) == []
        row = receiver.get_by_test_id("incoming").locator("tr", has_text=archive_no)
        expect(row).to_contain_text("迁居东窑村")
        row.get_by_role("button", name="接收").click()
        receiver.wait_for_url(re.compile(r".*/web/transfers\?done=accepted&archive_no=\d{17}"))
        receiver.get_by_role("status").get_by_role("link").click()
        receiver.wait_for_url(re.compile(r".*/web/archives/\d{17}$"))
        expect(receiver.get_by_role("heading", level=1)).to_contain_text(data["name"])
    finally:
        context.close()


def merge_and_unmerge(page, data: dict) -> None:
    """An archive manager merges the duplicate offered into the archive, then undoes it."""
    base, archive_no, duplicate = data["base"], data["archive_no"], data["duplicate_no"]
    sign_in(page, base, data["manager"], then=None)
    _lifecycle(page, base, archive_no)
    merges = page.get_by_test_id("merges")
    merges.get_by_test_id("duplicates").get_by_role("radio", name=re.compile(duplicate)).check()
    merges.get_by_label("合并原因").fill("同一居民重复建档")
    merges.get_by_role("button", name="合并").click()
    page.wait_for_url(f"**/web/archives/{archive_no}/lifecycle?done=merged")
    row = page.get_by_test_id("merges").locator("tr", has_text=duplicate)
    expect(row).to_contain_text("同一居民重复建档")
    row.get_by_label("撤销原因").fill("并非同一人，误合并")
    row.get_by_role("button", name="撤销合并").click()
    page.wait_for_url(f"**/web/archives/{archive_no}/lifecycle?done=unmerged")
    expect(page.get_by_test_id("merges").locator("tr", has_text=duplicate)).to_contain_text("已撤销")
    answer = page.goto(f"{base}/web/archives/{duplicate}")
    assert answer.status == 200 and duplicate in page.url


def identity_corrected(page, data: dict) -> None:
    """A birth date in the future: the registry's error beside it; a corrected address with a
    reason: saved, and the revision shows what changed (the address itself masked) and why."""
    base, archive_no = data["base"], data["archive_no"]
    sign_in(page, base, data["doctor"], then=None)
    page.goto(f"{base}/web/archives/{archive_no}")
    page.get_by_role("navigation", name="档案变更").get_by_role("link", name=re.compile("个人信息")).click()
    page.wait_for_url(f"**/web/archives/{archive_no}/identity")
    assert unlabelled_inputs(page) == []
    page.get_by_label("出生日期").fill("2999-01-01")
    page.get_by_role("button", name="保存更正").click()
    expect(page.locator('.field-error[data-field="birth_date"]')).to_be_visible()
    page.get_by_label("出生日期").fill(data["birth_date"])
    page.get_by_label("现住址").fill("北京市朝阳区孙河镇上辛堡村 12 号")
    page.get_by_label("更正原因").fill("居民搬家，更正现住址")
    page.get_by_role("button", name="保存更正").click()
    page.wait_for_url(f"**/web/archives/{archive_no}/identity?done=1")
    revisions = page.get_by_test_id("revisions")
    expect(revisions).to_contain_text("更正个人信息")
    expect(revisions).to_contain_text("居民搬家，更正现住址")
    expect(revisions).to_contain_text("现住址")
    assert "上辛堡村 12 号" not in revisions.inner_text(), "a revision shows an address only as changed"
