"""The registry's tables: the master resident index, archive numbers, divisions, institutions,
the archive lifecycle (revisions, transfers, aliases of former numbers, the merge journal), and
residents' other identifiers (health and insurance cards, hospitals' MRNs).

An archive's primary key is its *current* number: a transfer to another village re-keys the row,
and every table that refers to an archive does so with `ON UPDATE CASCADE`, so it follows.
The numbers an archive had before, and the numbers of archives merged into it, are kept in
`archive_aliases` and still lead to it (`services.registry.aliases`).
"""

from __future__ import annotations

from datetime import date, datetime

from typing import Any

from sqlalchemy import (
    BigInteger, Date, DateTime, ForeignKey, Identity, Index, Integer, LargeBinary, String, Text,
    UniqueConstraint, func, text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import new_metadata
from shared.outbox import outbox_table


ACTIVE = "active"  # the status of an archive in use; terminated and merged ones keep their row
TERMINATED = "terminated"
MERGED = "merged"

# Referring to an archive by its number: follow the number when a transfer changes it.
FOLLOWS_ARCHIVE = {"onupdate": "CASCADE"}


class Base(DeclarativeBase):
    metadata = new_metadata()


class Division(Base):
    """An administrative division: county (6 digits), township (9) or village (12)."""

    __tablename__ = "divisions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))  # county | township | village
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("divisions.code"), index=True)
    population: Mapped[int | None] = mapped_column(Integer)  # 常住人口, from the reference data (0011)


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
    """One resident's archive and identity. ID and phone numbers only as ciphertext + blind index
    (an archive may have no ID number yet: a newborn's); addresses, employer, contact and a
    guardian's ID number only as ciphertext;
    the masked ID number that readers see is derived from the ciphertext when it is read, never
    stored (`usecases.masked_id_number`)."""

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
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_index: Mapped[bytes | None] = mapped_column(LargeBinary, index=True)
    village_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    institution_code: Mapped[str] = mapped_column(ForeignKey("institutions.code"), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    # Termination (终止): reason death | migration_out | loss_to_follow_up, with its date and the
    # facts the form asks for: the cause of death; the destination and the handover record of a
    # migration; why a resident was lost. Cleared on reactivation (the revisions keep them).
    termination_reason: Mapped[str | None] = mapped_column(String(32))
    termination_date: Mapped[date | None] = mapped_column(Date)
    termination_cause: Mapped[str | None] = mapped_column(Text)
    termination_destination: Mapped[str | None] = mapped_column(Text)
    termination_handover: Mapped[str | None] = mapped_column(Text)
    termination_note: Mapped[str | None] = mapped_column(Text)
    merged_into: Mapped[str | None] = mapped_column(
        ForeignKey("archives.archive_no", **FOLLOWS_ARCHIVE), index=True)
    # Who the resident is (个人基本信息表 header): 常住类型, 民族 (99 with the minority's name).
    residence_type: Mapped[str | None] = mapped_column(String(1))
    ethnicity: Mapped[str | None] = mapped_column(String(2))
    ethnicity_name: Mapped[str | None] = mapped_column(String(20))
    # How the archive was built (shared.codes.ArchiveSource), the resident's consent or refusal and
    # its date, and 建档日期: the archive's own date (a paper archive entered later keeps its day),
    # not `created_at`.
    archive_source: Mapped[str | None] = mapped_column(String(1))
    consent: Mapped[str | None] = mapped_column(String(8))
    consent_date: Mapped[date | None] = mapped_column(Date)
    archive_date: Mapped[date] = mapped_column(Date, server_default=text("CURRENT_DATE"))
    # The cover (封面): 责任医生, a gateway username of the managing institution; 现住址 and 户籍地址,
    # and the form's 工作单位, 联系人姓名, 联系人电话: personal data, sealed like the phone
    # (`keys.SEALED_COLUMNS`, bound to the archive's number).
    responsible_doctor: Mapped[str | None] = mapped_column(String(64))
    current_address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    registered_address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    employer_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    contact_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    contact_phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # A newborn's archive, created before the child has an ID number, names a guardian: an archive
    # or an ID number (sealed). The 出生医学证明编号 is an identifier (`resident_identifiers`).
    guardian_archive_no: Mapped[str | None] = mapped_column(
        ForeignKey("archives.archive_no", **FOLLOWS_ARCHIVE), index=True)
    guardian_id_type: Mapped[str | None] = mapped_column(String(2))
    guardian_id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    __table_args__ = (
        Index("ix_archives_name_birth", "name", "birth_date"),
        # Search by residence type walks this in archive-number order, like its keyset pages.
        Index("ix_archives_residence_type_archive_no", "residence_type", "archive_no"),
        # Identity resolution blocks on birth date, pinyin and phone (each arm its own index);
        # search matches name and pinyin by prefix and pages in that order: a btree of the
        # column in the C collation serves both (queries say `COLLATE "C"` to use it), whatever
        # the database's collation.
        Index("ix_archives_birth_date", "birth_date"),
        Index("ix_archives_name_order", text('(name COLLATE "C")'), "archive_no"),
        Index("ix_archives_name_pinyin_order", text('(name_pinyin COLLATE "C")'), "archive_no"),
        # Search by status alone walks this in archive-number order, like its keyset pages.
        Index("ix_archives_status_archive_no", "status", "archive_no"),
    )

    def profile(self) -> dict:
        """The programmes' facts of the resident (`shared.contracts.events.ProfileSchema`),
        announced with `archive_created` and `identity_updated`."""
        return {"birth_date": self.birth_date, "sex": self.sex, "residence_type": self.residence_type,
                "responsible_doctor": self.responsible_doctor}


class ArchiveRevision(Base):
    """One change of an archive: who (user, institution, role), when, what (`changes`: field ->
    [old, new], ID and phone numbers masked) and why. Revision n is the archive's version n."""

    __tablename__ = "archive_revisions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    archive_no: Mapped[str] = mapped_column(ForeignKey("archives.archive_no", **FOLLOWS_ARCHIVE))
    revision: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_user: Mapped[str] = mapped_column(String(64))
    actor_institution: Mapped[str | None] = mapped_column(String(22))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB)

    __table_args__ = (UniqueConstraint("archive_no", "revision"),)


class Transfer(Base):
    """A request to move an archive to another village or institution of the suite (迁出/迁入),
    decided by the receiving side: requested -> accepted | rejected | cancelled."""

    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    archive_no: Mapped[str] = mapped_column(ForeignKey("archives.archive_no", **FOLLOWS_ARCHIVE), index=True)
    from_archive_no: Mapped[str] = mapped_column(String(17))  # the number when it was requested
    new_archive_no: Mapped[str | None] = mapped_column(String(17))  # allocated on acceptance
    from_village: Mapped[str] = mapped_column(ForeignKey("divisions.code"))
    from_institution: Mapped[str] = mapped_column(ForeignKey("institutions.code"))
    to_village: Mapped[str] = mapped_column(ForeignKey("divisions.code"))
    to_institution: Mapped[str] = mapped_column(ForeignKey("institutions.code"))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_by_institution: Mapped[str | None] = mapped_column(String(22))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_by_institution: Mapped[str | None] = mapped_column(String(22))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # The receiving side's work list.
        Index("ix_transfers_to_institution_status", "to_institution", "status"),
        # At most one open request per archive.
        Index("uq_transfers_open_archive_no", "archive_no", unique=True,
              postgresql_where=text("status = 'requested'")),
    )


class Merge(Base):
    """The merge journal: `merged_archive_no` was merged into `surviving_archive_no`.

    The merged archive's ID-number blind index moves here (`merged_id_number_index`, off the
    archive row) so that the ID number resolves to the survivor while the merge stands, and
    `snapshot` keeps the merged archive's identity columns as they were, for an exact unmerge.
    """

    __tablename__ = "merges"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    surviving_archive_no: Mapped[str] = mapped_column(
        ForeignKey("archives.archive_no", **FOLLOWS_ARCHIVE), index=True)
    merged_archive_no: Mapped[str] = mapped_column(
        ForeignKey("archives.archive_no", **FOLLOWS_ARCHIVE), index=True)
    reason: Mapped[str] = mapped_column(Text)
    merged_by: Mapped[str] = mapped_column(String(64))
    merged_by_institution: Mapped[str | None] = mapped_column(String(22))
    merged_by_role: Mapped[str | None] = mapped_column(String(32))
    merged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    merged_id_number_index: Mapped[bytes | None] = mapped_column(LargeBinary)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
    unmerged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unmerged_by: Mapped[str | None] = mapped_column(String(64))
    unmerge_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # An ID number moved aside by a standing merge resolves to one survivor only.
        Index("uq_merges_standing_merged_id_number_index", "merged_id_number_index", unique=True,
              postgresql_where=text("unmerged_at IS NULL")),
    )


class ArchiveAlias(Base):
    """A number that leads to another archive: a former number after a transfer (`transfer`,
    permanent), or the number of an archive merged into this one (`merge`, until unmerged)."""

    __tablename__ = "archive_aliases"

    old_archive_no: Mapped[str] = mapped_column(String(17), primary_key=True)
    archive_no: Mapped[str] = mapped_column(ForeignKey("archives.archive_no", **FOLLOWS_ARCHIVE), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    merge_id: Mapped[int | None] = mapped_column(ForeignKey("merges.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CardIssue(Base):
    """One issue of the 居民健康档案信息卡 (`services.registry.cards`): the first (`issue_no` 1) and
    each reissue (2, 3, ...; with why: lost, worn, the archive number changed), when, by whom, and
    the archive number printed on it (a transfer later re-keys the archive; the card keeps its
    number, which still leads to the archive through `archive_aliases`)."""

    __tablename__ = "card_issues"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    archive_no: Mapped[str] = mapped_column(ForeignKey("archives.archive_no", **FOLLOWS_ARCHIVE), index=True)
    issue_no: Mapped[int] = mapped_column(Integer)
    printed_archive_no: Mapped[str] = mapped_column(String(17))
    reason: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_by_institution: Mapped[str | None] = mapped_column(String(22))
    issued_by_role: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (UniqueConstraint("archive_no", "issue_no"),)


class ResidentIdentifier(Base):
    """Another identifier of a resident (`services.registry.identifiers`): a 居民健康卡号
    (`health_card`), an insurance card number (`insurance_card`), a newborn's 出生医学证明编号
    (`birth_cert`), or a hospital's medical record
    number (`mrn`, `issuer` the hospital's institution code). Cards have no issuer, or the code
    of the issuing region. The value only as ciphertext, keyed blind index and masked form.

    One value of a kind and issuer belongs to one archive (NULL issuers count as equal). An
    archive merged away keeps its identifiers: they lead to the survivor through the merge, and
    come back with the archive when it is unmerged."""

    __tablename__ = "resident_identifiers"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    archive_no: Mapped[str] = mapped_column(ForeignKey("archives.archive_no", **FOLLOWS_ARCHIVE), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # health_card | insurance_card | birth_cert | mrn
    issuer: Mapped[str | None] = mapped_column(String(22))
    value_enc: Mapped[bytes] = mapped_column(LargeBinary)
    value_index: Mapped[bytes] = mapped_column(LargeBinary)
    value_masked: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(24))  # entered | learned_from_match
    linked_by: Mapped[str] = mapped_column(String(64))
    linked_by_institution: Mapped[str | None] = mapped_column(String(22))
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        # The blind index first: resolution looks identifiers up by value, whatever the kind.
        UniqueConstraint("value_index", "kind", "issuer", postgresql_nulls_not_distinct=True),
    )


class IdentifierConflict(Base):
    """An identifier a match would have linked to `claimed_archive_no` while `held_by_archive_no`
    holds it. Never re-pointed: kept here (with how often it was seen) for an operator."""

    __tablename__ = "identifier_conflicts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    issuer: Mapped[str | None] = mapped_column(String(22))
    value_index: Mapped[bytes] = mapped_column(LargeBinary)
    value_masked: Mapped[str] = mapped_column(String(64))
    held_by_archive_no: Mapped[str] = mapped_column(ForeignKey("archives.archive_no", **FOLLOWS_ARCHIVE), index=True)
    claimed_archive_no: Mapped[str] = mapped_column(ForeignKey("archives.archive_no", **FOLLOWS_ARCHIVE), index=True)
    source: Mapped[str] = mapped_column(String(24))
    times_seen: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        # One row per claim; the name is given because the conventional one passes 63 characters.
        UniqueConstraint("value_index", "kind", "issuer", "claimed_archive_no", name="uq_identifier_conflicts_claim",
                         postgresql_nulls_not_distinct=True),
    )


outbox = outbox_table(Base.metadata)
