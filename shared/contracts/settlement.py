"""The `ehr.settlement/1` contract, executable: validate and normalise one insurance settlement
(医保结算) the insurance agency publishes to `ehr.insurance`.

As with `ehr.encounter/1` (`shared.contracts.encounter`), the JSON Schema in
`shared/schemas/settlement-v1.schema.json` is the definition integrators read and what runs here:
a compiled validator first (fastjsonschema), the full report of every failing field only for a
message that fails (jsonschema). On top come the rules a JSON Schema cannot state: the GB 11643
check of a resident ID number and its agreement with birth date and sex, real calendar dates, a
discharge not before the visit, and amounts that add up (at most two decimals; the fund, the
personal account, out of pocket and other funds make the total; the fee categories, when given,
too).

    settlement = load_settlement(json.loads(body))   # raises InvalidSettlement(reason, errors)
    settlement.insurer_code, settlement.settlement_no, settlement.revision   # 'Y1101050001', 'JS2026...', 1
    settlement.institution_code, settlement.type      # the institution visited, 'outpatient'
    settlement.content   # the `settlement` object with only the fields the contract defines

Error messages name the rule, never the value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastjsonschema

from shared.contracts.fields import holds_nul
from shared.contracts.json_contract import aware, full_validator, prune, real_date, report, shape
from shared.identity import RESIDENT_ID_TYPE, check_identity_document, normalise_name

SCHEMA_NAME = "ehr.settlement/1"
SCHEMA_PATH = Path(__file__).parent.parent / "schemas" / "settlement-v1.schema.json"
SCHEMA: dict = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))

_fast_validate = fastjsonschema.compile(SCHEMA, formats={"date-time": lambda v: aware(v) is not None})
_full_validator = full_validator(SCHEMA)

_SETTLEMENT_SHAPE = shape(SCHEMA["$defs"]["settlement"], SCHEMA)
# The fields of a whole message: what an operator's view may name (services/records/message_view.py).
MESSAGE_SHAPE = shape(SCHEMA)

SETTLEMENT_TYPES = ("outpatient", "inpatient", "pharmacy")
CENT = Decimal("0.01")
_MISSING = "Missing data for required field."
_ONE_IDENTIFIER = "An ID number or an insurance card number is required."


class InvalidSettlement(ValueError):
    """`reason` is a quarantine reason code (`schema_invalid`, `invalid_id_number`); `errors` maps
    field paths to messages."""

    def __init__(self, reason: str, errors: dict) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors


@dataclass(frozen=True)
class Settlement:
    body: dict[str, Any]
    insurer_code: str
    settlement_no: str
    system: str | None
    revision: int
    institution_code: str   # the institution visited
    type: str               # outpatient | inpatient | pharmacy
    settled_at: datetime
    insurance_type: str     # CV07.10.003
    id_type: str
    id_number: str | None
    insurance_card_no: str | None
    content: dict[str, Any]


def _money(value: Any) -> Decimal:
    return Decimal(str(value))


def _amount_errors(amounts: dict) -> dict:
    errors: dict = {}
    for name, value in amounts.items():
        if name in ("total", "fund_paid", "personal_account", "out_of_pocket", "other_paid") and value is not None \
                and _money(value) != _money(value).quantize(CENT):
            errors[name] = ["At most two decimals."]
    for i, fee in enumerate(amounts.get("by_category") or []):
        if _money(fee["amount"]) != _money(fee["amount"]).quantize(CENT):
            errors.setdefault("by_category", {})[str(i)] = {"amount": ["At most two decimals."]}
    if errors:
        return errors
    total = _money(amounts["total"])
    paid = sum((_money(amounts[k]) for k in ("fund_paid", "personal_account", "out_of_pocket")), Decimal(0)) \
        + _money(amounts.get("other_paid") or 0)
    if paid != total:
        errors["total"] = ["Must equal fund_paid + personal_account + out_of_pocket + other_paid."]
    fees = amounts.get("by_category") or []
    if fees and sum((_money(f["amount"]) for f in fees), Decimal(0)) != total:
        errors["by_category"] = ["The fee categories must add up to total."]
    return errors


def load_settlement(body: Any, raw: bytes | None = None) -> Settlement:
    """Validate a decoded `ehr.settlement/1` body; raises `InvalidSettlement`.

    `raw`, the JSON the body was decoded from, lets the NUL check skip walking the body."""
    if (raw is None or b"\\u0000" in raw) and holds_nul(body):
        raise InvalidSettlement("schema_invalid", {"_body": ["Text must not contain NUL characters."]})
    try:
        _fast_validate(body)
    except fastjsonschema.JsonSchemaException:
        errors = report(_full_validator, body)
        insured = errors.get("insured")
        if isinstance(insured, dict) and insured.get("insurance_card_no") == [_MISSING] == insured.get("id_number"):
            del insured["insurance_card_no"]
            insured["id_number"] = [_ONE_IDENTIFIER]
        identity = isinstance(insured, dict) and insured.get("id_number") not in (None, [_ONE_IDENTIFIER])
        raise InvalidSettlement("invalid_id_number" if identity else "schema_invalid", errors) from None

    source, insured, settlement = body["source"], body["insured"], body["settlement"]
    for name in ("visit_date", "discharge_date"):
        if settlement.get(name) and not real_date(settlement[name]):
            raise InvalidSettlement("schema_invalid", {"settlement": {name: ["Not a valid date."]}})
    discharge = settlement.get("discharge_date")
    if settlement["type"] == "inpatient" and not discharge:
        raise InvalidSettlement("schema_invalid", {"settlement": {"discharge_date": [
            "Required for an inpatient settlement."]}})
    if discharge and date.fromisoformat(discharge) < date.fromisoformat(settlement["visit_date"]):
        raise InvalidSettlement("schema_invalid", {"settlement": {"discharge_date": ["Must not be before visit_date."]}})
    amount_errors = _amount_errors(settlement["amounts"])
    if amount_errors:
        raise InvalidSettlement("schema_invalid", {"settlement": {"amounts": amount_errors}})
    birth = insured.get("birth_date")
    if birth and not real_date(birth):
        raise InvalidSettlement("schema_invalid", {"insured": {"birth_date": ["Not a valid date."]}})

    id_type = insured.get("id_type") or RESIDENT_ID_TYPE
    id_number, errors = check_identity_document(
        id_type, insured.get("id_number"), birth_date=date.fromisoformat(birth) if birth else None,
        sex=insured.get("sex"))
    if errors:
        raise InvalidSettlement("invalid_id_number", {"insured": errors})
    card = (insured.get("insurance_card_no") or "").strip() or None
    if id_number is None and card is None:
        raise InvalidSettlement("schema_invalid", {"insured": {"id_number": [_ONE_IDENTIFIER]}})
    if isinstance(insured.get("name"), str):
        body = {**body, "insured": {**insured, "name": normalise_name(insured["name"]) or None}}

    return Settlement(
        body=body,
        insurer_code=source["insurer_code"],
        settlement_no=source["settlement_no"],
        system=source.get("system"),
        revision=int(source.get("revision") or 0),  # JSON Schema counts 3.0 as an integer
        institution_code=settlement["institution_code"],
        type=settlement["type"],
        settled_at=aware(settlement["settled_at"]),
        insurance_type=settlement["insurance_type"],
        id_type=id_type,
        id_number=id_number,
        insurance_card_no=card,
        content=prune(settlement, _SETTLEMENT_SHAPE),
    )
