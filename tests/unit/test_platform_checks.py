"""The fake regional platform's reading of documents (ehr/platform/checks.py), with hand-written
minimal documents (ehr/platform/samples.py, not the suite's builders): a valid CDA or FHIR
document passes; each element the platform requires, taken away, is named with its path; wrong
OIDs, codes and headers are told apart; plus its order rules, storage and faults in process (the
server on a free port of this process: tests/unit/platform_client.py)."""

from __future__ import annotations

import copy
import json

import pytest
from lxml import etree

from ehr.platform import faults as faults_module
from ehr.platform.checks import CDA, FHIR, check_document, valid_id_number
from ehr.platform.faults import FaultError, Faults
from ehr.platform.samples import sample_cda, sample_fhir
from ehr.platform.server import Platform
from ehr.platform.storage import Store
from tests.unit.platform_client import Served

V3 = "{urn:hl7-org:v3}"
NS = {"v3": "urn:hl7-org:v3"}


def headers(document_id="record:sample:v1", document_type="HSDC00.01", replaces=None):
    h = {"X-Document-Id": document_id, "X-Document-Type": document_type}
    if replaces:
        h["X-Replaces"] = replaces
    return h


def cda_without(xpath: str, **kw) -> bytes:
    root = etree.fromstring(sample_cda(**kw))
    for element in root.xpath(xpath, namespaces=NS):
        element.getparent().remove(element)
    return etree.tostring(root)


def cda_with(xpath: str, attribute: str, value: str, **kw) -> bytes:
    root = etree.fromstring(sample_cda(**kw))
    (element,) = root.xpath(xpath, namespaces=NS)
    element.set(attribute, value)
    return etree.tostring(root)


def codes(reading) -> set[tuple[str, str]]:
    return {(r.code, r.path) for r in reading.reasons}


# ------------------------------------------------------------------------------------------ CDA

def test_a_valid_cda_document_passes_and_is_read():
    reading = check_document(sample_cda(), CDA, headers())
    assert reading.ok, reading.reasons + reading.header_reasons
    assert (reading.document_id, reading.document_type, reading.set_id, reading.version) == \
        ("record:sample:v1", "HSDC00.01", "record:sample", 1)
    assert (reading.archive_no, reading.custodian, reading.replaces) == ("11010500300100001", "T1101051011", None)


D = "/ClinicalDocument"
REQUIRED = [
    ("v3:realmCode", f"{D}/realmCode"),
    ("v3:typeId", f"{D}/typeId"),
    ("v3:templateId", f"{D}/templateId"),
    ("v3:id", f"{D}/id"),
    ("v3:code", f"{D}/code"),
    ("v3:title", f"{D}/title"),
    ("v3:effectiveTime", f"{D}/effectiveTime"),
    ("v3:confidentialityCode", f"{D}/confidentialityCode"),
    ("v3:languageCode", f"{D}/languageCode"),
    ("v3:setId", f"{D}/setId"),
    ("v3:versionNumber", f"{D}/versionNumber"),
    ("v3:recordTarget", f"{D}/recordTarget"),
    ("v3:recordTarget/v3:patientRole", f"{D}/recordTarget/patientRole"),
    ("v3:recordTarget/v3:patientRole/v3:id", f"{D}/recordTarget/patientRole/id"),
    ("v3:recordTarget/v3:patientRole/v3:patient", f"{D}/recordTarget/patientRole/patient"),
    ("//v3:patient/v3:name", f"{D}/recordTarget/patientRole/patient/name"),
    ("//v3:patient/v3:administrativeGenderCode", f"{D}/recordTarget/patientRole/patient/administrativeGenderCode"),
    ("//v3:patient/v3:birthTime", f"{D}/recordTarget/patientRole/patient/birthTime"),
    ("v3:author", f"{D}/author"),
    ("v3:author/v3:time", f"{D}/author/time"),
    ("v3:author/v3:assignedAuthor/v3:id", f"{D}/author/assignedAuthor/id"),
    ("v3:custodian", f"{D}/custodian"),
    ("//v3:representedCustodianOrganization/v3:id",
     f"{D}/custodian/assignedCustodian/representedCustodianOrganization/id"),
    ("//v3:representedCustodianOrganization/v3:name",
     f"{D}/custodian/assignedCustodian/representedCustodianOrganization/name"),
    ("v3:component", f"{D}/component"),
    ("v3:component/v3:structuredBody", f"{D}/component/structuredBody"),
    ("//v3:structuredBody/v3:component", f"{D}/component/structuredBody/component/section"),
    ("//v3:section/v3:code", f"{D}/component/structuredBody/component[1]/section/code"),
]


@pytest.mark.parametrize("xpath, path", REQUIRED, ids=[p for _, p in REQUIRED])
def test_each_required_element_taken_away_is_named_with_its_path(xpath, path):
    reading = check_document(cda_without(xpath), CDA, headers())
    assert ("missing_element", path) in codes(reading)


def test_a_section_needs_an_entry_or_its_text():
    root = etree.fromstring(sample_cda())
    (section,) = root.xpath("//v3:section", namespaces=NS)
    for child in section.xpath("v3:entry|v3:text", namespaces=NS):
        section.remove(child)
    reading = check_document(etree.tostring(root), CDA, headers())
    assert codes(reading) == {("missing_element", f"{D}/component/structuredBody/component[1]/section/entry")}


@pytest.mark.parametrize("xpath, attribute, value, path", [
    ("/v3:ClinicalDocument/v3:recordTarget/v3:patientRole/v3:id", "root", "2.16.156.10011.1.3",
     f"{D}/recordTarget/patientRole/id/@root"),
    ("/v3:ClinicalDocument/v3:code", "codeSystem", "2.16.156.10011.2.2.1", f"{D}/code/@codeSystem"),
    ("/v3:ClinicalDocument/v3:id", "root", "2.16.156.10011.1.2", f"{D}/id/@root"),
    ("//v3:representedCustodianOrganization/v3:id", "root", "2.16.156.10011.1.4",
     f"{D}/custodian/assignedCustodian/representedCustodianOrganization/id/@root"),
    ("//v3:assignedAuthor/v3:id", "root", "2.16.156.10011.1.5", f"{D}/author/assignedAuthor/id/@root"),
    ("//v3:administrativeGenderCode", "codeSystem", "2.16.156.10011.2.3.3.5",
     f"{D}/recordTarget/patientRole/patient/administrativeGenderCode/@codeSystem"),
    ("/v3:ClinicalDocument/v3:typeId", "root", "2.16.840.1.113883.1.4", f"{D}/typeId/@root"),
])
def test_a_wrong_oid_is_named(xpath, attribute, value, path):
    reading = check_document(cda_with(xpath, attribute, value), CDA, headers())
    assert codes(reading) == {("wrong_oid", path)}


@pytest.mark.parametrize("xpath, attribute, value, code, path", [
    ("/v3:ClinicalDocument/v3:realmCode", "code", "US", "wrong_value", f"{D}/realmCode/@code"),
    ("/v3:ClinicalDocument/v3:languageCode", "code", "en-US", "wrong_value", f"{D}/languageCode/@code"),
    ("/v3:ClinicalDocument/v3:code", "code", "HSDX00.01", "unknown_document_type", f"{D}/code/@code"),
    ("/v3:ClinicalDocument/v3:effectiveTime", "value", "2026-03-01", "invalid_value", f"{D}/effectiveTime/@value"),
    ("/v3:ClinicalDocument/v3:effectiveTime", "value", "20260231093000", "invalid_value", f"{D}/effectiveTime/@value"),
    ("/v3:ClinicalDocument/v3:versionNumber", "value", "0", "invalid_value", f"{D}/versionNumber/@value"),
    ("//v3:patientRole/v3:id", "extension", "1101050030010000", "invalid_value",
     f"{D}/recordTarget/patientRole/id/@extension"),
    ("//v3:patient/v3:id", "extension", "110101199003071234", "invalid_identifier",
     f"{D}/recordTarget/patientRole/patient/id/@extension"),
    ("//v3:administrativeGenderCode", "code", "M", "invalid_value",
     f"{D}/recordTarget/patientRole/patient/administrativeGenderCode/@code"),
    ("//v3:patient/v3:birthTime", "value", "19491332", "invalid_value",
     f"{D}/recordTarget/patientRole/patient/birthTime/@value"),
    ("/v3:ClinicalDocument/v3:setId", "extension", "", "missing_value", f"{D}/setId/@extension"),
])
def test_a_wrong_value_is_named(xpath, attribute, value, code, path):
    reading = check_document(cda_with(xpath, attribute, value), CDA, headers())
    assert codes(reading) == {(code, path)}


def test_an_invalid_id_number_is_not_quoted_in_the_reason():
    reading = check_document(cda_with("//v3:patient/v3:id", "extension", "110101199003071234"), CDA, headers())
    assert "110101199003071234" not in json.dumps([r.as_json() for r in reading.reasons])


def test_a_type_code_other_than_the_header_says_is_a_header_mismatch():
    reading = check_document(sample_cda(document_type="HSDC00.02"), CDA, headers(document_type="HSDC00.01"))
    assert reading.reasons == []
    assert [(r.code, r.path) for r in reading.header_reasons] == [("header_mismatch", f"{D}/code/@code")]


def test_a_document_id_other_than_the_header_says_is_a_header_mismatch():
    reading = check_document(sample_cda("record:a:v1"), CDA, headers(document_id="record:b:v1"))
    assert [(r.code, r.path) for r in reading.header_reasons] == [("header_mismatch", f"{D}/id/@extension")]


def test_missing_headers_are_named():
    reading = check_document(sample_cda(), CDA, {})
    assert {(r.code, r.path) for r in reading.header_reasons} == {
        ("missing_header", "X-Document-Id"), ("missing_header", "X-Document-Type")}


def test_version_2_without_a_replacement_link_is_refused():
    reading = check_document(sample_cda("record:sample:v2", version=2), CDA, headers("record:sample:v2"))
    assert codes(reading) == {("missing_element", f"{D}/relatedDocument")}
    assert reading.header_reasons == []


def test_version_2_replacing_version_1_is_read_with_its_link():
    body = sample_cda("record:sample:v2", version=2, replaces="record:sample:v1")
    reading = check_document(body, CDA, headers("record:sample:v2", replaces="record:sample:v1"))
    assert reading.ok and (reading.version, reading.replaces) == (2, "record:sample:v1")


def test_x_replaces_must_name_the_replaced_document():
    body = sample_cda("record:sample:v2", version=2, replaces="record:sample:v1")
    without = check_document(body, CDA, headers("record:sample:v2"))
    other = check_document(body, CDA, headers("record:sample:v2", replaces="record:other:v1"))
    version_1 = check_document(sample_cda(), CDA, headers(replaces="record:sample:v0"))
    for reading in (without, other, version_1):
        assert [(r.code, r.path) for r in reading.header_reasons] == [
            ("header_mismatch", f"{D}/relatedDocument/parentDocument/id/@extension")]


def test_the_replaced_document_id_needs_its_oid():
    body = sample_cda("record:sample:v2", version=2, replaces="record:sample:v1")
    root = etree.fromstring(body)
    root.xpath("//v3:parentDocument/v3:id", namespaces=NS)[0].set("root", "2.16.156.10011.1.2")
    reading = check_document(etree.tostring(root), CDA, headers("record:sample:v2"))
    assert codes(reading) == {("wrong_oid", f"{D}/relatedDocument/parentDocument/id/@root")}


def test_version_1_cannot_replace_anything():
    body = sample_cda(version=1, replaces="record:sample:v0")
    reading = check_document(body, CDA, headers(replaces="record:sample:v0"))
    assert codes(reading) == {("inconsistent_version", f"{D}/versionNumber/@value")}


def test_not_xml_and_not_cda_are_refused():
    assert codes(check_document(b"<ClinicalDocument", CDA, headers())) == {("malformed", "/")}
    other = b'<ClinicalDocument xmlns="urn:example"/>'
    assert codes(check_document(other, CDA, headers())) == {("wrong_root", "/")}


def test_entities_are_not_expanded():
    body = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            + sample_cda().split(b"?>", 1)[1].replace(b"<title>", b"<title>&e;", 1))
    reading = check_document(body, CDA, headers())
    assert "root:" not in json.dumps([r.as_json() for r in reading.reasons])


def test_an_unknown_media_type_is_a_header_reason():
    reading = check_document(sample_cda(), "application/xml", headers())
    assert [(r.code, r.path) for r in reading.header_reasons] == [("unsupported_media_type", "Content-Type")]


@pytest.mark.parametrize("number, valid", [
    ("11010519491231002X", True), ("440524188001010014", True), ("34052419800101001x", True),
    ("370101190102039973", True), ("110101199003074477", True), ("110101199003071234", False),
    ("110105491231002", True), ("11010519491331002X", False), ("1101051949123100", False),
])
def test_id_numbers_are_checked_by_gb_11643(number, valid):
    assert valid_id_number(number) is valid


# ----------------------------------------------------------------------------------------- FHIR

def fhir(bundle=None) -> bytes:
    return json.dumps(bundle if bundle is not None else sample_fhir(), ensure_ascii=False).encode()


def test_a_valid_fhir_bundle_passes_and_is_read():
    reading = check_document(fhir(), FHIR + "; charset=utf-8", headers())
    assert reading.ok, reading.reasons + reading.header_reasons
    assert (reading.document_id, reading.document_type, reading.archive_no, reading.custodian) == \
        ("record:sample:v1", "HSDC00.01", "11010500300100001", "T1101051011")


def test_a_patient_without_the_archive_number_identifier_is_refused():
    bundle = sample_fhir()
    patient = bundle["entry"][1]["resource"]
    patient["identifier"] = [i for i in patient["identifier"] if i["system"] != "urn:oid:2.16.156.10011.1.2"]
    reading = check_document(fhir(bundle), FHIR, headers())
    assert codes(reading) == {("missing_element", "Bundle.entry[1].resource.identifier")}


def test_an_invalid_resource_is_refused_with_the_validators_path():
    bundle = sample_fhir()
    bundle["entry"][1]["resource"]["birthDate"] = "1949-13-31"
    reading = check_document(fhir(bundle), FHIR, headers())
    assert codes(reading) == {("invalid_resource", "Bundle.entry[1].resource.birthDate")}


def test_a_composition_missing_required_elements_is_refused():
    bundle = sample_fhir()
    del bundle["entry"][0]["resource"]["title"]
    reading = check_document(fhir(bundle), FHIR, headers())
    assert ("invalid_resource", "Bundle.entry[0].resource.title") in codes(reading)


def test_an_unknown_resource_type_is_refused():
    bundle = sample_fhir()
    bundle["entry"].append({"fullUrl": "urn:uuid:x", "resource": {"resourceType": "Nonsense"}})
    reading = check_document(fhir(bundle), FHIR, headers())
    assert {r.code for r in reading.reasons} == {"invalid_resource"}


@pytest.mark.parametrize("change, code, path", [
    (lambda b: b.update(type="collection"), "wrong_value", "Bundle.type"),
    (lambda b: b.pop("timestamp"), "missing_element", "Bundle.timestamp"),
    (lambda b: b.pop("identifier"), "missing_element", "Bundle.identifier"),
    (lambda b: b["identifier"].update(system="urn:oid:2.16.156.10011.1.2"), "wrong_oid", "Bundle.identifier.system"),
    (lambda b: b["entry"][0]["resource"]["type"]["coding"][0].update(system="http://loinc.org"),
     "wrong_oid", "Bundle.entry[0].resource.type.coding.system"),
    (lambda b: b["entry"][0]["resource"].update(subject={"reference": "urn:uuid:elsewhere"}),
     "missing_element", "Bundle.entry[0].resource.subject"),
    (lambda b: b["entry"][3]["resource"]["identifier"][0].update(system="urn:oid:2.16.156.10011.1.4"),
     "missing_element", "Bundle.entry[3].resource.identifier"),
    (lambda b: b["entry"][1]["resource"]["identifier"][1].update(value="110101199003071234"),
     "invalid_identifier", "Bundle.entry[1].resource.identifier.value"),
    (lambda b: b["entry"].reverse(), "missing_element", "Bundle.entry[0].resource"),
])
def test_fhir_identifier_and_structure_rules(change, code, path):
    bundle = copy.deepcopy(sample_fhir())
    change(bundle)
    assert (code, path) in codes(check_document(fhir(bundle), FHIR, headers()))


def test_a_fhir_correction_is_read_and_compared_with_x_replaces():
    body = fhir(sample_fhir("record:sample:v2", replaces="record:sample:v1"))
    assert check_document(body, FHIR, headers("record:sample:v2", replaces="record:sample:v1")).replaces == \
        "record:sample:v1"
    mismatch = check_document(body, FHIR, headers("record:sample:v2"))
    assert [r.code for r in mismatch.header_reasons] == ["header_mismatch"]


def test_a_fhir_composition_gives_its_set_and_version_number():
    bundle = sample_fhir("record:sample:v3", replaces="record:sample:v2")
    composition = bundle["entry"][0]["resource"]
    composition["identifier"] = {"system": "urn:oid:2.16.156.10011.1.1", "value": "record:sample"}
    composition["extension"] = [{"url": "http://hl7.org/fhir/StructureDefinition/"
                                        "composition-clinicaldocument-versionNumber", "valueString": "3"}]
    reading = check_document(fhir(bundle), FHIR, headers("record:sample:v3", replaces="record:sample:v2"))
    assert reading.ok and (reading.set_id, reading.version) == ("record:sample", 3)


def test_not_json_is_malformed():
    assert codes(check_document(b"{", FHIR, headers())) == {("malformed", "Bundle")}


# ------------------------------------------------------------- the server in process: order, storage

@pytest.fixture
def platform(tmp_path):
    store = Store(tmp_path)
    app = Platform(store, "secret")
    served = Served(app)
    yield app, served
    served.close()
    store.close()


def post(client, body: bytes, h: dict, content_type=CDA):
    return client.post("/api/documents", data=body, headers={
        **h, "Content-Type": content_type, "Authorization": "Bearer secret"})


def test_order_registration_first_then_a_correction_after_what_it_replaces(platform):
    _, client = platform
    record = post(client, sample_cda(), headers())
    assert record.status_code == 409 and record.json["reasons"][0]["code"] == "patient_not_registered"
    fix = post(client, sample_cda("record:sample:v2", version=2, replaces="record:sample:v1"),
               headers("record:sample:v2", replaces="record:sample:v1"))
    assert fix.status_code == 409 and fix.json["reasons"][0]["code"] == "patient_not_registered"
    assert post(client, sample_cda("archive:p:v1", "HSDA00.01"), headers("archive:p:v1", "HSDA00.01")).status_code == 201
    fix = post(client, sample_cda("record:sample:v2", version=2, replaces="record:sample:v1"),
               headers("record:sample:v2", replaces="record:sample:v1"))
    assert fix.status_code == 409 and fix.json["reasons"][0]["code"] == "replaced_document_unknown"
    assert post(client, sample_cda(), headers()).status_code == 201
    fix = post(client, sample_cda("record:sample:v2", version=2, replaces="record:sample:v1"),
               headers("record:sample:v2", replaces="record:sample:v1"))
    assert fix.status_code == 201


def test_a_replacement_of_another_set_or_type_is_refused(platform):
    _, client = platform
    post(client, sample_cda("archive:p:v1", "HSDA00.01"), headers("archive:p:v1", "HSDA00.01"))
    post(client, sample_cda("record:a:v1"), headers("record:a:v1"))
    wrong_set = post(client, sample_cda("record:b:v2", version=2, replaces="record:a:v1"),
                     headers("record:b:v2", replaces="record:a:v1"))
    assert wrong_set.status_code == 422
    assert [(r["code"], r["path"]) for r in wrong_set.json["reasons"]] == [
        ("replaced_document_mismatch", "/ClinicalDocument/setId/@extension")]
    wrong_type = post(client, sample_cda("record:a:v2", "HSDC00.02", version=2, replaces="record:a:v1"),
                      headers("record:a:v2", "HSDC00.02", replaces="record:a:v1"))
    assert [(r["code"], r["path"]) for r in wrong_type.json["reasons"]] == [
        ("replaced_document_mismatch", "/ClinicalDocument/code/@code")]
    assert post(client, sample_cda("record:a:v2", version=2, replaces="record:a:v1"),
                headers("record:a:v2", replaces="record:a:v1")).status_code == 201
    backwards = post(client, sample_cda("record:a:v3", set_id="record:a", version=1, replaces="record:a:v2"),
                     headers("record:a:v3", replaces="record:a:v2"))
    assert backwards.status_code == 422  # version 1 replacing: refused before the order is looked at


def test_a_fhir_composition_identifier_is_version_independent(platform):
    _, client = platform
    post(client, fhir(sample_fhir("archive:p:v1", "HSDA00.01")), headers("archive:p:v1", "HSDA00.01"), FHIR)
    v1 = sample_fhir("record:s:v1")
    v1["entry"][0]["resource"]["identifier"] = {"system": "urn:oid:2.16.156.10011.1.1", "value": "record:s:v1"}
    assert post(client, fhir(v1), headers("record:s:v1"), FHIR).status_code == 201
    v2 = sample_fhir("record:s:v2", replaces="record:s:v1")
    v2["entry"][0]["resource"]["identifier"] = {"system": "urn:oid:2.16.156.10011.1.1", "value": "record:s:v2"}
    answer = post(client, fhir(v2), headers("record:s:v2", replaces="record:s:v1"), FHIR)
    assert answer.status_code == 422
    assert [(r["code"], r["path"]) for r in answer.json["reasons"]] == [
        ("replaced_document_mismatch", "Bundle.entry[0].resource.identifier.value")]
    v2["entry"][0]["resource"]["identifier"]["value"] = "record:s:v1"
    assert post(client, fhir(v2), headers("record:s:v2", replaces="record:s:v1"), FHIR).status_code == 201
    got = client.get("/api/documents/record:s:v2", headers={"Authorization": "Bearer secret"}).json
    assert (got["set_id"], got["version"]) == ("record:s:v1", 2)


def test_a_fhir_correction_takes_its_set_and_next_version_from_the_replaced_one(platform):
    _, client = platform
    post(client, fhir(sample_fhir("archive:p:v1", "HSDA00.01")), headers("archive:p:v1", "HSDA00.01"), FHIR)
    assert post(client, fhir(), headers(), FHIR).status_code == 201
    answer = post(client, fhir(sample_fhir("record:sample:v2", replaces="record:sample:v1")),
                  headers("record:sample:v2", replaces="record:sample:v1"), FHIR)
    assert answer.status_code == 201
    got = client.get("/api/documents/record:sample:v2", headers={"Authorization": "Bearer secret"}).json
    assert (got["set_id"], got["version"]) == ("record:sample:v1", 2)


def test_a_refusal_is_the_last_answer_until_the_document_is_accepted(platform):
    _, client = platform
    auth = {"Authorization": "Bearer secret"}
    post(client, sample_cda("archive:p:v1", "HSDA00.01"), headers("archive:p:v1", "HSDA00.01"))
    post(client, cda_without("v3:title"), headers())
    got = client.get("/api/documents/record:sample:v1", headers=auth)
    assert got.status_code == 200 and got.json["status"] == "rejected"
    assert got.json["reasons"][0]["path"] == "/ClinicalDocument/title"
    assert post(client, sample_cda(), headers()).status_code == 201
    assert client.get("/api/documents/record:sample:v1", headers=auth).json["status"] == "accepted"
    assert client.get("/api/documents/record:none:v1", headers=auth).status_code == 404


def test_a_body_over_the_limit_is_413(tmp_path):
    store = Store(tmp_path)
    client = Served(Platform(store, "secret", max_body=1000))
    answer = post(client, sample_cda(), headers())
    assert answer.status_code == 413
    client.close()
    store.close()


def test_the_accepted_list_pages_by_cursor_and_filters(tmp_path):
    store = Store(tmp_path)
    for n in range(7):
        store.accept(document_id=f"d{n}", format="cda", document_type="HSDC00.01" if n % 2 else "HSDA00.01",
                     set_id=f"s{n}", version=1, archive_no="11010500300100001",
                     custodian="A" if n < 5 else "B", replaces=None, body=b"x")
    pages, after = [], 0
    while True:
        items, after = store.list_accepted(custodian="A", after=after, limit=2)
        pages.append([i["document_id"] for i in items])
        if after is None:
            break
    assert pages == [["d0", "d1"], ["d2", "d3"], ["d4"]]
    items, _ = store.list_accepted(document_type="HSDC00.01", limit=10)
    assert [i["document_id"] for i in items] == ["d1", "d3", "d5"]
    store.close()


def test_faults_expire_by_themselves_and_reject_one_in_counts(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(faults_module.time, "monotonic", lambda: clock[0])
    faults = Faults()
    assert faults.apply({"mode": "error", "seconds": 2})["mode"] == "error"
    clock[0] += 1.9
    assert faults.mode() == "error"
    clock[0] += 0.2
    assert faults.mode() == "normal"
    faults.apply({"reject_one_in": 3})
    assert [faults.inject_rejection() for _ in range(6)] == [False, False, True, False, False, True]
    assert faults.reset() == {"mode": "normal", "seconds": None, "remaining": None, "reject_one_in": 0}


@pytest.mark.parametrize("body", [{"mode": "broken"}, {"mode": "error", "seconds": -1}, {"seconds": 3},
                                  {"reject_one_in": -2}, {"reject_one_in": True}, {"other": 1}, []])
def test_fault_settings_that_make_no_sense_are_refused(body):
    with pytest.raises(FaultError):
        Faults().apply(body)


# ------------------------------------------------------------------ ehr platform and ehr up --demo

def test_ehr_up_demo_runs_the_fake_with_a_token_of_the_state_dir_and_exports_it(tmp_path):
    from ehr.platform.launch import demo_platform

    fake = demo_platform(tmp_path, {})
    assert fake.environment == {"EHR_PLATFORM_URL": "http://127.0.0.1:8090",
                                "EHR_PLATFORM_TOKEN": fake.token_file.read_text().strip()}
    assert fake.token_file.stat().st_mode & 0o777 == 0o600
    assert fake.args[1:] == ["-m", "ehr", "platform", "--host", "127.0.0.1", "--port", "8090",
                             "--data", str(tmp_path / "platform")]
    assert "--token" not in fake.args  # from the environment, not the process list
    assert demo_platform(tmp_path, {}).environment == fake.environment  # the same token next time
    assert demo_platform(tmp_path, {"EHR_PLATFORM_URL": "https://rhip.example"}) is None


def test_the_supervisor_runs_an_extra_process_without_keys_and_asks_its_probe(monkeypatch):
    import ehr.supervisor
    from shared.config import generate_key

    spawned = {}
    monkeypatch.setattr(ehr.supervisor.subprocess, "Popen",
                        lambda args, env, **kw: spawned.setdefault(tuple(args), env) and FakeProc())
    monkeypatch.setenv("EHR_SERVICE_KEY", generate_key())
    monkeypatch.setenv("EHR_PLATFORM_TOKEN", "t")
    why = ["not answering"]
    sup = ehr.supervisor.Supervisor({}, extras={"platform": ehr.supervisor.ExtraProcess(
        ["python", "-m", "ehr", "platform"], lambda: why[0])})
    sup.start()
    env = spawned[("python", "-m", "ehr", "platform")]
    assert "EHR_SERVICE_KEY" not in env and env["EHR_PLATFORM_TOKEN"] == "t" and env["EHR_PROCESS"] == "platform.1"
    assert all(e["EHR_PLATFORM_TOKEN"] == "t" for e in spawned.values())  # the sync service will read it
    monkeypatch.setattr(ehr.supervisor, "readiness", lambda descriptor, settings: {"ok": "ok"})
    monkeypatch.setattr(ehr.supervisor, "heartbeat_path", lambda run_dir, name: FakePath())
    assert sup.not_ready(None) == {"platform.1": "not answering"}
    why[0] = None
    assert sup.not_ready(None) == {}


class FakeProc:
    returncode = None

    def poll(self):
        return None


class FakePath:
    def stat(self):
        return type("S", (), {"st_mtime": float("inf")})()


@pytest.mark.parametrize("host, control", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                           ("0.0.0.0", False), ("10.1.2.3", False)])
def test_fault_control_is_on_by_default_on_a_loopback_host_only(tmp_path, host, control):
    from ehr.platform.cli import resolve

    assert resolve(host, "t", tmp_path, None, {}) == ("t", tmp_path, control)
    assert resolve(host, "t", tmp_path, False, {})[2] is False


def test_without_a_token_one_is_made_and_kept_in_the_data_directory(tmp_path):
    from ehr.platform.cli import resolve

    token, _, _ = resolve("127.0.0.1", None, tmp_path, None, {})
    assert (tmp_path / "token").read_text().strip() == token
    assert (tmp_path / "token").stat().st_mode & 0o777 == 0o600
    assert resolve("127.0.0.1", None, tmp_path, None, {})[0] == token
    (tmp_path / "file").write_text("from-file\n")
    assert resolve("127.0.0.1", None, tmp_path, None, {"EHR_PLATFORM_TOKEN_FILE": str(tmp_path / "file")})[0] == \
        "from-file"
    assert resolve("127.0.0.1", None, None, None, {"EHR_STATE_DIR": str(tmp_path)})[1] == tmp_path / "platform"


def test_the_fake_stands_outside_the_suite():
    """It reads documents its own way: no import of the services (their builders) or shared/."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[2] / "ehr" / "platform"
    imported = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
    assert {m for m in imported if m.split(".")[0] in ("services", "shared")} == set()
    assert "ehr.platform.checks" in imported  # the scan sees the package's own imports
