"""The referrals service's tables: referrals (双向转诊) with their history, consultation requests
(会诊), the filings owed to the archive (the 转出单, 回转单 and 会诊记录表 the records service is
asked to file, kept until it has), and the delivery bookkeeping (processed message ids, the
quarantine of hospitals' answers and of events, the outbox).

No name, ID or phone number is kept: the archive number, institutions, usernames and the
clinical text of the forms. A hospital learns who the patient is through the gateway (the
referral opens the archive to it while it is open).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.claims import processed_messages_table
from shared.db import new_metadata
from shared.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = new_metadata()


class Referral(Base):
    """One referral (转出), from `from_institution_code` to `to_institution_code`, in `state`
    (`services.referrals.lifecycle`). `version` grows with every change: a change is made with the
    row locked and the version it was read at, so two racing answers leave one winner. `reason`
    holds the 转出单's 初步印象, 主要现病史, 主要既往史 and 治疗经过; `back_referral` the 回转单's
    诊断结果, 主要检查结果, 治疗经过 and 下一步治疗方案及康复建议; `trigger` what the follow-ups
    said (for a draft from `programmes.referral_suggested`)."""

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    archive_no: Mapped[str] = mapped_column(String(17))
    state: Mapped[str] = mapped_column(String(20))
    urgency: Mapped[str] = mapped_column(String(10), server_default=text("'routine'"))
    from_institution_code: Mapped[str] = mapped_column(String(22))
    from_doctor: Mapped[str | None] = mapped_column(String(80))
    to_institution_code: Mapped[str | None] = mapped_column(String(22))
    to_department: Mapped[str | None] = mapped_column(String(100))
    to_doctor: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    record_ids: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    trigger: Mapped[dict | None] = mapped_column(JSONB)
    back_referral: Mapped[dict | None] = mapped_column(JSONB)
    last_reason: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deadline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_referrals_to_state", "to_institution_code", "state", "id"),
        Index("ix_referrals_from_state", "from_institution_code", "state", "id"),
        Index("ix_referrals_archive", "archive_no", "state"),
        # The expiry sweep's walk: open requests by deadline.
        Index("ix_referrals_deadline", "deadline_at", postgresql_where=text("state = 'requested'")),
    )


class ReferralStep(Base):
    """One change of a referral: from which state to which, by which action, who (user and
    institution, or `system`), when and why; `message_id` when a hospital's message made it."""

    __tablename__ = "referral_history"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    referral_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("referrals.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(80))
    institution_code: Mapped[str | None] = mapped_column(String(22))
    reason: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Consultation(Base):
    """A consultation request (会诊): `requested` until answered (会诊意见, the consulting
    institution and doctor), then `answered`, and the 会诊记录表 is filed into the archive."""

    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    archive_no: Mapped[str] = mapped_column(String(17))
    state: Mapped[str] = mapped_column(String(20), server_default=text("'requested'"))
    from_institution_code: Mapped[str] = mapped_column(String(22))
    from_doctor: Mapped[str | None] = mapped_column(String(80))
    to_institution_code: Mapped[str] = mapped_column(String(22))
    to_doctor: Mapped[str | None] = mapped_column(String(80))
    question: Mapped[str] = mapped_column(Text)
    record_ids: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    opinion: Mapped[str | None] = mapped_column(Text)
    consultants: Mapped[list | None] = mapped_column(JSONB)
    answered_by: Mapped[str | None] = mapped_column(String(80))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_consultations_to_state", "to_institution_code", "state", "id"),
        Index("ix_consultations_from_state", "from_institution_code", "state", "id"),
    )


class Filing(Base):
    """A record owed to the archive (`referral_out`, `referral_back`, `consultation`), kept until
    the records service has filed it. `record_id` is chosen here, once, so asking again after a
    lost answer files nothing twice; `status` is `pending` until `filed`."""

    __tablename__ = "filings"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    subject: Mapped[str] = mapped_column(String(40))  # referral:7, consultation:3
    archive_no: Mapped[str] = mapped_column(String(17))
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(64), unique=True)
    institution_code: Mapped[str] = mapped_column(String(22))
    content: Mapped[dict] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20), server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    filed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_filings_pending", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )


class QuarantinedMessage(Base):
    """A hospital's answer or an event this service would not act on, with the reason and field
    errors (`not_json`, `schema_invalid`, `publisher_mismatch`, `not_the_receiver`, `unknown_referral`,
    `unauthenticated`, `dead_lettered`, ...). The body of what a hospital sent is kept (it names
    no person: referral ids, codes and clinical text); an unsigned event's is not. An operator sees
    it through `services.referrals.message_view` (codes shown, clinical text as its shape only)."""

    __tablename__ = "quarantined_messages"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    queue: Mapped[str] = mapped_column(String(128))
    routing_key: Mapped[str | None] = mapped_column(String(255))
    message_id: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(40))
    errors: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # `held` until an operator replays it (a hospital's answer, as it was or corrected) or discards
    # it (`services.referrals.quarantine`); the entry is kept either way, with who and when.
    status: Mapped[str] = mapped_column(String(20), server_default=text("'held'"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(80))


processed_messages = processed_messages_table(Base.metadata)
outbox = outbox_table(Base.metadata)
