"""The paper forms' published schemas, as the gateway's document shows them: one file per form in
`shared/schemas/forms/<record_type>.json`, generated from the records service's forms
(`python -m services.records.forms.export`; tests/unit/test_form_schemas.py holds the files to the
forms), so that `services/gateway/openapi.py` describes each form's fields and code lists without
importing a service package.

    form_component("health_exam")             -> "Form.health_exam"
    published_forms()["visit"]["components"]  -> {"Form.visit": {"type": "object", ...}}
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

FORM_SCHEMAS_DIR = Path(__file__).resolve().parents[1] / "schemas" / "forms"


def form_component(record_type: str) -> str:
    """The name of a form's schema among the document's components."""
    return f"Form.{record_type}"


@cache
def published_forms() -> dict[str, dict[str, Any]]:
    """Each form's file by record type, in the order the files are named."""
    return {path.stem: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(FORM_SCHEMAS_DIR.glob("*.json"))}


def entered_forms() -> list[str]:
    """The forms a record may be entered on (`POST .../records`): all but those another service
    files (`filed_by`: a referral's 转出单 and 回转单 are filed by the referral itself)."""
    return [record_type for record_type, document in published_forms().items() if not document.get("filed_by")]


def form_references() -> dict[str, dict[str, str]]:
    """`{"visit": {"$ref": "#/components/schemas/Form.visit"}, ...}`: each form's schema by record
    type, as `RecordCreate.content`'s `x-forms` names them (the forms entered by hand)."""
    return {record_type: {"$ref": f"#/components/schemas/{form_component(record_type)}"}
            for record_type in entered_forms()}


CONTENT_DESCRIPTION = ("The form's fields, as the schema of its `record_type` says (`x-forms`: "
                       + ", ".join(f"`{t}` in `{form_component(t)}`" for t in entered_forms())
                       + "): each code list is an `enum` with the codes' meanings in its `description` "
                       "and `x-enum-descriptions`.")
