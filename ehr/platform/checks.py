"""How the fake platform reads a document: its own reading of WS/T 483 (CDA R2) and of FHIR R4
document Bundles, written apart from the suite's builders (services/sync/documents/) so that a
builder's mistake is caught here rather than repeated.

`check_document(body, content_type, headers)` returns a `Reading`: what the document says about
itself (id, type, set and version, archive number, custodian, the id it replaces) and two lists
of `Reason`s: `reasons` about the content (the platform answers 422) and `header_reasons` about
the request headers missing or disagreeing with the body (400). Nothing here knows what the
platform accepted before: the order (registration first, replaced version known) is the
server's (ehr/platform/server.py).

Paths are XPath-like for CDA (`/ClinicalDocument/recordTarget/patientRole/id/@root`) and
FHIRPath-like for FHIR (`Bundle.entry[0].resource.identifier`). Messages never quote an ID number.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping

from lxml import etree

CDA = "application/hl7-cda+xml"
FHIR = "application/fhir+json"

# OIDs (domain: WS/T 483, WS 363/364 and the public CDA templates)
DOCUMENT_ID_OID = "2.16.156.10011.1.1"
ARCHIVE_NO_OID = "2.16.156.10011.1.2"
ID_NUMBER_OID = "2.16.156.10011.1.3"
CLINICIAN_OID = "2.16.156.10011.1.4"
FACILITY_OID = "2.16.156.10011.1.5"
HEALTH_CARD_OID = "2.16.156.10011.1.19"
DOCUMENT_TYPE_SYSTEM = "2.16.156.10011.2.4"
SEX_SYSTEM = "2.16.156.10011.2.3.3.4"        # GB/T 2261.1
CDA_TYPE_ID_ROOT = "2.16.840.1.113883.1.3"
CDA_TYPE_ID_EXTENSION = "POCD_MT000040"

REGISTRATION = "HSDA00.01"
# WS/T 483-2016, parts 1-20 (document type code system 2.16.156.10011.2.4)
DOCUMENT_TYPES = {
    "HSDA00.01": "个人基本健康信息登记", "HSDB01.01": "出生医学证明", "HSDB01.02": "新生儿家庭访视",
    "HSDB01.03": "儿童健康体检", "HSDB02.01": "首次产前随访服务", "HSDB02.02": "产前随访服务",
    "HSDB02.03": "产后访视", "HSDB02.04": "产后42天健康检查", "HSDB03.01": "预防接种报告",
    "HSDB03.02": "传染病报告", "HSDB03.03": "死亡医学证明", "HSDB04.01": "高血压患者随访服务",
    "HSDB04.02": "2型糖尿病患者随访服务", "HSDB04.03": "重性精神疾病患者个人信息登记",
    "HSDB04.04": "重性精神疾病患者随访服务", "HSDC00.01": "成人健康体检", "HSDC00.02": "门诊摘要",
    "HSDC00.03": "住院摘要", "HSDC00.04": "会诊记录", "HSDC00.05": "转诊(院)记录",
}
SEX_CODES = {"0", "1", "2", "9"}
VERSION_EXTENSION = "http://hl7.org/fhir/StructureDefinition/composition-clinicaldocument-versionNumber"

# Reasons whose fault is the request's headers, not the document (answered 400).
HEADER_CODES = {"missing_header", "header_mismatch", "unsupported_media_type"}

_TS = re.compile(r"(?P<date>\d{8})(?P<time>\d{4}(\d{2}(\.\d{1,4})?)?)?(?P<zone>[+-]\d{4})?")
_ARCHIVE_NO = re.compile(r"\d{17}")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    path: str | None = None

    def as_json(self) -> dict[str, str]:
        out = {"code": self.code, "message": self.message}
        if self.path is not None:
            out["path"] = self.path
        return out


@dataclass
class Reading:
    format: str                       # "cda" or "fhir"
    document_id: str | None = None
    document_type: str | None = None
    set_id: str | None = None
    version: int | None = None
    archive_no: str | None = None
    custodian: str | None = None
    replaces: str | None = None
    reasons: list[Reason] = field(default_factory=list)
    header_reasons: list[Reason] = field(default_factory=list)

    def reject(self, code: str, message: str, path: str | None = None) -> None:
        self.reasons.append(Reason(code, message, path))

    @property
    def ok(self) -> bool:
        return not self.reasons and not self.header_reasons


def check_document(body: bytes, content_type: str | None, headers: Mapping[str, str]) -> Reading:
    """Read `body` as the format its Content-Type names and check it against the request headers
    (X-Document-Id, X-Document-Type, X-Replaces)."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media == CDA:
        reading = check_cda(body)
    elif media == FHIR:
        reading = check_fhir(body)
    else:
        reading = Reading("unknown")
        reading.header_reasons.append(Reason(
            "unsupported_media_type", f"Content-Type must be {CDA} or {FHIR}, not {media or 'missing'}",
            "Content-Type"))
        return reading
    _compare_headers(reading, headers)
    return reading


def _compare_headers(reading: Reading, headers: Mapping[str, str]) -> None:
    cda = reading.format == "cda"
    for header, value, path in (
            ("X-Document-Id", reading.document_id,
             "/ClinicalDocument/id/@extension" if cda else "Bundle.identifier.value"),
            ("X-Document-Type", reading.document_type,
             "/ClinicalDocument/code/@code" if cda else "Bundle.entry[0].resource.type.coding.code")):
        given = headers.get(header)
        if not given:
            reading.header_reasons.append(Reason("missing_header", f"the {header} header is required", header))
        elif value is not None and given != value:
            reading.header_reasons.append(Reason(
                "header_mismatch", f"{header} says {given!r} but the document says {value!r}", path))
    given = headers.get("X-Replaces") or None
    if given != reading.replaces and not (reading.replaces is None and _version_needs_replaces(reading)):
        path = ("/ClinicalDocument/relatedDocument/parentDocument/id/@extension" if cda
                else "Bundle.entry[0].resource.relatesTo.targetIdentifier.value")
        reading.header_reasons.append(Reason(
            "header_mismatch",
            f"X-Replaces says {given!r} but the document replaces {reading.replaces!r}", path))


def _version_needs_replaces(reading: Reading) -> bool:
    """A later version missing its replacement link is already a content reason; do not count
    the header that names the link twice."""
    return reading.version is not None and reading.version > 1 and any(
        r.code == "missing_element" and "relatedDocument" in (r.path or "") for r in reading.reasons)


# ------------------------------------------------------------------------------------------ CDA

V3 = "urn:hl7-org:v3"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


_CLARK: dict[str, str] = {}


def _clark(relative: str) -> str:
    """`relative` (child names of the v3 namespace, `/`-separated) in Clark notation, made once a
    path: the ElementPath lxml compiles for it is then found in its cache without the prefix map."""
    path = _CLARK.get(relative)
    if path is None:
        path = _CLARK[relative] = "/".join(f"{{{V3}}}{step}" for step in relative.split("/"))
    return path


def _find(element, relative: str):
    """The first element at `relative` below `element` (a single step: the first such child)."""
    path = _clark(relative)
    if "/" in relative:
        return element.find(path)
    return next(element.iterchildren(path), None)


def _findall(element, relative: str):
    path = _clark(relative)
    if "/" in relative:
        return element.findall(path)
    return list(element.iterchildren(path))


def _text(element) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


def check_cda(body: bytes) -> Reading:
    """The WS/T 483 CDA R2 header and body rules, each failure a `Reason` with its path."""
    r = Reading("cda")
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        r.reject("malformed", f"not well-formed XML: {exc.msg}", "/")
        return r
    if root.tag != f"{{{V3}}}ClinicalDocument":
        r.reject("wrong_root", f"the root element must be ClinicalDocument in namespace {V3}", "/")
        return r
    d = "/ClinicalDocument"

    def need(parent, relative: str, base: str):
        element = _find(parent, relative) if parent is not None else None
        if element is None and parent is not None:
            r.reject("missing_element", f"{relative.split('/')[-1]} is required", f"{base}/{relative}")
        return element

    def attribute(element, name: str, path: str, *, equals: str | None = None, code: str = "wrong_value",
                  what: str = "") -> str | None:
        if element is None:
            return None
        value = (element.get(name) or "").strip()
        if not value:
            r.reject("missing_value", f"@{name} is required{what}", f"{path}/@{name}")
            return None
        if equals is not None and value != equals:
            r.reject(code, f"@{name} must be {equals!r}{what}, not {value!r}", f"{path}/@{name}")
            return None
        return value

    realm = need(root, "realmCode", d)
    attribute(realm, "code", f"{d}/realmCode", equals="CN")
    type_id = need(root, "typeId", d)
    attribute(type_id, "root", f"{d}/typeId", equals=CDA_TYPE_ID_ROOT, code="wrong_oid")
    attribute(type_id, "extension", f"{d}/typeId", equals=CDA_TYPE_ID_EXTENSION)
    templates = _findall(root, "templateId")
    if not templates:
        r.reject("missing_element", "templateId is required", f"{d}/templateId")
    elif not any((t.get("root") or "").strip() for t in templates):
        r.reject("missing_value", "a templateId needs its @root", f"{d}/templateId/@root")

    doc_id = need(root, "id", d)
    if attribute(doc_id, "root", f"{d}/id", equals=DOCUMENT_ID_OID, code="wrong_oid",
                 what=" (the document id)") is not None:
        r.document_id = attribute(doc_id, "extension", f"{d}/id")

    code = need(root, "code", d)
    if attribute(code, "codeSystem", f"{d}/code", equals=DOCUMENT_TYPE_SYSTEM, code="wrong_oid",
                 what=" (卫生信息共享文档规范编码体系)") is not None:
        value = attribute(code, "code", f"{d}/code")
        if value is not None and value not in DOCUMENT_TYPES:
            r.reject("unknown_document_type", f"{value!r} is not a WS/T 483 document type", f"{d}/code/@code")
        elif value is not None:
            r.document_type = value

    title = need(root, "title", d)
    if title is not None and not _text(title):
        r.reject("missing_value", "title is empty", f"{d}/title")
    _timestamp(r, need(root, "effectiveTime", d), f"{d}/effectiveTime")
    attribute(need(root, "confidentialityCode", d), "code", f"{d}/confidentialityCode")
    attribute(need(root, "languageCode", d), "code", f"{d}/languageCode", equals="zh-CN")
    r.set_id = attribute(need(root, "setId", d), "extension", f"{d}/setId")
    version = attribute(need(root, "versionNumber", d), "value", f"{d}/versionNumber")
    if version is not None:
        if version.isdigit() and int(version) >= 1:
            r.version = int(version)
        else:
            r.reject("invalid_value", f"versionNumber must be a whole number from 1, not {version!r}",
                     f"{d}/versionNumber/@value")

    _cda_patient(r, root, need)
    _cda_author(r, root, need, attribute)
    _cda_custodian(r, root, need, attribute)
    _cda_replacement(r, root, attribute)
    _cda_body(r, root, need)
    return r


def _timestamp(r: Reading, element, path: str, *, date_only: bool = False) -> None:
    if element is None:
        return
    value = (element.get("value") or "").strip()
    if not value:
        r.reject("missing_value", "@value is required", f"{path}/@value")
        return
    match = _TS.fullmatch(value)
    if match is None or (not date_only and not match["time"]) or not _valid_date(match["date"]):
        form = "YYYYMMDD" if date_only else "YYYYMMDDHHMMSS[+zzzz]"
        r.reject("invalid_value", f"@value must be a date-time {form}, not {value!r}", f"{path}/@value")


def _valid_date(digits: str) -> bool:
    """Whether eight digits are a date YYYYMMDD (what strptime's %Y%m%d takes of eight digits,
    without its cost)."""
    if len(digits) != 8 or not (digits.isascii() and digits.isdigit()):
        return False
    try:
        date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return True


def valid_id_number(number: str) -> bool:
    """GB 11643: 18 characters with the MOD 11-2 check character, or 15 digits (the 1989 form)."""
    number = number.upper()
    if len(number) == 15:
        return number.isdigit() and _valid_date("19" + number[6:12])
    if len(number) != 18 or not number[:17].isdigit() or not _valid_date(number[6:14]):
        return False
    remainder = sum(int(a) * w for a, w in zip(number[:17], _ID_WEIGHTS)) % 11
    check = (12 - remainder) % 11
    return number[17] == ("X" if check == 10 else str(check))


def _cda_patient(r: Reading, root, need) -> None:
    base = "/ClinicalDocument/recordTarget/patientRole"
    role = need(need(root, "recordTarget", "/ClinicalDocument"), "patientRole", "/ClinicalDocument/recordTarget")
    if role is None:
        return
    ids = _findall(role, "id")
    archive = [i for i in ids if i.get("root") == ARCHIVE_NO_OID]
    if not ids:
        r.reject("missing_element", f"patientRole/id with root {ARCHIVE_NO_OID} (健康档案标识号) is required",
                 f"{base}/id")
    elif not archive:
        roots = ", ".join(sorted({i.get("root") or "none" for i in ids}))
        r.reject("wrong_oid", f"no patientRole/id has root {ARCHIVE_NO_OID} (健康档案标识号); found {roots}",
                 f"{base}/id/@root")
    else:
        number = (archive[0].get("extension") or "").strip()
        if not _ARCHIVE_NO.fullmatch(number):
            r.reject("invalid_value", "the archive number (健康档案标识号) must be 17 digits",
                     f"{base}/id/@extension")
        else:
            r.archive_no = number
    patient = need(role, "patient", base)
    if patient is None:
        return
    p = f"{base}/patient"
    for element in _findall(patient, "id"):
        root_oid, extension = element.get("root"), (element.get("extension") or "").strip()
        if root_oid == ID_NUMBER_OID and not valid_id_number(extension):
            r.reject("invalid_identifier", f"the identifier with root {ID_NUMBER_OID} (身份证号) is not a valid "
                     "citizen ID number (GB 11643)", f"{p}/id/@extension")
        elif root_oid in (ID_NUMBER_OID, HEALTH_CARD_OID) and not extension:
            r.reject("missing_value", f"the identifier with root {root_oid} has no @extension", f"{p}/id/@extension")
    name = need(patient, "name", p)
    if name is not None and not _text(name):
        r.reject("missing_value", "the patient's name is empty", f"{p}/name")
    sex = need(patient, "administrativeGenderCode", p)
    if sex is not None:
        if sex.get("codeSystem") != SEX_SYSTEM:
            r.reject("wrong_oid", f"administrativeGenderCode/@codeSystem must be {SEX_SYSTEM} (GB/T 2261.1)",
                     f"{p}/administrativeGenderCode/@codeSystem")
        if sex.get("code") not in SEX_CODES:
            r.reject("invalid_value", f"administrativeGenderCode/@code must be one of 0, 1, 2, 9, "
                     f"not {sex.get('code')!r}", f"{p}/administrativeGenderCode/@code")
    _timestamp(r, need(patient, "birthTime", p), f"{p}/birthTime", date_only=True)


def _cda_author(r: Reading, root, need, attribute) -> None:
    d = "/ClinicalDocument"
    author = need(root, "author", d)
    if author is None:
        return
    _timestamp(r, need(author, "time", f"{d}/author"), f"{d}/author/time")
    assigned = need(author, "assignedAuthor", f"{d}/author")
    ident = need(assigned, "id", f"{d}/author/assignedAuthor")
    path = f"{d}/author/assignedAuthor/id"
    if attribute(ident, "root", path, equals=CLINICIAN_OID, code="wrong_oid", what=" (the clinician)"):
        attribute(ident, "extension", path)


def _cda_custodian(r: Reading, root, need, attribute) -> None:
    base = "/ClinicalDocument/custodian/assignedCustodian"
    assigned = need(need(root, "custodian", "/ClinicalDocument"), "assignedCustodian", "/ClinicalDocument/custodian")
    organisation = need(assigned, "representedCustodianOrganization", base)
    o = f"{base}/representedCustodianOrganization"
    ident = need(organisation, "id", o)
    if attribute(ident, "root", f"{o}/id", equals=FACILITY_OID, code="wrong_oid", what=" (the facility)"):
        r.custodian = attribute(ident, "extension", f"{o}/id")
    name = need(organisation, "name", o)
    if name is not None and not _text(name):
        r.reject("missing_value", "the custodian's name is empty", f"{o}/name")


def _cda_replacement(r: Reading, root, attribute) -> None:
    d = "/ClinicalDocument"
    related = [e for e in _findall(root, "relatedDocument") if e.get("typeCode") == "RPLC"]
    if not related:
        if r.version is not None and r.version > 1:
            r.reject("missing_element", f"version {r.version} must name the version it replaces: "
                     "relatedDocument typeCode=\"RPLC\"", f"{d}/relatedDocument")
        return
    if r.version == 1:
        r.reject("inconsistent_version", "a document that replaces another cannot be version 1",
                 f"{d}/versionNumber/@value")
    base = f"{d}/relatedDocument/parentDocument"
    parent = _find(related[0], "parentDocument")
    ident = _find(parent, "id") if parent is not None else None
    if ident is None:
        r.reject("missing_element", "relatedDocument/parentDocument/id is required", f"{base}/id")
        return
    if attribute(ident, "root", f"{base}/id", equals=DOCUMENT_ID_OID, code="wrong_oid",
                 what=" (the replaced document's id)"):
        r.replaces = attribute(ident, "extension", f"{base}/id")
        if r.replaces is not None and r.replaces == r.document_id:
            r.reject("invalid_value", "a document cannot replace itself", f"{base}/id/@extension")


def _cda_body(r: Reading, root, need) -> None:
    d = "/ClinicalDocument/component"
    body = need(need(root, "component", "/ClinicalDocument"), "structuredBody", d)
    if body is None:
        return
    sections = _findall(body, "component/section")
    if not sections:
        r.reject("missing_element", "structuredBody holds no section", f"{d}/structuredBody/component/section")
    for index, section in enumerate(sections, start=1):
        path = f"{d}/structuredBody/component[{index}]/section"
        code = _find(section, "code")
        if code is None or not (code.get("code") or "").strip():
            r.reject("missing_element", "a section needs its code", f"{path}/code")
        if not _findall(section, "entry") and not _text(_find(section, "text")):
            r.reject("missing_element", "a section needs at least one entry or its text", f"{path}/entry")


# ----------------------------------------------------------------------------------------- FHIR

def _oid(value: str) -> str:
    return f"urn:oid:{value}"


def check_fhir(body: bytes) -> Reading:
    """A FHIR document Bundle: validated whole with fhir.resources, then read for the identifiers
    and links the platform files it by."""
    r = Reading("fhir")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        r.reject("malformed", f"not JSON in UTF-8: {exc}", "Bundle")
        return r
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        r.reject("wrong_value", "the body must be a FHIR Bundle resource", "Bundle.resourceType")
        return r
    _validate_resource(r, data)
    if data.get("type") != "document":
        r.reject("wrong_value", f"Bundle.type must be 'document', not {data.get('type')!r}", "Bundle.type")
    if not data.get("timestamp"):
        r.reject("missing_element", "a document Bundle needs its timestamp (bdl-10)", "Bundle.timestamp")
    identifier = data.get("identifier") if isinstance(data.get("identifier"), dict) else None
    if identifier is None:
        r.reject("missing_element", "a document Bundle needs its identifier (bdl-9)", "Bundle.identifier")
    elif identifier.get("system") != _oid(DOCUMENT_ID_OID):
        r.reject("wrong_oid", f"Bundle.identifier.system must be {_oid(DOCUMENT_ID_OID)}", "Bundle.identifier.system")
    elif not isinstance(identifier.get("value"), str) or not identifier["value"]:
        r.reject("missing_value", "Bundle.identifier.value is required", "Bundle.identifier.value")
    else:
        r.document_id = identifier["value"]

    entries = [e for e in data.get("entry") or [] if isinstance(e, dict)]
    composition = entries[0].get("resource") if entries else None
    if not isinstance(composition, dict) or composition.get("resourceType") != "Composition":
        r.reject("missing_element", "the first entry of a document Bundle must be a Composition",
                 "Bundle.entry[0].resource")
        return r
    c = "Bundle.entry[0].resource"
    codings = [x for x in ((composition.get("type") or {}).get("coding") or []) if isinstance(x, dict)]
    typed = [x for x in codings if x.get("system") == _oid(DOCUMENT_TYPE_SYSTEM)]
    if not typed:
        r.reject("wrong_oid", f"Composition.type.coding needs system {_oid(DOCUMENT_TYPE_SYSTEM)}",
                 f"{c}.type.coding.system")
    elif typed[0].get("code") not in DOCUMENT_TYPES:
        r.reject("unknown_document_type", f"{typed[0].get('code')!r} is not a WS/T 483 document type",
                 f"{c}.type.coding.code")
    else:
        r.document_type = typed[0]["code"]

    patient, where = _resolve(entries, composition.get("subject"), "Patient")
    if patient is None:
        r.reject("missing_element", "Composition.subject must reference a Patient in the Bundle", f"{c}.subject")
    else:
        _fhir_patient(r, patient, where)
    organisation, where = _resolve(entries, composition.get("custodian"), "Organization")
    if organisation is None:
        r.reject("missing_element", "Composition.custodian must reference an Organization in the Bundle",
                 f"{c}.custodian")
    else:
        values = _identifiers(organisation, FACILITY_OID)
        if not values:
            r.reject("missing_element", f"the custodian needs an identifier with system {_oid(FACILITY_OID)}",
                     f"{where}.identifier")
        else:
            r.custodian = values[0]

    replaced = [x for x in composition.get("relatesTo") or [] if isinstance(x, dict) and x.get("code") == "replaces"]
    if replaced:
        target = replaced[0].get("targetIdentifier") if isinstance(replaced[0].get("targetIdentifier"), dict) else {}
        value = target.get("value")
        if not isinstance(value, str) or not value:
            r.reject("missing_element", "relatesTo 'replaces' needs targetIdentifier.value (the replaced document id)",
                     f"{c}.relatesTo.targetIdentifier.value")
        elif value == r.document_id:
            r.reject("invalid_value", "a document cannot replace itself", f"{c}.relatesTo.targetIdentifier.value")
        else:
            r.replaces = value
    # CDA's setId is FHIR's Composition.identifier ("a version-independent identifier for the
    # Composition", the same in every version); its versionNumber the R4 extension
    # composition-clinicaldocument-versionNumber, else meta.versionId, when a number. Without them the
    # server derives both from the version replaced.
    ident = composition.get("identifier")
    if isinstance(ident, dict) and isinstance(ident.get("value"), str) and ident["value"]:
        r.set_id = ident["value"]
    numbers = [e.get("valueString") for e in composition.get("extension") or []
               if isinstance(e, dict) and e.get("url") == VERSION_EXTENSION]
    meta = composition.get("meta") if isinstance(composition.get("meta"), dict) else {}
    for version in (*numbers, meta.get("versionId")):
        if isinstance(version, str) and version.isdigit() and int(version) >= 1:
            r.version = int(version)
            break
    return r


def _validate_resource(r: Reading, data: dict) -> None:
    from fhir.resources.bundle import Bundle
    from pydantic import ValidationError

    try:
        Bundle.parse_obj(data)
    except ValidationError as exc:
        for error in exc.errors()[:20]:
            steps = [step for step in error["loc"] if step != "__root__"]
            path = "Bundle"
            for step in steps:
                path += f"[{step}]" if isinstance(step, int) else f".{step}"
            r.reject("invalid_resource", error["msg"], path)
    except (LookupError, ValueError, TypeError) as exc:  # e.g. an unknown resourceType in an entry
        r.reject("invalid_resource", str(exc).replace("fhir.resources.fhirtypes.", ""), "Bundle.entry")


def _resolve(entries: list[dict], reference: Any, resource_type: str) -> tuple[dict | None, str]:
    """The resource a reference names inside the Bundle (by fullUrl or Type/id) and its path."""
    ref = reference.get("reference") if isinstance(reference, dict) else None
    if not isinstance(ref, str):
        return None, ""
    for index, entry in enumerate(entries):
        resource = entry.get("resource")
        if not isinstance(resource, dict) or resource.get("resourceType") != resource_type:
            continue
        if ref == entry.get("fullUrl") or ref == f"{resource_type}/{resource.get('id')}":
            return resource, f"Bundle.entry[{index}].resource"
    return None, ""


def _identifiers(resource: dict, oid: str) -> list[str]:
    return [i["value"] for i in resource.get("identifier") or []
            if isinstance(i, dict) and i.get("system") == _oid(oid) and isinstance(i.get("value"), str) and i["value"]]


def _fhir_patient(r: Reading, patient: dict, where: str) -> None:
    archive = _identifiers(patient, ARCHIVE_NO_OID)
    if not archive:
        r.reject("missing_element", f"the Patient needs an identifier with system {_oid(ARCHIVE_NO_OID)} "
                 "(健康档案标识号)", f"{where}.identifier")
    elif not _ARCHIVE_NO.fullmatch(archive[0]):
        r.reject("invalid_value", "the archive number (健康档案标识号) must be 17 digits", f"{where}.identifier.value")
    else:
        r.archive_no = archive[0]
    if any(not valid_id_number(v) for v in _identifiers(patient, ID_NUMBER_OID)):
        r.reject("invalid_identifier", f"the identifier with system {_oid(ID_NUMBER_OID)} (身份证号) is not a "
                 "valid citizen ID number (GB 11643)", f"{where}.identifier.value")
