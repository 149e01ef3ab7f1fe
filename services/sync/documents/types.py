"""The 20 WS/T 483-2016 document types (domain.md §7.3), which of them the suite can build, and
from what: the archive (``source`` "archive") or a record of one ``record_type``.

    document_type_for("archive", {...})                               -> "HSDA00.01"
    document_type_for("hypertension_follow_up", {...})                 -> "HSDB04.01"
    document_type_for("hospital_encounter", {"kind": "outpatient"})    -> "HSDC00.02"
    document_type_for("hospital_encounter", {"kind": "inpatient_discharge"}) -> "HSDC00.03"
    document_type_for("visit", {...})                                  -> None (no WS/T 483 document)
    document_types_for("integrated_follow_up", {...})                  -> ["HSDB04.01", "HSDB04.02"]
    DOCUMENT_TYPES["HSDB01.02"].buildable                              -> False, with its reason

A type the suite cannot build is listed with the reason, never faked: ``require_buildable``
raises ``NotBuildable`` for it, and the builders call it first.

One record may make more than one document: an integrated visit (多病共管, ``integrated_follow_up``)
is a follow-up of each programme, HSDB04.01 and HSDB04.02 (``document_types_for``); the
``DocumentInput.type_code`` says which one to build (the sync service gives each its own set id,
``record:<id>:<type_code>``; the builders do not care). ``document_type_for`` answers for the
sources that make one document, and None for such a record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DOCUMENT_TYPE_OID = "2.16.156.10011.2.4"       # 卫生信息共享文档规范编码体系
DOCUMENT_TYPE_SYSTEM_NAME = "卫生信息共享文档规范编码体系"

ARCHIVE = "archive"
HOSPITAL_ENCOUNTER = "hospital_encounter"
INTEGRATED_FOLLOW_UP = "integrated_follow_up"
# The encounter kinds (shared.codes.EncounterKind) each summary is built from.
OUTPATIENT_KINDS = frozenset({"outpatient", "emergency"})
INPATIENT_KINDS = frozenset({"inpatient_admission", "inpatient_discharge"})


class NotBuildable(ValueError):
    """The suite cannot build this document (type not held, or the source makes no document)."""

    def __init__(self, type_code: str | None, reason: str) -> None:
        super().__init__(f"{type_code or 'no document'}: {reason}")
        self.type_code = type_code
        self.reason = reason


@dataclass(frozen=True)
class DocumentType:
    code: str                          # HSDxxx.xx, OID 2.16.156.10011.2.4
    name: str                          # the part's title
    part: int                          # WS/T 483.<part>
    sources: tuple[str, ...] = ()      # "archive" or the record types it is built from
    reason: str | None = None          # why the suite cannot build it (None: it can)

    @property
    def buildable(self) -> bool:
        return self.reason is None


_NO_PROGRAMME = "the suite has no programme or form for it yet"
DOCUMENT_TYPES: dict[str, DocumentType] = {t.code: t for t in (
    DocumentType("HSDA00.01", "个人基本健康信息登记", 1, (ARCHIVE,)),
    DocumentType("HSDB01.01", "出生医学证明", 2, reason="the suite holds no birth certificates (出生医学证明 is issued "
                 "by the midwifery institution; the archive keeps only its number)"),
    DocumentType("HSDB01.02", "新生儿家庭访视", 3, reason="新生儿家庭访视记录表: " + _NO_PROGRAMME),
    DocumentType("HSDB01.03", "儿童健康体检", 4, reason="儿童健康检查记录表: " + _NO_PROGRAMME),
    DocumentType("HSDB02.01", "首次产前随访服务", 5, reason="第1次产前检查服务记录表: " + _NO_PROGRAMME),
    DocumentType("HSDB02.02", "产前随访服务", 6, reason="第2～5次产前随访服务记录表: " + _NO_PROGRAMME),
    DocumentType("HSDB02.03", "产后访视", 7, reason="产后访视记录表: " + _NO_PROGRAMME),
    DocumentType("HSDB02.04", "产后42天健康检查", 8, reason="产后42天健康检查记录表: " + _NO_PROGRAMME),
    DocumentType("HSDB03.01", "预防接种报告", 9, reason="the suite keeps no 预防接种 records (the exam's 非免疫规划"
                 "预防接种史 is history, not a vaccination report)"),
    DocumentType("HSDB03.02", "传染病报告", 10, reason="the suite keeps no 传染病报告卡"),
    DocumentType("HSDB03.03", "死亡医学证明", 11, reason="the suite records a death only as the archive's "
                 "termination reason, not the 死亡医学证明"),
    DocumentType("HSDB04.01", "高血压患者随访服务", 12, ("hypertension_follow_up", INTEGRATED_FOLLOW_UP)),
    DocumentType("HSDB04.02", "2型糖尿病患者随访服务", 13, ("diabetes_follow_up", INTEGRATED_FOLLOW_UP)),
    DocumentType("HSDB04.03", "重性精神疾病患者个人信息登记", 14,
                 reason="重性精神疾病患者个人信息补充表: " + _NO_PROGRAMME),
    DocumentType("HSDB04.04", "重性精神疾病患者随访服务", 15, reason="严重精神障碍患者随访服务记录表: " + _NO_PROGRAMME),
    DocumentType("HSDC00.01", "成人健康体检", 16, ("health_exam",)),
    DocumentType("HSDC00.02", "门诊摘要", 17, (HOSPITAL_ENCOUNTER,)),
    DocumentType("HSDC00.03", "住院摘要", 18, (HOSPITAL_ENCOUNTER,)),
    DocumentType("HSDC00.04", "会诊记录", 19, ("consultation",)),
    DocumentType("HSDC00.05", "转诊(院)记录", 20, ("referral_out", "referral_back")),
)}

# Sources that make more than one document, each type the DocumentInput's type_code selects.
MULTIPLE: dict[str, tuple[str, ...]] = {INTEGRATED_FOLLOW_UP: ("HSDB04.01", "HSDB04.02")}

# Record types with no document, and why (a source not named here and in no type's sources is
# unknown to the builders).
NO_DOCUMENT: dict[str, str] = {
    "personal_info": "the 个人基本信息表 is part of the archive's registration (HSDA00.01), not a document "
                     "of its own: send the archive again",
    "visit": "接诊记录 has no WS/T 483 document (WS 365's 接诊 data set is not one of the 20 parts)",
    "elderly_self_care": "WS/T 483 has no document for the elderly service (domain.md §7.3)",
    "elderly_tcm": "WS/T 483 has no document for the elderly TCM service (domain.md §7.3)",
    "attachment": "an attachment is a file, not a structured record",
}


def document_type_for(source: str, content: Mapping[str, Any] | None = None) -> str | None:
    """The WS/T 483 type the suite builds from this archive or record, or None when it builds none.

    ``source`` is "archive" or a record's ``record_type``; ``content`` the record's content (a
    hospital encounter's ``kind`` decides: outpatient and emergency -> 门诊摘要 HSDC00.02,
    inpatient admission or discharge -> 住院摘要 HSDC00.03, a lab result or an exam report -> None).
    """
    if source == HOSPITAL_ENCOUNTER:
        kind = (content or {}).get("kind")
        if kind in OUTPATIENT_KINDS:
            return "HSDC00.02"
        if kind in INPATIENT_KINDS:
            return "HSDC00.03"
        return None
    if source in MULTIPLE:
        return None
    for doc_type in DOCUMENT_TYPES.values():
        if doc_type.buildable and source in doc_type.sources:
            return doc_type.code
    return None


def document_types_for(source: str, content: Mapping[str, Any] | None = None) -> list[str]:
    """Every WS/T 483 type the suite builds from this archive or record: an integrated visit's
    two (HSDB04.01 and HSDB04.02), the one of ``document_type_for``, or none."""
    if source in MULTIPLE:
        return list(MULTIPLE[source])
    found = document_type_for(source, content)
    return [found] if found else []


def why_no_document(source: str, content: Mapping[str, Any] | None = None) -> str:
    """Why ``document_type_for`` answers None for this source (for the sync service's log and status)."""
    if source in MULTIPLE:
        return f"a {source} makes {len(MULTIPLE[source])} documents ({', '.join(MULTIPLE[source])}): " \
               "see document_types_for"
    if source == HOSPITAL_ENCOUNTER:
        return f"a hospital {(content or {}).get('kind') or 'record'} has no WS/T 483 summary (only outpatient, " \
               "emergency and inpatient encounters do)"
    return NO_DOCUMENT.get(source, "unknown source")


def require_buildable(type_code: str, source: str, content: Mapping[str, Any] | None = None) -> DocumentType:
    """The type, when the suite builds it from this source; else ``NotBuildable`` with the reason."""
    doc_type = DOCUMENT_TYPES.get(type_code)
    if doc_type is None:
        raise NotBuildable(type_code, "not a WS/T 483 document type")
    if not doc_type.buildable:
        raise NotBuildable(type_code, doc_type.reason or "")
    expected = document_types_for(source, content)
    if type_code not in expected:
        reason = (f"built from {', '.join(doc_type.sources)}, not from {source}" if not expected
                  or source not in doc_type.sources else f"this {source} makes a {' and a '.join(expected)}")
        raise NotBuildable(type_code, reason)
    return doc_type
