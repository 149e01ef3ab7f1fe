"""A test-only document builder for the sync service while the real ones (services/sync/documents/
cda.py, fhir.py) are not merged: JSON naming the document, its patient's archive number and
custodian, and whether the full ID number reached it. `use_builders(monkeypatch)` keeps the real
builders when they can be imported, so the same tests run against them after the merge.

    built = use_builders(monkeypatch)     # {} with the real builders; else {document_id: DocumentInput}
"""

from __future__ import annotations

import importlib.util
import json

from services.sync import building


def real_builders_present() -> bool:
    return importlib.util.find_spec("services.sync.documents.cda") is not None


def use_builders(monkeypatch) -> dict:
    built: dict = {}
    if real_builders_present():
        return built

    def build(document, fmt):
        built[document.document_id] = document
        body = {"document_id": document.document_id, "type_code": document.type_code,
                "archive_no": document.patient.archive_no, "custodian": document.custodian.code,
                "replaces": document.replaces, "source": document.source}
        return json.dumps(body).encode(), "application/fhir+json"

    monkeypatch.setattr(building, "build", build)
    return built
