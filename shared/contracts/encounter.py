"""The `ehr.encounter/1` contract, executable: validate and normalise one hospital message.

The JSON Schema in `shared/schemas/encounter-v1.schema.json` is the definition: it is what
integrators read (docs/contracts.md links it) and what runs here, so the two cannot drift.
Filing is the hot path, so a message is checked by a compiled validator (fastjsonschema, tens
of microseconds); only a message that fails gets the slower full report of every failing field
(jsonschema). On top come the rules a JSON Schema cannot state: the GB 11643 check of a
resident ID number and its agreement with birth date and sex, real calendar dates, and
`ended_at` not before `started_at`. The patient's name is put in its normal form
(`shared.identity.normalise_name`: NFKC, no zero-width or direction characters), as the registry
keeps names, before anything matches on it; one of invisible characters only is no name (null).

    encounter = load_encounter(json.loads(body))   # raises InvalidEncounter(reason, errors)
    encounter.id_number   # '11010519491231002X' (15-digit numbers upgraded, x upper-cased)
    encounter.content     # the `encounter` object with only the fields the contract defines

Error messages name the rule, never the value, so they can be stored with a quarantined
message and shown to an operator without exposing an ID number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import fastjsonschema

from shared.contracts.fields import holds_nul
from shared.contracts.json_contract import aware as _aware, full_validator, prune as _prune, real_date as _real_date
from shared.contracts.json_contract import report, shape
from shared.identity import RESIDENT_ID_TYPE, check_identity_document, normalise_name

SCHEMA_PATH = Path(__file__).parent.parent / "schemas" / "encounter-v1.schema.json"
SCHEMA: dict = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))

_fast_validate = fastjsonschema.compile(SCHEMA, formats={"date-time": lambda v: _aware(v) is not None})
_full_validator = full_validator(SCHEMA)


class InvalidEncounter(ValueError):
    """`reason` is a quarantine reason code; `errors` maps field paths to messages."""

    def __init__(self, reason: str, errors: dict) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors


@dataclass(frozen=True)
class Encounter:
    body: dict[str, Any]
    institution_code: str
    record_id: str
    system: str | None
    version: int
    kind: str
    started_at: datetime
    id_type: str
    id_number: str | None
    content: dict[str, Any]


def _report(body: Any) -> dict:
    return report(_full_validator, body)


_ENCOUNTER_SHAPE = shape(SCHEMA["$defs"]["encounter"], SCHEMA)
# The fields of a whole message, {field: shape}: what an operator's view may name (see
# services/records/message_view.py), never more than the contract defines.
MESSAGE_SHAPE = shape(SCHEMA)


def _is_identity_fault(errors: dict) -> bool:
    patient = errors.get("patient")
    return isinstance(patient, dict) and "id_number" in patient


def load_encounter(body: Any, raw: bytes | None = None) -> Encounter:
    """Validate a decoded `ehr.encounter/1` body; raises `InvalidEncounter`.

    `raw`, the JSON the body was decoded from, lets the NUL check skip walking the body: JSON
    can only carry a NUL as the escape `\\u0000`."""
    if (raw is None or b"\\u0000" in raw) and holds_nul(body):
        raise InvalidEncounter("schema_invalid", {"_body": ["Text must not contain NUL characters."]})
    try:
        _fast_validate(body)
    except fastjsonschema.JsonSchemaException:
        errors = _report(body)
        raise InvalidEncounter("invalid_id_number" if _is_identity_fault(errors) else "schema_invalid",
                               errors) from None

    source, patient, encounter = body["source"], body["patient"], body["encounter"]
    started_at = _aware(encounter["started_at"])
    ended = encounter.get("ended_at")
    if ended and _aware(ended) < started_at:
        raise InvalidEncounter("schema_invalid", {"encounter": {"ended_at": ["Must not be before started_at."]}})
    birth = patient.get("birth_date")
    if birth and not _real_date(birth):
        raise InvalidEncounter("schema_invalid", {"patient": {"birth_date": ["Not a valid date."]}})

    id_type = patient.get("id_type") or RESIDENT_ID_TYPE
    id_number, errors = check_identity_document(
        id_type, patient.get("id_number"), birth_date=date.fromisoformat(birth) if birth else None,
        sex=patient.get("sex"))
    if errors:
        raise InvalidEncounter("invalid_id_number", {"patient": errors})
    if isinstance(patient.get("name"), str):
        body = {**body, "patient": {**patient, "name": normalise_name(patient["name"]) or None}}

    return Encounter(
        body=body,
        institution_code=source["institution_code"],
        record_id=source["record_id"],
        system=source.get("system"),
        version=int(source.get("version") or 0),  # JSON Schema counts 3.0 as an integer
        kind=encounter["kind"],
        started_at=started_at,
        id_type=id_type,
        id_number=id_number,
        content=_prune(encounter, _ENCOUNTER_SHAPE),
    )
