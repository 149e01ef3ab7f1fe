"""Revisions of an archive: every change, with who made it, when, what changed and why.

Each change bumps the archive's `version` and writes revision `version`, in the caller's
transaction, so an archive's revisions are numbered 1, 2, 3... from its creation:

    {"archive_no": "11010510110100007", "revision": 3, "changed_at": "2026-11-28T02:10:00+00:00",
     "actor": {"user": "doc01", "institution_code": "T1101051011", "role": "doctor"},
     "action": "identity_updated", "reason": "身份证号录入错误",
     "changes": {"id_number": ["**************0021", "**************0048"], "name": ["张秀英", "张秀瑛"]}}

`changes` maps each field to `[old, new]`, JSON-ready. ID and phone numbers appear only masked,
and the cover's addresses, employer and contact name only as `"******"` (`shown`), by the use
case that sets or changes them (an archive stores no masked form to compare).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.identity import mask_id_number, mask_phone

from services.registry import aliases
from services.registry.models import Archive, ArchiveRevision

CREATED = "created"
IDENTITY_UPDATED = "identity_updated"
ID_NUMBER_ATTACHED = "id_number_attached"  # a newborn's archive gets its ID number
TERMINATED = "terminated"
REACTIVATED = "reactivated"
TRANSFERRED = "transferred"
MERGED = "merged"                  # on the merged archive
MERGE_RECEIVED = "merge_received"  # on the survivor
UNMERGED = "unmerged"              # on the restored archive
MERGE_UNDONE = "merge_undone"      # on the survivor

# Columns a revision shows as they are; ID and phone numbers only masked, by the use case that
# changes them.
TRACKED = ("archive_no", "status", "name", "sex", "birth_date", "id_type",
           "village_code", "institution_code", "termination_reason", "termination_date",
           "termination_cause", "termination_destination", "termination_handover", "termination_note",
           "merged_into", "residence_type", "ethnicity", "ethnicity_name", "archive_source", "consent",
           "consent_date", "archive_date", "responsible_doctor", "guardian_archive_no", "guardian_id_type")

# Personal data a revision shows only masked (`shown`): ID and phone numbers by their masks, the
# cover's free text (addresses, employer, contact name) only as there or not, never its words.
ID_NUMBERS = ("id_number", "guardian_id_number")
PHONES = ("phone", "contact_phone")
HIDDEN_TEXT = ("current_address", "registered_address", "employer", "contact_name")
SHOWN_MASKED = (*ID_NUMBERS, *PHONES, *HIDDEN_TEXT)
HIDDEN = "******"


def json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def shown(field: str, value: Any) -> Any:
    """A value as a revision shows it: ID and phone numbers masked, the cover's free text hidden,
    dates as ISO strings, None as None.

        shown("id_number", "11010519491231002X") -> "**************002X"
        shown("current_address", "呼家楼北街3号院") -> "******"
    """
    if value is None:
        return None
    if field in ID_NUMBERS:
        return mask_id_number(value)
    if field in PHONES:
        return mask_phone(value)
    if field in HIDDEN_TEXT:
        return HIDDEN
    return json_value(value)


def tracked(archive: Archive) -> dict[str, Any]:
    """The archive's tracked fields, JSON-ready."""
    return {column: json_value(getattr(archive, column)) for column in TRACKED}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {field: [before.get(field), value] for field, value in after.items() if before.get(field) != value}


def record(session: Session, archive: Archive, action: str, changes: dict[str, list[Any]], actor: Actor,
           reason: str | None = None) -> ArchiveRevision:
    """Write the archive's next revision (and bump its version) inside the caller's transaction."""
    archive.version = (archive.version or 0) + 1
    if action != CREATED:
        archive.updated_at = func.now()
    revision = ArchiveRevision(
        archive_no=archive.archive_no, revision=archive.version, action=action, reason=reason,
        changes=changes, actor_user=actor.user, actor_institution=actor.institution_code, actor_role=actor.role,
    )
    session.add(revision)
    return revision


def list_revisions(session: Session, archive_no: str) -> list[ArchiveRevision]:
    """The revisions of the archive `archive_no` is (or was) the number of, oldest first.

    A merged archive's number answers its own history, not the survivor's."""
    archive = aliases.find(session, archive_no, follow_merges=False)
    return list(session.scalars(sa.select(ArchiveRevision).where(ArchiveRevision.archive_no == archive.archive_no)
                                .order_by(ArchiveRevision.revision)))
