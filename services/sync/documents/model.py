"""What a document is built from: plain, frozen data that the sync service gathers from the
registry (the archive, its full identity) and records (the record as filed, its revisions), and
that the builders (documents/cda.py, documents/fhir.py) turn into one document.

Identity of a document across corrections: `set_id` is stable for the archive or the record it
documents; `version` counts from 1; a correction is a new version whose `replaces` names the id
(`document_id`) of the version it replaces (CDA relatedDocument typeCode="RPLC", FHIR
Composition.relatesTo code "replaces")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Mapping


@dataclass(frozen=True)
class Institution:
    code: str                      # the suite's institution code (组织机构代码), OID 2.16.156.10011.1.5
    name: str | None = None


@dataclass(frozen=True)
class Author:
    user: str                      # the suite's user id of the clinician (OID 2.16.156.10011.1.4)
    institution: Institution
    name: str | None = None


@dataclass(frozen=True)
class Patient:
    archive_no: str                # 健康档案标识号, OID 2.16.156.10011.1.2
    name: str
    sex: str                       # GB/T 2261.1 code (1 男, 2 女, 0 未知, 9 未说明)
    birth_date: date
    id_type: str | None = None     # CV02.01.101 (01 居民身份证 ...)
    id_number: str | None = None   # the full number: only ever inside a document sent to a platform
    health_card_no: str | None = None  # 居民健康卡号, OID 2.16.156.10011.1.19
    ethnicity: str | None = None   # GB/T 3304 code
    current_address: str | None = None
    phone: str | None = None
    village_code: str | None = None


@dataclass(frozen=True)
class DocumentInput:
    type_code: str                 # WS/T 483 document type, e.g. "HSDA00.01" (OID 2.16.156.10011.2.4); of a
                                   # record making two (types.document_types_for), the one to build
    set_id: str                    # stable across versions: "archive:<archive_no>" or "record:<record_id>"
                                   # ("record:<record_id>:<type_code>" for a record making two)
    version: int                   # 1, 2, ...
    patient: Patient
    custodian: Institution         # the institution keeping the archive
    author: Author
    effective_time: datetime       # aware; when the service was given (the record's date) or registered
    source: str                    # "archive" or the record's record_type ("health_examination", ...)
    content: Mapping[str, Any]     # the archive detail or the record's data, as the services answer them
    replaces: str | None = None    # document_id of the version this one replaces
    record_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def document_id(self) -> str:
        """The id of this version: stable, unique per (set_id, version)."""
        return f"{self.set_id}:v{self.version}"
