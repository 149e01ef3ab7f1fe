"""WS/T 483-2016 CDA R2 documents, built element by element with lxml (text and attribute values
are escaped by the serializer; nothing is formatted into XML text by hand).

    build_cda(doc) -> b'<?xml version=\'1.0\' encoding=\'UTF-8\'?>\\n<ClinicalDocument xmlns="urn:hl7-org:v3" ...'

The header is what docs/contracts.md ("The regional platform") says the platform reads: realmCode,
typeId, templateId, id (2.16.156.10011.1.1 + document_id), code (type, 2.16.156.10011.2.4), title,
effectiveTime, confidentialityCode, languageCode, setId, versionNumber, recordTarget (健康档案标识号
2.16.156.10011.1.2, 身份证号 2.16.156.10011.1.3, 居民健康卡号 2.16.156.10011.1.19, name, sex in GB/T
2261.1 2.16.156.10011.2.3.3.4, birthTime), author (time, 2.16.156.10011.1.4), custodian
(2.16.156.10011.1.5), and relatedDocument RPLC for a version > 1. The body: one section per
non-empty table of ``documents.sections``, each with a narrative text and coded entries.
An element the standard requires but the suite has no value for carries a nullFlavor; an optional
one with no value is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timezone
from typing import Any

from lxml import etree

from .model import Author, DocumentInput, Institution, Patient
from .sections import (
    DE_OID, ICD10_OID, LOINC_OID, MARITAL_OID, SEX_OID, Diagnosis, Fact, Medication, SectionFacts, diagnoses,
    medications, section_facts,
)
from .types import DOCUMENT_TYPE_OID, DOCUMENT_TYPE_SYSTEM_NAME, DOCUMENT_TYPES, require_buildable

HL7 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {None: HL7, "xsi": XSI}
XSI_TYPE = f"{{{XSI}}}type"

DOCUMENT_OID = "2.16.156.10011.1.1"
ARCHIVE_OID = "2.16.156.10011.1.2"
ID_NUMBER_OID = "2.16.156.10011.1.3"
CLINICIAN_OID = "2.16.156.10011.1.4"
INSTITUTION_OID = "2.16.156.10011.1.5"
HEALTH_CARD_OID = "2.16.156.10011.1.19"
ETHNICITY_OID = "2.16.156.10011.2.3.3.3"    # GB/T 3304
# WS/T 483 templateId: 2.16.156.10011.2.1.1.<n> with n the part number (as WS/T 500's C00xx are
# 2.16.156.10011.2.1.1.<20 + n>).
TEMPLATE_ROOT = "2.16.156.10011.2.1.1"
# 身份证件类别 whose number is a 公民身份号码 (OID 2.16.156.10011.1.3): 居民身份证, 居民户口簿.
CITIZEN_ID_TYPES = {None, "01", "02"}
SEX_NAMES = {"0": "未知的性别", "1": "男性", "2": "女性", "9": "未说明的性别"}
# The form's 婚姻状况 (1-5) as GB/T 2261.2.
MARITAL_GB = {"1": ("10", "未婚"), "2": ("20", "已婚"), "3": ("30", "丧偶"), "4": ("40", "离婚"),
              "5": ("90", "未说明的婚姻状况")}


class DocumentError(ValueError):
    """The input cannot make a valid document (a required value is missing or malformed)."""


_SubElement = etree.SubElement


def _el(parent: etree._Element | None, tag: str, text: str | None = None, **attrs: Any) -> etree._Element:
    """An HL7 element with the attributes that have a value, in the order given."""
    attrib = {XSI_TYPE if key == "xsi_type" else key: str(value) for key, value in attrs.items() if value is not None}
    qname = f"{{{HL7}}}{tag}"
    node = etree.Element(qname, attrib, nsmap=NSMAP) if parent is None else _SubElement(parent, qname, attrib)
    if text is not None:
        node.text = text
    return node


# The %z of each UTC offset met (strftime's, taken once: a call of strftime costs as much as the
# rest of the stamp).
_ZONES: dict[Any, str] = {}


def ts(value: date | datetime) -> str:
    """HL7 TS: YYYYMMDD for a date, YYYYMMDDHHMMSS+zzzz for an aware datetime (strftime's
    ``%Y%m%d`` and ``%Y%m%d%H%M%S%z``, built from the fields for the years strftime writes in four
    digits)."""
    if value.year < 1000:
        return value.strftime("%Y%m%d%H%M%S%z" if isinstance(value, datetime) else "%Y%m%d")
    if isinstance(value, datetime):
        offset = value.utcoffset()
        zone = _ZONES.get(offset)
        if zone is None:
            zone = value.strftime("%z")
            if len(_ZONES) < 100:
                _ZONES[offset] = zone
        return f"{value.year}{value.month:02}{value.day:02}{value.hour:02}{value.minute:02}{value.second:02}{zone}"
    return f"{value.year}{value.month:02}{value.day:02}"


def _number_text(value: float | int) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _marital(doc: DocumentInput) -> tuple[str, str] | None:
    """The registration's 婚姻状况 as GB/T 2261.2 (code, name)."""
    info = doc.content.get("personal_info") if doc.source == "archive" else None
    return MARITAL_GB.get(str(info.get("marital_status"))) if isinstance(info, dict) else None


def _ethnicity(patient: Patient) -> str | None:
    """The GB/T 3304 code of the resident's 民族, when it is one."""
    code = patient.ethnicity
    return code if code and code.isdigit() and 1 <= int(code) <= 56 else None


def _header(root: etree._Element, doc: DocumentInput, title: str) -> None:
    patient = doc.patient
    _el(root, "realmCode", code="CN")
    _el(root, "typeId", root="2.16.840.1.113883.1.3", extension="POCD_MT000040")
    _el(root, "templateId", root=f"{TEMPLATE_ROOT}.{DOCUMENT_TYPES[doc.type_code].part}")
    _el(root, "id", root=DOCUMENT_OID, extension=doc.document_id)
    _el(root, "code", code=doc.type_code, codeSystem=DOCUMENT_TYPE_OID, codeSystemName=DOCUMENT_TYPE_SYSTEM_NAME)
    _el(root, "title", title)
    _el(root, "effectiveTime", value=ts(doc.effective_time))
    _el(root, "confidentialityCode", code="N", codeSystem="2.16.840.1.113883.5.25",
        codeSystemName="Confidentiality", displayName="正常访问保密级别")
    _el(root, "languageCode", code="zh-CN")
    _el(root, "setId", root=DOCUMENT_OID, extension=doc.set_id)
    _el(root, "versionNumber", value=str(doc.version))

    role = _el(_el(root, "recordTarget", typeCode="RCT", contextControlCode="OP"), "patientRole", classCode="PAT")
    _el(role, "id", root=ARCHIVE_OID, extension=patient.archive_no)
    if patient.health_card_no:
        _el(role, "id", root=HEALTH_CARD_OID, extension=patient.health_card_no)
    if patient.current_address:
        addr = _el(role, "addr", use="H")
        _el(addr, "streetAddressLine", patient.current_address)
    if patient.phone:
        _el(role, "telecom", value=f"tel:{patient.phone}")
    person = _el(role, "patient", classCode="PSN", determinerCode="INSTANCE")
    if patient.id_number and patient.id_type in CITIZEN_ID_TYPES:
        _el(person, "id", root=ID_NUMBER_OID, extension=patient.id_number)
    else:
        _el(person, "id", nullFlavor="NI")
    _el(person, "name", patient.name)
    _el(person, "administrativeGenderCode", code=patient.sex, codeSystem=SEX_OID, codeSystemName="生理性别代码表(GB/T 2261.1)",
        displayName=SEX_NAMES.get(patient.sex))
    _el(person, "birthTime", value=ts(patient.birth_date))
    marital = _marital(doc)
    if marital:
        _el(person, "maritalStatusCode", code=marital[0], displayName=marital[1], codeSystem=MARITAL_OID,
            codeSystemName="婚姻状况代码表(GB/T 2261.2)")
    ethnicity = _ethnicity(patient)
    if ethnicity:
        _el(person, "ethnicGroupCode", code=ethnicity, codeSystem=ETHNICITY_OID,
            codeSystemName="民族类别代码表(GB/T 3304)", displayName="汉族" if ethnicity == "01" else None)

    author = _el(root, "author", typeCode="AUT", contextControlCode="OP")
    _el(author, "time", value=ts(doc.effective_time))
    assigned = _el(author, "assignedAuthor", classCode="ASSIGNED")
    _el(assigned, "id", root=CLINICIAN_OID, extension=doc.author.user)
    person = _el(assigned, "assignedPerson", classCode="PSN", determinerCode="INSTANCE")
    if doc.author.name:
        _el(person, "name", doc.author.name)
    else:
        _el(person, "name", nullFlavor="UNK")
    org = _el(assigned, "representedOrganization", classCode="ORG", determinerCode="INSTANCE")
    _el(org, "id", root=INSTITUTION_OID, extension=doc.author.institution.code)
    if doc.author.institution.name:
        _el(org, "name", doc.author.institution.name)

    custodian = _el(_el(_el(root, "custodian", typeCode="CST"), "assignedCustodian", classCode="ASSIGNED"),
                    "representedCustodianOrganization", classCode="ORG", determinerCode="INSTANCE")
    _el(custodian, "id", root=INSTITUTION_OID, extension=doc.custodian.code)
    if doc.custodian.name:
        _el(custodian, "name", doc.custodian.name)
    else:
        _el(custodian, "name", nullFlavor="UNK")

    if doc.version > 1:
        related = _el(root, "relatedDocument", typeCode="RPLC")
        parent = _el(related, "parentDocument", classCode="DOCCLIN", moodCode="EVN")
        _el(parent, "id", root=DOCUMENT_OID, extension=doc.replaces)
        _el(parent, "setId", root=DOCUMENT_OID, extension=doc.set_id)
        _el(parent, "versionNumber", value=str(doc.version - 1))


def _fact_text(fact: Fact) -> str:
    value = fact.value
    if fact.field.kind == "CD":
        return f"{fact.display or value}"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return f"{_number_text(value)}{(' ' + fact.unit) if fact.unit else ''}"
    return str(value)


def _value(observation: etree._Element, fact: Fact) -> None:
    kind, value = fact.field.kind, fact.value
    if kind == "CD":
        _el(observation, "value", xsi_type="CD", code=value, displayName=fact.display,
            codeSystem=fact.field.system, codeSystemName=fact.field.table)
    elif kind == "PQ":
        _el(observation, "value", xsi_type="PQ", value=_number_text(value), unit=fact.unit or "1")
    elif kind == "INT":
        _el(observation, "value", xsi_type="INT", value=str(int(value)))
    elif kind == "REAL":
        _el(observation, "value", xsi_type="REAL", value=_number_text(value))
    elif kind == "BL":
        _el(observation, "value", xsi_type="BL", value="true" if value else "false")
    elif kind == "TS" and isinstance(value, (date, datetime)):
        _el(observation, "value", xsi_type="TS", value=ts(value))
    else:
        _el(observation, "value", str(value), xsi_type="ST")


def _observation(entry: etree._Element, fact: Fact, effective: date | datetime | None) -> None:
    observation = _el(entry, "observation", classCode="OBS", moodCode="EVN")
    if fact.de:
        _el(observation, "code", code=fact.de, codeSystem=DE_OID, codeSystemName="卫生信息数据元目录",
            displayName=fact.label)
    else:
        code = _el(observation, "code", nullFlavor="UNK")
        _el(code, "originalText", fact.label)
    if effective is not None:
        _el(observation, "effectiveTime", value=ts(effective))
    _value(observation, fact)


_TEXT, _LIST, _ITEM = f"{{{HL7}}}text", f"{{{HL7}}}list", f"{{{HL7}}}item"
_ENTRY, _COMPONENT, _SECTION, _CODE, _TITLE = (f"{{{HL7}}}{tag}" for tag in ("entry", "component", "section", "code",
                                                                              "title"))
_LOINC_ATTRS = {"codeSystem": LOINC_OID, "codeSystemName": "LOINC"}


def _narrative(section: etree._Element, lines: list[str]) -> None:
    listing = _SubElement(_SubElement(section, _TEXT), _LIST)
    for line in lines:
        _SubElement(listing, _ITEM).text = line


def _section(body: etree._Element, code: str, title: str) -> etree._Element:
    section = _SubElement(_SubElement(body, _COMPONENT), _SECTION)
    _SubElement(section, _CODE, {"code": code, **_LOINC_ATTRS})
    _SubElement(section, _TITLE).text = title
    return section


# A section of facts is built once per shape, by `_section`, `_narrative` and `_observation`: its
# table's section and, for each fact, its data element, name, data type and whatever of its value
# is fixed (a code's system, a unit, true or false). A document then gets that section with its
# own values set in place, attribute for attribute (the narrative's lines, the effectiveTime, the
# values, codes with their labels), so every section is what those functions make of its facts,
# for a fraction of the elements and attributes built one by one. The header and the sections of
# listed items are kept the same way (below: built from the document with markers for its values).
#
# A kept tree is not copied: a document takes it out of `_SHAPES` (no other call can use it while
# it is out), sets every value that is not part of its shape, serialises, and gives it back. So a
# tree holds the values of the last document that used it until the next one sets its own, and
# is never serialised before that (`test_copied_sections_are_what_building_them_element_by_element_makes`
# compares documents with every tree kept to documents with none). A section's tree is kept as the
# child of a root of its own that declares the namespaces, so that it carries no declarations of
# its own into a document.
_SHAPES: dict[tuple, Any] = {}
_MAX_SHAPES = 5000               # a bound for the shapes hospital results (their names) may make
# The part of a fact's value that varies within a shape: how its value element carries it.
_SET_NUMBER, _SET_INT, _SET_TS, _SET_TEXT, _SET_CODE, _FIXED = range(6)


def _shape(fact: Fact) -> tuple[tuple, Any]:
    """What of the fact's entry is fixed (the key of its shape, whose third part says how its
    value is set), and the value to set (None: the shape holds all of it; a code and its label)."""
    kind, value = fact.field.kind, fact.value
    if kind == "CD":
        return (fact.de, fact.label, _SET_CODE, fact.display is None, fact.field.system, fact.field.table), \
            (str(value), fact.display)
    if kind == "PQ":
        return (fact.de, fact.label, _SET_NUMBER, fact.unit or "1"), _number_text(value)
    if kind == "REAL":
        return (fact.de, fact.label, _SET_NUMBER, None), _number_text(value)
    if kind == "BL":
        return (fact.de, fact.label, _FIXED, bool(value)), None
    if kind == "INT":
        return (fact.de, fact.label, _SET_INT), str(int(value))
    if kind == "TS" and isinstance(value, (date, datetime)):
        return (fact.de, fact.label, _SET_TS), ts(value)
    return (fact.de, fact.label, _SET_TEXT), str(value)


_VALUE, _EFFECTIVE_TIME = f"{{{HL7}}}value", f"{{{HL7}}}effectiveTime"


def _facts_section(body: etree._Element, facts: SectionFacts, effective: date | datetime | None,
                   effective_ts: str | None, kept: _Kept) -> None:
    lines, shapes, settings = [], [], []
    for fact in facts.facts:
        lines.append(f"{fact.label}: {_fact_text(fact)}")
        shape, setting = _shape(fact)
        shapes.append(shape)
        settings.append(setting)
    key = (facts.section.code, facts.section.title, effective is not None, tuple(shapes))

    def build() -> tuple:
        holder = _el(None, "structuredBody")
        section = _section(holder, facts.section.code, facts.section.title)
        _narrative(section, lines)
        for fact in facts.facts:
            _observation(_el(section, "entry"), fact, effective)
        return holder, holder[0], ()

    template = kept.take(key, build)
    component = build()[1] if template is None else template[1]
    body.append(component)
    if template is None:
        return
    section = component[0]
    for item, line in zip(section.iter(_ITEM), lines):
        item.text = line
    if effective_ts is not None:
        for node in section.iter(_EFFECTIVE_TIME):   # an observation's, one each
            node.set("value", effective_ts)
    for node, shape, setting in zip(section.iter(_VALUE), shapes, settings):   # an observation's, one each
        if setting is not None:
            how = shape[2]
            if how == _SET_CODE:
                node.set("code", setting[0])
                if setting[1] is not None:
                    node.set("displayName", setting[1])
            elif how == _SET_TEXT:
                node.text = setting
            else:
                node.set("value", setting)


# The header is kept the same way: `_header` builds it once per shape, from the document with
# markers in place of its own values (`_marked`), and a document that takes it sets its values
# where the markers are (`_fill`). Its shape is what decides the header's elements and fixed
# values: the type, the version, which of the optional values the document has, and the coded ones
# (sex, marital status, ethnicity); no value of a resident is part of it.
_MARK = "\ue000"                                     # a private-use character: in no fixed value
_EFFECTIVE_MARK = datetime(1111, 11, 11, 11, 11, 11, tzinfo=timezone.utc)
_BIRTH_MARK = date(1234, 5, 6)


def _mark(name: str) -> str:
    return f"{_MARK}{name}{_MARK}"


_VALUE_MARKS = {name: _mark(name) for name in (
    "set_id", "replaces", "archive_no", "name", "id_number", "health_card_no", "address", "phone", "author",
    "author_name", "author_institution", "author_institution_name", "custodian", "custodian_name")}
_TIME_MARKS = {"effective": ts(_EFFECTIVE_MARK), "birth": ts(_BIRTH_MARK)}


def _header_shape(doc: DocumentInput, title: str) -> tuple:
    patient = doc.patient
    return ("header", doc.type_code, title, doc.version, bool(patient.id_number and patient.id_type in CITIZEN_ID_TYPES),
            bool(patient.health_card_no), bool(patient.current_address), bool(patient.phone), patient.sex,
            _marital(doc), _ethnicity(patient), bool(doc.author.name), bool(doc.author.institution.name),
            bool(doc.custodian.name))


def _marked(doc: DocumentInput) -> DocumentInput:
    """The document with a marker for each value of its header that is not part of its shape."""
    patient, author, mark = doc.patient, doc.author, _VALUE_MARKS
    citizen = bool(patient.id_number and patient.id_type in CITIZEN_ID_TYPES)
    return replace(
        doc, set_id=mark["set_id"], replaces=mark["replaces"] if doc.version > 1 else None,
        effective_time=_EFFECTIVE_MARK,
        patient=Patient(archive_no=mark["archive_no"], name=mark["name"], sex=patient.sex, birth_date=_BIRTH_MARK,
                        id_type=patient.id_type if citizen else None, id_number=mark["id_number"] if citizen else None,
                        health_card_no=mark["health_card_no"] if patient.health_card_no else None,
                        ethnicity=patient.ethnicity, current_address=mark["address"] if patient.current_address else None,
                        phone=mark["phone"] if patient.phone else None),
        author=Author(mark["author"], Institution(mark["author_institution"], mark["author_institution_name"]
                                                  if author.institution.name else None),
                      mark["author_name"] if author.name else None),
        custodian=Institution(mark["custodian"], mark["custodian_name"] if doc.custodian.name else None))


def _header_values(doc: DocumentInput) -> dict[str, str]:
    """marker -> the document's value."""
    patient, author, mark = doc.patient, doc.author, _VALUE_MARKS
    return {mark["set_id"]: doc.set_id, mark["replaces"]: doc.replaces or "", mark["archive_no"]: patient.archive_no,
            mark["name"]: patient.name, mark["id_number"]: patient.id_number or "",
            mark["health_card_no"]: patient.health_card_no or "", mark["address"]: patient.current_address or "",
            mark["phone"]: patient.phone or "", mark["author"]: author.user, mark["author_name"]: author.name or "",
            mark["author_institution"]: author.institution.code,
            mark["author_institution_name"]: author.institution.name or "", mark["custodian"]: doc.custodian.code,
            mark["custodian_name"]: doc.custodian.name or "", _TIME_MARKS["effective"]: ts(doc.effective_time),
            _TIME_MARKS["birth"]: ts(patient.birth_date)}


def _new_document(doc: DocumentInput, title: str) -> etree._Element:
    root = _el(None, "ClinicalDocument")
    _header(root, doc, title)
    _el(_el(root, "component"), "structuredBody")
    return root


def _slots(root: etree._Element, marks: tuple[str, ...]) -> tuple:
    """Where a marked tree holds markers: (element's position in document order, attribute or
    None for the text, the marked value, the markers in it). A narrative's lines are no slots: a
    document sets its own."""
    found = []
    for position, node in enumerate(root.iter()):
        for attribute, value in ((None, None if node.tag == _ITEM else node.text), *node.attrib.items()):
            held = tuple(mark for mark in marks if value and mark in value)
            if held:
                found.append((position, attribute, value, held))
    return tuple(found)


class _Kept:
    """The kept trees one document uses: taken out of `_SHAPES` (or built, the first time) and
    given back once the document is serialised."""

    def __init__(self) -> None:
        self._taken: list[tuple[tuple, tuple]] = []

    def take(self, key: tuple, build: Callable[[], tuple]) -> tuple | None:
        """(holder, tree, slots) of the shape; None when no more shapes are kept (the caller
        builds the tree for this document alone)."""
        template = _SHAPES.pop(key, None)
        if template is None:
            if len(_SHAPES) >= _MAX_SHAPES:
                return None
            template = build()
        self._taken.append((key, template))
        return template

    def give_back(self) -> None:
        """Every tree back in its holder (a document's root: its body emptied) and in `_SHAPES`."""
        for key, (holder, tree, slots) in reversed(self._taken):     # the sections before the header
            if tree is holder:
                del tree[-1][0][:]                                  # component/structuredBody
            else:
                holder.append(tree)
            if len(_SHAPES) < _MAX_SHAPES:
                _SHAPES[key] = (holder, tree, slots)
        self._taken = []


def _fill(tree: etree._Element, slots: tuple, values: dict[str, str]) -> None:
    """The document's values (marker -> value) where a marked tree's markers are."""
    nodes = list(tree.iter())
    for position, attribute, value, held in slots:
        if len(held) == 1 and value == held[0]:
            value = values[value]
        else:
            for mark in held:
                value = value.replace(mark, values[mark])
        if attribute is None:
            nodes[position].text = value
        else:
            nodes[position].set(attribute, value)


_HEADER_MARKS = (*_VALUE_MARKS.values(), *_TIME_MARKS.values())


def _headed(doc: DocumentInput, title: str, kept: _Kept) -> etree._Element:
    """The document's root with its header and an empty structuredBody."""

    def build() -> tuple:
        root = _new_document(_marked(doc), title)
        return root, root, _slots(root, _HEADER_MARKS)

    template = kept.take(_header_shape(doc, title), build)
    if template is None:
        return _new_document(doc, title)
    _, root, slots = template
    _fill(root, slots, _header_values(doc))
    return root


def _lines_section(body: etree._Element, key: tuple, items: list, marked: Callable[[], list],
                   values: dict[str, str], lines: list[str], build: Callable[[etree._Element, list], None],
                   kept: _Kept) -> None:
    """A section of listed items (diagnoses, medications) from the tree of its shape: the section
    `build` makes of the items with markers for their values (`marked()`), filled with the items'
    `values`, and the narrative's `lines`."""

    def template() -> tuple:
        holder = _el(None, "structuredBody")
        build(holder, marked())
        return holder, holder[0], _slots(holder[0], tuple(values))

    found = kept.take(key, template)
    if found is None:
        build(body, items)
        return
    _, component, slots = found
    _fill(component, slots, values)
    for item, line in zip(component.iter(_ITEM), lines):
        item.text = line
    body.append(component)


def _diagnoses(body: etree._Element, items: list[Diagnosis]) -> None:
    section = _section(body, "29548-5", "诊断")
    _narrative(section, [f"{item.code} {item.name or ''}".strip() for item in items])
    for item in items:
        observation = _el(_el(section, "entry"), "observation", classCode="OBS", moodCode="EVN")
        _el(observation, "code", code="DE05.01.024.00", codeSystem=DE_OID, codeSystemName="卫生信息数据元目录",
            displayName="疾病诊断编码")
        icd = _is_icd10(item)
        _el(observation, "value", xsi_type="CD", code=item.code, displayName=item.name,
            codeSystem=ICD10_OID if icd else None, codeSystemName="ICD-10" if icd else item.system)


def _is_icd10(item: Diagnosis) -> bool:
    return item.system.upper().replace("-", "").startswith("ICD10")


def _diagnoses_section(body: etree._Element, items: list[Diagnosis], kept: _Kept) -> None:
    """诊断: built by `_diagnoses`, from the template of its shape (per diagnosis: ICD-10 or the
    other system named, and whether it has a name)."""
    key = ("diagnoses", *((None if _is_icd10(item) else item.system, item.name is None) for item in items))
    values = {}
    for n, item in enumerate(items):
        values[_mark(f"code{n}")], values[_mark(f"name{n}")] = item.code, item.name or ""

    def marked() -> list[Diagnosis]:
        return [replace(item, code=_mark(f"code{n}"), name=None if item.name is None else _mark(f"name{n}"))
                for n, item in enumerate(items)]

    _lines_section(body, key, items, marked, values, [f"{item.code} {item.name or ''}".strip() for item in items],
                   _diagnoses, kept)


def _medications(body: etree._Element, items: list[Medication]) -> None:
    section = _section(body, "10160-0", "用药")
    _narrative(section, [f"{item.name} {item.usage or ''}".strip() for item in items])
    for item in items:
        given = _el(_el(section, "entry"), "substanceAdministration", classCode="SBADM", moodCode="EVN")
        if item.usage:
            _el(given, "text", item.usage)
        if item.dose is not None and item.unit:
            _el(given, "doseQuantity", value=_number_text(item.dose), unit=item.unit)
        drug = _el(_el(_el(given, "consumable"), "manufacturedProduct"), "manufacturedLabeledDrug")
        _el(drug, "code", nullFlavor="UNK")
        _el(drug, "name", item.name)
        if item.usage:
            observation = _el(_el(given, "entryRelationship", typeCode="COMP"), "observation",
                              classCode="OBS", moodCode="EVN")
            _el(observation, "code", code="DE06.00.136.00", codeSystem=DE_OID, codeSystemName="卫生信息数据元目录",
                displayName="药物用法")
            _el(observation, "value", item.usage, xsi_type="ST")


def _medications_section(body: etree._Element, items: list[Medication], kept: _Kept) -> None:
    """用药: built by `_medications`, from the template of its shape (per medicine: whether it has
    a usage, whether a dose with its unit)."""
    key = ("medications", *((bool(item.usage), item.dose is not None and bool(item.unit)) for item in items))
    values = {}
    for n, item in enumerate(items):
        dosed = item.dose is not None and bool(item.unit)
        values.update({_mark(f"name{n}"): item.name, _mark(f"usage{n}"): item.usage or "",
                       _mark(f"dose{n}"): _number_text(item.dose) if dosed else "", _mark(f"unit{n}"): item.unit or ""})

    def marked() -> list[Medication]:
        # a marker for the dose too: _medications writes it as _number_text does a text, unchanged
        return [replace(item, name=_mark(f"name{n}"), usage=_mark(f"usage{n}") if item.usage else None,
                        dose=_mark(f"dose{n}") if dosed else None, unit=_mark(f"unit{n}") if dosed else None)
                for n, item in enumerate(items) for dosed in (item.dose is not None and bool(item.unit),)]

    _lines_section(body, key, items, marked, values, [f"{item.name} {item.usage or ''}".strip() for item in items],
                   _medications, kept)


def service_date(doc: DocumentInput) -> date | datetime | None:
    """When the service was given, as the record says (its occurred_on or started_at)."""
    for key in ("occurred_on", "started_at"):
        value = doc.content.get(key)
        if isinstance(value, (date, datetime)):
            return value
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
            except ValueError:
                continue
    return None


def _check(doc: DocumentInput) -> None:
    missing = [name for name, value in (
        ("patient.archive_no", doc.patient.archive_no), ("patient.name", doc.patient.name),
        ("patient.sex", doc.patient.sex), ("patient.birth_date", doc.patient.birth_date),
        ("custodian.code", doc.custodian.code), ("author.user", doc.author.user),
        ("set_id", doc.set_id)) if not value]
    if missing:
        raise DocumentError(f"missing {', '.join(missing)}")
    if doc.version < 1:
        raise DocumentError("version must be 1 or more")
    if doc.version > 1 and not doc.replaces:
        raise DocumentError("a version above 1 must name the document it replaces (replaces)")
    if doc.effective_time.tzinfo is None:
        raise DocumentError("effective_time must be timezone-aware")


def build_cda(doc: DocumentInput) -> bytes:
    """The document as UTF-8 XML bytes. Raises ``NotBuildable`` for a type the suite does not
    build from this source, ``DocumentError`` for input that cannot make a valid header."""
    doc_type = require_buildable(doc.type_code, doc.source, doc.content)
    _check(doc)
    kept = _Kept()
    root = _headed(doc, doc_type.name, kept)
    body = root[-1][0]                                   # component/structuredBody
    effective = service_date(doc)
    effective_ts = ts(effective) if effective is not None else None
    for facts in section_facts(doc.source, doc.content, doc.type_code):
        _facts_section(body, facts, effective, effective_ts, kept)
    found = diagnoses(doc.source, doc.content)
    if found:
        _diagnoses_section(body, found, kept)
    drugs = medications(doc.source, doc.content)
    if drugs:
        _medications_section(body, drugs, kept)
    if len(body) == 0:
        # Every document has a body: a record with nothing the tables know still says what it is.
        section = _section(body, "18776-5", doc_type.name)
        _narrative(section, [f"{doc_type.name} ({doc.source})"])
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    kept.give_back()
    return xml
