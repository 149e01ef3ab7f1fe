"""The archive lifecycle: its statuses, the rules of each transition, and the events announcing them.

    active ──terminate──> terminated ──reactivate──> active    (not after death)
    active ──transfer accepted──> active, renumbered when the village changes
    active ──merge into another──> merged ──unmerge──> active

Plain rules over archives and transfers, raising the suite's domain errors; the use cases
(`identity_updates`, `termination`, `transfers`, `merges`) apply them in one transaction with
the change, its revision (`archive_revisions`) and its event (outbox).

Events, on exchange `ehr.events` with routing key `registry.<event_type>` and the `ehr.event/1`
envelope (`shared.contracts.events`: `EventSchema` and a payload schema per event, built by
`event_message` and read by `load_event`; its `actor` says who acted). Payloads (`data`) carry no
ID or phone number: `identity_keys` are hex blind indexes (HMAC-SHA256 under the suite's index
key) of ID numbers, the key hospital records carry too.

`archive_created` - an archive was created:

    {"archive_no": "11010510110100007", "village_code": "110105101101",
     "institution_code": "T1101051011", "identity_keys": ["9c1f...64 hex"]}

`identity_updated` - identity fields were corrected; `fields` names them, never their values;
`identity_keys` holds the blind index of the archive's ID number as it is now:

    {"archive_no": "11010510110100007", "fields": ["name", "phone"], "identity_keys": ["9c1f..."]}

`archive_terminated` - the archive was terminated (终止); `reason` is `death`, `migration_out` or
`loss_to_follow_up`, `date` the date of the death, move or loss:

    {"archive_no": "11010510110100007", "reason": "death", "date": "2026-11-20"}

`archive_reactivated` - a terminated archive (lost to follow-up, or migrated out and back) is
active again:

    {"archive_no": "11010510110100007"}

`archive_transferred` - a transfer inside the suite was accepted; the archive is now managed by
`institution_code` in `village_code`. When the village changed, the archive has a new number and
`former_archive_no` is the number it had (which still resolves to it); when only the institution
changed, the number is the same and `former_archive_no` is null:

    {"archive_no": "11010520110100012", "former_archive_no": "11010510110100007",
     "village_code": "110105201101", "institution_code": "T1101052011"}

`archives_merged` - `merged_archive_no` was found to be the same person as `archive_no` and was
merged into it: its number and its ID number now lead to `archive_no`. Re-point what belongs to
the merged archive to the survivor, remembering `merge_id` so it can be undone; records filed
from hospitals under `merged_identity_keys` belong to the merged person:

    {"merge_id": 42, "archive_no": "11010510110100003", "merged_archive_no": "11010510110100007",
     "merged_identity_keys": ["5be0..."]}

`archives_unmerged` - merge `merge_id` was undone: `restored_archive_no` is active again with its
own number and ID number. Move back to it what was re-pointed by that merge, and the records
written since that carry `restored_identity_keys`; what else was written to `archive_no` since
the merge stays there:

    {"merge_id": 42, "archive_no": "11010510110100003", "restored_archive_no": "11010510110100007",
     "restored_identity_keys": ["5be0..."]}
"""

from __future__ import annotations

from datetime import date

from shared.errors import InvalidTransition, ValidationFailed

from shared.contracts.registry import LOSS_TO_FOLLOW_UP, MIGRATION_OUT  # the reasons are part of the contract
from shared import clock

from services.registry.models import ACTIVE, MERGED, TERMINATED

# A lost resident may come back, and so may one who moved away; the dead may not.
REACTIVATABLE = (LOSS_TO_FOLLOW_UP, MIGRATION_OUT)

REQUESTED, ACCEPTED, REJECTED, CANCELLED = "requested", "accepted", "rejected", "cancelled"

STATUSES = (ACTIVE, TERMINATED, MERGED)


def require_status(archive, allowed: tuple[str, ...], doing: str) -> None:
    """Refuse with `InvalidTransition` unless the archive's status is one of `allowed`."""
    if archive.status not in allowed:
        raise InvalidTransition(f"cannot {doing} an archive that is {archive.status}",
                                {"archive_no": archive.archive_no, "status": archive.status})


def check_termination_date(day: date, birth_date: date, today: date | None = None) -> None:
    if day > (today or clock.today()):
        raise ValidationFailed("invalid termination", {"date": ["Must not be in the future."]})
    if day < birth_date:
        raise ValidationFailed("invalid termination", {"date": ["Must not be before the birth date."]})


def require_reactivatable(archive) -> None:
    require_status(archive, (TERMINATED,), "reactivate")
    if archive.termination_reason not in REACTIVATABLE:
        raise InvalidTransition(
            f"an archive terminated for {archive.termination_reason} cannot be reactivated",
            {"archive_no": archive.archive_no, "termination_reason": archive.termination_reason})


def require_open(transfer) -> None:
    if transfer.status != REQUESTED:
        raise InvalidTransition(f"the transfer is already {transfer.status}",
                                {"transfer_id": transfer.id, "status": transfer.status})
