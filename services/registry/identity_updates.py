"""Correcting a resident's identity as the registry holds it (name, sex, birth date, ID document,
phone, health and insurance card and birth certificate numbers), and the cover and header fields
that go with it (常住类型, 民族, how the archive was built, consent, 建档日期, addresses, 责任医生,
工作单位, contact, a newborn's guardian).

    update_identity(session, pii, "11010510110100007", {"name": "张秀瑛", "phone": "13900000000",
                    "health_card_no": "H11010500012"}, reason="户口本核对", actor=actor)

The archive as it would be is checked with the rules of creation (the ID number against sex and
birth date, `shared.contracts.identity`); pinyin and blind indexes are derived again. An archive
without an ID number gets one through `id_numbers.attach_id_number`, not here. Changing the ID document needs a reason
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
from shared.contracts.identity import identity_problems
from shared.identity import RESIDENT_ID_TYPE, check_identity_document, mask_id_number, normalise_name
from shared.outbox import stage
from shared.pii import PiiBox, identity_key

from services.registry import aliases, identifiers, lifecycle, revisions
from services.registry.keys import COVER_SEALED, PHONE_SEALED_IN, name_pinyin, phone_index, seal, unseal
from services.registry.models import ACTIVE, TERMINATED, Archive, outbox
from services.registry.usecases import (
    COVER_CODES, SERVICE, commit_unless_taken, confined, existing_conflict, guardian_archive,
)

PLAIN = ("name", "sex", "birth_date", "id_type", *COVER_CODES, "archive_date", "guardian_archive_no")
FIELDS = ("name", "sex", "birth_date", "id_type", "id_number", "phone", *COVER_CODES, "archive_date",
          "guardian_archive_no", *COVER_SEALED)
ID_DOCUMENT = ("id_type", "id_number")
ATTACH_FIRST = ("This archive has no ID number yet: attach it (attach_id_number, "
                "POST /api/v1/archives/{archive_no}/id-number).")


def held_identity(pii: PiiBox, archive: Archive) -> dict[str, Any]:
    """The archive's identity and cover as the fields of `IdentityUpdateSchema` name them, opened."""
    return {
        **{f: getattr(archive, f) for f in PLAIN},
        "id_number": unseal(pii, archive.archive_no, "id_number_enc", archive.id_number_enc),
        "phone": unseal(pii, archive.archive_no, "phone_enc", archive.phone_enc),
        **{f: unseal(pii, archive.archive_no, column, getattr(archive, column)) for f, column in COVER_SEALED.items()},
    }


def _wanted(session: Session, held: dict[str, Any], changes: dict[str, Any], scope: dict[str, Any] | None,
            archive_no: str) -> dict[str, Any]:
    """The identity as the corrections would leave it, normalised and checked as a whole
    (`ValidationFailed` with every field's errors)."""
    if held["id_number"] is None and ("id_number" in changes or "id_type" in changes):
        raise ValidationFailed("invalid identity", {"id_number": [ATTACH_FIRST.format(archive_no=archive_no)]})
    wanted = {**held, **changes}
    if wanted.get("name"):
        wanted["name"] = normalise_name(wanted["name"])
    number, errors = check_identity_document(wanted["id_type"], wanted["id_number"],
                                             birth_date=wanted["birth_date"], sex=wanted["sex"])
    wanted["id_number"] = number
    if "guardian_id_number" in changes or "guardian_id_type" in changes:
        guardian, problems = check_identity_document(wanted["guardian_id_type"] or RESIDENT_ID_TYPE,
                                                     wanted["guardian_id_number"], birth_date=None, sex=None)
        if "id_number" in problems:
            errors["guardian_id_number"] = problems["id_number"]
        wanted["guardian_id_number"] = guardian
        wanted["guardian_id_type"] = (wanted["guardian_id_type"] or RESIDENT_ID_TYPE) if guardian else None
    if changes.get("guardian_archive_no"):
        if wanted["guardian_archive_no"] == archive_no:
            errors["guardian_archive_no"] = ["Not the archive itself."]
        else:
            wanted["guardian_archive_no"] = guardian_archive(session, wanted["guardian_archive_no"], scope)
    for field, messages in identity_problems(wanted).items():
        errors.setdefault(field, messages)
    if errors:
        raise ValidationFailed("invalid identity", errors)
    return wanted


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
    held = held_identity(pii, archive)
    wanted = _wanted(session, held, changes, scope, archive.archive_no)
    changed = [f for f in FIELDS if wanted[f] != held[f]]

    index = identity_key(pii, wanted["id_type"], wanted["id_number"]) if wanted["id_number"] else None
    masked = mask_id_number(wanted["id_number"]) if wanted["id_number"] else None
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

    for field in PLAIN:
        setattr(archive, field, wanted[field])
    archive.name_pinyin, archive.id_number_index = name_pinyin(wanted["name"]), index
    if "id_number" in changed or "id_type" in changed:
        archive.id_number_enc = seal(pii, archive.archive_no, "id_number_enc", wanted["id_number"])
    if "phone" in changed:
        phone = wanted["phone"]
        archive.phone_enc = pii.encrypt(phone, PHONE_SEALED_IN, archive.archive_no) if phone else None
        archive.phone_index = phone_index(pii, phone) if phone else None
    for field, column in COVER_SEALED.items():
        if field in changed:
            setattr(archive, column, seal(pii, archive.archive_no, column, wanted[field]))
    revisions.record(session, archive, revisions.IDENTITY_UPDATED,
                     {**{f: [revisions.shown(f, held[f]), revisions.shown(f, wanted[f])] for f in changed},
                      **card_changes},
                     actor, reason)
    stage(session, outbox, [event_message(SERVICE, IDENTITY_UPDATED, {
        "archive_no": archive.archive_no, "fields": [*changed, *card_changes],
        "identity_keys": [index.hex()] if index is not None else [],
        "profile": archive.profile(),
    }, actor)])
    commit_unless_taken(session, index, masked, taken, scope)
    return archive
