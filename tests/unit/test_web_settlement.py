"""How an insurance settlement and the 首页's insurance block read on the pages (web/settlement.py):
Chinese names of the settlement type and the insurance type (the 医疗费用支付方式 code table),
amounts in yuan with two decimals, the institutions by name."""

from __future__ import annotations

from services.gateway.web import settlement
from services.gateway.web.display import ORIGINS, RECORD_STATUS, code_name, record_type_name

NAMES = {"H3301020001": "朝阳区人民医院"}
INPATIENT = {
    "type": "inpatient", "institution_code": "H3301020001", "visit_date": "2026-09-01", "discharge_date": "2026-09-08",
    "insurance_type": "3",
    "diagnoses": [{"system": "ICD-10", "code": "I25.1", "name": "冠状动脉粥样硬化性心脏病", "primary": True},
                  {"system": "ICD-10", "code": "I10", "name": "原发性高血压"}],
    "amounts": {"total": 7700.0, "fund_paid": 5390.0, "personal_account": 0.0, "out_of_pocket": 1910.0,
                "other_paid": 400.0, "by_category": [{"category": "床位费", "amount": 600}, {"category": "西药费", "amount": 7100.5}]},
    "settled_at": "2026-09-08T02:15:00+00:00",
}


def test_a_settlement_reads_in_chinese_with_its_amounts_by_category():
    shown = settlement.view(INPATIENT, NAMES)
    assert (shown["type"], shown["institution"], shown["insurance_type"]) == ("住院", "朝阳区人民医院", "新型农村合作医疗")
    assert (shown["visit_label"], shown["visit_date"], shown["discharge_date"]) == ("入院日期", "2026-09-01", "2026-09-08")
    assert shown["diagnoses"] == ["I25.1 冠状动脉粥样硬化性心脏病（主要诊断）", "I10 原发性高血压"]
    assert shown["amounts"] == [("医疗费用总额", "7700.00 元"), ("统筹基金支付", "5390.00 元"), ("个人账户支付", "0.00 元"),
                                ("个人自付", "1910.00 元"), ("其他基金支付", "400.00 元")]
    assert shown["fees"] == [("床位费", "600.00 元"), ("西药费", "7100.50 元")]
    assert shown["settled_at"] == "2026-09-08 10:15"   # 北京时间
    assert record_type_name("insurance_settlement") == "医保结算"
    assert (code_name(RECORD_STATUS, "active"), ORIGINS["insurance"]) == ("有效", "医保")   # a record's status, origin


def test_an_unknown_code_or_institution_shows_as_it_is_and_a_missing_other_fund_is_left_out():
    content = {**INPATIENT, "type": "outpatient", "insurance_type": "X", "institution_code": "H9",
               "amounts": {"total": 10, "fund_paid": 5, "personal_account": 0, "out_of_pocket": 5}}
    shown = settlement.view(content, NAMES)
    assert (shown["type"], shown["insurance_type"], shown["institution"], shown["visit_label"]) == (
        "门诊", "X", "H9", "就诊日期")
    assert [label for label, _ in shown["amounts"]] == ["医疗费用总额", "统筹基金支付", "个人账户支付", "个人自付"]
    assert settlement.brief(content, NAMES) == "门诊 · H9 · 总额 10.00 元 · 个人自付 5.00 元"


def test_the_front_pages_insurance_block_reads_with_names_and_none_without_settlements():
    block = {"settlements": 3, "total": "1523.40", "out_of_pocket": "312.80", "since": "2025-11-26",
             "last_settled_at": "2026-11-25T18:15:00+00:00", "last_institution_code": "H3301020001",
             "last_type": "outpatient", "last_insurance_type": "1"}
    assert settlement.summary_view(block, NAMES) == {
        "settlements": 3, "since": "2025-11-26", "total": "1523.40 元", "out_of_pocket": "312.80 元",
        "last_date": "2026-11-26", "last_institution": "朝阳区人民医院", "last_type": "门诊",
        "last_insurance_type": "城镇职工基本医疗保险"}
    assert settlement.summary_view(None, NAMES) is None
