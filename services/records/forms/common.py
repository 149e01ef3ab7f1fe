"""Building blocks shared by the paper-form schemas.

Date bounds.  marshmallow 4 has no schema ``context``.  A form schema therefore takes
``birth_date`` and ``today`` as constructor arguments (``FormSchema(birth_date=..., today=...)``)
and, only while its own ``load``/``validate`` runs, publishes them in a ContextVar that the date
fields of nested sections read (``LifeDate``, ``YearMonth``, ``Age``).  Loading is synchronous
(no I/O, so no green-thread switch mid-load), and the variable is reset afterwards, so workers
never see each other's bounds.  A nested section loaded on its own gets "no birth date, today".

Dependent fields.  The forms are full of "其他____" blanks and "有____" details: a field that is
required when a choice holds some value and forbidden otherwise.  A section declares them as
``rules = (Requires("fuel_other", on="fuel", when=Fuel.OTHER), ...)`` and ``Section`` checks
them, with messages that name the condition, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from shared.codes import CodeEnum
from shared import clock

from .resident import Asked, Group, InLastYear, Resident, age_on, as_messages


@dataclass(frozen=True)
class DateBounds:
    """No recorded date may fall before ``birth_date`` (when known) or after ``today``."""

    birth_date: date | None
    today: date


_BOUNDS: ContextVar[DateBounds | None] = ContextVar("form_date_bounds", default=None)


def current_bounds() -> DateBounds:
    return _BOUNDS.get() or DateBounds(None, clock.today())


@contextmanager
def date_bounds(bounds: DateBounds) -> Iterator[None]:
    token = _BOUNDS.set(bounds)
    try:
        yield
    finally:
        _BOUNDS.reset(token)


# --- fields ---------------------------------------------------------------------------------


class Text(fields.Str):
    """Free text, trimmed, not blank, at most ``max_length`` characters."""

    def __init__(self, max_length: int, **kwargs: Any) -> None:
        rules = [validate.Length(min=1, error="Must not be blank."), validate.Length(max=max_length)]
        super().__init__(validate=rules, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()


class LifeDate(fields.Date):
    """An ISO date within the resident's life: not before the birth date, not after today."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        day = super()._deserialize(value, attr, data, **kwargs)
        bounds = current_bounds()
        if bounds.birth_date is not None and day < bounds.birth_date:
            raise ValidationError("Must not be before the birth date.")
        if day > bounds.today:
            raise ValidationError("Must not be in the future.")
        return day


_YEAR_MONTH = re.compile(r"(1[89]|20)\d\d-(0[1-9]|1[0-2])")


class YearMonth(fields.Field):
    """A ``"YYYY-MM"`` month (确诊时间), not before the birth month, not after this month."""

    default_error_messages = {"invalid": "Not a valid year-month (YYYY-MM)."}

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"pattern": f"^{_YEAR_MONTH.pattern}$", "example": "2020-03", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str) or not _YEAR_MONTH.fullmatch(value):
            raise self.make_error("invalid")
        month = (int(value[:4]), int(value[5:]))
        bounds = current_bounds()
        if bounds.birth_date is not None and month < (bounds.birth_date.year, bounds.birth_date.month):
            raise ValidationError("Must not be before the birth month.")
        if month > (bounds.today.year, bounds.today.month):
            raise ValidationError("Must not be in the future.")
        return value

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return value


class Age(fields.Integer):
    """An age in years (e.g. started smoking at), 0-120 and not above the resident's age today."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=validate.Range(min=0, max=120), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        years = super()._deserialize(value, attr, data, **kwargs)
        bounds = current_bounds()
        if bounds.birth_date is not None and years > age_on(bounds.birth_date, bounds.today):
            raise ValidationError("Must not exceed the resident's current age.")
        return years


def code(table: type[CodeEnum], **kwargs: Any) -> fields.Str:
    """A single choice from a code table, as its code string; its published schema
    (``forms.export``) lists the codes as an enum with their meanings, e.g. ``1 A型; 2 B型; ...``
    in ``description`` and ``["A型", "B型", ...]`` in ``x-enum-descriptions``."""
    metadata = {"description": code_meanings(table), "x-code-table": table.__name__,
                "x-enum-descriptions": [member.label for member in table], **kwargs.pop("metadata", {})}
    return fields.Str(validate=validate.OneOf(table.codes()), metadata=metadata, **kwargs)


def code_meanings(table: type[CodeEnum]) -> str:
    """``"1 户籍; 2 非户籍"``: each code with its label, in the table's order."""
    return "; ".join(f"{member.value} {member.label}" for member in table)


class Choices(validate.Validator):
    """A multiple choice: no repeats, at least ``at_least`` codes, ``alone`` (无) on its own."""

    def __init__(self, alone: CodeEnum | None = None, at_least: int = 1) -> None:
        self.alone = alone
        self.at_least = at_least

    def __call__(self, value: list[str]) -> list[str]:
        if len(value) < self.at_least:
            raise ValidationError("Select at least one option.")
        if len(set(value)) != len(value):
            raise ValidationError("Must not repeat an option.")
        if self.alone is not None and self.alone.value in value and len(value) > 1:
            raise ValidationError(f"{describe(self.alone)} cannot be combined with other options.")
        return value


def code_list(table: type[CodeEnum], *, alone: CodeEnum | None = None, at_least: int = 1,
              **kwargs: Any) -> fields.List:
    """A multiple choice from a code table; ``alone`` is its exclusive 无 option, if any."""
    return fields.List(code(table), validate=Choices(alone, at_least), **kwargs)


def describe(member: CodeEnum) -> str:
    return f"{member.label} ({member.value})"


# --- dependent fields -----------------------------------------------------------------------


@dataclass(frozen=True, init=False)
class Requires:
    """``field`` is required when the choice ``on`` holds one of ``when`` and forbidden otherwise.

    ``when`` is a code (or several), or a bool for a yes/no choice; ``unless`` turns it round
    (required for every answer but that one, e.g. a diagnosis date unless 无).  ``required=False``
    makes the field optional even then (an insurance card number), but still forbidden otherwise.
    """

    field: str
    on: str
    values: tuple[Any, ...]
    negated: bool
    required: bool

    def __init__(self, field: str, *, on: str, when: Any = None, unless: Any = None,
                 required: bool = True) -> None:
        if (when is None) == (unless is None):
            raise TypeError("give exactly one of when and unless")
        values = when if unless is None else unless
        many = isinstance(values, (tuple, list, set, frozenset))
        object.__setattr__(self, "field", field)
        object.__setattr__(self, "on", on)
        object.__setattr__(self, "values", tuple(values) if many else (values,))
        object.__setattr__(self, "negated", unless is not None)
        object.__setattr__(self, "required", required)

    def applies(self, choice: Any) -> bool:
        if choice is None:
            return False
        wanted = [v.value if isinstance(v, CodeEnum) else v for v in self.values]
        chosen = choice if isinstance(choice, list) else [choice]
        # compare types too, so that True never matches a code and 1 never matches True
        matched = any(c == w and type(c) is type(w) for c in chosen for w in wanted)
        return matched != self.negated

    def _condition(self) -> str:
        if isinstance(self.values[0], bool):
            return f"{self.on} is {'true' if self.values[0] else 'false'}"
        names = [describe(v) if isinstance(v, CodeEnum) else str(v) for v in self.values]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        return f"{listed} is selected in {self.on}"

    def check(self, data: Mapping[str, Any], original: Mapping[str, Any]) -> str | None:
        for name in (self.on, self.field):
            if name in original and name not in data:
                return None  # invalid in itself, and already reported
        given = data.get(self.field) not in (None, [], "")
        applies = self.applies(data.get(self.on))
        condition = self._condition()
        if applies and self.required and not given:
            return f"Required {'unless' if self.negated else 'when'} {condition}."
        if given and not applies:
            return f"Not allowed {'when' if self.negated else 'unless'} {condition}."
        return None


class Section(Schema):
    """A part of a form: unknown fields are errors; ``rules`` lists its dependent fields."""

    class Meta:
        unknown = RAISE

    rules: ClassVar[tuple[Requires, ...]] = ()

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _dependent_fields(self, data: dict[str, Any], original_data: Any, **kwargs: Any) -> None:
        if not isinstance(original_data, Mapping):
            return
        errors: dict[str, list[str]] = {}
        for rule in self.rules:
            if rule.field in errors:
                continue
            message = rule.check(data, original_data)
            if message:
                errors[rule.field] = [message]
        if errors:
            raise ValidationError(errors)


class Finding(Section):
    """正常/异常 with the abnormality described: ``{"normal": false, "detail": "右眼视网膜出血"}``."""

    normal = fields.Boolean(required=True)
    detail = Text(200, allow_none=True)

    rules = (Requires("detail", on="normal", when=False),)


class Presence(Section):
    """无/有 with what was found: ``{"present": true, "detail": "右下腹压痛"}``."""

    present = fields.Boolean(required=True)
    detail = Text(200, allow_none=True)

    rules = (Requires("detail", on="present", when=True),)


def distinct_by(key: str, *, except_for: Iterable[str] = ()) -> Callable[[list[dict[str, Any]]], Any]:
    """A list of entries in which ``key`` does not repeat (codes in ``except_for`` may)."""
    allowed = set(except_for)

    def check(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen = [entry.get(key) for entry in entries if entry.get(key) not in allowed]
        if len(seen) != len(set(seen)):
            raise ValidationError(f"Must not repeat the same {key}.")
        return entries

    return check


class FormSchema(Section):
    """A whole paper form.  ``occurred_on`` is the form's own date (填表/体检/接诊/会诊日期).

    ``birth_date`` and ``today`` bound every date in the form (see the module docstring).
    ``sex``, ``village_code`` and ``conditions`` (the archive's, passed in by the service) decide
    who is asked what (``asked_of`` for the whole form, ``resident_rules`` for its items; see
    ``forms.resident``).  ``previous`` is the content an amendment replaces.
    """

    occurred_on = LifeDate(required=True)

    asked_of: ClassVar[Group | None] = None
    resident_rules: ClassVar[tuple[Asked | InLastYear, ...]] = ()

    def __init__(self, *, birth_date: date | None = None, today: date | None = None, sex: str | None = None,
                 village_code: str | None = None, conditions: Iterable[str] = (),
                 previous: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bounds = DateBounds(birth_date, today or clock.today())
        self.resident = Resident(birth_date, sex, village_code, frozenset(conditions))
        self.previous = previous

    def load(self, data: Any, **kwargs: Any) -> Any:
        with date_bounds(self.bounds):
            return super().load(data, **kwargs)

    def validate(self, data: Any, **kwargs: Any) -> dict[str, Any]:
        with date_bounds(self.bounds):
            return super().validate(data, **kwargs)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _asked_of_the_resident(self, data: dict[str, Any], original_data: Any, **kwargs: Any) -> None:
        if not isinstance(original_data, Mapping):
            return
        if self.asked_of is not None and self.asked_of.test(self.resident, data) is False:
            raise ValidationError({"occurred_on": [f"The form is asked only of {self.asked_of.name}."]})
        errors = [error for rule in self.resident_rules for error in rule.check(self.resident, data, original_data)]
        if errors:
            raise ValidationError(as_messages(errors))
