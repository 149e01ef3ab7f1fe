"""Pending encounters: valid hospital encounters (and the insurer's settlements, `message_kind`
`settlement`: the same rules, `kinds`) whose resident has no archive yet, kept sealed
(`shared.pii`, bound to their kind, institution and message id) until their archive is known.

How one leaves the list, filed into its archive (`revisions.file_resolved`):

- the registry announces the archive (`archive_created`, see `registry_events`), or an ID number
  attached to it or corrected (`identity_updated`): every pending encounter of the resident's
  identity key is filed (`file_pending_for`);
- the sweep (`retry_pending`, every 30 s) asks the registry again, oldest checked first: the
  safety net behind `archive_created`, and how an encounter with only a card or an MRN is filed
  once the registry has learned it;
- by hand: an operator proposes the archive (`propose_link`), a clinician in that archive's scope
  links it (`link_pending`), and the registry learns the hospital's MRN from the confirmed match.

    list_pending(session)   -> {"items": [{"id": 7, "institution_code": "H1101050001", "age_seconds": 3600,
                                            "has_id_number": False, "proposed_archive_no": None, ...}], "next": None}
    link_pending(session, pii, 7, "11010500300100001", "doc01", learn=registry.link_identifier)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from typing import Any

from shared.delivery import Delivery
from shared.contracts.encounter import Encounter
from shared.errors import InvalidTransition, NotFound
from shared.paging import page_by_id
from shared.pii import PiiBox

from services.records.identities import patient_key
from services.records.kinds import ENCOUNTER, KINDS, MessageKind
from services.records.models import PendingEncounter
from services.records.revisions import DivisionLookup, file_resolved

log = logging.getLogger(__name__)

PENDING = PendingEncounter.__table__
# Where a pending encounter's ciphertext lives (`shared.pii`): its hospital and message id.
PENDING_SEALED_IN = "pending_encounters.payload_enc"

# The registry's `link_identifier(archive_no, kind, value, issuer, source=...)` -> its outcome.
LinkIdentifier = Callable[..., dict]


def pending_row_key(institution_code: str, message_id: str, kind: MessageKind = ENCOUNTER) -> str:
    """Where a pending payload is sealed: encounters as they always were, other kinds named."""
    key = f"{institution_code}/{message_id}"
    return key if kind is ENCOUNTER else f"{kind.name}:{key}"


def park(session: Session, pii: PiiBox, items: list[tuple[Any, str, Delivery]], kind: MessageKind = ENCOUNTER) -> int:
    """Keep these messages of `kind`, `(message, message_id, delivery)`, as pending, their original
    bytes sealed; in the caller's transaction. Returns how many."""
    rows = []
    for data, message_id, delivery in items:
        institution = kind.routed(data)[0]
        rows.append({
            "message_kind": kind.name,
            "institution_code": institution,
            "message_id": message_id,
            "identity_key": patient_key(pii, data),
            "payload_enc": pii.encrypt_bytes(delivery.body, PENDING_SEALED_IN,
                                             pending_row_key(institution, message_id, kind)),
        })
    if rows:
        session.connection().execute(PENDING.insert(), rows)
    return len(rows)


def kind_of(row: PendingEncounter) -> MessageKind:
    return KINDS[row.message_kind or ENCOUNTER.name]


def pending_encounter(pii: PiiBox, row: PendingEncounter) -> Any:
    """The message a pending row keeps (an `Encounter`, a `Settlement`), opened where it is sealed."""
    kind = kind_of(row)
    return kind.load(json.loads(pii.decrypt_bytes(
        row.payload_enc, PENDING_SEALED_IN, pending_row_key(row.institution_code, row.message_id, kind))))


def _filed(row: PendingEncounter, data: Any) -> None:
    row.status, row.filed_at = "filed", datetime.now(timezone.utc)
    row.filed_record_id = kind_of(row).record_id(data)


def _file(session: Session, pii: PiiBox, matched: list[tuple[PendingEncounter, Any, str]],
          divisions: DivisionLookup | None = None) -> int:
    """File pending messages whose archive is now known: (pending row, message, archive_no), each
    kind through its own rules (`kinds`).

    Encounters from hospitals outside the archive's county are flagged for review (`divisions`: see
    `rules.review_for`): registering a person's ID number files all their waiting encounters."""
    if not matched:
        return 0
    for kind in KINDS.values():
        mine = [(p, data, archive_no) for p, data, archive_no in matched if kind_of(p) is kind]
        if not mine:
            continue
        division_of = divisions({kind.routed(data)[0] for _, data, _ in mine}) if divisions else None
        file_resolved(session, pii, [(data, archive_no, p.message_id) for p, data, archive_no in mine],
                      division_of, kind)
    for p, data, _ in matched:
        _filed(p, data)
    return len(matched)


def file_pending_for(session: Session, pii: PiiBox, identity_keys: list[bytes], archive_no: str,
                     divisions: DivisionLookup | None = None) -> int:
    """File every pending encounter of these identities into `archive_no`; returns how many.

    Waits for rows another transaction holds (rather than skipping them), so none is missed."""
    if not identity_keys:
        return 0
    rows = session.scalars(
        sa.select(PendingEncounter)
        .where(PendingEncounter.identity_key.in_(identity_keys), PendingEncounter.status == "pending")
        .order_by(PendingEncounter.id)
        .with_for_update()
    ).all()
    return _file(session, pii, [(p, pending_encounter(pii, p), archive_no) for p in rows], divisions)


def retry_pending(session: Session, pii: PiiBox, resolve, limit: int = 500,
                  divisions: DivisionLookup | None = None) -> int:
    """Re-resolve the pending encounters checked longest ago and file those now matched; commits.

    The safety net behind `archive_created` and `identity_updated`: an encounter parked while its archive was being
    created (the event handled before the pending row was committed) is filed here, and so is one
    without an ID number whose card or MRN the registry has learned since (oldest checked first,
    so every pending encounter takes its turn)."""
    rows = session.scalars(
        sa.select(PendingEncounter)
        .where(PendingEncounter.status == "pending")
        .order_by(PendingEncounter.checked_at.asc().nulls_first(), PendingEncounter.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return 0
    payloads = [pending_encounter(pii, p) for p in rows]
    answers = resolve([kind_of(p).identity_query(e) for p, e in zip(rows, payloads)])
    now = datetime.now(timezone.utc)
    for p in rows:
        p.checked_at = now
    filed = _file(session, pii, [(p, d, a["archive_no"]) for p, d, a in zip(rows, payloads, answers) if a],
                  divisions)
    session.commit()
    return filed


# -- what operators and clinicians do ----------------------------------------------------------


def _view(p: PendingEncounter) -> dict:
    now = datetime.now(timezone.utc)
    return {
        "id": p.id, "message_kind": p.message_kind, "institution_code": p.institution_code,
        "message_id": p.message_id,
        "status": p.status, "received_at": p.received_at.isoformat(),
        "age_seconds": int((now - p.received_at).total_seconds()),
        "checked_at": p.checked_at.isoformat() if p.checked_at else None,
        "has_id_number": p.identity_key is not None, "candidates": p.candidates,
        "filed_record_id": p.filed_record_id,
        "proposed_archive_no": p.proposed_archive_no, "proposed_by": p.proposed_by,
        "proposed_at": p.proposed_at.isoformat() if p.proposed_at else None,
        "linked_by": p.linked_by, "confirmed_by": p.confirmed_by,
    }


def list_pending(session: Session, status: str | None = "pending", limit: int = 50,
                 cursor: str | None = None) -> dict:
    filters = [PendingEncounter.status == status] if status else []
    return page_by_id(session, PendingEncounter, filters, limit, cursor, _view)


def list_link_proposals(session: Session, prefix: str, limit: int = 50, cursor: str | None = None) -> dict:
    """Pending encounters an operator proposed to file into an archive numbered under `prefix`
    (a clinician's jurisdiction): what that clinician is asked to confirm (or not)."""
    filters = [PendingEncounter.status == "pending",
               PendingEncounter.proposed_archive_no.startswith(prefix, autoescape=True)]
    return page_by_id(session, PendingEncounter, filters, limit, cursor, _view)


def _pending(session: Session, pending_id: int) -> PendingEncounter:
    row = session.scalars(sa.select(PendingEncounter).where(PendingEncounter.id == pending_id)
                          .with_for_update()).first()
    if row is None:
        raise NotFound("no such pending encounter", {"id": pending_id})
    if row.status != "pending":
        raise InvalidTransition(f"this encounter was already {row.status}", {"status": row.status})
    return row


def propose_link(session: Session, pending_id: int, archive_no: str, operator: str) -> dict:
    """An operator proposes the archive a pending encounter belongs to; commits. Nothing is filed:
    a clinician in that archive's scope confirms it by linking (see `link_pending`)."""
    row = _pending(session, pending_id)
    row.proposed_archive_no, row.proposed_by = archive_no, operator[:80]
    row.proposed_at = datetime.now(timezone.utc)
    session.commit()
    return _view(row)


def link_pending(session: Session, pii: PiiBox, pending_id: int, archive_no: str, linked_by: str,
                 confirmed_by: str | None = None, learn: LinkIdentifier | None = None) -> dict:
    """File a pending encounter into an archive somebody identified; commits.

    Who may is the caller's rule (the gateway: a clinician with the archive in scope; `ehr pending
    link` on the server: the operator naming the clinician who confirmed, `confirmed_by`); both
    are kept on the row. The match is a confirmed one: when the message carried the hospital's
    MRN, it is then linked to the archive through `learn` (the registry's `link_identifier`), so
    that the hospital's next message with that MRN alone finds the archive. Learning is advisory:
    if the registry cannot be reached, or another archive holds the MRN (the registry marks the
    conflict and never re-points it), the encounter stays filed and a masked warning is logged."""
    row = _pending(session, pending_id)
    encounter = pending_encounter(pii, row)
    file_resolved(session, pii, [(encounter, archive_no, row.message_id)], kind=kind_of(row))
    _filed(row, encounter)
    row.linked_by, row.confirmed_by = linked_by[:80], confirmed_by[:80] if confirmed_by else None
    session.commit()
    log.info("pending encounter linked by hand", extra={
        "pending_id": pending_id, "archive_no": archive_no, "linked_by": row.linked_by,
        "confirmed_by": row.confirmed_by})
    if learn is not None and kind_of(row) is ENCOUNTER:
        _learn_mrn(learn, encounter, archive_no, pending_id)
    return _view(row)


def _learn_mrn(learn: LinkIdentifier, encounter: Encounter, archive_no: str, pending_id: int) -> None:
    mrn = (encounter.body.get("patient") or {}).get("mrn")
    if not isinstance(mrn, str) or not mrn.strip():
        return
    try:
        outcome = learn(archive_no, kind="mrn", value=mrn, issuer=encounter.institution_code,
                        source="learned_from_match")
    except Exception:  # noqa: BLE001 - the link stands; only the learning is lost
        log.warning("could not teach the registry the MRN of a linked encounter", exc_info=True,
                    extra={"pending_id": pending_id, "archive_no": archive_no})
        return
    if outcome.get("status") == "conflict":
        log.warning("the MRN of a linked encounter belongs to another archive; not re-pointed", extra={
            "pending_id": pending_id, "archive_no": archive_no, "held_by": outcome.get("held_by"),
            "issuer": outcome.get("issuer"), "identifier": outcome.get("value_masked")})
