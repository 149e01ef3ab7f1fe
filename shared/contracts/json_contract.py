"""What the suite's JSON Schema contracts share (`ehr.encounter/1`, `ehr.settlement/1`): the
field errors of a failing message in marshmallow's wording, built from the rule and never from
the value, and the shape of what a contract defines, by which unknown fields are pruned and an
operator's view of a message is drawn.

    report(full_validator, body)   -> {"patient": {"sex": ["Must be one of: 0, 1, 2, 9."]}}
    shape(schema)                  -> {"schema": None, "source": {"institution_code": None, ...}, ...}
    prune(value, shape(schema["$defs"]["encounter"], schema))
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker


def aware(value: str) -> datetime | None:
    """An ISO 8601 instant with its UTC offset, or None (one without an offset is refused)."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else None


def real_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
        return True
    except (TypeError, ValueError):
        return False


def full_validator(schema: dict) -> Draft202012Validator:
    """The reference validator of a contract, with `date` and `date-time` checked as the suite does:
    reached only for a message the compiled validator refused, to name every failing field."""
    checker = FormatChecker(formats=())
    checker.checks("date")(lambda v: not isinstance(v, str) or real_date(v))
    checker.checks("date-time")(lambda v: not isinstance(v, str) or aware(v) is not None)
    return Draft202012Validator(schema, format_checker=checker)


def message(error) -> str:
    """A field error in marshmallow's wording, built from the rule, never from the value."""
    rule, expected = error.validator, error.validator_value
    if rule == "required":
        return "Missing data for required field."
    if rule == "type":
        kinds = [expected] if isinstance(expected, str) else list(expected)
        return f"Not a valid {' or '.join(k for k in kinds if k != 'null')}."
    if rule in ("enum", "const"):
        options = expected if rule == "enum" else [expected]
        return "Must be one of: " + ", ".join(str(o) for o in options if o is not None) + "."
    if rule == "format":
        return f"Not a valid {expected}."
    if rule == "pattern":
        return "Does not match the expected format."
    if rule == "minLength":
        return f"Shorter than minimum length {expected}."
    if rule == "maxLength":
        return f"Longer than maximum length {expected}."
    if rule in ("minimum", "maximum"):
        return f"Must be {'greater' if rule == 'minimum' else 'less'} than or equal to {expected}."
    return f"Fails the {rule} rule."


def place(errors: dict, path: list, text: str) -> None:
    node = errors
    for key in path[:-1]:
        node = node.setdefault(str(key), {})
        if not isinstance(node, dict):
            return
    node.setdefault(str(path[-1]) if path else "_schema", []).append(text)


def report(validator: Draft202012Validator, body: Any) -> dict:
    """Every failing field of `body`, {path: [messages]} nested as the body is."""
    errors: dict = {}
    for error in validator.iter_errors(body):
        path = list(error.absolute_path)
        if error.validator == "anyOf":  # an object or null: report what is wrong inside it
            inner = [sub for sub in error.context or [] if sub.validator != "type"]
            for sub in inner:
                where = path + list(sub.relative_path)
                if sub.validator == "required":  # one of several fields: name each one missing
                    where += [f for f in sub.validator_value if f not in (sub.instance or {})][:1]
                place(errors, where, message(sub))
            if not inner:
                place(errors, path, "Not a valid object.")
            continue
        if error.validator == "required":
            missing = [f for f in error.validator_value if f not in (error.instance or {})]
            path = path + missing[:1]
        place(errors, path, message(error))
    return errors or {"_schema": ["Invalid."]}


def shape(schema: dict, root: dict | None = None) -> Any:
    """What of a value the contract defines: {field: shape} for objects, [shape] for arrays,
    None for anything else. Built once from the schema, so pruning a message is cheap."""
    root = root or schema
    if "$ref" in schema:
        return shape(root["$defs"][schema["$ref"].rsplit("/", 1)[-1]], root)
    if "properties" in schema:  # an object (whatever anyOf says of which fields it requires)
        return {name: shape(sub, root) for name, sub in schema["properties"].items()}
    if "anyOf" in schema:
        return shape(next((s for s in schema["anyOf"] if "$ref" in s), schema["anyOf"][0]), root)
    if "items" in schema:
        return [shape(schema["items"], root)]
    return None


def prune(value: Any, defined: Any) -> Any:
    """Keep only what the contract defines (unknown fields are ignored, not stored)."""
    if isinstance(defined, dict) and isinstance(value, dict):
        return {k: (prune(v, defined[k]) if defined[k] is not None else v) for k, v in value.items() if k in defined}
    if isinstance(defined, list) and isinstance(value, list):
        return [prune(v, defined[0]) for v in value]
    return value
