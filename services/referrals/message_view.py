"""What an operator sees of a message the referrals service quarantined (`ehr referrals quarantine
show`, `GET /api/v1/referral-quarantine/{id}`): of a hospital's answer (`ehr.referral-answer/1`)
its codes and ids as they are, and of its free text (notes, reasons, the 回转单, the 会诊意见, the
consultants' names) only the shape, so an operator can tell what is wrong without reading
clinical content; of anything else (an event), only the shape of its top-level fields.

    message_view(b'{"schema": "ehr.referral-answer/1", "kind": "reject", "referral_id": 7, "reason": "无床位"}')
        -> {"size": 92, "json": True, "fields": {"schema": "ehr.referral-answer/1", "kind": "reject",
                                                  "referral_id": 7, "reason": "string(3)"}}
"""

from __future__ import annotations

import json
from typing import Any

from shared.quarantine_store import shape_of

# Shown as they are (codes and ids; nobody writes a name into them, and longer values are shapes).
SHOWN = frozenset({"schema", "kind", "institution_code", "referral_id", "consultation_id", "event_type",
                   "service", "event_id"})
SHOWN_MAX = 64


def _field(name: str, value: Any) -> Any:
    if name in SHOWN and isinstance(value, (str, int)) and not isinstance(value, bool) \
            and len(str(value)) <= SHOWN_MAX:
        return value
    if isinstance(value, dict):
        return {key: shape_of(inner) for key, inner in list(value.items())[:20]}
    return shape_of(value)


def message_view(body: str | None) -> dict[str, Any]:
    """A kept body as an operator may see it; `{"kept": False}` when its body was not kept."""
    if body is None:
        return {"kept": False}
    try:
        decoded = json.loads(body)
    except ValueError:
        return {"kept": True, "size": len(body.encode()), "json": False}
    if not isinstance(decoded, dict):
        return {"kept": True, "size": len(body.encode()), "json": True, "fields": shape_of(decoded)}
    fields = {name: _field(name, value) for name, value in list(decoded.items())[:50]}
    return {"kept": True, "size": len(body.encode()), "json": True, "fields": fields}
