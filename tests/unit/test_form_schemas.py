"""The forms' published schemas (shared/schemas/forms/*.json) are what the forms produce
(`python -m services.records.forms.export`), every code list is an enum with its meanings, and the
gateway's document carries them, named by RecordCreate's `content`."""

from __future__ import annotations

import json

import pytest
from marshmallow import fields

from services.gateway.openapi import build_spec
from services.records.forms import FORMS, REFERRAL_FORMS, export
from services.records.forms.personal_info import BloodType, PersonalInfoSchema
from shared.codes import BloodTypeRh, CodeEnum, ExamTestItem
from shared.contracts.forms import FORM_SCHEMAS_DIR, form_component, published_forms
from services.records.forms.common import code


@pytest.mark.parametrize("record_type", list(FORMS))
def test_the_committed_schema_of_each_form_is_what_the_form_produces(record_type):
    committed = (FORM_SCHEMAS_DIR / f"{record_type}.json").read_text(encoding="utf-8")
    assert committed == export.render(record_type), (
        f"shared/schemas/forms/{record_type}.json is stale: run python -m services.records.forms.export")


def test_there_is_a_file_for_each_form_and_no_other():
    assert sorted(published_forms()) == sorted(FORMS)


def test_a_changed_code_list_no_longer_matches_the_committed_file(monkeypatch):
    class ShortBloodType(BloodType):
        abo = code(BloodTypeRh, required=True)  # the planted change: the wrong table

    class PlantedPersonalInfo(PersonalInfoSchema):
        blood_type = fields.Nested(ShortBloodType, required=True)

    monkeypatch.setitem(FORMS, "personal_info", PlantedPersonalInfo)
    committed = (FORM_SCHEMAS_DIR / "personal_info.json").read_text(encoding="utf-8")
    assert export.render("personal_info") != committed


def _code_fields(schemas: dict) -> list[dict]:
    """Every property (or list item) carrying a code table, over all components."""
    found = []
    for schema in schemas.values():
        for prop in schema.get("properties", {}).values():
            for candidate in (prop, prop.get("items", {})):
                if "x-code-table" in candidate:
                    found.append(candidate)
    return found


def test_every_code_list_is_an_enum_with_the_meaning_of_each_code():
    tables = {cls.__name__: cls for cls in CodeEnum.__subclasses__()}
    listed = [f for form in published_forms().values() for f in _code_fields(form["components"])]
    assert len(listed) > 40
    for prop in listed:
        table = tables[prop["x-code-table"]]
        assert [c for c in prop["enum"] if c is not None] == table.codes()  # null where the field allows it
        assert prop["x-enum-descriptions"] == [member.label for member in table]
        assert prop["description"] == "; ".join(f"{m.value} {m.label}" for m in table)


def test_the_document_carries_each_forms_codes():
    document = build_spec()
    schemas = document["components"]["schemas"]
    blood_type = schemas["Form.BloodType"]["properties"]
    assert blood_type["abo"]["enum"] == ["1", "2", "3", "4", "5"]
    assert blood_type["abo"]["x-enum-descriptions"] == ["A", "B", "O", "AB", "不详"]
    assert blood_type["rh"]["description"] == "1 阴性; 2 阳性; 3 不详"
    item = schemas["Form.ExamResult"]["properties"]["item"]
    assert "ecg" in item["enum"] and "ecg 心电图" in item["description"]
    assert item["enum"] == ExamTestItem.codes()
    content = schemas["RecordCreate"]["properties"]["content"]
    entered = [t for t in FORMS if t not in REFERRAL_FORMS]  # the referral files its own (filed_by)
    assert content["x-forms"] == {t: {"$ref": f"#/components/schemas/{form_component(t)}"} for t in entered}
    for record_type in FORMS:
        assert schemas[form_component(record_type)]["type"] == "object"


def test_the_filing_route_names_every_form_entered_by_hand():
    summary = build_spec()["paths"]["/api/v1/archives/{archive_no}/records"]["post"]["summary"]
    named = summary[summary.index("(") + 1:summary.rindex(")")].split(", ")
    assert sorted(named) == sorted(set(FORMS) - REFERRAL_FORMS)
    assert all(published_forms()[t].get("filed_by") == "referral" for t in REFERRAL_FORMS)


def test_every_reference_in_the_document_resolves():
    document = build_spec()
    text = json.dumps(document)
    names = set(document["components"]["schemas"])
    refs = {ref.split("/")[-1] for ref in _refs(document)}
    assert refs <= names, refs - names
    assert "Form.health_exam" in text


def _refs(node) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if "$ref" in node else []) + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []
