"""FHIR R4 document bundles (services/sync/documents/fhir.py): for every type the suite builds, the
bundle validates with fhir.resources and carries what the platform reads (docs/contracts.md, "The
regional platform"): the document id, the type on the Composition, the patient's identifiers, the
custodian, and a correction's relatesTo."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest
from fhir.resources.bundle import Bundle

from services.sync.documents import DOCUMENT_TYPES, FhirValidationError, NotBuildable, build_fhir, validate_bundle
from tests.unit.sync_documents_data import document, integrated_content, resident, sources

SOURCES = sources()


def resources(bundle: dict, kind: str) -> list[dict]:
    return [entry["resource"] for entry in bundle["entry"] if entry["resource"]["resourceType"] == kind]


def resolve(bundle: dict, reference: str) -> dict:
    matches = [entry["resource"] for entry in bundle["entry"] if entry["fullUrl"] == reference]
    assert len(matches) == 1, reference
    return matches[0]


@pytest.mark.parametrize("type_code", sorted(SOURCES))
def test_every_buildable_type_makes_a_valid_document_bundle(type_code):
    source, content = SOURCES[type_code]
    doc = document(type_code, source, content)
    bundle = build_fhir(doc)

    assert isinstance(Bundle.parse_obj(json.loads(json.dumps(bundle, ensure_ascii=False))), Bundle)
    assert bundle["type"] == "document"
    assert bundle["identifier"] == {"system": "urn:oid:2.16.156.10011.1.1", "value": doc.document_id}
    composition = bundle["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert composition["type"]["coding"][0]["system"] == "urn:oid:2.16.156.10011.2.4"
    assert composition["type"]["coding"][0]["code"] == type_code
    assert "relatesTo" not in composition

    patient = resolve(bundle, composition["subject"]["reference"])
    assert patient["resourceType"] == "Patient"
    identifiers = {i["system"]: i["value"] for i in patient["identifier"]}
    assert identifiers == {"urn:oid:2.16.156.10011.1.2": doc.patient.archive_no,
                           "urn:oid:2.16.156.10011.1.3": doc.patient.id_number,
                           "urn:oid:2.16.156.10011.1.19": doc.patient.health_card_no}
    assert patient["gender"] == "female" and patient["birthDate"] == "1950-06-15"

    custodian = resolve(bundle, composition["custodian"]["reference"])
    assert custodian["identifier"] == [{"system": "urn:oid:2.16.156.10011.1.5", "value": "C1101050031"}]
    author = resolve(bundle, composition["author"][0]["reference"])
    assert author["identifier"] == [{"system": "urn:oid:2.16.156.10011.1.4", "value": "doc01"}]

    # Every section's entries are in the bundle; every reference resolves.
    assert composition["section"]
    for section in composition["section"]:
        assert section["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
        for member in section.get("entry", []):
            resolve(bundle, member["reference"])
    assert len({entry["fullUrl"] for entry in bundle["entry"]}) == len(bundle["entry"])
    assert build_fhir(doc) == bundle                      # the same document, the same bundle
    if source != "archive":
        assert resources(bundle, "Encounter")


def test_a_follow_up_has_its_readings_as_observations_and_its_medicines():
    source, content = SOURCES["HSDB04.01"]
    bundle = build_fhir(document("HSDB04.01", source, content))
    observations = resources(bundle, "Observation")
    systolic = [o for o in observations if o["code"].get("coding", [{}])[0].get("code") == "DE04.10.174.00"]
    assert len(systolic) == 1
    assert systolic[0]["code"]["coding"][0]["system"] == "urn:oid:2.16.156.10011.2.2.1"
    assert systolic[0]["valueQuantity"] == {"value": 150, "unit": "mmHg", "system": "http://unitsofmeasure.org",
                                            "code": "mm[Hg]"}
    classification = next(o for o in observations if o["code"]["text"] == "此次随访分类")
    assert classification["valueCodeableConcept"]["coding"][0] == {"code": "2", "display": "控制不满意"}
    statement = resources(bundle, "MedicationStatement")[0]
    assert statement["medicationCodeableConcept"]["text"] == "苯磺酸氨氯地平片"
    assert resources(bundle, "Condition") == []           # a follow-up form codes no diagnosis


def test_an_outpatient_summary_has_its_icd10_conditions():
    source, content = SOURCES["HSDC00.02"]
    bundle = build_fhir(document("HSDC00.02", source, content))
    condition = resources(bundle, "Condition")[0]
    assert condition["code"]["coding"][0]["system"] == "urn:oid:2.16.156.10011.2.3.3.11"
    assert condition["code"]["coding"][0]["code"] == content["diagnoses"][0]["code"]
    encounter = resources(bundle, "Encounter")[0]
    assert encounter["class"]["code"] == "AMB" and encounter["period"]["start"] == content["started_at"]
    inpatient = build_fhir(document("HSDC00.03", *SOURCES["HSDC00.03"]))
    assert resources(inpatient, "Encounter")[0]["class"]["code"] == "IMP"


def test_a_correction_replaces_the_earlier_version():
    source, content = SOURCES["HSDC00.04"]
    doc = document("HSDC00.04", source, content, version=3)
    bundle = build_fhir(doc)
    composition = bundle["entry"][0]["resource"]
    assert composition["relatesTo"] == [{"code": "replaces", "targetIdentifier": {
        "system": "urn:oid:2.16.156.10011.1.1", "value": f"{doc.set_id}:v2"}}]
    assert bundle["identifier"]["value"] == f"{doc.set_id}:v3"
    # Composition.identifier is version-independent (FHIR): the set, as CDA's setId; the version apart
    assert composition["identifier"] == {"system": "urn:oid:2.16.156.10011.1.1", "value": doc.set_id}
    assert composition["extension"] == [{
        "url": "http://hl7.org/fhir/StructureDefinition/composition-clinicaldocument-versionNumber",
        "valueString": "3"}]
    first = build_fhir(document("HSDC00.04", source, content))
    assert first["entry"][0]["resource"]["identifier"] == composition["identifier"]
    assert {e["fullUrl"] for e in first["entry"]}.isdisjoint({e["fullUrl"] for e in bundle["entry"]})


def test_a_resident_without_id_number_or_card_has_only_the_archive_number():
    source, content = SOURCES["HSDC00.04"]
    bundle = build_fhir(document("HSDC00.04", source, content,
                                 patient=replace(resident(), id_number=None, health_card_no=None)))
    patient = resources(bundle, "Patient")[0]
    assert patient["identifier"] == [{"system": "urn:oid:2.16.156.10011.1.2", "value": "11010500300100001"}]


def test_markup_in_free_text_stays_text_in_the_narrative():
    source, content = SOURCES["HSDC00.04"]
    bundle = build_fhir(document("HSDC00.04", source, {**content, "opinion": "<script>x</script> & 复查"}))
    div = bundle["entry"][0]["resource"]["section"][0]["text"]["div"]
    assert "<script>" not in div and "&lt;script&gt;x&lt;/script&gt; &amp; 复查" in div


@pytest.mark.parametrize("type_code", ["HSDB02.01", "HSDB03.02", "HSDB04.04"])
def test_a_type_the_suite_cannot_build_is_refused(type_code):
    with pytest.raises(NotBuildable) as caught:
        build_fhir(document(type_code, "health_exam", SOURCES["HSDC00.01"][1]))
    assert caught.value.reason == DOCUMENT_TYPES[type_code].reason


def test_an_invalid_bundle_raises_a_clear_error():
    bundle = build_fhir(document("HSDC00.04", *SOURCES["HSDC00.04"]))
    bundle["entry"][1]["resource"]["birthDate"] = "1950-13-45"  # not a date
    with pytest.raises(FhirValidationError, match="birthDate") as caught:
        validate_bundle(bundle, "record:x:v1")
    assert "record:x:v1" in str(caught.value) and caught.value.errors
    observation = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation")
    del observation["status"]                                      # required in R4
    bundle["entry"][1]["resource"]["birthDate"] = "1950-06-15"
    with pytest.raises(FhirValidationError, match="status"):
        validate_bundle(bundle)


# -- check_bundle (documents/validation.py): the verdict of Bundle.parse_obj, without its cost ----

def _first(bundle: dict, kind: str) -> dict:
    return resources(bundle, kind)[0]


def _set(kind: str, key: str, value):
    def change(bundle):
        _first(bundle, kind)[key] = value
    return change


def _drop(kind: str, key: str):
    def change(bundle):
        del _first(bundle, kind)[key]
    return change


def _observation_with(key: str, value, drop: str | None = None):
    def change(bundle):
        observation = next(o for o in resources(bundle, "Observation") if "valueQuantity" in o)
        observation[key] = value
        if drop:
            del observation[drop]
    return change


def _coding_code(value):
    def change(bundle):
        observation = next(o for o in resources(bundle, "Observation") if "coding" in o["code"])
        observation["code"]["coding"][0]["code"] = value
    return change


def _entry_field(key: str, value):
    def change(bundle):
        bundle["entry"][3][key] = value
    return change


MUTATIONS = {
    "a date that is no date": _set("Patient", "birthDate", "1950-13-45"),
    "a required status left out": _drop("Observation", "status"),
    "a status not in the code's pattern": _set("Observation", "status", "fi nal "),
    "two values of one choice": _observation_with("valueString", "x"),
    "a value of a type the choice lacks": _observation_with("valueFoo", "x", drop="valueQuantity"),
    "an unknown key": _set("Patient", "nickname", "x"),
    "an empty string": _set("Patient", "gender", ""),
    "a code with two spaces": _coding_code("DE04  10"),
    "a reference that is a string": _set("Observation", "subject", "urn:uuid:x"),
    "an element that is a list": _set("Observation", "code", [{"text": "x"}]),
    "a list that is an element": _set("Patient", "identifier", {"value": "x"}),
    "an integer that is text": _observation_with("valueInteger", "twelve", drop="valueQuantity"),
    "an integer given as digits": _observation_with("valueInteger", "12", drop="valueQuantity"),
    "a null where a value may be left out": _set("Patient", "telecom", None),
    "a null where a value is required": _set("Observation", "status", None),
    "an unknown resource type": _entry_field("resource", {"resourceType": "Observatio", "status": "final"}),
    "a resource of another type": _entry_field("resource", {"resourceType": "Patient", "gender": "female"}),
    "a full URL that is no URI": _entry_field("fullUrl", "urn uuid"),
    "an empty list": _set("Patient", "identifier", []),
    "a primitive extension": _set("Patient", "_gender", {"extension": [{"url": "http://x", "valueString": "y"}]}),
    "a number for a string": _set("Patient", "gender", 2),
    "a boolean for a decimal": _observation_with("valueQuantity", {"value": True}),
}


def _verdict(check, bundle):
    try:
        check(bundle)
    except (FhirValidationError, ValueError) as exc:
        return getattr(exc, "errors", None) or "invalid"
    return "valid"


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_check_bundle_decides_as_fhir_resources_does(mutation):
    from services.sync.documents import check_bundle

    for type_code in ("HSDC00.02", "HSDB04.01"):                   # the caches warm with valid bundles
        check_bundle(build_fhir(document(type_code, *SOURCES[type_code])))
    bundle = build_fhir(document("HSDC00.02", *SOURCES["HSDC00.02"]))
    MUTATIONS[mutation](bundle)
    expected = _verdict(validate_bundle, copy.deepcopy(bundle))
    assert _verdict(check_bundle, copy.deepcopy(bundle)) == expected
    assert _verdict(check_bundle, copy.deepcopy(bundle)) == expected   # and again, with whatever it kept


def test_check_bundle_is_right_with_emptied_caches(monkeypatch):
    from services.sync.documents import check_bundle
    from services.sync.documents import validation

    monkeypatch.setattr(validation, "MAX_SHAPES", 3)
    monkeypatch.setattr(validation, "MAX_VALUES", 5)
    for type_code in sorted(SOURCES):
        check_bundle(build_fhir(document(type_code, *SOURCES[type_code])))
    bundle = build_fhir(document("HSDC00.02", *SOURCES["HSDC00.02"]))
    _set("Patient", "birthDate", "1950-13-45")(bundle)
    with pytest.raises(FhirValidationError, match="birthDate"):
        check_bundle(bundle, "record:x:v1")


@pytest.mark.parametrize("type_code, classification, glucose", [("HSDB04.01", "1", False), ("HSDB04.02", "2", True)])
def test_an_integrated_visit_makes_a_valid_bundle_of_each_programme(type_code, classification, glucose):
    doc = replace(document(type_code, "integrated_follow_up", integrated_content()), set_id=f"record:9001:{type_code}")
    bundle = build_fhir(doc)
    assert isinstance(Bundle.parse_obj(json.loads(json.dumps(bundle, ensure_ascii=False))), Bundle)
    composition = bundle["entry"][0]["resource"]
    assert composition["type"]["coding"][0]["code"] == type_code
    assert bundle["identifier"]["value"] == f"record:9001:{type_code}:v1"
    observations = resources(bundle, "Observation")
    assert next(o for o in observations if o["code"]["text"] == "此次随访分类")[
        "valueCodeableConcept"]["coding"][0]["code"] == classification
    assert any(o["code"].get("coding", [{}])[0].get("code") == "DE04.50.102.00" for o in observations) == glucose
    assert [s["medicationCodeableConcept"]["text"] for s in resources(bundle, "MedicationStatement")] == \
        ["缬沙坦胶囊", "盐酸二甲双胍片"]


def test_every_model_a_bundle_may_hold_is_validated_by_its_keys_and_values_alone():
    """check_bundle's premise (documents/validation.py): fhir.resources' models have no validator
    but the generated ones that look at which keys hold a value; a model with another is parsed
    whole (`_decomposable` False), and none of those a document bundle holds has one."""
    from fhir.resources.fhirtypesvalidators import MODEL_CLASSES, get_fhir_model_class

    from services.sync.documents import validation

    for kind in ("Bundle", "BundleEntry", "Composition", "CompositionSection", "Patient", "Organization",
                 "Practitioner", "Encounter", "Observation", "Condition", "MedicationStatement", "Reference",
                 "CodeableConcept", "Coding", "Quantity", "Identifier", "Narrative", "Period", "HumanName"):
        assert validation._decomposable(get_fhir_model_class(kind)), kind
    undecomposable = [name for name in MODEL_CLASSES if not validation._decomposable(get_fhir_model_class(name))]
    assert undecomposable == ["FHIRPrimitiveExtension"]          # its own root validator: parsed whole
