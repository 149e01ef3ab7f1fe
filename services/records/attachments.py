"""Files kept with an archive (四(五)): check reports, referral papers, scans of the paper archive.

An attachment is immutable: its bytes, their SHA-256, its type and who added it never change,
and it is never deleted; a mistake is marked entered-in-error with a reason (it stays listed,
with its status). Its content type is read from the bytes (PDF, JPEG or PNG), never taken from
the client's file name or headers, and its size is bounded (EHR_MAX_ATTACHMENT_BYTES, 5 MiB: a
file crosses RPC in base64 in one message, and the broker takes none over 8 MiB).

    add_attachment(session, archive, {"attachment_type": "check_report", "content": "JVBERi0x...",
                   "document_date": "2026-11-20", "source": "区医院检验科"}, actor, max_bytes)
        -> {"attachment_id": 12, "content_type": "application/pdf", "sha256": "9f86d0...", ...}

Where the bytes live: a `bytea` column of the records service's own database (table
`attachments`), not PostgreSQL large objects nor a directory. A row is written in the same
transaction as its metadata, so there is never a file without its row or a row without its file;
it is backed up, restored and replicated with the archive it belongs to (one `pg_dump`); the
service's least-privileged role reaches it through its ordinary table privileges (large objects
have their own ownership and per-object grants, and orphans need `vacuumlo`; a directory needs
its own backups, permissions and crash consistency with the rows). A bytea value may reach 1 GB;
ours are bounded at 5 MiB, stored out of line uncompressed (they are compressed formats), and a
list never reads them (the column is deferred). A trigger refuses deletes and changes to the file.

Attachments are entries of the archive's timeline (`timeline.list_records`, by the date the
document bears), and also a list of their own (`list_attachments`), each naming the record it
belongs to, if any.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.archive_no import archive_numbers
from shared.errors import InvalidTransition, NotFound, ValidationFailed

from services.records.entries import get_record
from services.records.models import Attachment, Record
from services.records.rules import ACTIVE, ENTERED_IN_ERROR, reason_given, require_writable

EXPORT_FORMAT = "ehr.archive-export/1"

# The first bytes of each accepted kind of file (its "magic number").
SIGNATURES = ((b"%PDF-", "application/pdf"), (b"\xff\xd8\xff", "image/jpeg"),
              (b"\x89PNG\r\n\x1a\n", "image/png"))


def sniff_content_type(data: bytes) -> str | None:
    """The content type the bytes themselves show (PDF, JPEG or PNG), or None for anything else:
    `sniff_content_type(b"%PDF-1.7...") -> "application/pdf"`; a text file named .pdf -> None."""
    return next((kind for magic, kind in SIGNATURES if data.startswith(magic)), None)


def decode_content(encoded: str, max_bytes: int) -> tuple[bytes, str]:
    """The file's bytes and content type, or a 400 naming `content`: not base64, empty, larger
    than `max_bytes`, or not a PDF, JPEG or PNG by its bytes."""
    if len(encoded) > (max_bytes + 2) // 3 * 4 + 4:  # refuse before decoding what is far too large
        raise ValidationFailed("attachment too large", {"content": [f"At most {max_bytes} bytes."]})
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("invalid attachment", {"content": ["Not valid base64."]}) from None
    if not data:
        raise ValidationFailed("invalid attachment", {"content": ["The file is empty."]})
    if len(data) > max_bytes:
        raise ValidationFailed("attachment too large", {"content": [f"At most {max_bytes} bytes."]})
    content_type = sniff_content_type(data)
    if content_type is None:
        raise ValidationFailed("unsupported file type", {"content": ["Must be a PDF, JPEG or PNG file."]})
    return data, content_type


def add_attachment(session: Session, archive: dict, payload: dict, actor: Actor, max_bytes: int) -> dict:
    """Keep a file with `archive` (which must take clinical writes), optionally under one of its
    records; `payload` as `AttachmentCreateSchema` loads it."""
    require_writable(archive)
    data, content_type = decode_content(payload["content"], max_bytes)
    record_id = payload.get("record_id")
    if record_id is not None:
        record = session.get(Record, record_id)
        if record is None or record.archive_no not in archive_numbers(archive):
            raise NotFound("no such record", {"record_id": record_id})
    institution = actor.institution_code or payload.get("institution_code")
    if not institution:
        raise ValidationFailed("who adds this", {"institution_code": ["Missing data for required field."]})
    attachment = Attachment(
        archive_no=archive["archive_no"], record_id=record_id, attachment_type=payload["attachment_type"],
        content_type=content_type, filename=payload.get("filename"), size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(), content=data, source=payload.get("source"),
        document_date=date.fromisoformat(payload["document_date"]), institution_code=institution, added_by=actor.user,
        added_at=datetime.now(timezone.utc), status=ACTIVE)
    session.add(attachment)
    session.commit()
    return attachment_view(attachment)


def list_attachments(session: Session, archive: dict) -> dict:
    """The archive's attachments (under any of its numbers), newest document first, without bytes."""
    rows = session.scalars(sa.select(Attachment).where(Attachment.archive_no.in_(archive_numbers(archive)))
                           .order_by(Attachment.document_date.desc(), Attachment.id.desc())).all()
    return {"items": [attachment_view(a) for a in rows]}


def get_attachment(session: Session, archive: dict, attachment_id: int) -> dict:
    """One attachment with its bytes (base64). One marked entered-in-error is still served, with
    its status: nothing kept is hidden from those who may read the archive, as for records."""
    attachment = _attachment(session, archive, attachment_id)
    return {**attachment_view(attachment), "content": base64.b64encode(attachment.content).decode("ascii")}


def mark_entered_in_error(session: Session, archive: dict, attachment_id: int, reason: str, actor: Actor) -> dict:
    """The attachment stays, listed, flagged as a mistake with who said so and why."""
    require_writable(archive)
    attachment = _attachment(session, archive, attachment_id, lock=True)
    if attachment.status == ENTERED_IN_ERROR:
        raise InvalidTransition("the attachment was already marked entered-in-error", {"status": attachment.status})
    attachment.status, attachment.status_reason = ENTERED_IN_ERROR, f"{actor.user}: {reason_given(reason)}"
    session.commit()
    return attachment_view(attachment)


def export_archive(session: Session, archive: dict, now: datetime | None = None) -> dict:
    """The resident's copy (`ehr.archive-export/1`): the archive, its records with every
    revision, and its attachments' metadata. The files are not in it: together they may pass
    what one message may carry (8 MiB), so the gateway fetches each (`get_attachment`) and puts
    it in the copy, except those marked entered-in-error (they may be somebody else's)."""
    record_ids = session.scalars(sa.select(Record.id).where(Record.archive_no.in_(archive_numbers(archive)))
                                 .order_by(Record.occurred_at, Record.id)).all()
    return {"format": EXPORT_FORMAT, "exported_at": (now or datetime.now(timezone.utc)).isoformat(),
            "archive": archive, "records": [get_record(session, r) for r in record_ids],
            "attachments": list_attachments(session, archive)["items"]}


def _attachment(session: Session, archive: dict, attachment_id: int, lock: bool = False) -> Attachment:
    stmt = sa.select(Attachment).where(Attachment.id == attachment_id)
    attachment = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if attachment is None or attachment.archive_no not in archive_numbers(archive):
        raise NotFound("no such attachment", {"attachment_id": attachment_id})
    return attachment


def attachment_view(a: Attachment) -> dict[str, Any]:
    """An attachment's metadata, without its bytes (`AttachmentSchema`)."""
    return {"attachment_id": a.id, "archive_no": a.archive_no, "record_id": a.record_id,
            "attachment_type": a.attachment_type, "content_type": a.content_type, "filename": a.filename,
            "size_bytes": a.size_bytes, "sha256": a.sha256, "source": a.source,
            "document_date": a.document_date.isoformat(), "institution_code": a.institution_code,
            "added_by": a.added_by, "added_at": a.added_at.isoformat(), "status": a.status,
            "status_reason": a.status_reason}
