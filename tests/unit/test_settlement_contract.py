"""`ehr.settlement/1`: the schema file is a valid JSON Schema whose example loads, the loader
accepts a valid settlement and refuses each fault with its reason and the field at fault (never
its value), the docs link the schema, and the import's rows become the same bodies with stable
message ids."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from ehr.settlements import body_of_row, check, message_id_for
from services.records.kinds import SETTLEMENT
from services.records.message_view import message_view
from shared.codes import PaymentMethod
from shared.contracts.settlement import SCHEMA, SCHEMA_PATH, InvalidSettlement, load_settlement

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = SCHEMA["examples"][0]


def example() -> dict:
    return copy.deepcopy(EXAMPLE)


def refusal(mutate) -> InvalidSettlement:
    body = example()
    mutate(body)
    with pytest.raises(InvalidSettlement) as caught:
        load_settlement(body)
    return caught.value


def test_schema_file_is_a_valid_json_schema_and_its_example_validates():
    Draft202012Validator.check_schema(SCHEMA)
    Draft202012Validator(SCHEMA).validate(EXAMPLE)


def test_valid_settlement_loads_with_its_identity_amounts_and_no_unknown_fields():
    body = example()
    body["settlement"]["added_later"] = 1
    s = load_settlement(body)
    assert (s.insurer_code, s.settlement_no, s.revision) == ("Y1101050001", "JS20261126000123", 1)
    assert (s.institution_code, s.type, s.insurance_type) == ("H3301020001", "outpatient", "1")
    assert s.id_number == "11010519491231002X" and s.insurance_card_no == "110105A00012345"
    assert s.settled_at.isoformat() == "2026-11-26T10:15:00+08:00"
    assert "added_later" not in s.content and s.content["amounts"]["total"] == 356.8


def test_a_settlement_with_only_an_insurance_card_loads():
    s = load_settlement({**example(), "insured": {"insurance_card_no": "110105A00012345"}})
    assert s.id_number is None and s.insurance_card_no == "110105A00012345"


@pytest.mark.parametrize("mutate,reason,path", [
    (lambda b: b.update(schema="ehr.settlement/2"), "schema_invalid", ("schema",)),
    (lambda b: b["source"].pop("settlement_no"), "schema_invalid", ("source", "settlement_no")),
    (lambda b: b["source"].update(insurer_code="Y-1"), "schema_invalid", ("source", "insurer_code")),
    (lambda b: b.update(insured={"name": "张秀英"}), "schema_invalid", ("insured", "id_number")),
    (lambda b: b["insured"].update(id_number="110105194912310021"), "invalid_id_number", ("insured", "id_number")),
    (lambda b: b["insured"].update(sex="1"), "invalid_id_number", ("insured", "sex")),
    (lambda b: b["settlement"].update(type="emergency"), "schema_invalid", ("settlement", "type")),
    (lambda b: b["settlement"].update(insurance_type="9"), "schema_invalid", ("settlement", "insurance_type")),
    (lambda b: b["settlement"].update(visit_date="2026-02-30"), "schema_invalid", ("settlement", "visit_date")),
    (lambda b: b["settlement"].update(type="inpatient"), "schema_invalid", ("settlement", "discharge_date")),
    (lambda b: b["settlement"].update(type="inpatient", discharge_date="2026-11-20"), "schema_invalid",
     ("settlement", "discharge_date")),
    (lambda b: b["settlement"].update(settled_at="2026-11-26T10:15:00"), "schema_invalid", ("settlement", "settled_at")),
    (lambda b: b["settlement"]["amounts"].update(total=356.805), "schema_invalid", ("settlement", "amounts", "total")),
    (lambda b: b["settlement"]["amounts"].update(fund_paid=-1), "schema_invalid", ("settlement", "amounts", "fund_paid")),
    (lambda b: b["settlement"]["amounts"].update(total=400.0), "schema_invalid", ("settlement", "amounts", "total")),
    (lambda b: b["settlement"]["amounts"]["by_category"][0].update(amount=1.0), "schema_invalid",
     ("settlement", "amounts", "by_category")),
    (lambda b: b["settlement"].update(diagnoses=[{"name": "高血压"}]), "schema_invalid",
     ("settlement", "diagnoses", "0", "code")),
    (lambda b: b["insured"].update(name="张\x00"), "schema_invalid", ("_body",)),
])
def test_each_fault_is_refused_with_its_reason_naming_the_field_not_the_value(mutate, reason, path):
    exc = refusal(mutate)
    assert exc.reason == reason
    node = exc.errors
    for key in path:
        node = node[key]
    assert node
    assert "11010519491231002" not in json.dumps(exc.errors, ensure_ascii=False)


def test_the_insurance_types_are_the_payment_methods_of_the_form():
    enum = SCHEMA["$defs"]["settlement"]["properties"]["insurance_type"]["enum"]
    assert enum == [m.value for m in PaymentMethod]


def test_contracts_document_links_the_settlement_schema_and_its_exchange():
    text = (ROOT / "docs" / "contracts.md").read_text(encoding="utf-8")
    assert f"(../shared/schemas/{SCHEMA_PATH.name})" in text
    assert "`ehr.insurance`" in text and "settlement.<institution_code>.<type>" in text


def test_operators_view_of_a_settlement_masks_identifiers_and_hides_amounts_and_names():
    view = message_view(json.dumps(EXAMPLE, ensure_ascii=False).encode(), SETTLEMENT)["fields"]
    assert view["source"]["settlement_no"] == "JS20261126000123"
    assert view["insured"]["id_number"].endswith("002X") and "1101051949" not in view["insured"]["id_number"]
    assert view["insured"]["insurance_card_no"] == "***********2345"
    assert view["insured"]["name"] == "string(3)"
    assert view["settlement"]["amounts"]["total"] == "number"
    assert view["settlement"]["insurance_type"] == "1"


CSV_ROW = {"settlement_no": "JS1", "revision": "2", "id_type": None, "id_number": "11010519491231002X",
           "insurance_card_no": None, "name": "张秀英", "sex": "2", "birth_date": "1949-12-31", "type": "inpatient",
           "institution_code": "H3301020001", "visit_date": "2026-11-01", "discharge_date": "2026-11-08",
           "insurance_type": "3", "diagnoses": "I10 原发性高血压; E11.9 2型糖尿病", "total": "1000.50",
           "fund_paid": "700", "personal_account": "0", "out_of_pocket": "300.50", "other_paid": None,
           "fees": "床位费=400; 西药费=600.50", "settled_at": "2026-11-08T16:00:00+08:00"}


def test_a_csv_row_becomes_a_valid_settlement_with_a_stable_message_id():
    body = body_of_row(CSV_ROW, "Y1101050001")
    [(line, _, s)], refused = check([(2, body)])
    assert refused == [] and line == 2
    assert s.revision == 2 and s.content["diagnoses"][1]["code"] == "E11.9"
    assert s.content["amounts"]["by_category"] == [{"category": "床位费", "amount": 400.0},
                                                   {"category": "西药费", "amount": 600.5}]
    again = load_settlement(body_of_row(CSV_ROW, "Y1101050001"))
    assert message_id_for(s) == message_id_for(again)
    assert message_id_for(s) != message_id_for(load_settlement(body_of_row({**CSV_ROW, "revision": "3"}, "Y1101050001")))


def test_rows_the_contract_refuses_are_named_by_line_and_reason():
    good, refused = check([(2, body_of_row(CSV_ROW, "Y1101050001")),
                           (3, body_of_row({**CSV_ROW, "out_of_pocket": "1"}, "Y1101050001")),
                           (4, "not json")])
    assert [line for line, _, _ in good] == [2]
    assert [(r["line"], r["reason"]) for r in refused] == [(3, "schema_invalid"), (4, "not_json")]
