"""Correcting a resident's identity as the registry holds it (name, sex, birth date, ID document,
phone, health and insurance card numbers).

    update_identity(session, pii, "11010510110100007", {"name": "张秀瑛", "phone": "13900000000",
                    "health_card_no": "H11010500012"}, reason="户口本核对", actor=actor)

The archive as it would be is checked with the rules of creation (the ID number against sex and
birth date); pinyin and blind indexes are derived again. Changing the ID document needs a reason
and an ID number no other archive holds; a card number must be held by no other archive either
(`null` removes the card). Active and terminated archives can be corrected (a terminated archive
is read-only for clinical writes, not for identity corrections). With the caller's `scope`, a
number held by an archive outside it is refused without naming that archive (`usecases.confined`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.contracts.events import IDENTITY_UPDATED, event_message
from shared.errors import ValidationFailed
from shared.identity import check_identity_document, mask_id_number, mask_phone, normalise_name
from shared.outbox import stage
from shared.pii import PiiBox, identity_key

from services.registry import aliases, identifiers, lifecycle, revisions
from services.registry.keys import ID_NUMBER_SEALED_IN, PHONE_SEALED_IN, name_pinyin, phone_index
from services.registry.models import ACTIVE, TERMINATED, Archive, outbox
from services.registry.usecases import SERVICE, commit_unless_taken, confined, existing_conflict

FIELDS = ("name", "sex", "birth_date", "id_type", "id_number", "phone")
ID_DOCUMENT = ("id_type", "id_number")


def _held(pii: PiiBox, archive: Archive) -> dict[str, Any]:
    return {
        "name": archive.name, "sex": archive.sex, "birth_date": archive.birth_date, "id_type": archive.id_type,
        "id_number": (pii.decrypt(archive.id_number_enc, ID_NUMBER_SEALED_IN, archive.archive_no)
                      if archive.id_number_enc is not None else None),
        "phone": (pii.decrypt(archive.phone_enc, PHONE_SEALED_IN, archive.archive_no)
                  if archive.phone_enc is not None else None),
    }


def _shown(field: str, value: Any) -> Any:
    """A value as a revision shows it: ID and phone numbers masked, dates as ISO strings."""
    if value is None:
        return None
    if field == "id_number":
        return mask_id_number(value)
    if field == "phone":
        return mask_phone(value)
    return revisions.json_value(value)


def update_identity(session: Session, pii: PiiBox, archive_no: str, changes: dict[str, Any],
                    reason: str | None, actor: Actor, scope: dict[str, Any] | None = None) -> Archive:
    """Apply validated `IdentityUpdateSchema` data, write the revision, announce, commit.

    Nothing that differs from what is held: no revision, no event, the archive as it is.
    """
    archive = aliases.find(session, archive_no, lock=True)
    lifecycle.require_status(archive, (ACTIVE, TERMINATED), "correct the identity of")
    cards = {name: changes[name] for name in identifiers.CARD_FIELDS if name in changes}
    changes = {f: v for f, v in changes.items() if f not in cards}
    held_cards = identifiers.cards_of(session, archive.archive_no)
    taken = identifiers.card_conflicts(session, pii, cards, archive.archive_no)
    held = _held(pii, archive)
    wanted = {**held, **changes}
    if wanted.get("name"):
        wanted["name"] = normalise_name(wanted["name"])
    number, errors = check_identity_document(wanted["id_type"], wanted["id_number"],
                                             birth_date=wanted["birth_date"], sex=wanted["sex"])
    if errors:
        raise ValidationFailed("invalid identity", errors)
    wanted["id_number"] = number
    changed = [f for f in FIELDS if wanted[f] != held[f]]

    index = identity_key(pii, wanted["id_type"], wanted["id_number"])
    masked = mask_id_number(wanted["id_number"])
    if set(changed) & set(ID_DOCUMENT):
        if not reason:
            raise ValidationFailed("a reason is required", {"reason": ["Required when the ID document changes."]})
        conflict = existing_conflict(session, index, masked)
        if conflict and conflict.details["archive_no"] != archive.archive_no:
            raise confined(session, conflict, scope)
    conflict = confined(session, taken(), scope)
    if conflict:
        raise conflict
    card_changes = identifiers.set_cards(session, pii, archive.archive_no, cards, actor, held=held_cards)
    if not changed and not card_changes:
        return archive

    archive.name, archive.name_pinyin = wanted["name"], name_pinyin(wanted["name"])
    archive.sex, archive.birth_date = wanted["sex"], wanted["birth_date"]
    archive.id_type, archive.id_number_index = wanted["id_type"], index
    if "id_number" in changed or "id_type" in changed:
        archive.id_number_enc = pii.encrypt(wanted["id_number"], ID_NUMBER_SEALED_IN, archive.archive_no)
    if "phone" in changed:
        phone = wanted["phone"]
        archive.phone_enc = pii.encrypt(phone, PHONE_SEALED_IN, archive.archive_no) if phone else None
        archive.phone_index = phone_index(pii, phone) if phone else None
    revisions.record(session, archive, revisions.IDENTITY_UPDATED,
                     {**{f: [_shown(f, held[f]), _shown(f, wanted[f])] for f in changed}, **card_changes},
                     actor, reason)
    stage(session, outbox, [event_message(SERVICE, IDENTITY_UPDATED, {
        "archive_no": archive.archive_no, "fields": [*changed, *card_changes], "identity_keys": [index.hex()],
    }, actor)])
    commit_unless_taken(session, index, masked, taken, scope)
    return archive
