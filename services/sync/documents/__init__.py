"""Document builders: pure functions from a `DocumentInput` (documents/model.py) to a WS/T 483 CDA
R2 document (XML bytes, built with lxml) or a FHIR R4 document Bundle (JSON-ready dict validated
with fhir.resources). No Nameko, no database: the sync service gathers the facts and calls these.

    document_type_for("diabetes_follow_up", content)  -> "HSDB04.02"   (None: no document, or more than one)
    document_types_for("integrated_follow_up", content) -> ["HSDB04.01", "HSDB04.02"] (type_code picks)
    build_cda(doc)   -> bytes      build_fhir(doc) -> dict
    DOCUMENT_TYPES["HSDB02.01"]   -> DocumentType(..., reason="...")  (listed, not built)

What each source's body holds is data (documents/sections.py: SECTIONS)."""

from .cda import DocumentError, build_cda
from .fhir import FhirValidationError, build_fhir, check_bundle, validate_bundle
from .model import Author, DocumentInput, Institution, Patient
from .types import (
    DOCUMENT_TYPES, DocumentType, NotBuildable, document_type_for, document_types_for, require_buildable,
    why_no_document,
)

__all__ = [
    "DOCUMENT_TYPES", "Author", "DocumentError", "DocumentInput", "DocumentType", "FhirValidationError",
    "Institution", "NotBuildable", "Patient", "build_cda", "build_fhir", "check_bundle", "document_type_for",
    "document_types_for", "require_buildable", "validate_bundle", "why_no_document",
]
