"""Bulk import of an existing register (`ehr import residents FILE`): whole archives or none.

Rows are read in chunks; each chunk is validated row by row with the same rules as creation
(ArchiveCreateSchema: GB 11643, consistency, known village and institution), checked against
the ID numbers already registered (also those merged away) and against earlier rows of the
file, and the accepted rows are written in one transaction per chunk: archives with their
serials allocated per village in one step, revision 1 of each, and one `archive_created`
event each through the outbox. A rejected row is reported with its line and the reasons,
ID numbers masked; it never leaves anything behind. Near-duplicate review (same name, sex and
birth date...) is for interactive creation; an imported register is trusted on that point.

The validation and everything else that needs no database (pinyin, blind indexes, the event)
is done by `import_rows`, in `jobs` worker processes (`import_pool`), while this process writes
the chunks already prepared, in file order: what depends on the order (earlier lines, serials)
is decided here, and so is the encryption of ID and phone numbers, which are bound to the
archive number they are given (`import_rows.fill_archive`). A chunk costs a handful of statements: the ID-number check,
the serials of all its villages, and one COPY per table.

CSV columns: name, sex, birth_date (YYYY-MM-DD), id_type (default 01), id_number, phone,
village_code, institution_code; and, optional, residence_type (常住类型 1/2), ethnicity (01/99),
ethnicity_name (with 99), archive_source (建档方式 1-4), consent (given/refused) with
consent_date, archive_date (建档日期 of a paper archive, YYYY-MM-DD; default the day of the
import); the cover: current_address (现住址), registered_address (户籍地址), employer (工作单位),
contact_name and contact_phone (联系人), sealed as at creation, and responsible_doctor (责任医生:
a username the command checks against the gateway's users, `doctors`). A newborn without an ID
number names a guardian, guardian_archive_no (an archive's current number) or guardian_id_number
(with guardian_id_type, default 01), as at creation. The institution must be a primary-care unit
serving the row's village, as at creation. A 出生医学证明编号 (birth_certificate_no) is refused
with its reason: it is set on the archive afterwards.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from typing import Any, Callable, Collection, Iterable, Iterator

import psycopg2
import psycopg2.extensions
import sqlalchemy as sa
from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.archive_no import SERIAL_MAX, SERIAL_MIN, make_archive_number
from shared.errors import NotFound
from shared.pii import PiiBox

from services.registry import aliases
from services.registry.import_pool import PreparePool
from services.registry.import_rows import (
    ARCHIVE_COLUMNS, IMPORTED_CODES, IMPORTED_COVER, NOT_IMPORTED, OUTBOX_COLUMNS, REVISION_COLUMNS, Manager,
    PreparedRow, RowPreparer, fill, fill_archive,
)
from services.registry.keys import COVER_SEALED
from services.registry.models import (
    Archive, ArchiveRevision, ArchiveSerial, Division, Institution, Merge, outbox,
)

COLUMNS = ("name", "sex", "birth_date", "id_type", "id_number", "phone", "village_code", "institution_code",
           *IMPORTED_CODES, "archive_date", *IMPORTED_COVER, *COVER_SEALED, *NOT_IMPORTED)

# A chunk is retried when an interactive creation gave one of its ID numbers an archive between
# the check and the write; the retry's check then rejects that row.
_ATTEMPTS = 3
_ID_INDEX_UNIQUE = "uq_archives_id_number_index"
_COPY_BUFFER = 1 << 20


class WriteFailed(RuntimeError):
    """The database refused a chunk (its transaction is rolled back)."""


class _NumberTaken(Exception):
    """An ID number of the chunk was given an archive between the check and the write."""


@dataclass
class ImportReport:
    read: int = 0
    created: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


def read_csv(path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) pairs; empty cells become absent fields. ValueError on a bad header."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("name", "sex", "birth_date", "village_code", "institution_code")
                   if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"the CSV header lacks: {', '.join(missing)}")
        for row in reader:
            yield reader.line_num, {k: v.strip() for k, v in row.items() if k in COLUMNS and v and v.strip()}


def import_residents(session: Session, pii: PiiBox, rows: Iterable[tuple[int, dict]], actor: Actor,
                     chunk_size: int = 1000, progress: Callable[[int], None] | None = None,
                     jobs: int = 0, doctors: Collection[tuple[str, str]] = frozenset()) -> ImportReport:
    """Import (line, row) pairs, `chunk_size` rows per transaction, prepared by `jobs` worker
    processes (0: in this process). `doctors` are the (username, institution code) pairs of who
    may be 责任医生 there (the gateway's `accounts.responsible_doctors`): a row naming anyone else
    is rejected."""
    report = ImportReport()
    villages = set(session.scalars(sa.select(Division.code).where(Division.level == "village")))
    institutions = {code: Manager(kind, division) for code, kind, division in session.execute(
        sa.select(Institution.code, Institution.kind, Institution.division_code))}
    session.commit()
    preparer = RowPreparer(pii, actor, villages, institutions, doctors)
    seen: set[bytes] = set()
    with PreparePool(preparer.prepare_chunk, jobs) as pool:
        for prepared in pool.map(_chunks(rows, chunk_size)):
            _import_chunk(session, pii, prepared, report, seen)
            if progress:
                progress(len(prepared))
    return report


def _chunks(rows: Iterable[tuple[int, dict]], size: int) -> Iterator[list[tuple[int, dict]]]:
    rows = iter(rows)
    while chunk := list(islice(rows, size)):
        yield chunk


def _import_chunk(session: Session, pii: PiiBox, prepared: list[PreparedRow], report: ImportReport,
                  seen: set[bytes]) -> None:
    report.read += len(prepared)
    rejected, accepted = [], []
    guardians = _current_numbers(session, {row.guardian for row in prepared if row.guardian and not row.errors})
    for row in prepared:
        errors = row.errors or {}
        if row.index is not None and row.index in seen:
            errors = {**errors, "id_number": [f"{row.masked} appears on an earlier line."]}
        if row.guardian and not row.errors and guardians.get(row.guardian) != row.guardian:
            current = guardians.get(row.guardian)
            errors = {**errors, "guardian_archive_no": [
                f"Leads to archive {current}: name that one." if current else "Unknown archive."]}
        if errors:
            rejected.append({"line": row.line, "errors": errors})
        else:
            if row.index is not None:
                seen.add(row.index)
            accepted.append(row)
    for attempt in range(_ATTEMPTS):
        try:
            created, taken = _write(session, pii, accepted)
            break
        except _NumberTaken:
            session.rollback()
            if attempt + 1 == _ATTEMPTS:
                raise WriteFailed("ID numbers of the chunk kept being given archives meanwhile") from None
    rejected += [{"line": row.line, "errors": {"id_number": [f"{row.masked} already has archive {number}."]}}
                 for row, number in taken]
    report.created += created
    report.rejected += sorted(rejected, key=lambda r: r["line"])


def _write(session: Session, pii: PiiBox, accepted: list[PreparedRow]) -> tuple[int, list[tuple[PreparedRow, str]]]:
    """Write the rows whose ID number has no archive yet, and commit; (how many, the others with
    the archive their number has)."""
    registered = _registered(session, {row.index for row in accepted if row.index is not None})
    fresh = [row for row in accepted if row.index is None or row.index not in registered]
    if fresh:
        numbers = _allocate(session, fresh)
        _copy(session, Archive.__table__, ARCHIVE_COLUMNS, [fill_archive(pii, r, n) for r, n in zip(fresh, numbers)])
        _copy(session, ArchiveRevision.__table__, REVISION_COLUMNS,
              [fill(r.revision, n) for r, n in zip(fresh, numbers)])
        _copy(session, outbox, OUTBOX_COLUMNS, [fill(r.event, n) for r, n in zip(fresh, numbers)])
    session.commit()
    return len(fresh), [(row, registered[row.index]) for row in accepted
                        if row.index is not None and row.index in registered]


def _current_numbers(session: Session, numbers: set[str]) -> dict[str, str]:
    """The archive each of these numbers leads to now (`aliases.find`: itself, or where a
    transfer or merge took it); unknown numbers are absent. A row names its guardian by the
    current number, which is what the archive stores; few rows name one (newborns)."""
    found = {}
    for number in numbers:
        try:
            found[number] = aliases.find(session, number).archive_no
        except NotFound:
            pass
    return found


def _registered(session: Session, indexes: set[bytes]) -> dict[bytes, str]:
    """The archive number each of these ID-number blind indexes leads to, if any: its archive's,
    or the survivor's when a standing merge moved it aside (`aliases.moved_indexes`)."""
    if not indexes:
        return {}
    wanted = sa.bindparam("indexes", list(indexes), type_=ARRAY(LargeBinary))
    held = sa.select(Archive.id_number_index, Archive.archive_no).where(Archive.id_number_index == sa.any_(wanted))
    moved = sa.select(Merge.merged_id_number_index, sa.null()).where(
        Merge.merged_id_number_index == sa.any_(wanted), Merge.unmerged_at.is_(None))
    found = {bytes(index): number for index, number in session.execute(sa.union_all(held, moved))}
    survivors = aliases.moved_indexes(session, {index for index, number in found.items() if number is None})
    return {index: number or survivors[index] for index, number in found.items()}


def _allocate(session: Session, rows: list[PreparedRow]) -> list[str]:
    """The archive number of each row: serials per village in row order, allocated for the whole
    chunk in one statement (villages in code order, the order their counter rows are locked in)."""
    counts = Counter(row.village_code for row in rows)
    villages = sorted(counts)
    wanted = sa.func.unnest(sa.bindparam("villages", villages, type_=ARRAY(String)),
                            sa.bindparam("counts", [counts[v] for v in villages], type_=ARRAY(Integer))
                            ).table_valued("village_code", "n").render_derived()
    stmt = pg_insert(ArchiveSerial).from_select(
        ["village_code", "last_serial"], sa.select(wanted.c.village_code, wanted.c.n).order_by(wanted.c.village_code))
    stmt = stmt.on_conflict_do_update(
        index_elements=[ArchiveSerial.village_code],
        set_={"last_serial": ArchiveSerial.last_serial + stmt.excluded.last_serial},
    ).returning(ArchiveSerial.village_code, ArchiveSerial.last_serial)
    next_serial = {}
    for village, last in session.execute(stmt):
        if last > SERIAL_MAX:
            session.rollback()
            raise ValueError(f"village {village} would pass {SERIAL_MAX} archives")
        next_serial[village] = last - counts[village] + 1
    numbers = []
    for row in rows:
        serial = next_serial[row.village_code]
        next_serial[row.village_code] = serial + 1
        # ArchiveNumber.value: the village code and the serial in five digits; the serial is within
        # bounds (checked above), the village code checked once by make_archive_number.
        numbers.append(f"{_numbering_village(row.village_code)}{serial:05d}")
    return numbers


@lru_cache(maxsize=None)
def _numbering_village(village: str) -> str:
    return make_archive_number(village, SERIAL_MIN).village_code


def _copy(session: Session, table: sa.Table, columns: tuple[str, ...], lines: list[str]) -> None:
    """COPY lines of text format into the table, in the session's transaction. A database error
    is raised without its message, whose context would quote the line."""
    cursor = session.connection().connection.cursor()
    try:
        with _without_wait_callback():
            cursor.copy_expert(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN",
                               io.StringIO("".join(lines)), size=_COPY_BUFFER)
    except psycopg2.Error as exc:
        if isinstance(exc, psycopg2.IntegrityError) and exc.diag.constraint_name == _ID_INDEX_UNIQUE:
            raise _NumberTaken() from None
        raise WriteFailed(f"{table.name}: {type(exc).__name__} (SQLSTATE {exc.pgcode})") from None
    finally:
        cursor.close()


@contextmanager
def _without_wait_callback() -> Iterator[None]:
    """psycopg2 refuses COPY while a wait callback is set, as it is in an eventlet-patched process
    (shared.transport.providers.make_cooperative; the tests): the COPY blocks this process instead, which an import
    does anyway. Nothing yields in between, so no other green thread sees the callback gone."""
    callback = psycopg2.extensions.get_wait_callback()
    psycopg2.extensions.set_wait_callback(None)
    try:
        yield
    finally:
        psycopg2.extensions.set_wait_callback(callback)
