"""The published contracts (docs/contracts.md, shared/schemas/*.schema.json) agree with the
code: the JSON Schemas are valid, the suite's compiled validator accepts and rejects exactly
what the reference validator does and names the field at fault, the updates the suite builds
validate, the code tables match, and every quarantine reason code in use is documented."""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from shared.codes import EncounterKind, IdType, Sex
from shared.contracts.archive_update import ArchiveUpdateSchema
from shared.contracts.encounter import InvalidEncounter, load_encounter
from services.records.revisions import HOSPITAL_ENCOUNTER, update_message, record_id_for

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SCHEMAS = ROOT / "shared" / "schemas"
ENCOUNTER_SCHEMA_FILE = SCHEMAS / "encounter-v1.schema.json"
UPDATE_SCHEMA_FILE = SCHEMAS / "archive-update-v1.schema.json"
CONTRACTS_MD = DOCS / "contracts.md"
RECORDS_SOURCES = sorted((ROOT / "services" / "records").glob("*.py")) + [ROOT / "shared" / "contracts" / "encounter.py",
                                                                         ROOT / "shared" / "events.py"]


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _format_checker() -> FormatChecker:
    """`date` from jsonschema itself; `date-time` checked here as the suite does (ISO 8601 with a
    UTC offset), so the test needs no optional RFC 3339 package."""
    checker = FormatChecker(formats=["date"])

    @checker.checks("date-time", raises=ValueError)
    def _aware_datetime(value) -> bool:
        if not isinstance(value, str):
            return True
        return datetime.fromisoformat(value).tzinfo is not None

    return checker


def _validator(path: Path) -> Draft202012Validator:
    return Draft202012Validator(_load(path), format_checker=_format_checker())


def _example(path: Path) -> dict:
    return copy.deepcopy(_load(path)["examples"][0])


# -- (a) the schema files are JSON Schemas and their examples validate ------------------------


@pytest.mark.parametrize("path", [ENCOUNTER_SCHEMA_FILE, UPDATE_SCHEMA_FILE], ids=lambda p: p.name)
def test_schema_file_is_a_valid_draft_2020_12_json_schema(path):
    schema = _load(path)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", [ENCOUNTER_SCHEMA_FILE, UPDATE_SCHEMA_FILE], ids=lambda p: p.name)
def test_schema_file_has_one_example_that_validates_against_it(path):
    examples = _load(path)["examples"]
    assert len(examples) == 1
    _validator(path).validate(examples[0])


@pytest.mark.parametrize("path", [ENCOUNTER_SCHEMA_FILE, UPDATE_SCHEMA_FILE], ids=lambda p: p.name)
def test_schema_file_allows_unknown_fields_because_the_suite_ignores_them(path):
    body = _example(path)
    body["added_in_a_later_minor_change"] = {"anything": 1}
    _validator(path).validate(body)


# -- (b) the suite's validator and the reference JSON Schema validator agree --------------------


def test_encounter_schema_example_loads_with_the_suites_validator():
    encounter = load_encounter(_example(ENCOUNTER_SCHEMA_FILE))
    assert encounter.kind == "outpatient" and encounter.id_number == "11010519491231002X"
    assert encounter.started_at == datetime.fromisoformat("2026-11-26T09:30:00+08:00")


def test_unknown_fields_are_accepted_but_not_kept():
    body = _example(ENCOUNTER_SCHEMA_FILE)
    body["encounter"]["vital_signs"]["pain_score"] = 3
    body["encounter"]["patient_name_copy"] = "张秀英"
    content = load_encounter(body).content
    assert "pain_score" not in content["vital_signs"] and "patient_name_copy" not in content
    assert content["vital_signs"]["sbp"] == 150


def _has_path(errors, path: str) -> bool:
    node = errors
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def _set(path: str, value):
    def mutate(body):
        *parents, leaf = path.split(".")
        node = body
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if value is _DELETE:
            del node[leaf]
        else:
            node[leaf] = value
    mutate.path = path
    return mutate


_DELETE = object()

REJECTED_BY_BOTH = {
    "schema missing": _set("schema", _DELETE),
    "schema of another major version": _set("schema", "ehr.encounter/2"),
    "source missing": _set("source", _DELETE),
    "institution code with a dot": _set("source.institution_code", "H33.0102"),
    "empty source record id": _set("source.record_id", ""),
    "negative source version": _set("source.version", -1),
    "id type not in WS 364": _set("patient.id_type", "00"),
    "id type null": _set("patient.id_type", None),
    "sex not in GB/T 2261.1": _set("patient.sex", "3"),
    "birth date not ISO": _set("patient.birth_date", "1949/12/31"),
    "phone with letters": _set("patient.phone", "call me"),
    "resident id number of the wrong shape": _set("patient.id_number", "1101051949"),
    "unknown encounter kind": _set("encounter.kind", "home_visit"),
    "start time without UTC offset": _set("encounter.started_at", "2026-11-26T09:30:00"),
    "start time missing": _set("encounter.started_at", _DELETE),
    "systolic pressure above 300": _set("encounter.vital_signs.sbp", 301),
    "temperature below 30": _set("encounter.vital_signs.temperature", 29.9),
    "spo2 above 100": _set("encounter.vital_signs.spo2", 101),
    "diagnoses null": _set("encounter.diagnoses", None),
    "diagnosis without code": _set("encounter.diagnoses.0.code", _DELETE),
    "diagnosis system null": _set("encounter.diagnoses.0.system", None),
    "prescription longer than 365 days": _set("encounter.prescriptions.0.days", 366),
    "unknown abnormal flag": _set("encounter.results.0.abnormal_flag", "X"),
    "numeric result value": _set("encounter.results.0.value", 6.1),
    "department longer than 64": _set("encounter.department", "科" * 65),
}

ACCEPTED_BY_BOTH = {
    "id type absent (defaults to 01)": _set("patient.id_type", _DELETE),
    "id number null": _set("patient.id_number", None),
    "15-digit resident id number": _set("patient.id_number", "110105491231002"),
    "lower-case x check character": _set("patient.id_number", "11010519491231002x"),
    "source version null": _set("source.version", None),
    "source system null": _set("source.system", None),
    "vital signs null": _set("encounter.vital_signs", None),
    "single vital sign null": _set("encounter.vital_signs.sbp", None),
    "temperature at the upper bound": _set("encounter.vital_signs.temperature", 45),
    "start time in UTC with Z": _set("encounter.started_at", "2026-11-26T01:30:00Z"),
    "unknown nested field": _set("encounter.vital_signs.pain_score", 3),
}


@pytest.mark.parametrize("mutate", REJECTED_BY_BOTH.values(), ids=REJECTED_BY_BOTH.keys())
def test_encounter_rejected_by_the_suite_is_rejected_by_the_json_schema_naming_the_field(mutate):
    body = _example(ENCOUNTER_SCHEMA_FILE)
    mutate(body)
    with pytest.raises(InvalidEncounter) as err:
        load_encounter(copy.deepcopy(body))
    assert _has_path(err.value.errors, mutate.path), err.value.errors
    assert list(_validator(ENCOUNTER_SCHEMA_FILE).iter_errors(body)), "the JSON Schema accepted it"


@pytest.mark.parametrize("mutate", ACCEPTED_BY_BOTH.values(), ids=ACCEPTED_BY_BOTH.keys())
def test_encounter_accepted_by_the_suite_is_accepted_by_the_json_schema(mutate):
    body = _example(ENCOUNTER_SCHEMA_FILE)
    mutate(body)
    load_encounter(copy.deepcopy(body))
    _validator(ENCOUNTER_SCHEMA_FILE).validate(body)


@pytest.mark.parametrize("path,value,reason", [
    ("patient.id_number", "11010519491231002", "invalid_id_number"),
    ("patient.id_number", "110105194912310021", "invalid_id_number"),
    ("patient.sex", "1", "invalid_id_number"),
    ("patient.birth_date", "1949-12-30", "invalid_id_number"),
    ("patient.birth_date", "1949-02-30", "schema_invalid"),
    ("encounter.ended_at", "2026-11-26T09:00:00+08:00", "schema_invalid"),
])
def test_rules_beyond_the_json_schema_are_enforced_with_the_right_reason(path, value, reason):
    body = _example(ENCOUNTER_SCHEMA_FILE)
    _set(path, value)(body)
    with pytest.raises(InvalidEncounter) as err:
        load_encounter(body)
    assert err.value.reason == reason
    assert _has_path(err.value.errors, path), err.value.errors
    assert "11010519491231002" not in json.dumps(err.value.errors)


# -- (c) the updates the suite builds validate against archive-update-v1 ----------------------


@pytest.mark.parametrize("action,revision", [("filed", 1), ("amended", 2)])
def test_update_built_by_filing_validates_against_the_archive_update_schema(action, revision):
    source = {"institution_code": "H3301020001", "system": "HIS", "record_id": "OP-20261126-0001", "version": 2}
    record_id = record_id_for(source["institution_code"], source["record_id"], "outpatient")
    record = {"archive_no": "11010500300100042", "record_type": HOSPITAL_ENCOUNTER, "kind": "outpatient", "institution_code": source["institution_code"],
              "source_record_id": source["record_id"],
              "occurred_at": datetime.fromisoformat("2026-11-26T09:30:00+08:00")}
    message = update_message(record_id, record, action, revision)

    _validator(UPDATE_SCHEMA_FILE).validate(message.body)
    ArchiveUpdateSchema().load(message.body)
    assert message.exchange == "ehr.archive-updates"
    assert message.routing_key == f"archive.110105.003.001.{HOSPITAL_ENCOUNTER}"
    assert message.message_id == message.body["update_id"]


def test_moved_update_validates_and_is_routed_by_the_new_number_and_by_the_former_village():
    from services.records.repointing import moved_messages

    record = {"id": "38b3f5ae-0b38-5df4-9317-ee0f13a4b70e", "archive_no": "11010500300100042",
              "record_type": HOSPITAL_ENCOUNTER, "kind": "outpatient", "institution_code": "H3301020001",
              "source_record_id": "OP-20261126-0001", "current_revision": 2,
              "occurred_at": datetime.fromisoformat("2026-11-26T09:30:00+08:00")}
    to_new, to_former = moved_messages(record, "11010520110100007", cause="event-1")

    for message in (to_new, to_former):
        _validator(UPDATE_SCHEMA_FILE).validate(message.body)
        loaded = ArchiveUpdateSchema().load(message.body)
        assert loaded["action"] == "moved" and loaded["former_archive_no"] == "11010520110100007"
        assert message.message_id == message.body["update_id"] == to_new.body["update_id"]
    assert to_new.routing_key == f"archive.110105.003.001.{HOSPITAL_ENCOUNTER}"
    assert to_former.routing_key == f"archive.110105.201.101.{HOSPITAL_ENCOUNTER}"
    assert to_new.body["revision"] == 2
    [same_village] = moved_messages(record, "11010500300100007", cause="event-1")   # one village: once
    assert same_village.routing_key == to_new.routing_key
    assert moved_messages(record, "11010520110100007", cause="event-2")[0].message_id != to_new.message_id


def test_moved_update_without_former_archive_no_is_rejected_by_the_archive_update_schema():
    body = {**_example(UPDATE_SCHEMA_FILE), "action": "moved"}
    assert list(_validator(UPDATE_SCHEMA_FILE).iter_errors(body))
    _validator(UPDATE_SCHEMA_FILE).validate({**body, "former_archive_no": "11010520110100007"})


def test_update_schema_example_loads_with_the_marshmallow_contract():
    ArchiveUpdateSchema().load(_example(UPDATE_SCHEMA_FILE))


def test_update_without_update_id_is_rejected_by_the_archive_update_schema():
    body = _example(UPDATE_SCHEMA_FILE)
    del body["update_id"]
    assert list(_validator(UPDATE_SCHEMA_FILE).iter_errors(body))


# -- (d) code tables -------------------------------------------------------------------------


def _enum(schema: dict, *path: str) -> list:
    node = schema
    for key in path:
        node = node[key]
    return [code for code in node["enum"] if code is not None]


@pytest.mark.parametrize("path,codes", [
    (("$defs", "encounter", "properties", "kind"), EncounterKind.codes()),
    (("$defs", "patient", "properties", "id_type"), IdType.codes()),
    (("$defs", "patient", "properties", "sex"), Sex.codes()),
], ids=["encounter.kind", "patient.id_type", "patient.sex"])
def test_encounter_schema_enum_equals_the_code_table(path, codes):
    assert _enum(_load(ENCOUNTER_SCHEMA_FILE), *path) == codes


def test_sex_may_be_null_in_the_encounter_schema_as_in_the_suite():
    assert None in _load(ENCOUNTER_SCHEMA_FILE)["$defs"]["patient"]["properties"]["sex"]["enum"]


# -- (e) quarantine reason codes are documented ---------------------------------------------

# `item.reject("missing_message_id", ...)`, `reject("invalid_id_number" if x else "schema_invalid", ...)`
_REJECT_CALL = re.compile(r"\breject\(\s*([^,]+),")
# quarantine items `(delivery, "schema_invalid", {...})`, `(d, "dead_lettered", details)`
_QUARANTINE_ITEM = re.compile(r"\(\s*[\w.]+\s*,\s*\"([a-z][a-z_]*)\"\s*,")
_STRING = re.compile(r"\"([a-z][a-z_]*)\"")


_INVALID_ENCOUNTER = re.compile(r'InvalidEncounter\(\s*"([a-z_]+)"')


def quarantine_reason_codes() -> set[str]:
    codes: set[str] = set()
    for path in RECORDS_SOURCES:
        source = path.read_text(encoding="utf-8")
        for first_argument in _REJECT_CALL.findall(source):
            codes.update(_STRING.findall(first_argument))
        codes.update(_QUARANTINE_ITEM.findall(source))
        codes.update(_INVALID_ENCOUNTER.findall(source))
    return codes


def test_reason_code_scan_finds_the_codes_of_filing_and_dead_letters():
    codes = quarantine_reason_codes()
    assert {"missing_message_id", "schema_invalid", "invalid_id_number", "dead_lettered"} <= codes


@pytest.mark.parametrize("code", sorted(quarantine_reason_codes()))
def test_every_quarantine_reason_code_in_the_records_service_is_documented(code):
    assert f"`{code}`" in CONTRACTS_MD.read_text(encoding="utf-8")


def test_contracts_document_links_both_json_schemas():
    text = CONTRACTS_MD.read_text(encoding="utf-8")
    for path in (ENCOUNTER_SCHEMA_FILE, UPDATE_SCHEMA_FILE):
        assert f"(../shared/schemas/{path.name})" in text
