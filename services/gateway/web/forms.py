"""Form pages drawn from the forms' published JSON Schemas (`shared/schemas/forms/*.json`, the
very documents the records service validates against: `python -m services.records.forms.export`
writes them).

Each schema becomes a tree of `Field`s: an object a fieldset, a code list (`enum` with its
`x-enum-descriptions`) radio buttons or a list of choices with their meanings, an array of codes
check boxes, an array of objects repeated rows, a date a date input, a number a number input with
the schema's bounds. The posted form is read back into the record's `content` by the same tree
(`read`); the records service then checks it as it checks any API call, and its field errors
(marshmallow's nested dict, or the rules' dotted paths) are laid beside the field they name
(`flatten_errors`). A new form in `shared/schemas/forms/` appears with no page code; its Chinese
labels go into `labels.py` (a field without one shows its name).

    tree = form_tree("health_exam")
    content = read(tree, request.form)       # {"occurred_on": "2026-11-20", "general": {...}, ...}
    errors = flatten_errors({"general": {"pulse": ["Must be ..."]}})  -> {"general.pulse": [...]}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import shared
from shared.contracts.forms import entered_forms
import services.gateway.web.labels as labels

FORMS_DIR = Path(shared.__file__).parent / "schemas" / "forms"
MISSING = object()
SHORT_TEXT = 200   # longer strings get a text area
RADIO_AT_MOST = 5  # code lists this short are radio buttons (the paper form's boxes), longer a select


@cache
def published() -> dict[str, dict]:
    """record_type -> its published schema document, for every form in shared/schemas/forms/."""
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(FORMS_DIR.glob("*.json"))}


def form_names() -> dict[str, str]:
    """record_type -> its Chinese title, for the forms that are published and entered by hand (a
    form another service files, `filed_by`, such as a referral's 转出单, is shown, not offered)."""
    return {record_type: labels.title(record_type) for record_type in entered_forms()}


@dataclass
class Field:
    path: str                 # "general.blood_pressure.left.systolic", rows numbered: "tests.0.item"
    name: str
    label: str
    kind: str                 # group | repeat | radio | select | checks | text | textarea | number | date | boolean | lines | json
    required: bool            # the schema requires it where it stands
    enforced: bool            # ... and every group around it is required too (the browser checks it)
    children: list["Field"] = field(default_factory=list)
    codes: list[tuple[str, str]] = field(default_factory=list)
    schema: dict = field(default_factory=dict)
    record_type: str = ""
    integer: bool = False

    @property
    def id(self) -> str:
        return "f-" + self.path.replace(".", "-")

    def row(self, index: int) -> "Field":
        """Row `index` of a repeated group."""
        return _build(self.record_type, self.schema["items"], f"{self.path}.{index}", self.name, True, False)

    def rows(self, value) -> list["Field"]:
        """The rows to show: one per value given, and an empty one to add."""
        count = len(value) if isinstance(value, list) else 0
        return [self.row(i) for i in range(count + 1)]


def _components(record_type: str) -> dict:
    return published()[record_type]["components"]


def _resolve(record_type: str, node: dict) -> tuple[dict, bool]:
    """The node a `$ref` or an `anyOf` of "null or X" stands for, and whether it may be left out."""
    nullable = bool(node.get("nullable"))
    if "$ref" in node:
        return _components(record_type)[node["$ref"].rsplit("/", 1)[-1]], nullable
    if "anyOf" in node:
        for option in node["anyOf"]:
            if "$ref" in option or option.get("properties"):
                resolved, _ = _resolve(record_type, option)
                return resolved, True
    return node, nullable


def _codes(node: dict) -> list[tuple[str, str]]:
    """[(code, meaning)] of a code list: its `x-enum-descriptions`, else its `description`
    ("1 男; 2 女")."""
    enum = [str(code) for code in node.get("enum", [])]
    meanings = node.get("x-enum-descriptions")
    if not meanings:
        described = dict(part.strip().split(" ", 1) for part in (node.get("description") or "").split(";")
                         if " " in part.strip())
        meanings = [described.get(code, code) for code in enum]
    return list(zip(enum, meanings))


def _build(record_type: str, node: dict, path: str, name: str, required: bool, enforced: bool) -> Field:
    node, _ = _resolve(record_type, node)
    label = labels.label(record_type, path, name)
    made = Field(path=path, name=name, label=label, kind="text", required=required, enforced=enforced,
                 schema=node, record_type=record_type)
    kind = node.get("type")
    if kind == "object" and "properties" in node:
        needed = set(node.get("required", []))
        made.kind = "group"
        made.children = [_build(record_type, sub, f"{path}.{key}" if path else key, key, key in needed,
                                enforced and key in needed)
                         for key, sub in node["properties"].items()
                         if not labels.derived(record_type, f"{path}.{key}" if path else key)]
    elif kind == "array":
        items, _ = _resolve(record_type, node.get("items", {}))
        if items.get("enum"):
            made.kind, made.codes = "checks", _codes(items)
        elif items.get("type") == "object":
            made.kind, made.schema = "repeat", {**node, "items": items}
        else:
            made.kind = "lines"
    elif "enum" in node:
        made.codes = _codes(node)
        made.kind = "radio" if len(made.codes) <= RADIO_AT_MOST else "select"
    elif kind == "boolean":
        made.kind = "boolean"
    elif kind in ("integer", "number"):
        made.kind, made.integer = "number", kind == "integer"
    elif kind == "string" and node.get("format") == "date":
        made.kind = "date"
    elif kind == "string":
        made.kind = "textarea" if (node.get("maxLength") or 0) > SHORT_TEXT else "text"
    elif kind == "object":
        made.kind = "json"
    return made


@cache
def form_tree(record_type: str) -> Field:
    """The whole form of `record_type` as one group (KeyError: no such published form)."""
    document = published()[record_type]
    root = document["components"][document["schema"].rsplit("/", 1)[-1]]
    return _build(record_type, root, "", record_type, True, True)


# -- reading a posted form back ------------------------------------------------------------

def _number(raw: str, integer: bool):
    try:
        return int(raw) if integer else (int(raw) if re.fullmatch(r"-?\d+", raw) else float(raw))
    except ValueError:
        return raw  # left for the server to refuse beside the field


def read(node: Field, form) -> Any:
    """The value of `node` in the posted `form` (a werkzeug MultiDict), or MISSING when nothing
    was filled in: empty fields, groups and rows are left out, as on paper."""
    if node.kind == "group":
        values = {child.name: value for child in node.children if (value := read(child, form)) is not MISSING}
        return values or MISSING
    if node.kind == "repeat":
        prefix = f"{node.path}."
        indices = sorted({int(key[len(prefix):].split(".", 1)[0]) for key in form.keys()
                          if key.startswith(prefix) and key[len(prefix):].split(".", 1)[0].isdigit()})
        rows = [row for i in indices if (row := read(node.row(i), form)) is not MISSING]
        return rows or MISSING
    if node.kind == "checks":
        chosen = [value for value in form.getlist(node.path) if value]
        return chosen or MISSING
    raw = (form.get(node.path) or "").strip()
    if not raw:
        return MISSING
    if node.kind == "number":
        return _number(raw, node.integer)
    if node.kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    if node.kind == "lines":
        if node.schema.get("items", {}).get("type") == "integer":  # answers: one a line, or spaced
            return [_number(part, True) for part in re.split(r"[\s,，、]+", raw) if part]
        return [line.strip() for line in raw.splitlines() if line.strip()]
    if node.kind == "json":
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def read_content(record_type: str, form) -> dict:
    content = read(form_tree(record_type), form)
    return {} if content is MISSING else content


def value_at(content: Any, path: str) -> Any:
    """The value at a dotted path of the content (rows by number), or None."""
    value = content
    for part in path.split(".") if path else []:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def shown(value: Any) -> str:
    """How a value stands in an input: `""` for none, `true`/`false` for a boolean, lines for a list."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def flatten_errors(details: Any, prefix: str = "") -> dict[str, list[str]]:
    """The server's field errors by dotted path (`content.` dropped: the form is the content):
    `{"content": {"general": {"pulse": ["..."]}}}` -> `{"general.pulse": ["..."]}`."""
    flat: dict[str, list[str]] = {}
    if isinstance(details, dict):
        for key, value in details.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            for inner, messages in flatten_errors(value, path).items():
                flat.setdefault(inner, []).extend(messages)
    elif isinstance(details, list) and all(isinstance(item, str) for item in details):
        flat[prefix] = list(details)
    elif isinstance(details, list):
        for i, value in enumerate(details):
            flat.update(flatten_errors(value, f"{prefix}.{i}"))
    elif details is not None:
        flat[prefix] = [str(details)]
    return {(path[len("content."):] if path.startswith("content.") else path): messages
            for path, messages in flat.items()}


_ROW = re.compile(r"\.\d+(?=\.|$)")


def _generic(path: str) -> str:
    """A path without its row numbers: `tests.0.item` -> `tests.item`."""
    return _ROW.sub("", path)


def _paths(node: Field) -> set[str]:
    found = {_generic(node.path)}
    for child in node.children if node.kind != "repeat" else [node.row(0)]:
        found |= _paths(child)
    return found


def unplaced(errors: dict[str, list[str]], tree: Field) -> dict[str, list[str]]:
    """The errors that name no field of the form: shown at its top."""
    paths = _paths(tree)
    return {path: messages for path, messages in errors.items() if not path or _generic(path) not in paths}
