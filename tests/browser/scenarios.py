"""What the browser tests do in Chromium, step by step (run by `run_scenario.py` in a process of
its own; `test_pages.py` prepares the users and archives and runs each). `data` carries the
gateway's base URL, the usernames and the archives. Screenshots of the main pages are written to
docs/screenshots/ (1366x768, as on a township centre's screen)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from playwright.sync_api import expect

PASSWORD = "correct horse battery staple"  # tests.support.auth.PASSWORD (not imported: no eventlet here)
VIEWPORT = {"width": 1366, "height": 768}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/web/sign-in")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/web/archives")


def unlabelled_inputs(page) -> list[str]:
    """Every visible input, select and text area without a label (its name), on this page."""
    return page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
        .map(el => el.name || el.id || el.outerHTML.slice(0, 60))""")


def health_exam(page, data: dict) -> None:
    base, archive_no = data["base"], data["archive_no"]
    sign_in(page, base, data["doctor"])
    who = page.get_by_test_id("who").inner_text()
    assert data["doctor"] in who and "上辛堡村卫生室" in who and "村医" in who, who
    shoot(page, "sign-in-done")

    page.get_by_label("身份证号").fill(data["id_number"])
    page.get_by_role("button", name="查找").click()
    results = page.get_by_test_id("results")
    assert archive_no in results.inner_text()
    assert data["id_number"] not in results.inner_text(), "the ID number must be masked"
    assert data["id_number"][-4:] in results.inner_text()
    shoot(page, "search-results")

    results.get_by_role("link", name=archive_no).click()
    page.wait_for_url(f"**/web/archives/{archive_no}")
    assert "首页" in page.get_by_test_id("summary").inner_text()
    assert unlabelled_inputs(page) == []
    shoot(page, "archive")

    page.get_by_role("link", name="健康体检表").click()
    page.wait_for_url(f"**/forms/health_exam")
    assert unlabelled_inputs(page) == []
    page.get_by_label("体检日期").fill(date.today().isoformat())
    page.get_by_label("责任医生").fill("王医生")
    page.get_by_role("group", name="症状").get_by_label("1 无症状").check()
    for label, value in (("体温（℃）", "36.6"), ("脉率（次/分钟）", "72"), ("呼吸频率（次/分钟）", "18"),
                         ("左侧收缩压（mmHg）", "128"), ("左侧舒张压（mmHg）", "82"), ("身高（cm）", "170"),
                         ("体重（kg）", "65")):
        page.get_by_label(label).fill(value)
    page.locator("#f-assessment-result").get_by_label("1 体检无异常").check()
    # the client's check: a pulse out of the schema's bounds is stopped before it is sent
    page.get_by_label("脉率（次/分钟）").fill("900")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".field-error.client")).to_contain_text("不能大于")
    assert page.url.endswith("/forms/health_exam")
    page.get_by_label("脉率（次/分钟）").fill("72")
    # wrong for the server: the elderly items are not asked of a resident under 65
    page.get_by_role("group", name="老年人健康状态自我评估").get_by_label("1 满意").check()
    page.get_by_role("button", name="保存").click()
    error = page.locator('.field-error[data-field="general.health_self_assessment"]')
    expect(error).to_be_visible()
    assert page.get_by_label("体温（℃）").input_value() == "36.6", "what was entered is kept"
    shoot(page, "health-exam-error")

    page.get_by_role("group", name="老年人健康状态自我评估").get_by_label("未填").check()
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(rf".*/web/archives/{archive_no}\?filed=.*"))
    timeline = page.get_by_test_id("timeline")
    assert "健康体检表" in timeline.inner_text()
    shoot(page, "archive-after-exam")

    timeline.get_by_role("link", name="健康体检表").first.click()
    expect(page.get_by_role("heading", name="第 1 版（当前）")).to_be_visible()
    assert "36.6" in page.content()
    shoot(page, "record")


def typed_url_out_of_village(page, data: dict) -> None:
    base = data["base"]
    sign_in(page, base, data["doctor"])
    answer = page.goto(f"{base}/web/archives/{data['other_archive_no']}")
    assert answer.status == 404, answer.status
    assert data["other_name"] not in page.content()
    answer = page.goto(f"{base}/web/archives/{data['other_archive_no']}/forms/health_exam")
    assert answer.status == 404, answer.status
    answer = page.goto(f"{base}/web/archives/{data['own_archive_no']}")
    assert answer.status == 200, answer.status


def csrf_refused_and_sign_out(page, data: dict) -> None:
    base, archive_no = data["base"], data["archive_no"]
    sign_in(page, base, data["doctor"])
    # a form posted from this very browser (its session cookie goes along) without the token
    answer = page.request.post(f"{base}/web/archives/{archive_no}/forms/visit",
                               form={"occurred_on": date.today().isoformat(), "subjective": "头晕",
                                     "assessment": "高血压", "clinician": "王医生"}, max_redirects=0)
    assert answer.status == 403, answer.status
    answer = page.request.post(f"{base}/web/archives/{archive_no}/forms/visit",
                               form={"csrf_token": "0" * 64, "occurred_on": date.today().isoformat()},
                               max_redirects=0)
    assert answer.status == 403, answer.status

    page.goto(f"{base}/web/archives/{archive_no}")
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(f"{base}/web/sign-in")
    answer = page.goto(f"{base}/web/archives/{archive_no}")
    assert "/web/sign-in" in page.url, page.url
    assert data["name"] not in page.content()


def session_cookie_and_headers(page, data: dict) -> None:
    base = data["base"]
    sign_in(page, base, data["doctor"])
    cookie = next(c for c in page.context.cookies() if c["name"] == "ehr_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie
    answer = page.goto(f"{base}/web/archives")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, csp
    assert page.evaluate("() => document.cookie") == "", "the session cookie is not readable by scripts"


def keyboard(page, data: dict) -> None:
    """Sign in, search and open an archive with the keyboard alone."""
    base, archive_no = data["base"], data["archive_no"]
    page.goto(f"{base}/web/sign-in")
    assert page.evaluate("() => document.activeElement.id") == "username"
    page.keyboard.type(data["doctor"])
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/web/archives")
    shoot(page, "search")
    page.get_by_label("档案编号").focus()
    page.keyboard.type(archive_no)
    page.keyboard.press("Enter")
    link = page.get_by_test_id("results").get_by_role("link", name=archive_no)
    expect(link).to_be_visible()
    for _ in range(40):  # Tab until the result's link has the focus, then follow it
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent") == archive_no:
            break
    else:
        raise AssertionError("the result's link is not reachable with Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/web/archives/{archive_no}")
    assert unlabelled_inputs(page) == []


def create_with_duplicate_choice(page, data: dict) -> None:
    """A new archive like an existing one: the candidates are offered, and "this is a new person"
    creates it (`confirm_new`)."""
    base = data["base"]
    sign_in(page, base, data["doctor"])
    page.get_by_role("link", name="新建档案").click()
    assert unlabelled_inputs(page) == []
    page.locator("#name").fill(data["name"])
    page.get_by_label("性别").select_option(data["sex"])
    page.get_by_label("出生日期").fill(data["birth_date"])
    page.get_by_label("证件号码").fill(data["id_number"])
    page.get_by_label("村（居）委会").select_option(data["village_code"])
    page.get_by_role("button", name="建档").click()
    duplicates = page.get_by_test_id("duplicates")
    expect(duplicates).to_contain_text(data["archive_no"])
    shoot(page, "create-duplicates")
    page.get_by_role("button", name="都不是：这是一位新居民，建档").click()
    page.wait_for_url(re.compile(r".*/web/archives/\d{17}\?created=1"))
    assert data["archive_no"] not in page.url
    expect(page.get_by_role("status")).to_contain_text("档案已建立")
