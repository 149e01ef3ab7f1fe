"""The registry's tables: the master resident index, archive numbers, divisions, institutions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import new_metadata
from shared.outbox import outbox_table


ACTIVE = "active"  # the status of an archive in use; terminated and merged ones keep their row


class Base(DeclarativeBase):
    metadata = new_metadata()


class Division(Base):
    """An administrative division: county (6 digits), township (9) or village (12)."""

    __tablename__ = "divisions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))  # county | township | village
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("divisions.code"), index=True)


class Institution(Base):
    """A health institution: township centre, community centre, village clinic, hospital, ..."""

    __tablename__ = "institutions"

    code: Mapped[str] = mapped_column(String(22), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("institutions.code"))


class ArchiveSerial(Base):
    """The last serial handed out in one village; its row lock serialises allocation there."""

    __tablename__ = "archive_serials"

    village_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer)


class Archive(Base):
    """One resident's archive and identity. ID and phone numbers only as ciphertext + blind index."""

    __tablename__ = "archives"

    archive_no: Mapped[str] = mapped_column(String(17), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'active'"))
    name: Mapped[str] = mapped_column(String(64))
    name_pinyin: Mapped[str] = mapped_column(String(200))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    id_type: Mapped[str | None] = mapped_column(String(2))
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_index: Mapped[bytes | None] = mapped_column(LargeBinary, unique=True)
    id_number_masked: Mapped[str | None] = mapped_column(String(32))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_index: Mapped[bytes | None] = mapped_column(LargeBinary, index=True)
    village_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    institution_code: Mapped[str] = mapped_column(ForeignKey("institutions.code"), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))

    __table_args__ = (
        Index("ix_archives_name_birth", "name", "birth_date"),
        # Identity resolution blocks on birth date, pinyin and phone (each arm its own index);
        # search matches name and pinyin by prefix, which a default-collation btree cannot serve
        # unless the database collation is C, hence the pattern operator class.
        Index("ix_archives_birth_date", "birth_date"),
        Index("ix_archives_name_pattern", "name", postgresql_ops={"name": "varchar_pattern_ops"}),
        Index("ix_archives_name_pinyin_pattern", "name_pinyin",
              postgresql_ops={"name_pinyin": "varchar_pattern_ops"}),
        # Search by status alone walks this in archive-number order, like its keyset pages.
        Index("ix_archives_status_archive_no", "status", "archive_no"),
    )


outbox = outbox_table(Base.metadata)
