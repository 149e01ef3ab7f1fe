r"""Preparation of a register's rows for the bulk import: everything that needs no database.

A row is validated as an interactive creation is (ArchiveCreateSchema: GB 11643, consistency of
sex and birth date with the ID number, the rules of `shared.contracts.identity`, a guardian for a
newborn without an ID number; then a known village, a known institution that may manage its
archives, and a 责任医生 who is a clinician of that institution, from the gateway's users the
command hands in as `doctors`), and an accepted row
gets every value its archive, its revision 1 and its `archive_created` event need: pinyin,
blind indexes, masks and the event envelope. This is the CPU-heavy part of an import
(marshmallow, pypinyin and HMAC), which is why it runs in worker processes
(`services.registry.import_pool`) while the importer writes.

One thing is not known yet: the archive number, allocated when the chunk is written. So the
three database rows of an archive come as lines of COPY's text format with a NUL character where
the number goes (`Template`, filled by `fill`). A line never holds a NUL otherwise: JSON escapes
control characters, and a row holding a NUL is refused (PostgreSQL text cannot store it). The ID
and phone numbers and the cover's personal data (addresses, employer, contact, a guardian's ID
number) are sealed bound to that number (`shared.pii`), so the archive's line ends before its
ciphertext columns, which `fill_archive` seals and appends once it is known.

    fill("<NUL>\t张秀英\tzhangxiuying\t2\t1949-12-31\t01\t...", "11010500100100001")
        -> "11010500100100001\t张秀英\tzhangxiuying\t2\t1949-12-31\t01\t..."
"""

from __future__ import annotations

import json
import re
from typing import Collection, NamedTuple

from marshmallow import ValidationError

from shared.actor import Actor
from shared.contracts.registry import NOT_RESPONSIBLE_DOCTOR, ArchiveCreateSchema
from shared.contracts.events import ARCHIVE_CREATED, event_message
from shared.contracts.fields import field_errors
from shared.identity import mask_id_number, mask_phone
from shared.pii import PiiBox, identity_key
from shared import clock

from services.registry import revisions
from services.registry.keys import COVER_SEALED, ID_NUMBER_SEALED_IN, PHONE_SEALED_IN, name_pinyin, phone_index, seal
from services.registry.models import Archive
from services.registry.usecases import SERVICE, management_problem

REASON = "imported"  # the reason of an imported archive's revision 1

# The register's coded columns (besides the identity) an archive takes as they are: 常住类型, 民族,
# how the archive was built, the consent and its date; and 建档日期 (`archive_date`, default today).
IMPORTED_CODES = ("residence_type", "ethnicity", "ethnicity_name", "archive_source", "consent", "consent_date")
# The cover's plain columns: 责任医生 (checked against `doctors`), a newborn's guardian.
IMPORTED_COVER = ("responsible_doctor", "guardian_archive_no", "guardian_id_type")
# What a creation takes that an import does not: a card number needs its own row and checks.
NOT_IMPORTED = {"birth_certificate_no": "Not taken by an import: set it on the archive once imported "
                                        "(PATCH /api/v1/archives/{archive_no})."}

# A row as a line of COPY's text format, with NUL where its archive number goes.
Template = str
SLOT = "\x00"

# The columns of those lines, in their order (the others take their defaults: status,
# created_at, updated_at, changed_at, identities); the archive's ciphertexts last (`fill_archive`).
ARCHIVE_COLUMNS = ("archive_no", "name", "name_pinyin", "sex", "birth_date", "id_type",
                   "id_number_index", "phone_index", "village_code",
                   "institution_code", "created_by", "version", *IMPORTED_CODES, "archive_date",
                   *IMPORTED_COVER, "id_number_enc", "phone_enc", *COVER_SEALED.values())
REVISION_COLUMNS = ("archive_no", "changes", "revision", "action", "reason", "actor_user", "actor_institution",
                    "actor_role")
OUTBOX_COLUMNS = ("message_id", "exchange", "routing_key", "body")

# Derived values that can outgrow their column although the input passed the schema (a long name's
# pinyin), and the input field to blame.
_STORED_LIMITS = {column: (Archive.__table__.c[column].type.length, field)
                  for column, field in (("name_pinyin", "name"),)}


class PreparedRow(NamedTuple):
    """One line of the register, ready to be written or rejected.

    `errors` are the reasons found without the database (None when there are none); `index` and
    `masked` are there once the row passed the schema (None for a newborn without an ID number),
    so that the importer can also check the ID number against earlier lines and the database,
    and `guardian` the guardian's archive it names, which the importer checks; the templates, and
    the ID and phone numbers and cover fields `fill_archive` seals, only for an accepted row."""

    line: int
    errors: dict[str, list[str]] | None
    index: bytes | None = None
    masked: str | None = None
    village_code: str | None = None
    archive: Template | None = None
    revision: Template | None = None
    event: Template | None = None
    id_number: str | None = None
    phone: str | None = None
    cover: dict[str, str] | None = None
    guardian: str | None = None


# The outbox's own serialisation (shared.outbox.stage); one encoder, as json.dumps builds one a
# call when given options.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_TO_ESCAPE = re.compile(r"[\\\n\r\t]")


def _field(value: str | int | bytes | None) -> str:
    """A value as a field of COPY's text format (bytea in hex, backslash escaped)."""
    if value is None:
        return "\\N"
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    text = str(value)
    # translate() with a table costs microseconds a field; few fields need it.
    return text.translate(_COPY_ESCAPES) if _TO_ESCAPE.search(text) else text


def _line(*values: str | int | bytes | None) -> str:
    return "\t".join(map(_field, values)) + "\n"


class Manager(NamedTuple):
    """What the import knows of an institution: enough for `usecases.management_problem`."""

    kind: str
    division_code: str


class RowPreparer:
    """Validates and prepares rows; holds what that needs (keys, reference codes, the actor).

    Built once per import and used by every worker process (inherited on fork)."""

    def __init__(self, pii: PiiBox, actor: Actor, villages: set[str], institutions: dict[str, Manager],
                 doctors: Collection[tuple[str, str]] = frozenset()) -> None:
        self.pii = pii
        self.actor = actor
        self.villages = villages
        self.institutions = institutions
        self.doctors = frozenset(doctors)  # (username, institution code) of who may be 责任医生 there
        self.schema = ArchiveCreateSchema()
        # The fields of every revision 1 after its number and changes (the same for the whole file).
        self.revision = _line(1, revisions.CREATED, REASON, actor.user, actor.institution_code, actor.role)

    def prepare_chunk(self, chunk: list[tuple[int, dict]]) -> list[PreparedRow]:
        loaded = self._load([row for _, row in chunk])
        return [PreparedRow(line, field_errors(data)) if isinstance(data, ValidationError)
                else self._prepare(line, data) for (line, _), data in zip(chunk, loaded)]

    def _load(self, rows: list[dict]) -> list[dict | ValidationError]:
        """`schema.load` of each row (the data, or the error), with the collection loads of
        marshmallow, which cost a third less a row, and exactly the same outcome row by row.

        A collection load differs in two ways: a field error in any row skips the schema
        validators for every row, and any error skips the post-load normalisation for every row.
        Field errors belong to their row alone, so the rows failing a pass fail with just the
        messages a load of their own would give; the others are loaded again (at most twice: no
        field errors, then no errors at all). Errors not given row by row (a hook failing for the
        whole collection) send the remaining rows through one load each."""
        outcome: list[dict | ValidationError | None] = [None] * len(rows)
        pending = list(range(len(rows)))
        for _ in range(3):
            try:
                for i, data in zip(pending, self.schema.load([rows[i] for i in pending], many=True)):
                    outcome[i] = data
                return outcome
            except ValidationError as exc:
                failed = exc.messages if isinstance(exc.messages, dict) else {}
                if not failed or not all(isinstance(k, int) and 0 <= k < len(pending) for k in failed):
                    break
                for position, messages in failed.items():
                    outcome[pending[position]] = ValidationError(messages)
                pending = [i for position, i in enumerate(pending) if position not in failed]
        for i in pending:
            try:
                outcome[i] = self.schema.load(rows[i])
            except ValidationError as exc:
                outcome[i] = exc
        return outcome

    def _prepare(self, line: int, data: dict) -> PreparedRow:
        # PostgreSQL text cannot hold NUL: an interactive creation fails on it, a row is refused.
        errors = {name: ["Must not contain NUL characters."] for name, value in data.items()
                  if isinstance(value, str) and "\x00" in value}
        if data["village_code"] not in self.villages:
            errors["village_code"] = ["Unknown village."]
        institution = self.institutions.get(data["institution_code"])
        if institution is None:
            errors["institution_code"] = ["Unknown institution."]
        elif problem := management_problem(institution, data["village_code"]):
            errors["institution_code"] = [problem]
        doctor = data.get("responsible_doctor")
        if doctor and (doctor, data["institution_code"]) not in self.doctors:
            errors["responsible_doctor"] = [NOT_RESPONSIBLE_DOCTOR]
        errors.update({name: [why] for name, why in NOT_IMPORTED.items() if data.get(name)})
        # A newborn without an ID number names a guardian (the schema sees to it); no index yet.
        index = identity_key(self.pii, data["id_type"], data["id_number"]) if data["id_number"] else None
        masked = mask_id_number(data["id_number"]) if data["id_number"] else None
        pinyin = name_pinyin(data["name"])
        for column, value in (("name_pinyin", pinyin),):
            limit, field = _STORED_LIMITS[column]
            if len(value) > limit:
                errors.setdefault(field, []).append(f"Too long to store ({column} holds {limit} characters).")
        if errors:
            return PreparedRow(line, errors, index, masked)
        cover = {field: data[field] for field in COVER_SEALED if data.get(field)}
        return PreparedRow(line, None, index, masked, data["village_code"],
                           *self._templates(data, index, masked, pinyin), data["id_number"], data.get("phone"),
                           cover, data.get("guardian_archive_no"))

    def _templates(self, data: dict, index: bytes | None, masked: str | None,
                   pinyin: str) -> tuple[Template, Template, Template]:
        """The archive's row (without its ciphertexts), its revision 1 and its event's outbox row,
        each as a template."""
        pii, actor, phone = self.pii, self.actor, data.get("phone")
        village, institution = data["village_code"], data["institution_code"]
        birth_date = data["birth_date"].isoformat()
        codes = {f: revisions.json_value(data.get(f)) for f in IMPORTED_CODES}
        cover = {f: data.get(f) for f in IMPORTED_COVER}
        archive_date = (data.get("archive_date") or clock.today()).isoformat()
        archive = _line(
            SLOT, data["name"], pinyin, data["sex"], birth_date, data["id_type"], index,
            phone_index(pii, phone) if phone else None, village, institution, actor.user, 1,
            *codes.values(), archive_date, *cover.values())[:-1]
        # What an interactive creation records (usecases._created_changes): field -> [None, value],
        # the archive number first, personal data as revisions show it (`revisions.shown`).
        changes = {"status": [None, "active"], "name": [None, data["name"]], "sex": [None, data["sex"]],
                   "birth_date": [None, birth_date], "id_type": [None, data["id_type"]], "id_number": [None, masked],
                   "village_code": [None, village], "institution_code": [None, institution],
                   **{f: [None, v] for f, v in codes.items()}, "archive_date": [None, archive_date],
                   **{f: [None, v] for f, v in cover.items()},
                   **{f: [None, revisions.shown(f, data.get(f))] for f in revisions.SHOWN_MASKED
                      if f not in ("id_number", "phone")}}
        changes = {f: change for f, change in changes.items() if change[1] is not None}
        if phone:
            changes["phone"] = [None, mask_phone(phone)]
        revision = _line(SLOT, '{"archive_no":[null,"' + SLOT + '"],' + _dumps(changes)[1:])[:-1] + "\t" + self.revision
        message = event_message(SERVICE, ARCHIVE_CREATED, {
            "village_code": village, "institution_code": institution,
            # Blind indexes are keyed digests, not personal data (see usecases.create_archive).
            "identity_keys": [index.hex()] if index is not None else [],
            "profile": {"birth_date": data["birth_date"], "sex": data["sex"],
                        "residence_type": data.get("residence_type"),
                        "responsible_doctor": data.get("responsible_doctor")}}, actor)
        # The number opens `data`. Its key is the one place the text reads `"data":{`: within a
        # JSON string a quote is escaped.
        body = _dumps(message.body).replace('"data":{', '"data":{"archive_no":"' + SLOT + '",', 1)
        event = _line(message.message_id, message.exchange, message.routing_key, body)
        return archive, revision, event


def fill(template: Template, archive_no: str) -> str:
    return template.replace(SLOT, archive_no)


def fill_archive(pii: PiiBox, row: PreparedRow, archive_no: str) -> str:
    """The archive's line: its template filled, then its ID and phone numbers and the cover's
    personal data sealed to `archive_no`."""
    id_number = pii.encrypt(row.id_number, ID_NUMBER_SEALED_IN, archive_no) if row.id_number else None
    phone = pii.encrypt(row.phone, PHONE_SEALED_IN, archive_no) if row.phone else None
    cover = row.cover or {}
    return (fill(row.archive, archive_no) + "\t"
            + _line(id_number, phone, *(seal(pii, archive_no, column, cover.get(field))
                                        for field, column in COVER_SEALED.items())))
