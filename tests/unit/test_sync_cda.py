"""WS/T 483 CDA documents (services/sync/documents): for every type the suite builds, from a
synthetic resident and realistic form data, the XML parses back with every header element the
platform reads (docs/contracts.md, "The regional platform") and the record's facts in the body."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from services.sync.documents import (
    DOCUMENT_TYPES, DocumentError, NotBuildable, build_cda, document_type_for, document_types_for, require_buildable,
    why_no_document,
)
from services.sync.documents.sections import SECTIONS, SECTIONS_BY_TYPE, code_table
from tests.unit.sync_documents_data import document, integrated_content, resident, sources

NS = {"h": "urn:hl7-org:v3", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
SOURCES = sources()


def parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def one(root, path: str):
    found = root.xpath(path, namespaces=NS)
    assert len(found) == 1, f"{path}: {len(found)} found"
    return found[0]


def observation_value(root, de: str):
    """The value element of the first entry coded with this data element."""
    return one(root, f"(//h:section/h:entry/h:observation[h:code/@code='{de}'])[1]/h:value")


def test_the_twenty_types_are_listed_and_only_the_held_ones_are_buildable():
    assert len(DOCUMENT_TYPES) == 20
    assert [t.part for t in DOCUMENT_TYPES.values()] == list(range(1, 21))
    assert {code for code, t in DOCUMENT_TYPES.items() if t.buildable} == set(SOURCES)
    for doc_type in DOCUMENT_TYPES.values():
        assert doc_type.buildable == (doc_type.reason is None) and (doc_type.sources != ()) == doc_type.buildable


@pytest.mark.parametrize("source, content, expected", [
    ("archive", {}, "HSDA00.01"),
    ("health_exam", {}, "HSDC00.01"),
    ("hospital_encounter", {"kind": "outpatient"}, "HSDC00.02"),
    ("hospital_encounter", {"kind": "emergency"}, "HSDC00.02"),
    ("hospital_encounter", {"kind": "inpatient_admission"}, "HSDC00.03"),
    ("hospital_encounter", {"kind": "inpatient_discharge"}, "HSDC00.03"),
    ("hospital_encounter", {"kind": "lab_result"}, None),
    ("consultation", {}, "HSDC00.04"),
    ("referral_out", {}, "HSDC00.05"),
    ("referral_back", {}, "HSDC00.05"),
    ("hypertension_follow_up", {}, "HSDB04.01"),
    ("diabetes_follow_up", {}, "HSDB04.02"),
    ("visit", {}, None),
    ("integrated_follow_up", {}, None),                  # two documents: document_types_for
    ("elderly_tcm", {}, None),
    ("no_such_form", {}, None),
])
def test_document_type_for_each_source(source, content, expected):
    assert document_type_for(source, content) == expected


@pytest.mark.parametrize("type_code", sorted(SOURCES))
def test_every_buildable_type_has_the_header_the_platform_reads(type_code):
    source, content = SOURCES[type_code]
    doc = document(type_code, source, content)
    root = parse(build_cda(doc))
    patient = doc.patient

    assert root.tag == "{urn:hl7-org:v3}ClinicalDocument"
    assert one(root, "h:realmCode/@code") == "CN"
    assert one(root, "h:typeId/@root") == "2.16.840.1.113883.1.3"
    assert one(root, "h:typeId/@extension") == "POCD_MT000040"
    assert one(root, "h:templateId/@root") == f"2.16.156.10011.2.1.1.{DOCUMENT_TYPES[type_code].part}"
    assert one(root, "h:id/@root") == "2.16.156.10011.1.1"
    assert one(root, "h:id/@extension") == doc.document_id
    assert one(root, "h:code/@code") == type_code
    assert one(root, "h:code/@codeSystem") == "2.16.156.10011.2.4"
    assert one(root, "h:title/text()") == DOCUMENT_TYPES[type_code].name
    assert one(root, "h:effectiveTime/@value") == "20240520101500+0800"
    assert one(root, "h:confidentialityCode/@code") == "N"
    assert one(root, "h:languageCode/@code") == "zh-CN"
    assert one(root, "h:setId/@extension") == doc.set_id
    assert one(root, "h:versionNumber/@value") == "1"
    assert root.xpath("h:relatedDocument", namespaces=NS) == []

    role = one(root, "h:recordTarget/h:patientRole")
    assert one(role, "h:id[@root='2.16.156.10011.1.2']/@extension") == patient.archive_no
    assert len(patient.archive_no) == 17
    assert one(role, "h:id[@root='2.16.156.10011.1.19']/@extension") == patient.health_card_no
    assert one(role, "h:patient/h:id[@root='2.16.156.10011.1.3']/@extension") == patient.id_number
    assert one(role, "h:patient/h:name/text()") == patient.name
    assert one(role, "h:patient/h:administrativeGenderCode/@code") == "2"
    assert one(role, "h:patient/h:administrativeGenderCode/@codeSystem") == "2.16.156.10011.2.3.3.4"
    assert one(role, "h:patient/h:birthTime/@value") == "19500615"
    assert one(role, "h:addr/h:streetAddressLine/text()") == patient.current_address
    assert one(role, "h:telecom/@value") == f"tel:{patient.phone}"

    assert one(root, "h:author/h:time/@value") == "20240520101500+0800"
    assert one(root, "h:author/h:assignedAuthor/h:id/@root") == "2.16.156.10011.1.4"
    assert one(root, "h:author/h:assignedAuthor/h:id/@extension") == "doc01"
    custodian = one(root, "h:custodian/h:assignedCustodian/h:representedCustodianOrganization")
    assert one(custodian, "h:id/@root") == "2.16.156.10011.1.5"
    assert one(custodian, "h:id/@extension") == "C1101050031"
    assert one(custodian, "h:name/text()") == "呼家楼社区卫生服务中心"

    sections = root.xpath("h:component/h:structuredBody/h:component/h:section", namespaces=NS)
    assert sections
    for section in sections:
        assert section.xpath("h:code/@code", namespaces=NS)
        assert section.xpath("h:entry", namespaces=NS) or section.xpath("h:text", namespaces=NS)
    # Every coded entry uses the WS 363 directory; the rest carry their name, never a guessed code.
    for code in root.xpath("//h:entry/h:observation/h:code", namespaces=NS):
        if code.get("code"):
            assert code.get("codeSystem") == "2.16.156.10011.2.2.1" and code.get("code").startswith("DE")
        else:
            assert code.get("nullFlavor") == "UNK" and code.xpath("h:originalText/text()", namespaces=NS)
    # Empty values are left out, never written as empty strings.
    for element in root.iter():
        assert all(value != "" for value in element.attrib.values()), element.tag
        if len(element) == 0 and not element.attrib:
            assert (element.text or "").strip(), element.tag


def test_hypertension_follow_up_body():
    source, content = SOURCES["HSDB04.01"]
    root = parse(build_cda(document("HSDB04.01", source, content)))
    assert observation_value(root, "DE04.10.174.00").get("value") == "150"
    assert observation_value(root, "DE04.10.174.00").get("unit") == "mmHg"
    assert observation_value(root, "DE04.10.176.00").get("value") == "92"
    method = observation_value(root, "DE06.00.108.00")
    assert (method.get("code"), method.get("displayName"), method.get("codeSystem")) == \
        ("1", "门诊", "2.16.156.10011.2.3.1.183")
    bmi = one(root, "//h:observation[h:code/h:originalText='体质指数']/h:value")
    assert bmi.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "PQ" and float(bmi.get("value")) > 20
    assert one(root, "//h:observation[h:code/h:originalText='下次随访日期']/h:value/@value") == "20240603"
    classification = one(root, "//h:observation[h:code/h:originalText='此次随访分类']/h:value")
    assert (classification.get("code"), classification.get("displayName")) == ("2", "控制不满意")
    assert one(root, "//h:substanceAdministration//h:manufacturedLabeledDrug/h:name/text()") == "苯磺酸氨氯地平片"
    assert one(root, "//h:substanceAdministration/h:doseQuantity/@value") == "5"


def test_diabetes_follow_up_carries_the_fasting_glucose():
    source, content = SOURCES["HSDB04.02"]
    root = parse(build_cda(document("HSDB04.02", source, content)))
    glucose = observation_value(root, "DE04.50.102.00")
    assert (glucose.get("value"), glucose.get("unit")) == ("8.1", "mmol/L")
    pulse = one(root, "//h:observation[h:code/h:originalText='足背动脉搏动']/h:value")
    assert pulse.get("displayName") == "减弱"


def test_outpatient_summary_has_icd10_diagnoses_vitals_and_prescriptions():
    source, content = SOURCES["HSDC00.02"]
    root = parse(build_cda(document("HSDC00.02", source, content)))
    diagnosis = observation_value(root, "DE05.01.024.00")
    assert diagnosis.get("codeSystem") == "2.16.156.10011.2.3.3.11"
    assert diagnosis.get("code") == content["diagnoses"][0]["code"]
    assert diagnosis.get("displayName") == content["diagnoses"][0]["name"]
    assert observation_value(root, "DE04.10.174.00").get("value") == str(content["vital_signs"]["sbp"])
    assert observation_value(root, "DE04.01.119.00").text == "头晕三天"
    assert one(root, "//h:manufacturedLabeledDrug/h:name/text()") == content["prescriptions"][0]["drug"]
    assert one(root, "//h:observation[h:code/h:originalText='葡萄糖']/h:value/@value") == "7.8"


def test_registration_carries_the_personal_information_form():
    source, content = SOURCES["HSDA00.01"]
    root = parse(build_cda(document("HSDA00.01", source, content)))
    assert one(root, "//h:patient/h:ethnicGroupCode/@code") == "01"
    assert one(root, "//h:patient/h:maritalStatusCode/@code") == "20"          # form's 2 已婚 as GB/T 2261.2
    assert one(root, "//h:patient/h:maritalStatusCode/@codeSystem") == "2.16.156.10011.2.3.3.5"
    assert observation_value(root, "DE04.50.001.00").get("displayName") == "A"
    assert observation_value(root, "DE04.50.010.00").get("displayName") == "阳性"
    payments = root.xpath("//h:observation[h:code/@code='DE07.00.007.00']/h:value/@displayName", namespaces=NS)
    assert payments == ["新型农村合作医疗", "其他"]
    allergies = root.xpath("//h:observation[h:code/@code='DE02.10.022.00']/h:value/@displayName", namespaces=NS)
    assert allergies == ["青霉素", "其他"]
    assert one(root, "//h:observation[h:code/h:originalText='其他过敏药物']/h:value/text()") == "头孢"
    diseases = root.xpath("//h:observation[h:code/@code='DE02.10.026.00']/h:value/@displayName", namespaces=NS)
    assert diseases == ["高血压", "恶性肿瘤"]
    assert one(root, "//h:observation[h:code/h:originalText='常住类型']/h:value/@displayName") == "户籍"


def test_health_examination_body():
    source, content = SOURCES["HSDC00.01"]
    root = parse(build_cda(document("HSDC00.01", source, content)))
    systolic = root.xpath("//h:observation[h:code/@code='DE04.10.174.00']/h:value/@value", namespaces=NS)
    assert systolic == ["128", "130"]                                            # left and right
    assert observation_value(root, "DE04.10.186.00").get("value") == "36.5"
    assert observation_value(root, "DE04.50.102.00").get("value") == "5.6"
    assert one(root, "//h:observation[h:code/h:originalText='心电图结果']/h:value/@displayName") == "正常"
    assert one(root, "//h:manufacturedLabeledDrug/h:name/text()") == "硝苯地平缓释片"


def test_a_second_version_replaces_the_first():
    source, content = SOURCES["HSDB04.01"]
    doc = document("HSDB04.01", source, content, version=2)
    root = parse(build_cda(doc))
    assert one(root, "h:versionNumber/@value") == "2"
    assert one(root, "h:setId/@extension") == doc.set_id
    related = one(root, "h:relatedDocument")
    assert related.get("typeCode") == "RPLC"
    assert one(related, "h:parentDocument/h:id/@root") == "2.16.156.10011.1.1"
    assert one(related, "h:parentDocument/h:id/@extension") == f"{doc.set_id}:v1" == doc.replaces
    assert one(root, "h:id/@extension") == f"{doc.set_id}:v2"


def test_a_version_above_one_without_the_replaced_id_is_refused():
    source, content = SOURCES["HSDB04.01"]
    doc = replace(document("HSDB04.01", source, content, version=2), replaces=None)
    with pytest.raises(DocumentError, match="replaces"):
        build_cda(doc)


@pytest.mark.parametrize("type_code", sorted(code for code, t in DOCUMENT_TYPES.items() if not t.buildable))
def test_a_type_the_suite_cannot_build_is_refused_with_its_reason(type_code):
    doc = document(type_code, "health_exam", SOURCES["HSDC00.01"][1])
    with pytest.raises(NotBuildable) as caught:
        build_cda(doc)
    assert caught.value.type_code == type_code and caught.value.reason == DOCUMENT_TYPES[type_code].reason


def test_a_type_built_from_another_source_is_refused():
    with pytest.raises(NotBuildable, match="HSDC00.03"):
        require_buildable("HSDC00.02", "hospital_encounter", {"kind": "inpatient_discharge"})
    with pytest.raises(NotBuildable, match="not from visit"):
        build_cda(document("HSDC00.04", "visit", {"occurred_on": "2024-05-10"}))


def test_xml_special_characters_in_names_and_addresses_are_escaped_and_parse():
    source, content = SOURCES["HSDC00.04"]
    tricky = replace(resident(), name='王<小>&"明\'', current_address="</streetAddressLine><x>&amp; 3号")
    content = {**content, "opinion": "血糖 > 16.7 & <3.9 时转诊 ]]>"}
    xml = build_cda(document("HSDC00.04", source, content, patient=tricky))
    root = parse(xml)
    assert one(root, "//h:patient/h:name/text()") == tricky.name
    assert one(root, "//h:addr/h:streetAddressLine/text()") == tricky.current_address
    assert root.xpath("//h:x", namespaces=NS) == []
    assert one(root, "//h:observation[h:code/h:originalText='会诊意见']/h:value/text()") == content["opinion"]


def test_a_resident_without_an_id_number_gets_a_null_flavoured_id():
    source, content = SOURCES["HSDC00.04"]
    root = parse(build_cda(document("HSDC00.04", source, content,
                                    patient=replace(resident(), id_number=None, health_card_no=None))))
    assert root.xpath("//h:id[@root='2.16.156.10011.1.3']", namespaces=NS) == []
    assert one(root, "//h:patient/h:id/@nullFlavor") == "NI"
    assert root.xpath("//h:id[@root='2.16.156.10011.1.19']", namespaces=NS) == []


def test_every_code_table_the_sections_name_exists():
    for sections in [*SECTIONS.values(), *SECTIONS_BY_TYPE.values()]:
        for section in sections:
            for spec in section.fields:
                if spec.table:
                    assert code_table(spec.table), spec.table


def test_the_builders_format_no_xml_text_by_hand():
    """No string templating: the CDA module builds elements with lxml; no string literal in it
    holds markup."""
    source = (Path(__file__).resolve().parents[2] / "services/sync/documents/cda.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    literals = [node.value for node in ast.walk(tree)
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]
    assert not [text for text in literals if "<" in text and ">" in text and not text.startswith("{")]


# -- an integrated visit (多病共管): one record, two documents ---------------------------------------

@pytest.mark.parametrize("source, content, expected", [
    ("integrated_follow_up", {}, ["HSDB04.01", "HSDB04.02"]),
    ("hypertension_follow_up", {}, ["HSDB04.01"]),
    ("diabetes_follow_up", {}, ["HSDB04.02"]),
    ("archive", {}, ["HSDA00.01"]),
    ("hospital_encounter", {"kind": "emergency"}, ["HSDC00.02"]),
    ("hospital_encounter", {"kind": "lab_result"}, []),
    ("visit", {}, []),
    ("no_such_form", {}, []),
])
def test_document_types_for_each_source(source, content, expected):
    assert document_types_for(source, content) == expected
    assert document_type_for(source, content) == (expected[0] if len(expected) == 1 else None)


def test_an_integrated_visit_is_said_to_make_two_documents():
    assert "HSDB04.01, HSDB04.02" in why_no_document("integrated_follow_up")
    assert require_buildable("HSDB04.01", "integrated_follow_up").code == "HSDB04.01"
    assert require_buildable("HSDB04.02", "integrated_follow_up").code == "HSDB04.02"
    with pytest.raises(NotBuildable, match="not from integrated_follow_up"):
        require_buildable("HSDC00.01", "integrated_follow_up")


def _integrated(type_code: str):
    doc = replace(document(type_code, "integrated_follow_up", integrated_content()),
                  set_id=f"record:9001:{type_code}")
    return doc, parse(build_cda(doc))


def test_an_integrated_visit_makes_a_hypertension_follow_up():
    doc, root = _integrated("HSDB04.01")
    assert one(root, "h:code/@code") == "HSDB04.01" and one(root, "h:title/text()") == "高血压患者随访服务"
    assert one(root, "h:setId/@extension") == "record:9001:HSDB04.01"
    assert one(root, "h:id/@extension") == "record:9001:HSDB04.01:v1"
    assert observation_value(root, "DE04.10.174.00").get("value") == "136"
    assert observation_value(root, "DE04.10.206.00").get("value") == "76"          # 心率
    classification = one(root, "//h:observation[h:code/h:originalText='此次随访分类']/h:value")
    assert (classification.get("code"), classification.get("displayName")) == ("1", "控制满意")
    symptoms = root.xpath("//h:observation[h:code/h:originalText='症状']/h:value/@displayName", namespaces=NS)
    assert symptoms == ["头痛头晕", "多饮"]                         # the integrated list's labels
    # The diabetes form's own parts are not the hypertension document's.
    assert root.xpath("//h:observation[h:code/@code='DE04.50.102.00']", namespaces=NS) == []
    assert root.xpath("//h:observation[h:code/h:originalText='低血糖反应']", namespaces=NS) == []
    drugs = root.xpath("//h:manufacturedLabeledDrug/h:name/text()", namespaces=NS)
    assert drugs == ["缬沙坦胶囊", "盐酸二甲双胍片"]                  # the visit's medicines, in both


def test_an_integrated_visit_makes_a_diabetes_follow_up():
    doc, root = _integrated("HSDB04.02")
    assert one(root, "h:code/@code") == "HSDB04.02" and one(root, "h:setId/@extension") == "record:9001:HSDB04.02"
    glucose = observation_value(root, "DE04.50.102.00")
    assert (glucose.get("value"), glucose.get("unit")) == ("7.5", "mmol/L")
    classification = one(root, "//h:observation[h:code/h:originalText='此次随访分类']/h:value")
    assert (classification.get("code"), classification.get("displayName")) == ("2", "控制不满意")
    assert one(root, "//h:observation[h:code/h:originalText='足背动脉搏动']/h:value/@displayName") == "触及正常"
    assert one(root, "//h:observation[h:code/h:originalText='低血糖反应']/h:value/@code") == "1"
    assert observation_value(root, "DE04.10.174.00").get("value") == "136"
