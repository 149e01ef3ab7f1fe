"""The one place the sync service calls its document builders (`services/sync/documents/`), imported
lazily so that the service's queue, sender and operators' calls do not depend on them at import:

    documents.cda.build_cda(DocumentInput) -> bytes        WS/T 483 CDA R2 XML (UTF-8)
    documents.fhir.build_fhir(DocumentInput) -> dict       a FHIR R4 document Bundle, validated
    documents.DOCUMENT_TYPES                               which source (`archive` or a record type)
                                                           builds which WS/T 483 type, and which
                                                           cannot be built yet

    document_type("hypertension_follow_up")   -> "HSDB04.01"
    document_type("elderly_tcm")              -> None        (no document yet: listed, not faked)
    build(document_input, "cda")              -> (b"<?xml ...", "application/hl7-cda+xml")

Until the builders' table is there, `DEFAULT_TYPES` (the issue's list) says which source builds
which type; a builder that cannot be imported raises `BuilderUnavailable` (the document waits).
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Mapping
from typing import Any

from services.sync.documents.model import DocumentInput
from services.sync.platform import CONTENT_TYPES

# WS/T 483 types by source, as issue 14 lists them (used while the builders' table is absent).
DEFAULT_TYPES: dict[str, str | None] = {
    "archive": "HSDA00.01",
    "health_exam": "HSDC00.01",
    "hospital_encounter": "HSDC00.02",
    "consultation": "HSDC00.04",
    "referral_out": "HSDC00.05",
    "referral_back": "HSDC00.05",
    "hypertension_follow_up": "HSDB04.01",
    "diabetes_follow_up": "HSDB04.02",
}
_TYPE_CODE = re.compile(r"^HSD[A-C]\d\d\.\d\d$")


class BuilderUnavailable(RuntimeError):
    """The document builders are not installed (or fail to import): nothing can be built now."""


def _module(name: str):
    try:
        return importlib.import_module(f"services.sync.documents.{name}" if name else "services.sync.documents")
    except ImportError as exc:
        raise BuilderUnavailable(f"services.sync.documents.{name} cannot be imported ({type(exc).__name__})") from None


def _code_of(entry: Any) -> str | None:
    """A table entry as a type code: the code itself, None, or an object or mapping with
    `type_code` (or `code`) and an optional false `buildable`."""
    if entry is None or isinstance(entry, str):
        return entry
    get = entry.get if isinstance(entry, Mapping) else (lambda k, d=None: getattr(entry, k, d))
    if get("buildable", True) is False:
        return None
    return get("type_code") or get("code")


def types_table() -> dict[str, str | None]:
    """{source: type code or None}: the builders' DOCUMENT_TYPES when they have one (keyed by
    source, or by type code with each entry naming its `source`/`sources`), else DEFAULT_TYPES."""
    try:
        table = getattr(_module(""), "DOCUMENT_TYPES", None)
    except BuilderUnavailable:
        table = None
    if not isinstance(table, Mapping) or not table:
        return dict(DEFAULT_TYPES)
    if all(_TYPE_CODE.match(str(key)) for key in table):
        by_source: dict[str, str | None] = {}
        for code, entry in table.items():
            get = entry.get if isinstance(entry, Mapping) else (lambda k, d=None, e=entry: getattr(e, k, d))
            sources = get("sources") or ([get("source")] if get("source") else [])
            buildable = get("buildable", True) is not False
            for source in sources:
                if buildable or source not in by_source:
                    by_source[source] = code if buildable else None
        return by_source
    return {str(source): _code_of(entry) for source, entry in table.items()}


def document_type(source: str) -> str | None:
    """The WS/T 483 type `source` (`archive` or a record type) is documented in; None: none yet."""
    return types_table().get(source)


def build(document: DocumentInput, fmt: str) -> tuple[bytes, str]:
    """The document's bytes in `fmt` (cda | fhir) and their content type."""
    if fmt == "cda":
        body = _module("cda").build_cda(document)
        if isinstance(body, str):
            body = body.encode("utf-8")
    elif fmt == "fhir":
        body = json.dumps(_module("fhir").build_fhir(document), ensure_ascii=False, default=str).encode("utf-8")
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return body, CONTENT_TYPES[fmt]
