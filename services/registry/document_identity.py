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

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.errors import NotFound
from shared.pii import PiiBox

from services.registry import aliases, identifiers, usecases
from services.registry.keys import ID_NUMBER_SEALED_IN, IDENTIFIER_SEALED_IN, PHONE_SEALED_IN, identifier_row_key
from services.registry.models import MERGED, Archive, ArchiveAlias, Institution, ResidentIdentifier


def _identity(pii: PiiBox, archive: Archive, details: dict[str, Any], card: ResidentIdentifier | None,
              institution: Institution | None) -> dict[str, Any]:
    number = archive.archive_no
    id_number = pii.decrypt(archive.id_number_enc, ID_NUMBER_SEALED_IN, number) if archive.id_number_enc else None
    phone = pii.decrypt(archive.phone_enc, PHONE_SEALED_IN, number) if archive.phone_enc else None
    health_card_no = None if card is None else pii.decrypt(
        card.value_enc, IDENTIFIER_SEALED_IN, identifier_row_key(card.kind, card.issuer, card.value_index))
    return {
        "archive": details,
        "identity": {"id_type": archive.id_type if id_number else None, "id_number": id_number,
                     "health_card_no": health_card_no, "phone": phone},
        "institution_name": institution.name if institution else None,
    }


def document_identity(session: Session, pii: PiiBox, archive_no: str) -> dict[str, Any]:
    archive = aliases.find(session, archive_no)  # NotFound as get_archive says it
    card = identifiers.cards_of(session, archive.archive_no).get("health_card_no")
    return _identity(pii, archive, usecases.archive_details(session, pii, archive), card,
                     session.get(Institution, archive.institution_code))


def identities_for_documents(session: Session, pii: PiiBox, archive_nos: list[str]) -> dict[str, Any]:
    """`document_identity` of each number (once each), and the numbers that lead nowhere. Current
    numbers, as a sender's mostly are, take four queries for the whole batch (archives, their
    aliases, health cards, institutions); a former or merged number goes through `aliases` alone."""
    wanted = list(dict.fromkeys(archive_nos))
    current = {a.archive_no: a for a in session.scalars(sa.select(Archive).where(Archive.archive_no.in_(wanted)))
               if a.status != MERGED}
    followed: dict[str, Archive] = {}
    missing: list[str] = []
    for archive_no in wanted:
        if archive_no not in current:
            try:
                followed[archive_no] = aliases.find(session, archive_no)
            except NotFound:
                missing.append(archive_no)
    archives = {**current, **followed}
    numbers = list({a.archive_no for a in archives.values()})
    leading: dict[str, dict[str, list[str]]] = {n: {aliases.TRANSFER: [], aliases.MERGE: []} for n in numbers}
    for target, old, kind in session.execute(
            sa.select(ArchiveAlias.archive_no, ArchiveAlias.old_archive_no, ArchiveAlias.kind)
            .where(ArchiveAlias.archive_no.in_(numbers)).order_by(ArchiveAlias.old_archive_no)):
        leading[target].setdefault(kind, []).append(old)
    cards = {card.archive_no: card for card in session.scalars(sa.select(ResidentIdentifier).where(
        ResidentIdentifier.archive_no.in_(numbers), ResidentIdentifier.kind == identifiers.HEALTH_CARD))}
    institutions = {i.code: i for i in session.scalars(sa.select(Institution).where(
        Institution.code.in_({a.institution_code for a in archives.values()})))}
    identities: dict[str, Any] = {}
    for asked, archive in archives.items():
        aliases_here = leading[archive.archive_no]
        details = usecases._details(usecases.archive_values(pii, archive), aliases_here[aliases.TRANSFER],
                                    aliases_here[aliases.MERGE], pii)
        identities[asked] = _identity(pii, archive, details, cards.get(archive.archive_no),
                                      institutions.get(archive.institution_code))
    return {"identities": identities, "missing": missing}
