"""How an insurance settlement (医保结算, record type `insurance_settlement`: the `settlement` of an
`ehr.settlement/1` message, shared/schemas/settlement-v1.schema.json) and the 首页's `insurance`
block read on a page, in Chinese. Display only: the records service files and sums them.

    view({"type": "outpatient", "insurance_type": "1", "amounts": {"total": 356.8, ...}, ...},
         {"H3301020001": "朝阳区人民医院"})
      -> {"type": "门诊", "institution": "朝阳区人民医院", "insurance_type": "城镇职工基本医疗保险",
          "diagnoses": ["I10 原发性高血压"], "amounts": [("医疗费用总额", "356.80 元"), ...],
          "fees": [("西药费", "216.80 元"), ...], ...}
    brief(content, institutions) -> "门诊 · 朝阳区人民医院 · 总额 356.80 元 · 个人自付 82.72 元"
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from shared.codes import PaymentMethod

from services.gateway.web.display import local_time

RECORD_TYPE = "insurance_settlement"
TYPES = {"outpatient": "门诊", "inpatient": "住院", "pharmacy": "定点药店购药"}
# 医疗费用支付方式 (CV07.10.003), the code table of the 个人基本信息表
INSURANCE_TYPES = {method.value: method.label for method in PaymentMethod}
AMOUNTS = (("total", "医疗费用总额"), ("fund_paid", "统筹基金支付"), ("personal_account", "个人账户支付"),
           ("out_of_pocket", "个人自付"), ("other_paid", "其他基金支付"))
LABELS = {"type": "结算类型", "institution": "就诊机构", "visit_date": "就诊日期", "admitted": "入院日期",
          "discharge_date": "出院日期", "insurance_type": "医保类型", "diagnoses": "诊断", "fees": "费用分类",
          "settled_at": "结算时间"}


def yuan(value) -> str:
    """`356.80 元`; an amount that is not a number as it is."""
    if value is None or value == "":
        return ""
    try:
        return f"{Decimal(str(value)).quantize(Decimal('0.01'))} 元"
    except InvalidOperation:
        return str(value)


def _name(table: dict, code) -> str:
    return table.get(str(code), str(code)) if code not in (None, "") else ""


def view(content: dict | None, institutions: dict[str, str]) -> dict:
    """What the record page shows of one revision's content (see the module doc)."""
    content = content or {}
    amounts = content.get("amounts") or {}
    institution = content.get("institution_code")
    inpatient = content.get("type") == "inpatient"
    return {
        "type": _name(TYPES, content.get("type")),
        "institution": institutions.get(institution, institution) if institution else "",
        "visit_label": LABELS["admitted"] if inpatient else LABELS["visit_date"],
        "visit_date": content.get("visit_date") or "",
        "discharge_date": content.get("discharge_date") or "",
        "insurance_type": _name(INSURANCE_TYPES, content.get("insurance_type")),
        "diagnoses": [" ".join(part for part in (d.get("code"), d.get("name")) if part)
                      + ("（主要诊断）" if d.get("primary") else "") for d in content.get("diagnoses") or []],
        "amounts": [(label, yuan(amounts.get(name))) for name, label in AMOUNTS if amounts.get(name) is not None],
        "fees": [(fee.get("category", ""), yuan(fee.get("amount"))) for fee in amounts.get("by_category") or []],
        "settled_at": local_time(content.get("settled_at")),
    }


def brief(content: dict | None, institutions: dict[str, str]) -> str:
    """One line for the timeline: type, institution visited, total and out of pocket."""
    shown = view(content, institutions)
    amounts = (content or {}).get("amounts") or {}
    parts = [shown["type"], shown["institution"]]
    if amounts.get("total") is not None:
        parts.append(f"总额 {yuan(amounts['total'])}")
    if amounts.get("out_of_pocket") is not None:
        parts.append(f"个人自付 {yuan(amounts['out_of_pocket'])}")
    return " · ".join(part for part in parts if part)


def summary_view(insurance: dict | None, institutions: dict[str, str]) -> dict | None:
    """The 首页's `insurance` block (settlements of the past 12 months), as the archive page shows it."""
    if not insurance:
        return None
    institution = insurance.get("last_institution_code")
    return {
        "settlements": insurance.get("settlements", 0),
        "since": insurance.get("since") or "",
        "total": yuan(insurance.get("total")),
        "out_of_pocket": yuan(insurance.get("out_of_pocket")),
        "last_date": local_time(insurance.get("last_settled_at"))[:10],
        "last_institution": institutions.get(institution, institution) if institution else "",
        "last_type": _name(TYPES, insurance.get("last_type")),
        "last_insurance_type": _name(INSURANCE_TYPES, insurance.get("last_insurance_type")),
    }
