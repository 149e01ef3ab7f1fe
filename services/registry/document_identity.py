"""A resident's full identity for a standard document (`identity_for_document`): the one answer of
the registry that carries an ID number in full, for the sync service alone. The caller proves it
is the sync service with EHR_SYNC_KEY (`shared.signing.check_document_identity_proof`); the RPC
refuses anything else before reading a row. Nothing here is logged.

    identities_for_documents(session, pii, ["11010510110100007", ...])
        -> {"identities": {"11010510110100007": {...as document_identity...}}, "missing": []}
    document_identity(session, pii, "11010510110100007")
        -> {"archive": {...as get_archive...}, "identity": {"id_type": "01", "id_number": "1101...",
            "health_card_no": None, "phone": "13800000000"}, "institution_name": "东风乡卫生院"}
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.errors import NotFound
from shared.pii import PiiBox

from services.registry import aliases, identifiers, usecases
from services.registry.keys import ID_NUMBER_SEALED_IN, IDENTIFIER_SEALED_IN, PHONE_SEALED_IN, identifier_row_key
from services.registry.models import Institution


def document_identity(session: Session, pii: PiiBox, archive_no: str) -> dict[str, Any]:
    archive = aliases.find(session, archive_no)  # NotFound as get_archive says it
    number = archive.archive_no
    id_number = pii.decrypt(archive.id_number_enc, ID_NUMBER_SEALED_IN, number) if archive.id_number_enc else None
    phone = pii.decrypt(archive.phone_enc, PHONE_SEALED_IN, number) if archive.phone_enc else None
    card = identifiers.cards_of(session, number).get("health_card_no")
    health_card_no = None if card is None else pii.decrypt(
        card.value_enc, IDENTIFIER_SEALED_IN, identifier_row_key(card.kind, card.issuer, card.value_index))
    institution = session.get(Institution, archive.institution_code)
    return {
        "archive": usecases.archive_details(session, pii, archive),
        "identity": {"id_type": archive.id_type if id_number else None, "id_number": id_number,
                     "health_card_no": health_card_no, "phone": phone},
        "institution_name": institution.name if institution else None,
    }


def identities_for_documents(session: Session, pii: PiiBox, archive_nos: list[str]) -> dict[str, Any]:
    """`document_identity` of each number (once each), and the numbers that lead nowhere."""
    identities: dict[str, Any] = {}
    missing: list[str] = []
    for archive_no in dict.fromkeys(archive_nos):
        try:
            identities[archive_no] = document_identity(session, pii, archive_no)
        except NotFound:
            missing.append(archive_no)
    return {"identities": identities, "missing": missing}
