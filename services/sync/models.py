"""The sync service's tables: the send queue (`documents`, one row per version of a standard
document, with what the platform answered), the records whose type has no document yet
(`not_buildable`), backfill runs, and the delivery bookkeeping (processed event ids, quarantine).

No name, ID or phone number is kept: a document is built at send time from what the registry
and records answer, sent, and forgotten; the queue keeps ids, codes, states and the platform's
reasons.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Identity, Index, Integer, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.claims import processed_messages_table
from shared.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class Document(Base):
    """One version of one document (`services.sync.queue` has the states and the order rules).

    `set_id` is stable for what the document is of (`archive:<archive_no as first documented>`,
    `record:<record_id>`), `version` counts from 1 per set, `replaces` is the document id of the
    version before (`<set_id>:v<n-1>`). `revision` is the record's revision this version
    documents (null for the archive's registration, built from the archive as it is at send
    time). `custodian` is the institution keeping the archive, known at the latest when sent.
    `state`: queued -> sent -> acknowledged, or rejected (with the platform's `reasons`), failed
    (a transport failure, queued again at `next_attempt_at`), held (for an operator) and
    cancelled (never sent: its record was entered in error).

    `action` is `submit` (the document, POSTed) or `withdraw`: the set's record was entered in
    error, and this row, the set's last (its version number is its place in the set, no document
    of its own), asks the platform to withdraw the document `withdraws` (DELETE), the set's latest
    acknowledged version as it stands when the row is sent."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    set_id: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    replaces: Mapped[str | None] = mapped_column(String(100))
    type_code: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(40))  # archive | the record's record_type
    archive_no: Mapped[str] = mapped_column(String(17))
    record_id: Mapped[str | None] = mapped_column(String(64))
    revision: Mapped[int | None] = mapped_column(Integer)
    custodian: Mapped[str | None] = mapped_column(String(22))
    cause: Mapped[str] = mapped_column(String(20))  # event | backfill | correction | resend
    state: Mapped[str] = mapped_column(String(16), server_default=text("'queued'"))
    action: Mapped[str] = mapped_column(String(16), default="submit", server_default=text("'submit'"))  # | withdraw
    withdraws: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    platform_id: Mapped[str | None] = mapped_column(String(128))
    reasons: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    last_error: Mapped[str | None] = mapped_column(String(200))
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("set_id", "version"),
        # The sender's walk: what is due, oldest first.
        Index("ix_documents_due", "next_attempt_at", "id", postgresql_where=text("state = 'queued'")),
        # The order rules: an archive's rows by age.
        Index("ix_documents_archive", "archive_no", "id"),
        Index("ix_documents_state", "state", "type_code"),
        Index("ix_documents_record", "record_id"),
    )


class NotBuildable(Base):
    """A record whose type has no standard document yet (listed for operators, never faked):
    the last revision heard of, and when."""

    __tablename__ = "not_buildable"

    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_type: Mapped[str] = mapped_column(String(40))
    archive_no: Mapped[str] = mapped_column(String(17))
    revision: Mapped[int] = mapped_column(Integer)
    noted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_not_buildable_type", "record_type"),)


class Backfill(Base):
    """A backfill run (`services.sync.backfill`): every archive of the suite walked village by
    village through the registry's RPC, and its records since `since` through records', queued
    once each; `position` is where the walk stands, so the run survives restarts and several
    workers (one advances it at a time, the row locked)."""

    __tablename__ = "backfills"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    since: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), server_default=text("'running'"))  # running | done
    position: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    counts: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    requested_by: Mapped[str] = mapped_column(String(80))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class QuarantinedMessage(Base):
    """An event this service would not act on (`schema_invalid`, `unauthenticated`,
    `dead_lettered`), with the reason and field errors."""

    __tablename__ = "quarantined_messages"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    queue: Mapped[str] = mapped_column(String(128))
    routing_key: Mapped[str | None] = mapped_column(String(255))
    message_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(40))
    errors: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


processed_messages = processed_messages_table(Base.metadata)
