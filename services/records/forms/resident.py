"""What a form's rules know of the resident, and which parts of a form are asked of whom.

The archive says who the resident is (birth date, sex, village: the registry's) and what the
other records say they have (conditions: `services.records.rules.archive_conditions`); the
records service passes them in as a `Resident`. A form declares its rules as data:

    resident_rules = (
        Asked("general.self_care", of=ELDERLY, required=True),     # required at 65, refused below
        Asked("physical_exam.gynaecology", of=WOMEN),               # refused for men
        Asked("physical_exam.digital_rectal", of=MEN, code=DigitalRectalExam.PROSTATE_ABNORMAL),
        InLastYear("vaccinations", start="date"),                   # 最近1年内 of the form's date
    )

Each `Group` answers True, False or None for a resident on a form: None when the archive does not
say (no birth date, sex 0 未知 / 9 未说明, no village), and then its rules do not apply. Ages are
completed years on the form's own date (`occurred_on`). An item inside a section left out is not
checked: the section was not done. Messages name the group, never a value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from shared.codes import CodeEnum, Sex

Path = tuple[Any, ...]  # keys and list indexes, e.g. ("hospital_stays", 0, "admitted_on")
Errors = list[tuple[Path, str]]

LAST_YEAR = timedelta(days=365)  # "最近1年内": the 365 days before the form's date, that day included


def age_on(birth_date: date, day: date) -> int:
    """Completed years of age on ``day``."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


@dataclass(frozen=True)
class Resident:
    """The resident as the archive knows them: ``Resident(date(1950, 6, 15), "2", "110105101102",
    frozenset({"type2_diabetes"}))``. Every field may be unknown."""

    birth_date: date | None = None
    sex: str | None = None
    village_code: str | None = None
    conditions: frozenset[str] = field(default_factory=frozenset)

    def age_on(self, day: Any) -> int | None:
        if self.birth_date is None or not isinstance(day, date):
            return None
        return age_on(self.birth_date, day)


@dataclass(frozen=True)
class Group:
    """Residents a part of a form is asked of: ``test(resident, form)`` -> True, False or None."""

    name: str
    test: Callable[[Resident, Mapping[str, Any]], bool | None]


def aged(at_least: int) -> Group:
    def test(resident: Resident, form: Mapping[str, Any]) -> bool | None:
        age = resident.age_on(form.get("occurred_on"))
        return None if age is None else age >= at_least
    return Group(f"residents aged {at_least} and over on the form's date", test)


def aged_in_year(at_least: int) -> Group:
    """Residents who reach ``at_least`` in the calendar year of the form's date (the elderly
    programmes take a resident "65 or more in the year of service")."""
    def test(resident: Resident, form: Mapping[str, Any]) -> bool | None:
        day = form.get("occurred_on")
        if resident.birth_date is None or not isinstance(day, date):
            return None
        return day.year - resident.birth_date.year >= at_least
    return Group(f"residents aged {at_least} or more in the year of the form's date", test)


def of_sex(sex: Sex, name: str) -> Group:
    def test(resident: Resident, form: Mapping[str, Any]) -> bool | None:
        known = (Sex.MALE.value, Sex.FEMALE.value)
        return None if resident.sex not in known else resident.sex == sex.value
    return Group(name, test)


def _villagers(resident: Resident, form: Mapping[str, Any]) -> bool | None:
    code = resident.village_code or ""
    if len(code) != 12 or not code.isdigit():
        return None
    return 101 <= int(code[-3:]) <= 199


ELDERLY = aged(65)
ELDERLY_IN_YEAR = aged_in_year(65)
AGED_7_AND_OVER = aged(7)
WOMEN = of_sex(Sex.FEMALE, "women")
MEN = of_sex(Sex.MALE, "men")
# domain.md §1: the archive number's village segment is 001-099 for residents' committees
# (居委会), 101-199 for villagers' committees (村委会) and 901-999 for other organisations.
VILLAGERS = Group("residents of a villagers' committee (村委会, village segment 101-199)", _villagers)


def _walk(node: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


@dataclass(frozen=True)
class Asked:
    """The item at ``path`` (dotted) is asked of ``of``: refused for other residents (``only``),
    required of the group (``required``). ``code`` narrows the rule to one answer of a choice."""

    path: str
    of: Group
    required: bool = False
    only: bool = True
    code: CodeEnum | None = None

    def check(self, resident: Resident, data: Mapping[str, Any], original: Any) -> Errors:
        *parents, name = self.path.split(".")
        section, given_section = _walk(data, tuple(parents)), _walk(original, tuple(parents))
        if not isinstance(section, Mapping) or not isinstance(given_section, Mapping):
            return []  # the section was left out, or is invalid and reported
        if name in given_section and name not in section:
            return []  # the item is invalid in itself, and reported
        value = section.get(name)
        if self.code is not None:
            given = self.code.value in (value if isinstance(value, list) else [value])
        else:
            given = value not in (None, [], "")
        member = self.of.test(resident, data)
        if member is None:
            return []
        path = (*parents, name)
        if member and self.required and not given:
            return [(path, f"Required for {self.of.name}.")]
        if not member and self.only and given:
            if self.code is not None:
                return [(path, f"{self.code.label} ({self.code.value}) is asked only of {self.of.name}.")]
            return [(path, f"Asked only of {self.of.name}.")]
        return []


@dataclass(frozen=True)
class InLastYear:
    """Rows of the table ``rows`` fall within the year before the form's date (最近1年内): each
    begins (``start``) no later than the form's date and ends (``end``; a row without an end
    date is still going on, a row of a table without ``end`` is one day) no earlier than 365
    days before it."""

    rows: str
    start: str
    end: str | None = None

    def check(self, resident: Resident, data: Mapping[str, Any], original: Any) -> Errors:
        day = data.get("occurred_on")
        if not isinstance(day, date):
            return []
        errors: Errors = []
        for index, row in enumerate(data.get(self.rows) or []):
            began, ended = row.get(self.start), row.get(self.end) if self.end else row.get(self.start)
            if isinstance(began, date) and began > day:
                errors.append(((self.rows, index, self.start), "Must not be after the form's date."))
            elif isinstance(ended, date) and ended < day - LAST_YEAR:
                where = self.end if self.end and self.end in row else self.start
                errors.append(((self.rows, index, where), "Must fall within the year before the form's date (最近1年内)."))
        return errors


def as_messages(errors: Errors) -> dict[Any, Any]:
    """The errors as marshmallow's nested messages: ``[(("a", 0, "b"), "m")] -> {"a": {0: {"b": ["m"]}}}``."""
    messages: dict[Any, Any] = {}
    for path, message in errors:
        node = messages
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node.setdefault(path[-1], []).append(message)
    return messages
