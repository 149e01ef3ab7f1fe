"""The programmes service's tables: its read model of residents (from the registry's events), the
enrolments with their history, each enrolment's schedules (the computed due state the work list
reads with one indexed query), the service facts of records (from records' `record_changed`),
the suggestions to confirm, and the delivery bookkeeping (processed event ids, quarantine, outbox).

No name, ID or phone number is kept: an archive number, a village, an institution, a birth date,
a sex, a 常住类型 and a username are what eligibility and schedules need.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Identity, Index, Integer, String, Text, UniqueConstraint,
    func, text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.claims import processed_messages_table
from shared.db import new_metadata
from shared.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = new_metadata()


class Resident(Base):
    """A resident as the programmes know them, kept from the registry's events. `status` is
    `active`, `terminated` or `merged` (then `merged_into` is the surviving resident). A record
    may be heard of before its archive (`known` false until `archive_created` or a look-up)."""

    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    archive_no: Mapped[str] = mapped_column(String(17), unique=True)
    village_code: Mapped[str] = mapped_column(String(12))
    institution_code: Mapped[str | None] = mapped_column(String(22))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(2))
    residence_type: Mapped[str | None] = mapped_column(String(2))
    responsible_doctor: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), server_default=text("'active'"))
    merged_into: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("residents.id"))
    known: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        # The daily sweep walks the active residents by birth date (those turning 65).
        Index("ix_residents_active_birth_date", "birth_date", postgresql_where=text("status = 'active'")),
    )


class ResidentNumber(Base):
    """Every number a resident's archive has had (the current one, those before transfers): an
    event naming an old number still finds its resident."""

    __tablename__ = "resident_numbers"

    archive_no: Mapped[str] = mapped_column(String(17), primary_key=True)
    resident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("residents.id"), index=True)


class Enrolment(Base):
    """A resident's enrolment (纳入管理) in one programme: one row per resident and programme,
    ended and resumed in place; `EnrolmentEvent` keeps its history."""

    __tablename__ = "enrolments"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    resident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("residents.id"))
    programme: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), server_default=text("'active'"))
    enrolled_on: Mapped[date] = mapped_column(Date)
    institution_code: Mapped[str] = mapped_column(String(22))
    responsible_doctor: Mapped[str | None] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(20))
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(40))
    end_note: Mapped[str | None] = mapped_column(Text)
    # Set while the enrolment belongs to a surviving archive because of merge `merged_by`
    # (`moved_from`: the merged resident it came from), so that undoing the merge takes it back.
    merged_by: Mapped[int | None] = mapped_column(BigInteger)
    moved_from: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (UniqueConstraint("resident_id", "programme"),)


class EnrolmentEvent(Base):
    """One step of an enrolment's history: enrolled, ended, resumed, moved (a merge), moved_back
    (an unmerge), transferred; with the date, reason and who did it."""

    __tablename__ = "enrolment_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("enrolments.id"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    on_date: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    archive_no: Mapped[str] = mapped_column(String(17))
    institution_code: Mapped[str | None] = mapped_column(String(22))
    actor: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Schedule(Base):
    """One service an enrolment owes (`schedules.SCHEDULES`: a chronic follow-up, the elderly's
    annual check or TCM service) with its computed due state, and the columns the work list
    filters on copied from the enrolment and resident, so that a page is one indexed query.
    `active` is false while the enrolment is ended or the resident not active."""

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("enrolments.id"))
    service: Mapped[str] = mapped_column(String(30))
    programme: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    archive_no: Mapped[str] = mapped_column(String(17))
    village_code: Mapped[str] = mapped_column(String(12))
    institution_code: Mapped[str] = mapped_column(String(22))
    responsible_doctor: Mapped[str | None] = mapped_column(String(80))
    due_date: Mapped[date | None] = mapped_column(Date)
    due_reason: Mapped[str | None] = mapped_column(String(40))
    last_date: Mapped[date | None] = mapped_column(Date)
    last_record_id: Mapped[str | None] = mapped_column(String(64))
    last_face_to_face: Mapped[date | None] = mapped_column(Date)
    consecutive_unsatisfactory: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    urgent: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    urgent_triggers: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    urgent_record_id: Mapped[str | None] = mapped_column(String(64))
    announced_due: Mapped[date | None] = mapped_column(Date)       # the due date `follow_up_due` was told for
    announced_overdue: Mapped[date | None] = mapped_column(Date)   # the due date `follow_up_overdue` was told for
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("enrolment_id", "service"),
        Index("ix_schedules_institution_due", "institution_code", "due_date", "id", postgresql_where=text("active")),
        Index("ix_schedules_doctor_due", "responsible_doctor", "due_date", "id", postgresql_where=text("active")),
        Index("ix_schedules_village_due", "village_code", "due_date", "id",
              postgresql_ops={"village_code": "varchar_pattern_ops"}, postgresql_where=text("active")),
    )


class ServiceRecord(Base):
    """The programme facts of one record of a resident (`ProgrammeFactsSchema`), as its latest
    revision has them: what schedules are computed from. A hospital encounter is kept only when
    it carries urgent triggers (it flags the resident, it is no follow-up)."""

    __tablename__ = "service_records"

    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("residents.id"))
    record_type: Mapped[str] = mapped_column(String(40))
    revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), server_default=text("'active'"))
    programmes: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default=text("'{}'"))
    classifications: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    visit_date: Mapped[date] = mapped_column(Date)
    visit_method: Mapped[str | None] = mapped_column(String(2))
    next_visit_date: Mapped[date | None] = mapped_column(Date)
    referred: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    sbp: Mapped[int | None] = mapped_column(Integer)
    dbp: Mapped[int | None] = mapped_column(Integer)
    fbg: Mapped[float | None] = mapped_column(Float)
    urgent: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default=text("'{}'"))
    institution_code: Mapped[str | None] = mapped_column(String(22))
    announced_referrals: Mapped[list[str]] = mapped_column(ARRAY(String(60)), server_default=text("'{}'"))
    merged_by: Mapped[int | None] = mapped_column(BigInteger)
    moved_from: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_service_records_resident_date", "resident_id", "visit_date"),)


class Suggestion(Base):
    """A resident the records suggest for a programme (a hospital diagnosis, a 健康体检表's
    readings), on the managing institution's list to confirm: `open` until confirmed (enrolled)
    or dismissed (with a reason); at most one open per resident and programme."""

    __tablename__ = "suggestions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    resident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("residents.id"))
    programme: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), server_default=text("'open'"))
    evidence: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dismiss_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ux_suggestions_open", "resident_id", "programme", unique=True,
              postgresql_where=text("status = 'open'")),
    )


class QuarantinedEvent(Base):
    """An event this service would not act on (unsigned, not an `ehr.event/1`, dead-lettered),
    kept with the reason and field errors. The suite's events carry no identifying data, so the
    body of a signed one is kept as it came; an unsigned one's is not (anyone could have written it)."""

    __tablename__ = "quarantined_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    queue: Mapped[str] = mapped_column(String(128))
    routing_key: Mapped[str | None] = mapped_column(String(255))
    message_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(40))
    errors: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    body: Mapped[str | None] = mapped_column(Text)   # none for an unsigned one: anyone could have put anything in it
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


processed_messages = processed_messages_table(Base.metadata)
outbox = outbox_table(Base.metadata)
