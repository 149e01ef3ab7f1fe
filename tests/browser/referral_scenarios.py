"""The referral pages in Chromium, step by step (`test_referral_pages.py` prepares the users,
archives and the hospital's answers, and runs each; `run_scenario.py` runs them by the name
`referral_scenarios.<function>`)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.scenarios import VIEWPORT, shoot, sign_in, unlabelled_inputs


def _refer(page, base: str, archive_no: str, to_institution: str, impression: str, urgent: bool = False) -> str:
    """From the archive's page, the 转出单: a required field left empty is said beside it, then
    the referral goes; answers the referral's page URL."""
    page.goto(f"{base}/web/archives/{archive_no}")
    page.get_by_role("navigation", name="转诊与会诊").get_by_role("link", name="双向转诊（转出）").click()
    page.wait_for_url(f"**/web/archives/{archive_no}/referrals/new")
    assert unlabelled_inputs(page) == []
    page.get_by_label("接收机构").select_option(to_institution)
    page.get_by_label("科室").fill("心内科")
    if urgent:
        page.get_by_role("radio", name="紧急").check()
    page.get_by_role("button", name="发出转诊").click()
    expect(page.locator(".field-error.client").first).to_contain_text("必填")  # 初步印象, before anything is sent
    assert page.url.endswith("/referrals/new")
    page.get_by_label("初步印象").fill(impression)
    page.get_by_label("主要现病史").fill("头晕两天，自测血压 180/110 mmHg")
    page.get_by_label("主要既往史").fill("高血压病史十年")
    page.get_by_label("治疗经过").fill("氨氯地平 5mg qd，血压控制不佳")
    page.get_by_role("group", name=re.compile("附带的记录")).get_by_role("checkbox").first.check()
    page.get_by_role("button", name="发出转诊").click()
    page.wait_for_url(re.compile(r".*/web/referrals/\d+\?done=created"))
    expect(page.get_by_test_id("state")).to_have_text("待接收")
    expect(page.get_by_test_id("history")).to_contain_text("发出转诊")
    return page.url.split("?")[0]


def refer_to_hospital(page, data: dict) -> None:
    """A township doctor refers a resident to the hospital from the archive's page."""
    base = data["base"]
    sign_in(page, base, data["doctor"], then=None)
    _refer(page, base, data["archive_no"], data["hospital"], "高血压3级，血压控制不佳", urgent=True)
    actions = page.get_by_test_id("actions")
    # the sender may withdraw it before it is accepted; the receiver's moves are not offered
    expect(actions.get_by_role("button", name="撤销转诊")).to_be_visible()
    expect(actions.get_by_role("button", name="接收")).to_have_count(0)


def back_referral_in_inbox(page, data: dict) -> None:
    """The township sees the hospital's back-referral: in its inbox (sent, 已回转), and on the
    referral's page the 回转单 and the history (who, when, why)."""
    base, referral_id = data["base"], data["referral_id"]
    sign_in(page, base, data["doctor"], then=None)
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="双向转诊").click()
    page.wait_for_url(f"{base}/web/referrals")
    assert unlabelled_inputs(page) == []
    page.get_by_role("link", name="发出的").click()
    page.get_by_label("状态").select_option("back_referred")
    page.get_by_role("button", name="筛选").click()
    row = page.get_by_test_id("referrals").locator(f'tr[data-referral="{referral_id}"]')
    expect(row).to_contain_text("已回转")
    expect(row).to_contain_text("紧急")
    expect(row).to_contain_text("朝阳区中医医院")
    row.get_by_role("link", name=f"转诊 {referral_id}").click()
    page.wait_for_url(f"**/web/referrals/{referral_id}")
    expect(page.get_by_test_id("state")).to_have_text("已回转")
    back = page.get_by_test_id("referral-back")
    expect(back).to_contain_text("原发性高血压3级")
    expect(back).to_contain_text("两周后社区随访")
    history = page.get_by_test_id("history")
    for step in ("发出转诊", "接收", "患者已到达", "回转"):
        expect(history).to_contain_text(step)
    expect(history).to_contain_text("已安排心内科床位")  # the hospital's note: why
    expect(page.get_by_test_id("actions")).to_have_count(0)  # nothing more to do on it


def refer_up_and_answer(page, data: dict) -> None:
    """A village doctor refers a resident to the township centre; the township doctor finds it in
    the inbox, accepts it, marks the patient arrived and back-refers with the 回转单 (a field left
    empty said beside it first); the village doctor sees it back in the inbox."""
    base = data["base"]
    sign_in(page, base, data["village_doctor"], then=None)
    url = _refer(page, base, data["archive_no"], data["township"], "血压控制不佳，请上级调整方案")
    referral_id = url.rsplit("/", 1)[1]

    context = page.context.browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    receiver = context.new_page()
    receiver.set_default_timeout(15000)
    try:
        sign_in(receiver, base, data["township_doctor"], then=None)
        receiver.get_by_role("navigation", name="主菜单").get_by_role("link", name="双向转诊").click()
        row = receiver.get_by_test_id("referrals").locator(f'tr[data-referral="{referral_id}"]')
        expect(row).to_contain_text("待接收")
        expect(row).to_contain_text("上辛堡村卫生室")
        shoot(receiver, "referral-inbox")
        row.get_by_role("link", name=f"转诊 {referral_id}").click()
        receiver.wait_for_url(f"**/web/referrals/{referral_id}")
        assert unlabelled_inputs(receiver) == []
        actions = receiver.get_by_test_id("actions")
        expect(actions.get_by_role("button", name="撤销转诊")).to_have_count(0)  # the sender's, not offered
        # rejecting needs a reason: said beside the field, nothing sent
        actions.locator('form[data-move="reject"]').get_by_role("button", name="拒绝").click()
        expect(actions.locator('form[data-move="reject"] .field-error').first).to_contain_text("必填")
        actions.get_by_label("说明（可不填）").fill("已安排门诊")
        actions.get_by_role("button", name="接收").click()
        receiver.wait_for_url(f"**/web/referrals/{referral_id}?done=accept")
        expect(receiver.get_by_test_id("state")).to_have_text("已接收")
        receiver.get_by_test_id("actions").get_by_role("button", name="患者已到达").click()
        receiver.wait_for_url(f"**/web/referrals/{referral_id}?done=arrived")
        expect(receiver.get_by_test_id("state")).to_have_text("已到达")
        back = receiver.locator('form[data-move="back-referral"]')
        back.get_by_label("诊断结果").fill("原发性高血压2级")
        back.get_by_label("治疗经过").fill("调整为氨氯地平 10mg qd")
        back.get_by_role("button", name="回转").click()  # 下一步治疗方案 left empty
        expect(back.locator(".field-error").first).to_contain_text("必填")
        back.get_by_label("下一步治疗方案及康复建议").fill("两周后村卫生室随访血压")
        back.get_by_role("button", name="回转").click()
        receiver.wait_for_url(f"**/web/referrals/{referral_id}?done=back-referral")
        expect(receiver.get_by_test_id("referral-back")).to_contain_text("原发性高血压2级")
        shoot(receiver, "referral")
    finally:
        context.close()

    page.goto(f"{base}/web/referrals?box=sent")
    row = page.get_by_test_id("referrals").locator(f'tr[data-referral="{referral_id}"]')
    expect(row).to_contain_text("已回转")
    row.get_by_role("link", name=f"转诊 {referral_id}").click()
    expect(page.get_by_test_id("referral-back")).to_contain_text("两周后村卫生室随访血压")
    expect(page.get_by_test_id("history")).to_contain_text(data["township_doctor"])


def consultation_asked_and_answered(page, data: dict) -> None:
    """A village doctor asks the township centre for a consultation (会诊); the township doctor
    answers it from the consultations inbox; the village doctor reads the 会诊意见."""
    base, archive_no = data["base"], data["archive_no"]
    sign_in(page, base, data["village_doctor"], then=None)
    page.goto(f"{base}/web/archives/{archive_no}")
    page.get_by_role("navigation", name="转诊与会诊").get_by_role("link", name="申请会诊").click()
    assert unlabelled_inputs(page) == []
    page.get_by_label("会诊机构").select_option(data["township"])
    page.get_by_label("会诊原因").fill("血糖控制不佳，请协助调整方案")
    page.get_by_role("button", name="发出会诊申请").click()
    page.wait_for_url(re.compile(r".*/web/consultations/\d+\?done=requested"))
    consultation_id = page.url.split("?")[0].rsplit("/", 1)[1]
    expect(page.get_by_test_id("state")).to_have_text("待答复")

    context = page.context.browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    answerer = context.new_page()
    answerer.set_default_timeout(15000)
    try:
        sign_in(answerer, base, data["township_doctor"], then=None)
        answerer.get_by_role("navigation", name="主菜单").get_by_role("link", name="会诊", exact=True).click()
        answerer.get_by_test_id("consultations").get_by_role("link", name=f"会诊 {consultation_id}").click()
        assert unlabelled_inputs(answerer) == []
        answerer.get_by_label("会诊意见").fill("加用二甲双胍 0.5g bid，一月后复查糖化血红蛋白")
        answerer.get_by_role("button", name="保存会诊意见").click()
        answerer.wait_for_url(f"**/web/consultations/{consultation_id}?done=answered")
        expect(answerer.get_by_test_id("state")).to_have_text("已答复")
    finally:
        context.close()

    page.goto(f"{base}/web/consultations?box=sent")
    page.get_by_test_id("consultations").get_by_role("link", name=f"会诊 {consultation_id}").click()
    expect(page.get_by_test_id("opinion")).to_contain_text("二甲双胍")
