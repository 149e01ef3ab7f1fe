"""The one place the sync service calls its document builders (`services/sync/documents/`), imported
lazily so that the service's queue, sender and operators' calls do not depend on them at import:

    documents.document_types_for(source, content) -> ["HSDB04.01", "HSDB04.02"]   (or, in an older
                                                     builder, document_type_for -> one code or None)
    documents.build_cda(DocumentInput) -> bytes     WS/T 483 CDA R2 XML (UTF-8)
    documents.build_fhir(DocumentInput) -> dict     a FHIR R4 document Bundle, validated

    document_types("hypertension_follow_up")                 -> ["HSDB04.01"]
    document_types("hospital_encounter", {"kind": "outpatient"}) -> ["HSDC00.02"]
    document_types("elderly_tcm")                            -> []   (no document yet: listed, not faked)
    build(document_input, "cda")              -> (b"<?xml ...", "application/hl7-cda+xml")

A builder that cannot be imported raises `BuilderUnavailable` (the document waits).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from typing import Any

from services.sync.documents.model import DocumentInput
from services.sync.platform import CONTENT_TYPES


class BuilderUnavailable(RuntimeError):
    """The document builders are not installed (or fail to import): nothing can be built now."""


def _module(name: str):
    try:
        return importlib.import_module(f"services.sync.documents.{name}" if name else "services.sync.documents")
    except ImportError as exc:
        raise BuilderUnavailable(f"services.sync.documents.{name} cannot be imported ({type(exc).__name__})") from None


def document_types(source: str, content: Mapping[str, Any] | None = None) -> list[str]:
    """The WS/T 483 types `source` (`archive` or a record type; `content` what decides between
    types, e.g. a hospital encounter's `kind`) is documented in; [] when none yet."""
    documents = _module("")
    many = getattr(documents, "document_types_for", None)
    if many is not None:
        return list(many(source, content))
    one = documents.document_type_for(source, content)
    return [one] if one else []


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
