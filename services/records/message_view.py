"""What an operator sees of a message the suite could not file (`ehr quarantine show`, the
gateway's quarantine pages): a whitelist of fields, codes and times as they are, identifiers
masked, and of everything else only its shape, never a name, an unmasked ID number or clinical
content.

    message_view(raw)               # an encounter's (`kinds.ENCOUNTER`)
    message_view(raw, SETTLEMENT)   # a settlement's
        -> {"size": 912, "json": True, "fields": {"source": {"institution_code": "H1101050001", ...},
            "patient": {"id_number": "**************002X", "name": "string(3)", ...}, ...}}
"""

from __future__ import annotations

import json
from typing import Any

from services.records.kinds import ENCOUNTER, MessageKind
from shared.quarantine_store import shape_of

# What an operator sees of a message, field by field: these values as they are (codes, times, the
# hospital's own record id), the identifiers masked, and of every other field of the contract
# only its shape (a string's length, a number, an array's size). Names, birth dates, cards,
# MRNs, diagnoses and free text are personal or clinical: an operator needs to know that they are
# there and how long, not what they say. Fields the contract does not define are counted, not named.
# What is shown and what masked is each kind's (`kinds.MessageKind.shown`, `.masked`): for an
# encounter, its codes and times, the hospital's record id, the ID and phone numbers masked; for a
# settlement, its codes, dates and amounts' absence, the insurer's settlement number, the ID and
# insurance card numbers masked.
_SHOWN_MAX = 128  # longer values of shown fields are shapes too: nobody writes a name into a code
_ITEMS_SHOWN = 20


def _view(value: Any, shape: Any, path: tuple[str, ...], kind: MessageKind) -> Any:
    if path in kind.masked and isinstance(value, str):
        return kind.masked[path](value[:64])
    if path in kind.shown and isinstance(value, (str, int, float)) and not isinstance(value, bool) \
            and len(str(value)) <= _SHOWN_MAX:
        return value
    if isinstance(shape, dict) and isinstance(value, dict):
        view = {k: _view(v, shape[k], (*path, k), kind) for k, v in value.items() if k in shape}
        unknown = sum(1 for k in value if k not in shape)
        return {**view, "_unknown_fields": unknown} if unknown else view
    if isinstance(shape, list) and isinstance(value, list):
        items = [_view(v, shape[0], path, kind) for v in value[:_ITEMS_SHOWN]]
        return items + [f"... {len(value) - _ITEMS_SHOWN} more"] if len(value) > _ITEMS_SHOWN else items
    return shape_of(value)


def message_view(raw: bytes, kind: MessageKind = ENCOUNTER) -> dict[str, Any]:
    """A message as an operator may see it: a whitelist of fields (see `_SHOWN`), identifiers
    masked, the rest as shapes. A body that is not a JSON object shows only its size.

        {"size": 912, "json": True, "fields": {"source": {"institution_code": "H1101050001", ...},
         "patient": {"id_number": "**************002X", "name": "string(3)", ...}, ...}}
    """
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return {"size": len(raw), "json": False}
    if not isinstance(body, dict):
        return {"size": len(raw), "json": True, "fields": shape_of(body)}
    return {"size": len(raw), "json": True, "fields": _view(body, kind.message_shape, (), kind)}
