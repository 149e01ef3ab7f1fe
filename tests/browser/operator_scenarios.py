"""What the operator pages' browser tests do in Chromium (`test_operator_pages.py` prepares the
messages and runs each; `run_scenario.py operator_scenarios.<name>`)."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.browser.scenarios import PASSWORD, shoot, unlabelled_inputs


def sign_in_as(page, base: str, username: str, lands_on: str) -> None:
    page.goto(f"{base}/web/sign-in")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}{lands_on}")


def refused(page, base: str, links: tuple[str, ...], paths: tuple[str, ...]) -> list[str]:
    """For a signed-in user whose role may not use these pages: the main menu offers none of
    `links`, and each of `paths` typed into the address bar is answered 403. The refusals'
    contents, in order (the browser is left on the last one)."""
    nav = page.get_by_role("navigation", name="主菜单")
    for link in links:
        expect(nav.get_by_role("link", name=link)).to_have_count(0)
    contents = []
    for path in paths:
        answer = page.goto(f"{base}{path}")
        assert answer.status == 403, (path, answer.status)
        contents.append(page.content())
    return contents


def quarantine_replay(page, data: dict) -> None:
    base, message_id = data["base"], data["message_id"]
    sign_in_as(page, base, data["operator"], "/web/quarantine")  # an operator's day starts here
    nav = page.get_by_role("navigation", name="主菜单")
    expect(nav.get_by_role("link", name="隔离消息")).to_be_visible()
    expect(nav.get_by_role("link", name="查找居民")).to_have_count(0)  # operators search no archives
    row = page.get_by_test_id("quarantine").locator(f'tr[data-message="{message_id}"]')
    expect(row).to_contain_text("内容不符合接口规范")
    expect(row).to_contain_text("encounter.started_at")
    assert unlabelled_inputs(page) == []
    shoot(page, "quarantine")

    row.get_by_role("link").click()
    page.wait_for_url("**/web/quarantine/*")
    body = page.get_by_test_id("body").inner_text()
    assert data["masked_id_number"] in body, body     # the identifier as the API masks it
    assert data["id_number"] not in page.content() and data["name"] not in page.content()
    assert "started_at" in page.get_by_test_id("details").inner_text()
    assert unlabelled_inputs(page) == []
    shoot(page, "quarantine-entry")

    # the corrected message, as the hospital sends it again: first not JSON at all
    page.get_by_label("更正后的消息", exact=False).fill("{not json")
    page.get_by_role("button", name="重放").click()
    expect(page.locator('.field-error[data-field="corrected"]')).to_contain_text("JSON")
    # then still wrong for the contract: the server's error beside the field
    broken = json.loads(data["corrected"])
    del broken["encounter"]["started_at"]
    page.get_by_label("更正后的消息", exact=False).fill(json.dumps(broken, ensure_ascii=False))
    page.get_by_role("button", name="重放").click()
    expect(page.locator('.field-error[data-field="corrected"]')).to_contain_text("started_at")
    page.get_by_label("更正后的消息", exact=False).fill(data["corrected"])
    page.get_by_role("button", name="重放").click()
    expect(page.get_by_role("status")).to_contain_text("已重放")
    expect(page.get_by_role("heading", level=1)).to_contain_text("已重放")
    expect(page.get_by_role("button", name="重放")).to_have_count(0)  # no longer held


def quarantine_discard(page, data: dict) -> None:
    base = data["base"]
    sign_in_as(page, base, data["operator"], "/web/quarantine")
    page.goto(f"{base}/web/quarantine/{data['quarantine_id']}")
    page.get_by_role("button", name="丢弃").click()
    expect(page.locator('.field-error[data-field="note"]')).to_be_visible()  # the note is required
    page.get_by_label("丢弃原因").fill("HIS 厂商的测试消息")
    page.get_by_role("button", name="丢弃").click()
    expect(page.get_by_role("status")).to_contain_text("已丢弃")


def pending_propose(page, data: dict) -> None:
    base = data["base"]
    sign_in_as(page, base, data["operator"], "/web/quarantine")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="待关联就诊").click()
    card = page.locator(f'[data-testid="pending"][data-message="{data["message_id"]}"]')
    expect(card).to_contain_text("无身份证号")
    expect(card.get_by_role("button", name="关联并归档")).to_have_count(0)  # an operator only proposes
    field = card.get_by_label("建议关联的档案编号", exact=False)
    field.fill("11010510110199999")
    card.get_by_role("button", name="提出建议").click()
    card = page.locator(f'[data-testid="pending"][data-message="{data["message_id"]}"]')
    expect(card.locator(".field-error")).to_be_visible()
    card.get_by_label("建议关联的档案编号", exact=False).fill(data["archive_no"])
    assert unlabelled_inputs(page) == []
    shoot(page, "pending")
    card.get_by_role("button", name="提出建议").click()
    expect(page.get_by_role("status")).to_contain_text("已提出关联建议")


def pending_link(page, data: dict) -> None:
    base = data["base"]
    sign_in_as(page, base, data["doctor"], "/web/worklist")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="待关联就诊").click()
    card = page.locator(f'[data-testid="pending"][data-message="{data["message_id"]}"]')
    expect(card).to_contain_text(data["archive_no"])
    expect(card.get_by_role("button", name="提出建议")).to_have_count(0)
    assert card.get_by_label("关联到档案编号", exact=False).input_value() == data["archive_no"]
    card.get_by_role("button", name="关联并归档").click()
    expect(page.get_by_role("status")).to_contain_text("已关联并归档")


def doctor_refused(page, data: dict) -> None:
    base = data["base"]
    sign_in_as(page, base, data["doctor"], "/web/worklist")
    contents = refused(page, base, ("隔离消息", "待关联就诊"),
                       ("/web/quarantine", f"/web/quarantine/{data['quarantine_id']}", "/web/pending"))
    assert not [content for content in contents if "started_at" in content]
    # nor posted: a replay from a doctor's own session, with its CSRF token, is refused by the API
    page.goto(f"{base}/web/worklist")
    token = page.locator('input[name="csrf_token"]').first.input_value()
    answer = page.request.post(f"{base}/web/quarantine/{data['quarantine_id']}/replay",
                               form={"csrf_token": token}, max_redirects=0)
    assert answer.status == 403, answer.status
