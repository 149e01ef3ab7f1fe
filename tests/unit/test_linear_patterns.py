"""Regular expressions on untrusted input: length first, and patterns that match in linear time.

Timing a pattern would make a flaky test on a busy machine, so the patterns are checked by
their structure instead: no quantifier inside an unbounded quantifier, and no unbounded repeat
followed by an item that can match the same character (`[a-z ]*[a-z][a-z ]*` backtracks through
every split of a long line, which is what made a 32,000-character card number cost 4 s)."""

import importlib
import pkgutil
import re
from re import _constants as C, _parser

import pytest
from marshmallow import Schema, ValidationError, validate

import services.records.forms
from shared.contracts import fields as contract_fields, records as record_contracts, registry as registry_contracts
from shared.contracts.encounter import SCHEMA

SCHEMA_MODULES = ["shared.contracts.fields", "shared.contracts.events", "shared.contracts.archive_update",
                  "shared.contracts.registry", "shared.contracts.records", "shared.contracts.gateway", *(f"services.records.forms.{m.name}" for m in
                                                pkgutil.iter_modules(services.records.forms.__path__))]


# Unicode digits and white space (what \d and \s match in a str pattern): disjoint sets.
CATEGORIES = {C.CATEGORY_DIGIT: {c for c in range(0x110000) if chr(c).isdecimal()},
              C.CATEGORY_SPACE: {c for c in range(0x110000) if re.match(r"\s", chr(c))}}


def _first_chars(item) -> set | None:
    """The characters an item can start with (None: anything, or it can be empty)."""
    op, av = item
    if op is C.LITERAL:
        return {av}
    if op is C.IN:
        chars = set()
        for kind, value in av:
            if kind is C.LITERAL:
                chars.add(value)
            elif kind is C.RANGE:
                chars.update(range(value[0], value[1] + 1))
            elif kind is C.CATEGORY and value in CATEGORIES:
                chars |= CATEGORIES[value]
            else:
                return None  # a negation or another category: treat as overlapping anything
        return chars
    if op is C.SUBPATTERN:
        return _first_chars(av[-1][0]) if av[-1] else None
    if op is C.BRANCH:
        firsts = [_first_chars(branch[0]) if branch else None for branch in av[1]]
        return None if any(f is None for f in firsts) else set().union(*firsts)
    if op in (C.MAX_REPEAT, C.MIN_REPEAT):
        low, _, sub = av
        return _first_chars(sub[0]) if low > 0 and len(sub) == 1 else None
    return None


def _repeat_chars(item) -> set | None:
    op, av = item
    low, high, sub = av
    if len(sub) != 1:
        return None
    return _first_chars(sub[0]) if sub[0][0] in (C.LITERAL, C.IN) else None


def _has_repeat(items) -> bool:
    for op, av in items:
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):
            return True
        if op is C.SUBPATTERN and _has_repeat(av[-1]):
            return True
        if op is C.BRANCH and any(_has_repeat(b) for b in av[1]):
            return True
    return False


def _problems(items, inside_unbounded: bool = False) -> list[str]:
    found = []
    items = list(items)
    for i, (op, av) in enumerate(items):
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):
            low, high, sub = av
            unbounded = high is C.MAXREPEAT
            if (unbounded or inside_unbounded) and _has_repeat(sub):
                found.append("a quantifier inside an unbounded quantifier")
            found += _problems(sub, inside_unbounded or unbounded)
            if unbounded and i + 1 < len(items) and items[i + 1][0] not in (C.AT,):
                mine, nxt = _repeat_chars((op, av)), _first_chars(items[i + 1])
                if mine is None or nxt is None or mine & nxt:
                    found.append("an unbounded repeat followed by an item that can match the same character")
        elif op is C.SUBPATTERN:
            found += _problems(av[-1], inside_unbounded)
        elif op is C.BRANCH:
            for branch in av[1]:
                found += _problems(branch, inside_unbounded)
    return found


def linear_problems(pattern: str) -> list[str]:
    return _problems(_parser.parse(pattern))


def _patterns_of(validator) -> list[str]:
    if isinstance(validator, validate.Regexp):
        return [validator.regex.pattern]
    if isinstance(validator, contract_fields.ArchiveNumber):
        return [validator.regex.pattern]
    if isinstance(validator, contract_fields.BoundedText):
        return [validator.pattern.regex.pattern]
    if isinstance(validator, validate.And):
        return [p for v in validator.validators for p in _patterns_of(v)]
    return []


def _schema_patterns() -> dict[str, str]:
    found = {}
    for name in SCHEMA_MODULES:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            for pattern in _patterns_of(value):
                found[f"{name}.{attr}"] = pattern
            if isinstance(value, type) and issubclass(value, Schema):
                for field_name, field in value._declared_fields.items():
                    for validator in field.validators:
                        for pattern in _patterns_of(validator):
                            found[f"{name}.{attr}.{field_name}"] = pattern
    return found


def _json_schema_patterns(node, path="encounter-v1") -> dict[str, str]:
    found = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                found[path] = value
            else:
                found.update(_json_schema_patterns(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.update(_json_schema_patterns(value, f"{path}/{i}"))
    return found


def test_the_checker_catches_the_quadratic_card_pattern_and_nested_quantifiers():
    assert linear_problems(r"^[0-9A-Za-z \-]*[0-9A-Za-z][0-9A-Za-z \-]*$")
    assert linear_problems(r"^(a+)+$")
    assert not linear_problems(r"^[ \-]*[0-9A-Za-z][0-9A-Za-z \-]*$")
    assert not linear_problems(r"^\d{17}$")


def test_every_pattern_of_the_api_schemas_and_the_encounter_contract_is_linear():
    patterns = {**_schema_patterns(), **_json_schema_patterns(SCHEMA)}
    assert "shared.contracts.fields.CARD_NUMBER" in patterns and len(patterns) > 10
    bad = {where: linear_problems(p) for where, p in patterns.items() if linear_problems(p)}
    assert bad == {}


def test_a_card_number_of_100000_characters_is_refused_before_any_pattern_sees_it(monkeypatch):
    seen = []
    pattern = contract_fields.CARD_NUMBER.pattern.regex

    class Spy:
        def match(self, value):
            seen.append(len(value))
            return pattern.match(value)

    monkeypatch.setattr(contract_fields.CARD_NUMBER.pattern, "regex", Spy())
    with pytest.raises(ValidationError, match="between 1 and 64"):
        registry_contracts.ArchiveCreateSchema().load({
            "name": "张秀英", "sex": "2", "birth_date": "1949-12-31", "id_number": "11010519491231002X",
            "village_code": "110105003001", "institution_code": "C1101050031", "health_card_no": "1" * 100_000 + "!"})
    assert seen == []
    assert contract_fields.CARD_NUMBER("1234 5678-AB") == "1234 5678-AB"
    assert seen == [12]


@pytest.mark.parametrize("value", [" -1", "A", "12 34-5"])
def test_card_numbers_with_spaces_and_hyphens_still_pass(value):
    assert contract_fields.CARD_NUMBER(value) == value


@pytest.mark.parametrize("value", ["", " ", "--", "12_34", "卡123"])
def test_card_numbers_without_a_letter_or_digit_or_with_other_characters_are_refused(value):
    with pytest.raises(ValidationError):
        contract_fields.CARD_NUMBER(value)


def test_a_timeline_filter_of_100000_characters_is_refused_by_its_length():
    with pytest.raises(ValidationError) as caught:
        record_contracts.RecordQuerySchema().load({"since": "2" * 100_000})
    assert caught.value.messages == {"since": ["Longer than maximum length 40."]}
