"""Expected errors, shared by every service and carried intact across RPC.

Each is registered with Nameko's `deserialize_to_instance` (by `shared.transport.errors`, so
this module stays plain), so a gateway calling
`registry.create_archive(...)` gets the same exception type back, with its field errors, and
maps it to an HTTP status. Messages and details never contain personal data: ID numbers are
masked before they are put in one.

    raise ValidationFailed("invalid archive", {"id_number": ["bad check character"]})
    raise Conflict("an archive exists for this ID number", {"archive_no": "11010500300100042"})
    raise RegisteredElsewhere("already registered elsewhere", {"id_number": "**************002X"})
"""

from __future__ import annotations

from typing import Any



class EhrError(Exception):
    """Base of the expected errors; `status` is the HTTP status the gateway answers with."""

    status = 500
    code = "error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details or {})
        self.message = message
        self.details = details or {}

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ValidationFailed(EhrError):
    """Bad input; `details` maps each failing field to its messages."""

    status = 400
    code = "validation_failed"


class NotFound(EhrError):
    status = 404
    code = "not_found"


class Conflict(EhrError):
    status = 409
    code = "conflict"


class RegisteredElsewhere(Conflict):
    """The ID number or card is held by an archive outside the caller's jurisdiction: a 409 that
    says so without the archive's number (its first twelve digits are the resident's village),
    institution or village. `details` name the field only, with the caller's own value masked."""

    code = "registered_elsewhere"


class InvalidTransition(EhrError):
    status = 422
    code = "invalid_transition"


EXPECTED_ERRORS = (ValidationFailed, NotFound, Conflict, InvalidTransition)
