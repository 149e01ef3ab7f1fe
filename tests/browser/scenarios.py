"""What the browser tests do in Chromium, step by step (run by `run_scenario.py` in a process of
its own; `test_pages.py` prepares the users and archives and runs each). `data` carries the
gateway's base URL, the usernames and the archives. Screenshots of the main pages are written to
docs/screenshots/ (1366x768, as on a township centre's screen)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from playwright.sync_api import expect
from shared import clock

PASSWORD = "correct horse battery staple"  # tests.support.auth.PASSWORD (not imported: no eventlet here)
VIEWPORT = {"width": 1366, "height": 768}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def sign_in(page, base: str, username: str, then: str | None = "/web/archives") -> None:
    """Sign in; a clinician lands on the work list, and then goes on to `then` (search, by
    default, where the tests of part 1 begin)."""
    page.goto(f"{base}/web/sign-in")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/web/worklist")
    if then:
        page.get_by_role("navigation", name="主菜单").get_by_role("link", name="查找居民").click()
        page.wait_for_url(f"{base}{then}")


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
    page.wait_for_url("**/forms/health_exam")
    assert unlabelled_inputs(page) == []
    page.get_by_label("体检日期").fill(clock.today().isoformat())
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
                               form={"occurred_on": clock.today().isoformat(), "subjective": "头晕",
                                     "assessment": "高血压", "clinician": "王医生"}, max_redirects=0)
    assert answer.status == 403, answer.status
    answer = page.request.post(f"{base}/web/archives/{archive_no}/forms/visit",
                               form={"csrf_token": "0" * 64, "occurred_on": clock.today().isoformat()},
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


def tab_to(page, text: str, presses: int = 40) -> None:
    """Press Tab until the element with the focus reads `text`."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent.trim()") == text:
            return
    raise AssertionError(f"{text} is not reachable with Tab")


def keyboard(page, data: dict) -> None:
    """Sign in, search and open an archive with the keyboard alone."""
    base, archive_no = data["base"], data["archive_no"]
    page.goto(f"{base}/web/sign-in")
    assert page.evaluate("() => document.activeElement.id") == "username"
    page.keyboard.type(data["doctor"])
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/web/worklist")  # a clinician's landing page
    tab_to(page, "查找居民")
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


def fill_hypertension_follow_up(page, visit: date, next_visit: date, danger_sign: str | None = None) -> None:
    """The 高血压患者随访服务记录表 of a face-to-face visit, on target (控制满意). Fields by their ids
    where one label holds another (体重 and 目标体重)."""
    page.locator("#f-occurred_on").fill(visit.isoformat())
    page.get_by_role("group", name="随访方式").get_by_label("1 门诊").check()
    page.locator("#f-symptoms").get_by_label("1 无症状").check()
    if danger_sign:
        page.get_by_role("group", name="危急情况（须紧急转诊）").get_by_label(danger_sign).check()
    for field, value in (("signs-blood_pressure-systolic", "132"), ("signs-blood_pressure-diastolic", "84"),
                         ("signs-weight", "66"), ("signs-height", "168"), ("signs-heart_rate", "72"),
                         ("lifestyle-smoking", "0"), ("lifestyle-drinking", "0"),
                         ("lifestyle-exercise_per_week", "3"), ("lifestyle-exercise_minutes", "30")):
        page.locator(f"#f-{field}").fill(value)
    page.locator("#f-lifestyle-salt").get_by_label("1 轻").check()
    page.locator("#f-lifestyle-psychology").get_by_label("1 良好").check()
    page.locator("#f-lifestyle-compliance").get_by_label("1 良好").check()
    page.locator("#f-adherence").get_by_label("1 规律").check()
    page.get_by_label("有无药物不良反应").select_option("false")
    page.locator("#f-classification").get_by_label("1 控制满意").check()
    page.locator("#f-next_visit_date").fill(next_visit.isoformat())


def worklist_follow_up(page, data: dict) -> None:
    """The work list after sign-in; its item says why it is due; one click to the 高血压患者随访
    服务记录表; a date the server refuses shown beside its field, then corrected; the item leaves
    the list; an urgent sign is said on filing and flagged in the timeline."""
    base, archive_no = data["base"], data["archive_no"]
    sign_in(page, base, data["doctor"], then=None)
    row = page.get_by_test_id("worklist").locator(f'tr[data-archive="{archive_no}"]')
    expect(row).to_contain_text("逾期")
    expect(row).to_contain_text("纳入管理后首次随访")
    expect(row).to_contain_text("高血压")
    expect(row.get_by_test_id("resident-name")).to_have_text(data["name"])  # the registry's, one call a page
    assert data["id_number"] not in row.inner_text() and data["id_number"][-4:] in row.inner_text()
    assert unlabelled_inputs(page) == []
    shoot(page, "worklist")

    row.get_by_role("link", name="填写高血压患者随访服务记录表").click()
    page.wait_for_url(f"**/web/archives/{archive_no}/forms/hypertension_follow_up")
    assert unlabelled_inputs(page) == []
    today = clock.today()
    # wrong for the server only (the browser does not compare dates): the next visit before this one
    fill_hypertension_follow_up(page, today, date.fromordinal(today.toordinal() - 1))
    page.get_by_role("button", name="保存").click()
    error = page.locator('.field-error[data-field="next_visit_date"]')
    expect(error).to_be_visible()
    assert page.locator("#f-signs-blood_pressure-systolic").input_value() == "132", "what was entered is kept"
    shoot(page, "follow-up-error")
    page.locator("#f-next_visit_date").fill(date.fromordinal(today.toordinal() + 30).isoformat())
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(rf".*/web/archives/{archive_no}\?filed=.*"))
    expect(page.get_by_test_id("timeline")).to_contain_text("高血压患者随访服务记录表")
    expect(page.get_by_test_id("programmes")).to_contain_text("高血压")

    page.goto(f"{base}/web/worklist")
    expect(page.locator(f'tr[data-archive="{archive_no}"]')).to_have_count(0)

    # an urgent sign: said when filed, flagged in the timeline, at the top of the work list
    page.goto(f"{base}/web/archives/{archive_no}/forms/hypertension_follow_up")
    fill_hypertension_follow_up(page, today, date.fromordinal(today.toordinal() + 14), danger_sign="1 意识改变")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("urgent")).to_contain_text("紧急转诊")
    shoot(page, "follow-up-urgent")
    page.get_by_role("link", name="返回档案").click()
    expect(page.get_by_test_id("timeline").locator('[data-flag="urgent_referral"]')).to_have_count(1)
    page.goto(f"{base}/web/worklist?kind=urgent")
    expect(page.locator(f'tr[data-archive="{archive_no}"]')).to_contain_text("紧急")


def programmes_and_suggestions(page, data: dict) -> None:
    """An archive's programmes: enrol (a refusal said beside the form), end with a reason, resume;
    a suggestion with its evidence dismissed (the reason is required), another confirmed."""
    base, archive_no = data["base"], data["archive_no"]
    sign_in(page, base, data["doctor"], then=None)
    page.goto(f"{base}/web/archives/{archive_no}/programmes")
    assert unlabelled_inputs(page) == []
    page.get_by_label("管理项目").select_option("type2_diabetes")
    page.get_by_role("button", name="纳入管理").click()
    page.wait_for_url(f"**/web/archives/{archive_no}/programmes?done=enrol")
    section = page.get_by_test_id("programme-type2_diabetes")
    expect(section).to_contain_text("管理中")
    section.get_by_label("结束原因").select_option("loss_to_follow_up")
    section.get_by_role("button", name="结束管理").click()
    section = page.get_by_test_id("programme-type2_diabetes")
    expect(section).to_contain_text("已结束管理")
    expect(section).to_contain_text("失访")
    shoot(page, "programmes")
    section.get_by_role("button", name="恢复管理").click()
    expect(page.get_by_test_id("programme-type2_diabetes")).to_contain_text("管理中")

    page.goto(f"{base}/web/suggestions")
    card = page.get_by_test_id("suggestion").filter(has=page.locator(f'a:text("{data["suggested_archive_no"]}")'))
    expect(card).to_contain_text("依据")
    expect(card).to_contain_text("高血压")
    shoot(page, "suggestions")
    card.get_by_role("button", name="排除").click()  # without a reason: refused beside its field
    expect(page.locator(".field-error").first).to_be_visible()
    card = page.get_by_test_id("suggestion").filter(has=page.locator(f'a:text("{data["suggested_archive_no"]}")'))
    card.get_by_label("排除原因").fill("复测血压正常，排除")
    card.get_by_role("button", name="排除").click()
    page.wait_for_url("**/web/suggestions?done=dismissed")
    expect(page.get_by_test_id("suggestion").filter(
        has=page.locator(f'a:text("{data["suggested_archive_no"]}")'))).to_have_count(0)


def _downloaded_pdf(page, link_name: str) -> bytes:
    with page.expect_download() as download:
        page.get_by_role("link", name=link_name).click()
    return Path(download.value.path()).read_bytes()


def _pdf_text(pdf: bytes) -> str:
    from io import BytesIO

    from pypdf import PdfReader

    return "".join(p.extract_text() for p in PdfReader(BytesIO(pdf)).pages)


def print_card_and_cover(page, data: dict) -> None:
    """The 信息卡 and the 封面 from the archive's page: each a print page and its PDF, the
    resident's archive number in the PDF's text, in Chinese."""
    base, archive_no = data["base"], data["archive_no"]
    sign_in(page, base, data["doctor"], then=None)
    page.goto(f"{base}/web/archives/{archive_no}")
    page.get_by_role("navigation", name="打印").get_by_role("link", name="居民健康档案信息卡").click()
    page.wait_for_url(f"**/web/archives/{archive_no}/print/card")
    expect(page.get_by_test_id("card-archive-no")).to_have_text(archive_no)
    shoot(page, "print-card")
    pdf = _downloaded_pdf(page, "下载 PDF")
    assert pdf.startswith(b"%PDF-"), pdf[:16]
    text = _pdf_text(pdf)
    assert archive_no in text and "居民健康档案信息卡" in text and data["name"] in text, text[:400]

    page.goto(f"{base}/web/archives/{archive_no}/print/cover")
    expect(page.get_by_test_id("cover")).to_contain_text(data["name"])
    shoot(page, "print-cover")
    pdf = _downloaded_pdf(page, "下载 PDF")
    assert pdf.startswith(b"%PDF-"), pdf[:16]
    text = re.sub(r"\s", "", _pdf_text(pdf))  # the title is letter-spaced
    assert "居民健康档案" in text and data["name"] in text and archive_no in text.replace("-", ""), text[:400]


def print_archive_copy(page, data: dict) -> None:
    """The full copy for the resident from the archive's page: the print page, and its PDF with
    the 个人基本信息表, the latest 健康体检表 and the last year's follow-ups (labelled), the archive
    number and the page number on every page; a role that may not read the archive cannot print it."""
    base, archive_no = data["base"], data["archive_no"]
    sign_in(page, base, data["doctor"], then=None)
    page.goto(f"{base}/web/archives/{archive_no}")
    page.get_by_role("navigation", name="打印").get_by_role("link", name="居民健康档案（居民留存）").click()
    page.wait_for_url(f"**/web/archives/{archive_no}/print/archive")
    copy = page.get_by_test_id("archive-copy")
    expect(copy.get_by_test_id("copy-personal")).to_contain_text(data["name"])
    expect(copy.get_by_test_id("copy-follow-ups")).to_contain_text("高血压患者随访服务记录表")
    shoot(page, "print-archive")
    pdf = _downloaded_pdf(page, "下载 PDF")
    assert pdf.startswith(b"%PDF-"), pdf[:16]
    from io import BytesIO

    from pypdf import PdfReader

    pages = [p.extract_text() for p in PdfReader(BytesIO(pdf)).pages]
    text = "".join(pages)
    for heading in ("个人基本信息表", "健康体检表", "近一年随访服务记录", "高血压患者随访服务记录表", "收缩压（mmHg）"):
        assert heading in text, heading
    assert data["name"] in text and data["id_number"] not in text and data["id_number"][-4:] in text
    assert str(data["follow_up_sbp"]) in text, "the follow-up's reading"
    assert str(data["old_sbp"]) not in text, "a follow-up older than a year is not in the copy"
    assert len(pages) >= 3, len(pages)
    for number, page_text in enumerate(pages, 1):
        assert archive_no in page_text, f"page {number} lacks the archive number"
        assert f"第 {number} 页" in page_text, f"page {number} lacks its number"

    page.get_by_role("link", name="返回档案").click()
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(f"{base}/web/sign-in")
    for username, status in ((data["admin"], 403), (data["other_doctor"], 404)):
        _sign_in_any(page, base, username)
        for path in ("", ".pdf"):
            answer = page.goto(f"{base}/web/archives/{archive_no}/print/archive{path}")
            assert answer.status == status, (username, path, answer.status)
            assert data["name"] not in page.content()
        page.context.clear_cookies()


def _sign_in_any(page, base: str, username: str) -> None:
    """Sign in whoever it is (a role without a work list lands elsewhere)."""
    page.goto(f"{base}/web/sign-in")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    assert "/web/sign-in" not in page.url, page.url


# 气虚质 (questions 2, 3, 4 and 14) answered 有时: 12, 是; every other question 没有.
TCM_ANSWERS = [3 if n in (2, 3, 4, 14) else 1 for n in range(1, 34)]


def elderly_tcm_form(page, data: dict) -> None:
    """The 中医药健康管理服务记录表 as the paper form: 33 rows of five labelled radio buttons,
    answered with the keyboard alone; filed without the guidance the answers call for, the page
    says which constitution needs it, beside it; with it, the record shows the judged constitutions."""
    base, archive_no = data["base"], data["archive_no"]
    sign_in(page, base, data["doctor"], then=None)
    page.goto(f"{base}/web/archives/{archive_no}")
    page.get_by_role("link", name="老年人中医药健康管理服务记录表").click()
    page.wait_for_url(f"**/web/archives/{archive_no}/forms/elderly_tcm")
    assert unlabelled_inputs(page) == []
    rows = page.locator("fieldset.tcm-row")
    expect(rows).to_have_count(33)
    first = page.get_by_role("group", name="1. 您精力充沛吗？")
    for word in ("1 没有", "2 很少", "3 有时", "4 经常", "5 总是"):
        expect(first.get_by_label(word)).to_have_count(1)
    page.get_by_label("填表日期").fill(clock.today().isoformat())

    # the keyboard alone: from the first row, Space answers 没有, each → one column further, Tab the next row
    first.get_by_label("1 没有").focus()
    for answer in TCM_ANSWERS:
        page.keyboard.press("Space")
        for _ in range(answer - 1):
            page.keyboard.press("ArrowRight")
        page.keyboard.press("Tab")
    for n, answer in enumerate(TCM_ANSWERS):
        assert page.locator(f'input[name="answers.{n}"]:checked').get_attribute("value") == str(answer), n
    shoot(page, "elderly-tcm")

    page.get_by_role("button", name="保存").click()  # no guidance for the 气虚质 the answers identify
    error = page.locator('.field-error[data-field="guidance.qi_deficiency"]')
    expect(error).to_be_visible()
    expect(page.get_by_test_id("tcm-preview")).to_contain_text("气虚质（是）")
    assert page.locator('input[name="answers.1"]:checked').get_attribute("value") == "3", "the answers are kept"

    guide = page.get_by_role("group", name="气虚质")
    guide.get_by_label("饮食调养").check()
    guide.get_by_label("运动保健").check()
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(rf".*/web/archives/{archive_no}/records/.*\?filed=1"))
    judged = page.get_by_test_id("judged")
    expect(judged.locator('tr[data-constitution="qi_deficiency"]')).to_contain_text("是")
    expect(judged.locator('tr[data-constitution="qi_deficiency"]')).to_contain_text("12")
    expect(judged.locator('tr[data-constitution="balanced"]')).to_contain_text("否")
    shoot(page, "elderly-tcm-judged")
