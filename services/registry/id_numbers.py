"""Attaching the ID number to an archive created without one (a newborn's, created at the
新生儿家庭访视 with a guardian named, before the child's 户口 and 公民身份号码 exist).

    attach_id_number(session, pii, "11010500300100042", {"id_type": "01", "id_number": "110105202611180017"},
                     actor, scope={"prefix": "110105003", "institution_code": "C1101050031"})
    -> the archive, its ID number set (revision `id_number_attached`, event `identity_updated`)

From then on the archive is an archive like any other: the ID number's blind index finds it, and
the rules of creation hold: checked against the archive's sex and birth date (GB 11643; type 02,
the 户口簿's number, alike), and an ID number another archive holds is refused with the same
`Conflict` a creation gets (`RegisteredElsewhere` outside the caller's scope). An archive that has
an ID number is corrected with `update_identity`, with a reason, not here (`InvalidTransition`).
The event's `identity_keys` let the records service find what waits for this ID number.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.contracts.events import IDENTITY_UPDATED, event_message
from shared.errors import InvalidTransition, ValidationFailed
from shared.identity import check_identity_document, mask_id_number
from shared.outbox import stage
from shared.pii import PiiBox, identity_key

from services.registry import aliases, lifecycle, revisions
from services.registry.keys import seal
from services.registry.models import ACTIVE, TERMINATED, Archive, outbox
from services.registry.usecases import SERVICE, commit_unless_taken, confined, existing_conflict

ID_NUMBER_ATTACHED = revisions.ID_NUMBER_ATTACHED


def attach_id_number(session: Session, pii: PiiBox, archive_no: str, data: dict[str, Any], actor: Actor,
                     scope: dict[str, Any] | None = None) -> Archive:
    """Give the archive `archive_no` leads to the ID number of validated `IdNumberAttachmentSchema`
    data; writes the revision, announces it, commits."""
    archive = aliases.find(session, archive_no, lock=True)
    lifecycle.require_status(archive, (ACTIVE, TERMINATED), "attach an ID number to")
    if archive.id_number_enc is not None:
        raise InvalidTransition("the archive has an ID number already: correct it with the reason",
                                {"archive_no": archive.archive_no})
    number, errors = check_identity_document(data["id_type"], data["id_number"],
                                             birth_date=archive.birth_date, sex=archive.sex)
    if errors:
        raise ValidationFailed("invalid identity", errors)
    index, masked = identity_key(pii, data["id_type"], number), mask_id_number(number)
    conflict = confined(session, existing_conflict(session, index, masked), scope)
    if conflict:
        raise conflict
    archive.id_type, archive.id_number_index = data["id_type"], index
    archive.id_number_enc = seal(pii, archive.archive_no, "id_number_enc", number)
    revisions.record(session, archive, ID_NUMBER_ATTACHED,
                     {"id_type": [None, data["id_type"]], "id_number": [None, masked]}, actor)
    stage(session, outbox, [event_message(SERVICE, IDENTITY_UPDATED, {
        "archive_no": archive.archive_no, "fields": ["id_type", "id_number"], "identity_keys": [index.hex()],
        "profile": archive.profile(),
    }, actor)])
    commit_unless_taken(session, index, masked, scope=scope)
    return archive
