"""Preparation of a register's rows for the bulk import: everything that needs no database.

A row is validated as an interactive creation is (ArchiveCreateSchema: GB 11643, consistency of
sex and birth date with the ID number; then known village and institution), and an accepted row
gets every value its archive, its revision 1 and its `archive_created` event need: pinyin,
ciphertexts, blind indexes, masks and the event envelope. This is the CPU-heavy part of an import
(marshmallow, pypinyin, AES-GCM and HMAC), which is why it runs in worker processes
(`services.registry.import_pool`) while the importer writes.

One thing is not known yet: the archive number, allocated when the chunk is written. So the
three database rows of an archive come as JSON texts with a NUL character where the number goes
(`Template`, filled by `fill`); the importer hands each table's rows to PostgreSQL as one JSON
array. A JSON text never holds a raw NUL (the encoder escapes every control character), so the
mark cannot be confused with a row's data, whatever characters that holds.

    >>> fill('{"archive_no":"\\x00","name":"张秀英",...}', "11010500100100001")
    '{"archive_no":"11010500100100001","name":"张秀英",...}'
"""

from __future__ import annotations

import json
from typing import NamedTuple

from marshmallow import ValidationError

from shared.actor import Actor
from shared.api import ArchiveCreateSchema
from shared.contracts import ARCHIVE_CREATED, field_errors
from shared.identity import mask_id_number, mask_phone
from shared.pii import PiiBox

from services.registry import revisions
from services.registry.keys import id_index, name_pinyin, phone_index
from services.registry.usecases import event_message

REASON = "imported"  # the reason of an imported archive's revision 1

# A row's JSON text with NUL where its archive number goes.
Template = str
SLOT = "\x00"

# The members of those JSON objects: the columns the importer inserts (the others take their
# defaults: status, created_at, updated_at, changed_at, identities).
ARCHIVE_COLUMNS = ("archive_no", "name", "name_pinyin", "sex", "birth_date", "id_type", "id_number_enc",
                   "id_number_index", "id_number_masked", "phone_enc", "phone_index", "village_code",
                   "institution_code", "created_by", "version")
REVISION_COLUMNS = ("archive_no", "changes", "revision", "action", "reason", "actor_user", "actor_institution",
                    "actor_role")
OUTBOX_COLUMNS = ("message_id", "exchange", "routing_key", "body")


class PreparedRow(NamedTuple):
    """One line of the register, ready to be written or rejected.

    `errors` are the reasons found without the database (None when there are none); `index` and
    `masked` are there once the row passed the schema, so that the importer can also check the
    ID number against earlier lines and the database; the templates only for an accepted row."""

    line: int
    errors: dict[str, list[str]] | None
    index: bytes | None = None
    masked: str | None = None
    village_code: str | None = None
    archive: Template | None = None
    revision: Template | None = None
    event: Template | None = None


# The outbox's own serialisation (shared.outbox.stage); one encoder, as json.dumps builds one a
# call when given options.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _bytea(value: bytes) -> str:
    """bytea input text (hex format), which json_populate_recordset turns into the bytes."""
    return "\\x" + value.hex()


class RowPreparer:
    """Validates and prepares rows; holds what that needs (keys, reference codes, the actor).

    Built once per import and used by every worker process (inherited on fork)."""

    def __init__(self, pii: PiiBox, actor: Actor, villages: set[str], institutions: set[str]) -> None:
        self.pii = pii
        self.actor = actor
        self.villages = villages
        self.institutions = institutions
        self.schema = ArchiveCreateSchema()
        # The members of every revision 1 but its number and changes (the same for the whole file).
        self.revision = _dumps({
            "revision": 1, "action": revisions.CREATED, "reason": REASON, "actor_user": actor.user,
            "actor_institution": actor.institution_code, "actor_role": actor.role})

    def prepare_chunk(self, chunk: list[tuple[int, dict]]) -> list[PreparedRow]:
        loaded = self._load([row for _, row in chunk])
        return [PreparedRow(line, field_errors(data)) if isinstance(data, ValidationError) else self._prepare(line, data)
                for (line, _), data in zip(chunk, loaded)]

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
        if data["institution_code"] not in self.institutions:
            errors["institution_code"] = ["Unknown institution."]
        index = id_index(self.pii, data["id_type"], data["id_number"])
        masked = mask_id_number(data["id_number"])
        if errors:
            return PreparedRow(line, errors, index, masked)
        return PreparedRow(line, None, index, masked, data["village_code"], *self._templates(data, index, masked))

    def _templates(self, data: dict, index: bytes, masked: str) -> tuple[Template, Template, Template]:
        """The archive's row, its revision 1 and its event's outbox row, each as a template.

        Each JSON object is the encoder's, with the archive number put in front as its first
        member."""
        pii, actor, phone = self.pii, self.actor, data.get("phone")
        village, institution = data["village_code"], data["institution_code"]
        birth_date = data["birth_date"].isoformat()
        archive = _dumps({
            "name": data["name"], "name_pinyin": name_pinyin(data["name"]), "sex": data["sex"],
            "birth_date": birth_date, "id_type": data["id_type"],
            "id_number_enc": _bytea(pii.encrypt(data["id_number"])), "id_number_index": _bytea(index),
            "id_number_masked": masked,
            "phone_enc": _bytea(pii.encrypt(phone)) if phone else None,
            "phone_index": _bytea(phone_index(pii, phone)) if phone else None,
            "village_code": village, "institution_code": institution, "created_by": actor.user, "version": 1,
        })
        # What an interactive creation records (usecases._created_changes): field -> [None, value],
        # the archive number first.
        changes = _dumps({k: [None, v] for k, v in {
            "status": "active", "name": data["name"], "sex": data["sex"], "birth_date": birth_date,
            "id_type": data["id_type"], "id_number": masked, "phone": mask_phone(phone) if phone else None,
            "village_code": village, "institution_code": institution}.items() if v is not None})
        message = event_message(ARCHIVE_CREATED, {
            "village_code": village, "institution_code": institution,
            # Blind indexes are keyed digests, not personal data (see usecases.create_archive).
            "identity_keys": [index.hex()]}, actor)
        envelope = _dumps({k: v for k, v in message.body.items() if k != "data"})
        body = (envelope[:-1] + ',"data":{"archive_no":"', '",' + _dumps(message.body["data"])[1:] + "}")  # around the number
        outbox_row = _dumps({"message_id": message.message_id, "exchange": message.exchange,
                             "routing_key": message.routing_key})
        return (
            '{"archive_no":"' + SLOT + '",' + archive[1:],
            '{"archive_no":"' + SLOT + '","changes":{"archive_no":[null,"' + SLOT + '"],' + changes[1:] + ","
            + self.revision[1:],
            # The body is a JSON text kept as text: a JSON string within the row's JSON, whose
            # encoding would escape the NUL, hence its two halves encoded apart.
            outbox_row[:-1] + ',"body":' + _dumps(body[0])[:-1] + SLOT + _dumps(body[1])[1:] + "}",
        )


def fill(template: Template, archive_no: str) -> str:
    return template.replace(SLOT, archive_no)
