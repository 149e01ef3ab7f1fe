"""Filing hospital encounters into archives: the hot path, one transaction per batch.

For a batch of deliveries from `ehr.encounters`:

1. parse each one: no larger than the bound (checked before the body is read), JSON, the
   `ehr.encounter/1` schema, a valid ID number consistent with the patient's sex and birth date,
   published by the broker account of the body's institution (`user_id`), a routing key that
   agrees with the body; failures become quarantine entries with a reason;
2. reject encounters from institutions the registry does not know, and resolve all residents at
   once through the registry, by their exact identifiers (ID number, health and insurance cards,
   the sending hospital's MRN: `identity_query`). Both ask the registry before the transaction
   begins, so no lock is held while it answers;
3. claim each message's idempotency key (publishing institution + `message_id`) in
   `processed_messages`; a key already there means a repeat delivery, which changes nothing;
4. quarantine the rejected; file the matched encounters as records (a new record, or a new
   revision of the same hospital record), park the rest as pending; a record filed from a
   hospital outside the archive's county is flagged for a clinician's review (`review_for`);
5. stage one archive update per filed revision in the outbox;

and commit once. The caller acknowledges the batch only after that commit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from shared.delivery import Delivery
from shared.contracts.archive_update import archive_update
from shared.config import DEFAULT_MAX_ENCOUNTER_BYTES
from shared.contracts.encounter import Encounter, InvalidEncounter, load_encounter
from shared.messaging import BrokerAccounts
from shared.identity import identity_namespace
from shared.outbox import OutboxMessage, stage
from shared.pii import PiiBox

from services.records.models import PendingEncounter, ProcessedMessage, QuarantinedMessage, Record, RecordRevision, outbox

log = logging.getLogger(__name__)

ENCOUNTER_QUEUE = "records.encounters"
HOSPITAL_ENCOUNTER = "hospital_encounter"
RECORD_NAMESPACE = uuid.UUID("6f1c2d0e-6b0a-4f47-9a51-3f1d2a7c9e10")


# Core statements, compiled once and run as executemany: the ORM's bulk path and a fresh
# multi-VALUES statement per batch cost more than the inserts themselves on the hot path.
RECORDS, REVISIONS = Record.__table__, RecordRevision.__table__
QUARANTINE, PENDING = QuarantinedMessage.__table__, PendingEncounter.__table__
_CLAIM = pg_insert(ProcessedMessage.__table__).on_conflict_do_nothing().returning(
    ProcessedMessage.__table__.c.source, ProcessedMessage.__table__.c.message_id)
_CREATE_RECORD = pg_insert(RECORDS).on_conflict_do_nothing(index_elements=["id"]).returning(RECORDS.c.id)

# What a resolver answers for each identity query: the archive, or None.
Resolver = Callable[[list[dict[str, Any]]], list[dict[str, Any] | None]]
InstitutionCheck = Callable[[set[str]], set[str]]
# Institution code -> its division code (the registry's institutions), for the codes asked about.
DivisionLookup = Callable[[set[str]], Mapping[str, str | None]]

OUTSIDE_COUNTY = "hospital_outside_county"


def review_for(archive_no: str, division_code: str | None) -> str | None:
    """Why a hospital's filing into `archive_no` needs a clinician's look, or None.

    Residents are treated near home: an encounter from a hospital in another county (the first 6
    digits of its division code against the archive number's) is filed, since it may be the
    resident's, but it is also how somebody who registers another person's ID number in their own
    village would collect that person's hospital records. A hospital whose division is unknown
    raises no flag.

        review_for("11010500300100001", "110105")   -> None
        review_for("11010500300100001", "330102")   -> "hospital_outside_county"
    """
    if not division_code or len(division_code) < 6 or archive_no[:6] == division_code[:6]:
        return None
    return OUTSIDE_COUNTY


@dataclass
class Incoming:
    delivery: Delivery
    key: tuple[str, str]
    data: Encounter | None = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def reject(self, reason: str, details: dict[str, Any]) -> None:
        self.data, self.reason, self.details = None, reason, details


@dataclass(frozen=True)
class Intake:
    """What is checked of a hospital message before its content is trusted: its size, before the
    body is parsed (a few huge bodies must not exhaust a worker), and the broker account that
    published it, which must be the account of the body's institution (`BrokerAccounts`).

        Intake(BrokerAccounts(internal="guest"), max_bytes=256 * 1024)
    """

    accounts: BrokerAccounts
    max_bytes: int = DEFAULT_MAX_ENCOUNTER_BYTES


@dataclass
class FilingOutcome:
    filed: int = 0
    amended: int = 0
    pending: int = 0
    quarantined: int = 0
    duplicates: int = 0


def record_id_for(institution_code: str, source_record_id: str, kind: str) -> str:
    """Deterministic: the same hospital record always maps to the same record id."""
    return str(uuid.uuid5(RECORD_NAMESPACE, f"{institution_code}|{source_record_id}|{kind}"))


_INSTITUTION = re.compile(r"[A-Za-z0-9]{4,22}")


def usable_message_id(message_id: str | None) -> bool:
    return bool(message_id) and len(message_id) <= 255 and "\x00" not in message_id


def parse_delivery(delivery: Delivery, intake: Intake) -> Incoming:
    parts = delivery.routing_key.split(".")
    routed_institution = parts[1] if len(parts) == 3 and parts[0] == "encounter" else "?"
    if not _INSTITUTION.fullmatch(routed_institution):
        routed_institution = "?"  # it cannot match the body's, so the message is quarantined
    if not usable_message_id(delivery.message_id):
        digest = hashlib.sha256(delivery.body).hexdigest()
        incoming = Incoming(delivery, ("?", f"sha256:{digest}"))
        incoming.reject("missing_message_id", {"message_id": [
            "The AMQP message_id property must be set: 1 to 255 characters, no NUL."]})
        return incoming
    incoming = Incoming(delivery, (routed_institution, delivery.message_id))
    if len(delivery.body) > intake.max_bytes:
        incoming.reject("too_large", {"_body": [f"Longer than maximum length {intake.max_bytes} bytes."]})
        return incoming
    try:
        body = json.loads(delivery.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        incoming.reject("not_json", {"_body": [f"Not valid UTF-8 JSON: {type(exc).__name__}."]})
        return incoming
    if not isinstance(body, dict):
        incoming.reject("schema_invalid", {"_body": ["Must be a JSON object."]})
        return incoming
    try:
        data = load_encounter(body, raw=delivery.body)
    except InvalidEncounter as exc:
        incoming.reject(exc.reason, exc.errors)
        return incoming
    if not intake.accounts.may_publish_for(delivery.user_id, data.institution_code):
        published_by = f"published by {delivery.user_id!r}" if delivery.user_id else "not set"
        incoming.reject("publisher_mismatch", {"_user_id": [
            f"Must be the broker account of source.institution_code ({published_by})."]})
        return incoming
    if routed_institution != data.institution_code or parts[2] != data.kind:
        incoming.reject("routing_mismatch", {"_routing_key": [
            "Must be encounter.<source.institution_code>.<encounter.kind> of the body."]})
        return incoming
    incoming.data = data
    return incoming


def _claim(session: Session, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Record idempotency keys; returns those not seen before (this transaction owns them)."""
    if not keys:
        return set()
    rows = [{"source": f"encounter:{inst}", "message_id": mid} for inst, mid in keys]
    return {(src.split(":", 1)[1], mid) for src, mid in session.connection().execute(_CLAIM, rows)}


def _text(value: str | None, limit: int = 255) -> str | None:
    """What PostgreSQL text can hold: no NUL, bounded (the original bytes are kept anyway)."""
    return None if value is None else value.replace("\x00", "\\0")[:limit]


# Where the records service's ciphertexts live (`shared.pii` binds each to its table, column and
# row): a quarantined message to its id (drawn from the table's sequence before the insert), a
# pending encounter to its hospital and message id (`pending_row_key`).
QUARANTINE_SEALED_IN = "quarantine.body_enc"
HEADERS_SEALED_IN = "quarantine.headers_enc"
PENDING_SEALED_IN = "pending_encounters.payload_enc"


def pending_row_key(institution_code: str, message_id: str) -> str:
    return f"{institution_code}/{message_id}"


def quarantine_rows(session: Session, pii: PiiBox, queue: str, items: list[tuple[Delivery, str, dict]]) -> list[dict]:
    """The quarantine rows of `items` (delivery, reason, field errors), with their ids."""
    sequence = sa.func.pg_get_serial_sequence(QUARANTINE.name, "id")
    ids = session.connection().scalars(
        sa.select(sa.func.nextval(sequence)).select_from(sa.func.generate_series(1, len(items)))).all()
    return [
        {
            "id": row_id,
            "queue": queue,
            "routing_key": _text(d.routing_key),
            "message_id": _text(d.message_id),
            "reason": reason,
            "details": details,
            "body_enc": pii.encrypt_bytes(d.body, QUARANTINE_SEALED_IN, str(row_id)),
            "headers_enc": seal_headers(pii, d.headers, row_id),
        }
        for row_id, (d, reason, details) in zip(ids, items)
    ]


def seal_headers(pii: PiiBox, headers: dict | None, row_id: int) -> bytes:
    """A message's AMQP headers, sealed like its body (and bound to its row): a publisher may put
    anything in them."""
    return pii.encrypt_bytes(json.dumps(headers or {}, default=str, ensure_ascii=False).encode(),
                             HEADERS_SEALED_IN, str(row_id))


def quarantined_body(pii: PiiBox, row: QuarantinedMessage) -> bytes:
    """The original bytes of a quarantined message, opened where they are sealed (its row)."""
    return pii.decrypt_bytes(row.body_enc, QUARANTINE_SEALED_IN, str(row.id))


def pending_encounter(pii: PiiBox, row: PendingEncounter) -> Encounter:
    """The encounter a pending row keeps, opened where it is sealed (its hospital and message id)."""
    return load_encounter(json.loads(pii.decrypt_bytes(
        row.payload_enc, PENDING_SEALED_IN, pending_row_key(row.institution_code, row.message_id))))


def headers_of(pii: PiiBox, row: QuarantinedMessage) -> dict:
    """The headers of a quarantined message: sealed, or in plaintext on rows quarantined before
    migration 0004 that `ehr keys reencrypt` has not sealed yet."""
    if row.headers_enc is not None:
        return json.loads(pii.decrypt_bytes(row.headers_enc, HEADERS_SEALED_IN, str(row.id)))
    return row.headers or {}


def file_encounters(session: Session, pii: PiiBox, deliveries: list[Delivery],
                    resolve: Resolver, known_institutions: InstitutionCheck, intake: Intake,
                    divisions: DivisionLookup | None = None) -> FilingOutcome:
    """File one batch; commits. See the module docstring for the steps."""
    outcome = FilingOutcome()
    incoming: dict[tuple[str, str], Incoming] = {}
    for delivery in deliveries:
        item = parse_delivery(delivery, intake)
        if item.key in incoming:
            outcome.duplicates += 1
        else:
            incoming[item.key] = item

    # Ask the registry first, before the transaction takes its first lock: a slow or restarting
    # registry then holds no connection and no claimed key that a redelivered copy would wait on.
    items = list(incoming.values())
    institutions = {i.data.institution_code for i in items if i.data}
    known = known_institutions(institutions) if institutions else set()
    for item in items:
        if item.data and item.data.institution_code not in known:
            item.reject("unknown_institution", {"source": {"institution_code": ["Unknown institution."]}})
    valid = [i for i in items if i.data is not None]
    division_of = divisions(institutions) if divisions and institutions else {}
    answers = dict(zip([i.key for i in valid], resolve([identity_query(i.data) for i in valid]))) if valid else {}

    fresh = _claim(session, list(incoming))
    outcome.duplicates += len(incoming) - len(fresh)
    items = [item for item in items if item.key in fresh]

    rejected = [(i.delivery, i.reason, i.details) for i in items if i.data is None]
    if rejected:
        session.connection().execute(QUARANTINE.insert(), quarantine_rows(session, pii, ENCOUNTER_QUEUE, rejected))
        outcome.quarantined = len(rejected)

    matched, unmatched = [], []
    for item in items:
        if item.data is None:
            continue
        answer = answers[item.key]
        if answer is None:
            unmatched.append(item)
        else:
            matched.append((item.data, answer["archive_no"], item.key[1]))

    filed, amended = file_resolved(session, pii, matched, division_of)
    outcome.filed, outcome.amended = filed, amended
    if unmatched:
        park_pending(session, pii, unmatched)
        outcome.pending = len(unmatched)
    session.commit()
    return outcome


def park_pending(session: Session, pii: PiiBox, items: list[Incoming]) -> None:
    rows = []
    for item in items:
        encounter = item.data
        rows.append({
            "institution_code": encounter.institution_code,
            "message_id": item.key[1],
            "identity_key": identity_key(pii, encounter),
            "payload_enc": pii.encrypt_bytes(item.delivery.body, PENDING_SEALED_IN,
                                             pending_row_key(encounter.institution_code, item.key[1])),
        })
    session.connection().execute(PENDING.insert(), rows)


def update_message(record_id: str, record: dict, action: str, revision: int, update_id: str | None = None,
                   former_archive_no: str | None = None) -> OutboxMessage:
    """The `ehr.archive-update/1` announcing one filed revision (identifiers only); a `moved` one
    names the archive the record left (`former_archive_no`) and has its own `update_id`."""
    update = {
        "update_id": update_id or str(uuid.uuid5(RECORD_NAMESPACE, f"{record_id}#{revision}")),
        "archive_no": record["archive_no"],
        "record_id": record_id,
        "record_type": record["record_type"],
        "kind": record["kind"],
        "action": action,
        "revision": revision,
        "occurred_at": record["occurred_at"],
        "recorded_at": datetime.now(timezone.utc),
        "source": {"institution_code": record["institution_code"], "record_id": record["source_record_id"]},
    }
    if former_archive_no is not None:
        update["former_archive_no"] = former_archive_no
    return archive_update(update)


def identity_query(encounter: Encounter) -> dict[str, Any]:
    """What the registry finds the patient's archive by (`resolve_identities`): the exact
    identifiers the message carries, the institution that sent it (which issued the MRN), and the
    sex and birth date by which the registry notices a card or MRN naming somebody else."""
    patient = encounter.body.get("patient") or {}
    return {"id_type": encounter.id_type, "id_number": encounter.id_number,
            "health_card_no": patient.get("health_card_no"), "insurance_card_no": patient.get("insurance_card_no"),
            "mrn": patient.get("mrn"), "institution_code": encounter.institution_code,
            "sex": patient.get("sex"), "birth_date": patient.get("birth_date")}


def identity_key(pii: PiiBox, encounter: Encounter) -> bytes | None:
    """The blind index of the patient's identity document: the key the registry's events use."""
    if not encounter.id_number:
        return None
    return pii.blind_index(identity_namespace(encounter.id_type), encounter.id_number)


def file_resolved(session: Session, pii: PiiBox, items: list[tuple[Encounter, str, str]],
                  division_of: Mapping[str, str | None] | None = None) -> tuple[int, int]:
    """File validated encounters whose archive is known: `(encounter, archive_no, message_id)`.

    The first message of a hospital record creates it; later ones add revisions, and the
    revision with the highest `source.version` (the latest arrival on a tie) is current, so
    arrival order does not change the result. With `division_of` (institution code -> division
    code), a record filed from a hospital outside the archive's county is flagged for review
    (`review_for`). Returns (records created, revisions added).
    """
    if not items:
        return 0, 0
    firsts: dict[str, dict] = {}
    later: list[tuple[str, dict]] = []
    for enc, archive_no, message_id in items:
        rid = record_id_for(enc.institution_code, enc.record_id, enc.kind)
        row = {
            "record": {
                "id": rid, "archive_no": archive_no, "record_type": HOSPITAL_ENCOUNTER, "kind": enc.kind,
                "institution_code": enc.institution_code, "source_system": enc.system,
                "source_record_id": enc.record_id, "occurred_at": enc.started_at,
                "current_source_version": enc.version, "identity_key": identity_key(pii, enc),
                "review": review_for(archive_no, (division_of or {}).get(enc.institution_code)),
            },
            "revision": {
                "record_id": rid, "source_version": enc.version, "content": enc.content,
                "origin": "hospital_message", "author": f"{enc.institution_code}/{enc.system or 'HIS'}",
                "message_id": message_id,
            },
        }
        if rid in firsts:
            later.append((rid, row))
        else:
            firsts[rid] = row

    conn = session.connection()
    created = set(conn.execute(_CREATE_RECORD, [r["record"] for r in firsts.values()]).scalars())
    revisions, updates = [], []
    for rid, row in firsts.items():
        if rid in created:
            revisions.append({**row["revision"], "revision": 1})
            updates.append(update_message(rid, row["record"], "filed", 1))
        else:
            later.append((rid, row))
    if revisions:
        conn.execute(REVISIONS.insert(), revisions)
    for rid, row in later:
        updates.append(_add_revision(session, rid, row))
    stage(session, outbox, updates)
    for row in firsts.values():
        record = row["record"]
        if record["review"] and record["id"] in created:
            log.warning("hospital encounter filed from outside the archive's county; flagged for review", extra={
                "record_id": record["id"], "archive_no": record["archive_no"],
                "institution_code": record["institution_code"], "review": record["review"]})
    return len(created), len(later)


def _add_revision(session: Session, rid: str, row: dict) -> OutboxMessage:
    record = session.execute(sa.select(Record).where(Record.id == rid).with_for_update()).scalar_one()
    revision = (session.scalar(
        sa.select(sa.func.max(RecordRevision.revision)).where(RecordRevision.record_id == rid)) or 0) + 1
    session.connection().execute(REVISIONS.insert(), [{**row["revision"], "revision": revision}])
    incoming_version = row["revision"]["source_version"]
    if incoming_version >= record.current_source_version:
        record.current_revision = revision
        record.current_source_version = incoming_version
        if row["record"]["review"] and record.archive_no != row["record"]["archive_no"]:
            # the hospital record now goes to another archive, far from the hospital: look again
            record.review, record.reviewed_by, record.reviewed_at = row["record"]["review"], None, None
        record.archive_no = row["record"]["archive_no"]
        record.occurred_at = row["record"]["occurred_at"]
        record.updated_at = sa.func.now()
    session.flush()
    return update_message(rid, {**row["record"], "archive_no": record.archive_no}, "amended", revision)
