"""The records service's tables: archive contents, their revisions, and the delivery bookkeeping
(processed message ids, quarantine, pending encounters, outbox)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger, Date, DateTime, ForeignKey, Identity, Index, Integer, LargeBinary, String, Text, UniqueConstraint, func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.claims import processed_messages_table
from shared.db import new_metadata
from shared.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = new_metadata()


class Record(Base):
    """One record in an archive; its content lives in revisions, the current one is pointed at."""

    __tablename__ = "records"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    archive_no: Mapped[str] = mapped_column(String(17))
    record_type: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), server_default=text("'active'"))
    status_reason: Mapped[str | None] = mapped_column(Text)
    institution_code: Mapped[str] = mapped_column(String(22))
    source_system: Mapped[str | None] = mapped_column(String(64))
    source_record_id: Mapped[str | None] = mapped_column(String(128))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    current_revision: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    current_source_version: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # Blind index of the patient's identity document (hospital records): decides where a record
    # belongs when the registry undoes a merge.
    identity_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Why a filing waits for a clinician's look (`hospital_outside_county`), None once cleared
    # or when nothing was odd; `reviewed_by` says who cleared it.
    review: Mapped[str | None] = mapped_column(String(40), index=True)
    # What the review is about, when the flag alone does not say (`insurance_type_differs`: the
    # settlement's insurance type and the form's payment methods).
    review_details: Mapped[dict | None] = mapped_column(JSONB(none_as_null=True))
    reviewed_by: Mapped[str | None] = mapped_column(String(80))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("institution_code", "source_record_id", "kind"),
        Index("ix_records_archive_timeline", "archive_no", "occurred_at"),
    )


class RecordRevision(Base):
    """An immutable version of a record's content: who, from where, when."""

    __tablename__ = "record_revisions"

    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_version: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    content: Mapped[dict] = mapped_column(JSONB)
    origin: Mapped[str] = mapped_column(String(20))  # hospital_message | form | import | referral | insurance
    author: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text)  # why this revision was made (amendments)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ProcessedMessage(Base):
    """Idempotency keys of consumed messages, written in the transaction of their effect
    (`shared.claims`): `encounter:<institution>` + message id, `registry` + event id."""

    __table__ = processed_messages_table(Base.metadata)


class QuarantinedMessage(Base):
    """A message that could not be processed, with the reason and its original bytes (encrypted)."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    queue: Mapped[str] = mapped_column(String(255))
    routing_key: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(40), index=True)
    details: Mapped[dict] = mapped_column(JSONB)
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    # The AMQP headers, sealed like the body (JSON). `headers` holds those of rows quarantined
    # before migration 0004, in plaintext, until `ehr keys reencrypt` seals them.
    headers_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    headers: Mapped[dict | None] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'held'"), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PendingEncounter(Base):
    """A valid partner message (a hospital encounter, an insurance settlement: `message_kind`)
    whose resident has no archive yet."""

    __tablename__ = "pending_encounters"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    message_kind: Mapped[str] = mapped_column(String(16), server_default=text("'encounter'"))
    institution_code: Mapped[str] = mapped_column(String(22))
    message_id: Mapped[str] = mapped_column(String(255))
    identity_key: Mapped[bytes | None] = mapped_column(LargeBinary, index=True)
    payload_enc: Mapped[bytes] = mapped_column(LargeBinary)
    candidates: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    filed_record_id: Mapped[str | None] = mapped_column(String(36))
    filed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # An operator's proposal of the archive, waiting for a clinician in that archive's scope.
    proposed_archive_no: Mapped[str | None] = mapped_column(String(17), index=True)
    proposed_by: Mapped[str | None] = mapped_column(String(80))
    proposed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Who filed it by hand, and the clinician who confirmed the match when that was someone else.
    linked_by: Mapped[str | None] = mapped_column(String(80))
    confirmed_by: Mapped[str | None] = mapped_column(String(80))


class ArchiveMerge(Base):
    """What this service knows of a registry merge; an unmerge that arrives first wins."""

    __tablename__ = "archive_merges"

    merge_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    surviving_archive_no: Mapped[str] = mapped_column(String(17))
    merged_archive_no: Mapped[str] = mapped_column(String(17))
    state: Mapped[str] = mapped_column(String(16))  # merged | unmerged
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RecordMove(Base):
    """Journal of records re-pointed by a merge, so that an unmerge can put them back."""

    __tablename__ = "record_moves"

    merge_id: Mapped[str] = mapped_column(ForeignKey("archive_merges.merge_id"), primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), primary_key=True)
    from_archive_no: Mapped[str] = mapped_column(String(17))
    to_archive_no: Mapped[str] = mapped_column(String(17))


class Attachment(Base):
    """A file kept with an archive (a check report, a referral paper, a scan of the paper archive):
    immutable, never deleted, only marked entered-in-error (`services.records.attachments`).
    The database refuses to change `content` or delete a row (migration 0007's trigger)."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    archive_no: Mapped[str] = mapped_column(String(17), index=True)
    record_id: Mapped[str | None] = mapped_column(ForeignKey("records.id"))
    attachment_type: Mapped[str] = mapped_column(String(20))   # check_report | referral | paper_scan | other
    content_type: Mapped[str] = mapped_column(String(40))      # from the bytes, never from the client
    filename: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    source: Mapped[str | None] = mapped_column(Text)           # who produced it: "区医院检验科"
    document_date: Mapped[date] = mapped_column(Date)
    institution_code: Mapped[str] = mapped_column(String(22))  # who added it
    added_by: Mapped[str] = mapped_column(String(80))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    status: Mapped[str] = mapped_column(String(20), server_default=text("'active'"))
    status_reason: Mapped[str | None] = mapped_column(Text)


outbox = outbox_table(Base.metadata)
processed_messages = ProcessedMessage.__table__
