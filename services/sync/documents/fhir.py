"""The same facts as a FHIR R4 (4.0.1) document Bundle, validated with fhir.resources before it is
returned.

    build_fhir(doc) -> {"resourceType": "Bundle", "type": "document",
                        "identifier": {"system": "urn:oid:2.16.156.10011.1.1", "value": doc.document_id},
                        "entry": [Composition, Patient, Organization, Practitioner, Encounter?,
                                  Observation..., Condition..., MedicationStatement...]}

Identifiers are OIDs as ``urn:oid:`` systems: the patient's 健康档案标识号 (2.16.156.10011.1.2), 身份证号
(.1.3), 居民健康卡号 (.1.19); the custodian (.1.5); the author (.1.4); the document type
(2.16.156.10011.2.4) on Composition.type; data elements (WS 363, 2.16.156.10011.2.2.1) on
Observation.code. Entries are ``urn:uuid:`` URLs derived from the document id, so the same
document always makes the same bundle. A correction (version > 1) has Composition.relatesTo
``replaces`` with the replaced document id.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, time
from typing import Any

from fhir.resources.bundle import Bundle
from lxml import etree
from pydantic import ValidationError

from .cda import (
    ARCHIVE_OID, CITIZEN_ID_TYPES, CLINICIAN_OID, DOCUMENT_OID, HEALTH_CARD_OID, ID_NUMBER_OID, INSTITUTION_OID,
    DocumentError, service_date,
)
from .model import DocumentInput
from .sections import DE_OID, ICD10_OID, Fact, diagnoses, medications, section_facts
from .types import DOCUMENT_TYPE_OID, require_buildable
from .validation import known_valid

NAMESPACE = uuid.UUID("0b7f7e55-3c1e-4d57-8f0c-6c1f2a9d4e21")
LOINC = "http://loinc.org"
XHTML = "http://www.w3.org/1999/xhtml"
GENDER = {"1": "male", "2": "female", "0": "unknown", "9": "unknown"}
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# Encounter.class by encounter kind / follow-up method (1 门诊, 2 家庭, 3 电话).
ENCOUNTER_CLASS = {"outpatient": ("AMB", "ambulatory"), "emergency": ("EMER", "emergency"),
                   "inpatient_admission": ("IMP", "inpatient encounter"),
                   "inpatient_discharge": ("IMP", "inpatient encounter"),
                   "1": ("AMB", "ambulatory"), "2": ("HH", "home health"), "3": ("VR", "virtual")}
# UCUM for the units the tables use (others keep their text only).
UCUM = {"mmHg": "mm[Hg]", "kg": "kg", "cm": "cm", "次/min": "/min", "℃": "Cel", "mmol/L": "mmol/L",
        "kg/m2": "kg/m2", "%": "%", "min": "min", "g/d": "g/d", "a": "a", "g/L": "g/L", "U/L": "U/L",
        "umol/L": "umol/L", "μmol/L": "umol/L"}


class FhirValidationError(ValueError):
    """The bundle did not validate against FHIR R4 (fhir.resources); ``errors`` lists where."""

    def __init__(self, document_id: str, errors: list[dict[str, Any]]) -> None:
        where = "; ".join(".".join(str(p) for p in e.get("loc", ())) + ": " + str(e.get("msg")) for e in errors[:5])
        super().__init__(f"FHIR bundle of {document_id} is invalid: {where}")
        self.errors = errors


class _Urls:
    """``urn:uuid:`` URLs of a document's entries: uuid.uuid5(NAMESPACE, "<document_id>|<key>"),
    the SHA-1 of the namespace and the document id taken once for all of its entries."""

    def __init__(self, doc: DocumentInput) -> None:
        self._prefix = hashlib.sha1(NAMESPACE.bytes + f"{doc.document_id}|".encode())

    def __call__(self, key: str) -> str:
        digest = self._prefix.copy()
        digest.update(key.encode())
        h = digest.hexdigest()
        # the first 16 octets, octet 6's high half the version (5), octet 8's two high bits the
        # RFC 4122 variant (10)
        return f"urn:uuid:{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


# a hex digit with its two high bits made 10 (the variant)
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _datetime(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return value.isoformat()


# number of lines -> a div of that many items, kept between documents: a document takes it out
# (no other call uses it while it is out), sets every item's text, serialises and gives it back.
_DIVS: dict[int, etree._Element] = {}
_MAX_DIVS = 200


def _div(lines: list[str]) -> str:
    """The narrative: an XHTML div with a list of the lines."""
    div = _DIVS.pop(len(lines), None)
    if div is None:
        div = etree.Element(f"{{{XHTML}}}div", nsmap={None: XHTML})
        listing = etree.SubElement(div, f"{{{XHTML}}}ul")
        for _ in lines:
            etree.SubElement(listing, f"{{{XHTML}}}li")
    for item, line in zip(div[0], lines):
        item.text = line
    text = etree.tostring(div, encoding="unicode")
    if len(_DIVS) < _MAX_DIVS:
        _DIVS[len(lines)] = div
    return text


def _patient(doc: DocumentInput) -> dict[str, Any]:
    patient = doc.patient
    identifiers = [{"system": f"urn:oid:{ARCHIVE_OID}", "value": patient.archive_no}]
    if patient.id_number and patient.id_type in CITIZEN_ID_TYPES:
        identifiers.append({"system": f"urn:oid:{ID_NUMBER_OID}", "value": patient.id_number})
    if patient.health_card_no:
        identifiers.append({"system": f"urn:oid:{HEALTH_CARD_OID}", "value": patient.health_card_no})
    resource: dict[str, Any] = {
        "resourceType": "Patient", "identifier": identifiers, "name": [{"text": patient.name}],
        "gender": GENDER.get(patient.sex, "unknown"), "birthDate": patient.birth_date.isoformat(),
    }
    if patient.phone:
        resource["telecom"] = [{"system": "phone", "value": patient.phone}]
    if patient.current_address:
        resource["address"] = [{"use": "home", "text": patient.current_address}]
    return resource


def _organization(code: str, name: str | None) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Organization",
                                "identifier": [{"system": f"urn:oid:{INSTITUTION_OID}", "value": code}]}
    if name:
        resource["name"] = name
    return resource


def _practitioner(doc: DocumentInput) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Practitioner",
                                "identifier": [{"system": f"urn:oid:{CLINICIAN_OID}", "value": doc.author.user}]}
    if doc.author.name:
        resource["name"] = [{"text": doc.author.name}]
    return resource


def _encounter(doc: DocumentInput, refs: dict[str, str], when: date | datetime | None) -> dict[str, Any]:
    content = doc.content
    key = content.get("kind") if doc.source == "hospital_encounter" else content.get("method")
    code, display = ENCOUNTER_CLASS.get(str(key), ("AMB", "ambulatory"))
    resource: dict[str, Any] = {"resourceType": "Encounter", "status": "finished",
                                "class": {"system": ACT_CODE, "code": code, "display": display},
                                "subject": {"reference": refs["patient"]},
                                "serviceProvider": {"reference": refs["custodian"]}}
    period: dict[str, str] = {}
    start = content.get("started_at") if doc.source == "hospital_encounter" else None
    if start:
        period["start"] = str(start)
    elif when is not None:
        period["start"] = _datetime(when)
    if doc.source == "hospital_encounter" and content.get("ended_at"):
        period["end"] = str(content["ended_at"])
    if period:
        resource["period"] = period
    if doc.source == "hospital_encounter" and content.get("department"):
        resource["serviceType"] = {"text": str(content["department"])}
    return resource


def _value(fact: Fact) -> dict[str, Any]:
    kind, value = fact.field.kind, fact.value
    if kind == "CD":
        coding: dict[str, Any] = {"code": str(value), "display": fact.display}
        if fact.field.system:
            coding["system"] = f"urn:oid:{fact.field.system}"
        return {"valueCodeableConcept": {"coding": [coding], "text": fact.display}}
    if kind == "PQ":
        quantity: dict[str, Any] = {"value": value, "unit": fact.unit}
        if fact.unit in UCUM:
            quantity.update(system="http://unitsofmeasure.org", code=UCUM[fact.unit])
        return {"valueQuantity": quantity}
    if kind == "INT":
        return {"valueInteger": int(value)}
    if kind == "REAL":
        return {"valueQuantity": {"value": value}}
    if kind == "BL":
        return {"valueBoolean": bool(value)}
    if kind == "TS" and isinstance(value, datetime):
        return {"valueDateTime": value.isoformat()}
    if kind == "TS" and isinstance(value, date):
        return {"valueDateTime": value.isoformat()}
    return {"valueString": str(value)}


_DE_SYSTEM = f"urn:oid:{DE_OID}"


def _observation(fact: Fact, patient: str, encounter: str | None, when: str | None) -> dict[str, Any]:
    code: dict[str, Any] = {"text": fact.label}
    if fact.de:
        code["coding"] = [{"system": _DE_SYSTEM, "code": fact.de, "display": fact.label}]
    resource: dict[str, Any] = {"resourceType": "Observation", "status": "final", "code": code,
                                "subject": {"reference": patient}, **_value(fact)}
    if encounter is not None:
        resource["encounter"] = {"reference": encounter}
    if when is not None:
        resource["effectiveDateTime"] = when
    return resource


def _fact_line(fact: Fact) -> str:
    value = fact.display if fact.field.kind == "CD" else fact.value
    if isinstance(value, bool):
        value = "是" if value else "否"
    unit = f" {fact.unit}" if fact.unit and fact.field.kind == "PQ" else ""
    return f"{fact.label}: {value}{unit}"


def _build(doc: DocumentInput) -> dict[str, Any]:
    doc_type = require_buildable(doc.type_code, doc.source, doc.content)
    if doc.version > 1 and not doc.replaces:
        raise DocumentError("a version above 1 must name the document it replaces (replaces)")
    if doc.effective_time.tzinfo is None:
        raise DocumentError("effective_time must be timezone-aware")
    when = service_date(doc)
    url_of = _Urls(doc)
    refs = {"composition": url_of("composition"), "patient": url_of("patient"),
            "custodian": url_of("custodian"), "author": url_of("author")}
    entries: list[tuple[str, dict[str, Any]]] = [
        (refs["patient"], _patient(doc)),
        (refs["custodian"], _organization(doc.custodian.code, doc.custodian.name)),
        (refs["author"], _practitioner(doc)),
    ]
    if doc.source != "archive":
        refs["encounter"] = url_of("encounter")
        entries.append((refs["encounter"], _encounter(doc, refs, when)))

    sections: list[dict[str, Any]] = []
    patient, encounter = refs["patient"], refs.get("encounter")
    when_text = _datetime(when) if when is not None else None
    for index, facts in enumerate(section_facts(doc.source, doc.content, doc.type_code)):
        members = []
        for number, fact in enumerate(facts.facts):
            url = url_of(f"observation:{index}:{number}")
            entries.append((url, _observation(fact, patient, encounter, when_text)))
            members.append({"reference": url})
        sections.append({"title": facts.section.title,
                         "code": {"coding": [{"system": LOINC, "code": facts.section.code}]},
                         "text": {"status": "generated", "div": _div([_fact_line(f) for f in facts.facts])},
                         "entry": members})
    found = diagnoses(doc.source, doc.content)
    if found:
        members = []
        for number, item in enumerate(found):
            url = url_of(f"condition:{number}")
            icd = item.system.upper().replace("-", "").startswith("ICD10")
            coding = {"system": f"urn:oid:{ICD10_OID}" if icd else f"urn:suite:{item.system}", "code": item.code}
            if item.name:
                coding["display"] = item.name
            condition = {"resourceType": "Condition", "subject": {"reference": refs["patient"]},
                         "code": {"coding": [coding], "text": item.name or item.code},
                         "category": [{"coding": [{
                             "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                             "code": "encounter-diagnosis"}]}],
                         "encounter": {"reference": refs["encounter"]}}
            if when is not None:
                condition["recordedDate"] = _datetime(when if isinstance(when, datetime)
                                                      else datetime.combine(when, time(), doc.effective_time.tzinfo))
            entries.append((url, condition))
            members.append({"reference": url})
        sections.append({"title": "诊断", "code": {"coding": [{"system": LOINC, "code": "29548-5"}]},
                         "text": {"status": "generated",
                                  "div": _div([f"{d.code} {d.name or ''}".strip() for d in found])},
                         "entry": members})
    drugs = medications(doc.source, doc.content)
    if drugs:
        members = []
        for number, drug in enumerate(drugs):
            url = url_of(f"medication:{number}")
            statement: dict[str, Any] = {"resourceType": "MedicationStatement", "status": "active",
                                         "medicationCodeableConcept": {"text": drug.name},
                                         "subject": {"reference": refs["patient"]},
                                         "context": {"reference": refs["encounter"]}}
            if drug.usage:
                statement["dosage"] = [{"text": drug.usage}]
            if when is not None:
                statement["effectiveDateTime"] = _datetime(when)
            entries.append((url, statement))
            members.append({"reference": url})
        sections.append({"title": "用药", "code": {"coding": [{"system": LOINC, "code": "10160-0"}]},
                         "text": {"status": "generated",
                                  "div": _div([f"{d.name} {d.usage or ''}".strip() for d in drugs])},
                         "entry": members})
    if not sections:
        sections.append({"title": doc_type.name, "text": {"status": "generated",
                                                          "div": _div([f"{doc_type.name} ({doc.source})"])}})

    composition: dict[str, Any] = {
        "resourceType": "Composition",
        # FHIR's Composition.identifier is version-independent (CDA's setId); the version is the
        # R4 clinicaldocument-versionNumber extension and the Bundle.identifier the version's id.
        "extension": [{"url": VERSION_EXTENSION, "valueString": str(doc.version)}],
        "identifier": {"system": f"urn:oid:{DOCUMENT_OID}", "value": doc.set_id},
        "status": "final",
        "type": {"coding": [{"system": f"urn:oid:{DOCUMENT_TYPE_OID}", "code": doc.type_code,
                             "display": doc_type.name}]},
        "subject": {"reference": refs["patient"]},
        "date": doc.effective_time.isoformat(),
        "author": [{"reference": refs["author"]}],
        "title": doc_type.name,
        "confidentiality": "N",
        "custodian": {"reference": refs["custodian"]},
        "section": sections,
    }
    if "encounter" in refs:
        composition["encounter"] = {"reference": refs["encounter"]}
    if doc.version > 1:
        composition["relatesTo"] = [{"code": "replaces", "targetIdentifier": {
            "system": f"urn:oid:{DOCUMENT_OID}", "value": doc.replaces}}]
    return {
        "resourceType": "Bundle",
        "identifier": {"system": f"urn:oid:{DOCUMENT_OID}", "value": doc.document_id},
        "type": "document",
        "timestamp": doc.effective_time.isoformat(),
        "entry": [{"fullUrl": refs["composition"], "resource": composition}]
        + [{"fullUrl": url, "resource": resource} for url, resource in entries],
    }


VERSION_EXTENSION = "http://hl7.org/fhir/StructureDefinition/composition-clinicaldocument-versionNumber"


def validate_bundle(bundle: dict[str, Any], document_id: str = "") -> Bundle:
    """The bundle as fhir.resources' model; ``FhirValidationError`` when it is not valid R4."""
    try:
        return Bundle.parse_obj(bundle)
    except ValidationError as exc:
        raise _invalid(bundle, document_id, exc.errors()) from None
    except LookupError as exc:         # fhir.resources' answer to an unknown resourceType
        raise _invalid(bundle, document_id, [{"loc": ("entry", "resource", "resourceType"), "msg": str(exc),
                                              "type": "value_error.resource_type"}]) from None


def _invalid(bundle: dict[str, Any], document_id: str, errors: list[dict[str, Any]]) -> FhirValidationError:
    return FhirValidationError(document_id or str(bundle.get("identifier", {}).get("value")), errors)


def check_bundle(bundle: dict[str, Any], document_id: str = "") -> None:
    """``FhirValidationError`` unless the bundle is valid: the same verdict and errors as
    ``validate_bundle``, without building the model of a bundle whose element shapes and values
    were all seen valid before in this process (documents/validation.py)."""
    if not known_valid(Bundle, bundle):
        validate_bundle(bundle, document_id)   # fhir.resources decides, and says where


def build_fhir(doc: DocumentInput) -> dict[str, Any]:
    """The document as a FHIR R4 document Bundle (a JSON-ready dict), validated with fhir.resources.
    Raises ``NotBuildable``, ``DocumentError`` (input), or ``FhirValidationError``."""
    bundle = _build(doc)
    check_bundle(bundle, doc.document_id)
    return bundle
