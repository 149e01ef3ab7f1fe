"""The fields, validators and loading helpers every contract of the suite is written with: one
archive number, one instant, one name, one bounded text, one village code, one page query.

Validation messages never repeat the value they refuse, so a field error can be logged, stored
with a quarantined message and shown to an operator without exposing an ID number.

    load_input(ArchiveCreateSchema(), payload)   # ValidationFailed("invalid input", {field: [...]})
    ARCHIVE_NO("11010500300100001")              # "11010500300100001"
    ARCHIVE_NO("11010500300100000")              # ValidationError("Not a valid archive number: serial out of range.")
    instant("2026-11-26T09:30:00+08:00")         # None; an offset past ±14:00 is refused
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from shared.archive_no import ARCHIVE_NO_PATTERN, InvalidArchiveNumber, parse_archive_number, parse_village_code
from shared.identity import normalise_name
from shared.paging import MAX_PAGE
from shared import clock


class Strict(Schema):
    """A request: an unknown field is an error (the caller misspelt something)."""

    class Meta:
        unknown = RAISE


class Lenient(Schema):
    """A message or query: unknown fields are ignored (a later minor version may add some)."""

    class Meta:
        unknown = EXCLUDE


# -- the archive number (one rule: shared.archive_no) ---------------------------------------------


class ArchiveNumber(validate.Validator):
    """A 17-digit archive number whose segments are valid (`shared.archive_no`): the shape is
    checked by `regex` first (and shown as the `pattern` of the OpenAPI document), then the
    county, township, village and serial.

        ARCHIVE_NO("11010500300100001") -> "11010500300100001"
        ARCHIVE_NO("1101050030010000")  -> ValidationError("Not a 17-digit archive number.")
    """

    regex = re.compile(ARCHIVE_NO_PATTERN)

    def __call__(self, value: str) -> str:
        if not isinstance(value, str) or not self.regex.match(value):
            raise ValidationError("Not a 17-digit archive number.")
        try:
            parse_archive_number(value)
        except InvalidArchiveNumber as exc:
            raise ValidationError(f"Not a valid archive number: {exc.reason}.") from None
        return value


ARCHIVE_NO = ArchiveNumber()


class ArchiveNo(fields.Str):
    """A field holding an archive number: `ArchiveNo(required=True)`."""

    def __init__(self, **kwargs) -> None:
        super().__init__(validate=ARCHIVE_NO, **kwargs)


def valid_village_code(value: str) -> None:
    """Field validator of a 12-digit village code (county, township, village segments)."""
    try:
        parse_village_code(value)
    except InvalidArchiveNumber as exc:
        raise ValidationError(f"Not a valid village code: {exc.reason}.") from None


# -- instants ------------------------------------------------------------------------------------

MAX_UTC_OFFSET = timedelta(hours=14)  # the real world's bounds: UTC-12:00 to UTC+14:00


def instant(value: str) -> None:
    """An ISO 8601 date-time with a real-world UTC offset (within ±14:00; PostgreSQL would take
    up to ±15:59, no time zone uses it)."""
    try:
        moment = datetime.fromisoformat(value)
        moment.astimezone(timezone.utc)
    except (TypeError, ValueError, OverflowError):
        raise ValidationError("Not a date-time with a UTC offset.") from None
    if moment.utcoffset() is None:
        raise ValidationError("Not a date-time with a UTC offset.")
    if abs(moment.utcoffset()) > MAX_UTC_OFFSET:
        raise ValidationError("The UTC offset must lie within ±14:00.")


def bounded_instant(value: str) -> None:
    """`instant`, after a length check (before parsing: a list of validators would run both)."""
    validate.Length(max=40)(value)
    instant(value)


def not_in_future(value: date) -> None:
    if value > clock.today():
        raise ValidationError("Must not be in the future.")


# -- text ----------------------------------------------------------------------------------------


class Name(fields.Str):
    """A person's name, loaded in its normal form (`shared.identity.normalise_name`: NFKC, no
    zero-width or direction characters, single spaces), so that validators (a length, not blank)
    judge what is stored and compared."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        return normalise_name(super()._deserialize(value, attr, data, **kwargs))


NAME = validate.Length(min=1, max=64, error="Must be 1 to 64 characters, not counting invisible ones.")
REASON = validate.Length(min=1, max=2000)
PHONE = validate.Regexp(r"^[0-9+\- ]{5,20}$")
IDENTIFIER = validate.Length(min=1, max=64)  # a card number or MRN as a hospital sends it
INSTITUTION_CODE = validate.Length(min=1, max=22)


class BoundedText(validate.Validator):
    """A length check, then a pattern, in that order: untrusted text longer than `max` is refused
    before any regular expression sees it (marshmallow's `validate.And` and a list of validators
    run every one of them, whatever the first said). Keep `pattern` linear: no quantifier inside
    a quantifier, and no unbounded repeat followed by something that can match the same
    character (tests/unit/test_linear_patterns.py checks every pattern of the contracts).

        CARD_NUMBER("1234 5678")        -> "1234 5678"
        CARD_NUMBER("x" * 100_000)      -> ValidationError("Length must be between 1 and 64.")
    """

    def __init__(self, pattern: str, error: str, min: int = 1, max: int = 64) -> None:
        self.length = validate.Length(min=min, max=max)
        self.pattern = validate.Regexp(pattern, error=error)

    def __call__(self, value: str) -> str:
        self.length(value)
        return self.pattern(value)


# A health or insurance card number: letters and digits, spaces and hyphens between them. The
# leading class excludes what the next one matches, so matching is linear in the length.
CARD_NUMBER = BoundedText(r"^[ \-]*[0-9A-Za-z][0-9A-Za-z \-]*$", error="Letters, digits, spaces and hyphens only.")

CODE = validate.Regexp(r"^[A-Za-z0-9_]{1,40}$", error="Letters, digits and '_' only, at most 40.")
INSTITUTION = validate.Regexp(r"^[A-Za-z0-9]{1,22}$", error="An institution code: letters and digits, at most 22.")


# -- paging --------------------------------------------------------------------------------------

class Limit(fields.Int):
    """A page size, 1 to 200, an integer (not a boolean, not a string of digits)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(strict=True, validate=validate.Range(min=1, max=MAX_PAGE,
                                                                error=f"Must be between 1 and {MAX_PAGE}."),
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError(f"Must be between 1 and {MAX_PAGE}.")
        return super()._deserialize(value, attr, data, **kwargs)


class Id(fields.Int):
    """A row id (a transfer, a merge, a quarantined message): a positive integer, not a boolean,
    that a database row can have."""

    default_error_messages = {"invalid": "Must be a positive integer."}

    def __init__(self, **kwargs) -> None:
        super().__init__(strict=True, validate=validate.Range(min=1, max=2 ** 63 - 1,
                                                              error="Must be a positive integer."), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class PageQuerySchema(Lenient):
    """`?limit=50&cursor=...`: `cursor` is the `next` of the previous page."""

    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))
    cursor = fields.Str(load_default=None, validate=validate.Length(min=1, max=200))


# -- loading -------------------------------------------------------------------------------------


def field_errors(exc: ValidationError) -> dict:
    """marshmallow's nested error dict, as it is (its messages never echo the input)."""
    return exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}


NUL_REFUSED = "Must not contain NUL characters."


def holds_nul(value) -> bool:
    """Whether a NUL character is anywhere in the value, keys included (no PostgreSQL text, nor
    any Chinese health standard, takes one)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(holds_nul(v) for v in value)
    return False


def _nul_errors(payload, many: bool) -> dict:
    """Fields holding a NUL character anywhere (PostgreSQL text cannot store one)."""
    if many and isinstance(payload, (list, tuple)):
        return {i: errors for i, item in enumerate(payload) if (errors := _nul_errors(item, False))}
    if isinstance(payload, dict):
        return {str(k).replace("\x00", ""): [NUL_REFUSED] for k, v in payload.items() if holds_nul(k) or holds_nul(v)}
    return {"_schema": [NUL_REFUSED]} if holds_nul(payload) else {}


def load_input(schema: Schema, payload, many: bool = False):
    """`schema.load`, turning marshmallow's error into the suite's `ValidationFailed`; a NUL
    character anywhere in the input is refused for its field too."""
    from shared.errors import ValidationFailed

    refused = _nul_errors(payload, many)
    try:
        data = schema.load(payload, many=many)
    except ValidationError as exc:
        raise ValidationFailed("invalid input", {**field_errors(exc), **refused}) from None
    if refused:
        raise ValidationFailed("invalid input", refused)
    return data


# -- RPC contracts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rpc:
    """The contract of one RPC method: its arguments (by name) and its answer.

        call = RPC["get_record"]    # shared.contracts.records.RPC
        data = call.load({"record_id": record_id})   # ValidationFailed with field errors
        return call.dump(entries.get_record(db, **data))
    """

    request: Schema
    answer: Schema

    def load(self, payload, many: bool = False):
        return load_input(self.request, payload, many=many)

    def dump(self, result, many: bool = False):
        return self.answer.dump(result, many=many)


class PingSchema(Schema):
    """What a service's `health` RPC answers once its database replied: `{"database": "ok"}`."""

    database = fields.Str(metadata={"example": "ok"})


class NoArgumentsSchema(Strict):
    """A method that takes no arguments (`health()`, `list_institutions()`): `{}`."""
