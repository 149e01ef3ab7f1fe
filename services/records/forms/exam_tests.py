"""健康体检表 section 6, 辅助检查: a list of ``{"item", "value", "unit"}``.

Each item of ``ExamTestItem`` has a kind:

- a quantity: a number in one of the item's units, within a plausible range for that unit
  (wide enough for the sick, narrow enough to catch a unit mix-up, e.g. glucose in mg/dL
  sent as mmol/L);
- a grade: one of a few printed results (urine dipstick ``-`` … ``++++``, 阴性/阳性), no unit;
- a coded result: 1 正常 / 2 异常 (``result``) with the abnormality described (``description``,
  required when 异常, kept when 正常), no unit: 心电图, 胸部X线片, B超 (腹部, 其他) and 宫颈涂片,
  so that abnormal results can be counted (``{"item": "ecg", "result": "2", "description": "ST段压低"}``);
- a description: free text (the "其他" rows), no unit.

``other`` names its test in ``name``; units are normalised (``umol/L`` -> ``μmol/L``).

Coded results were free text before they were coded (``{"item": "ecg", "value": "窦性心律"}``).
Records filed then keep that shape and read as they were; a result of that shape loads here (so
an amendment can carry it over unchanged), and the form (``HealthExamSchema``) refuses it unless
the revision being amended holds the very same result: new and changed results are coded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from shared.codes import ExamTestItem as Item
from shared.codes import NormalAbnormal

from .common import Requires, Section, Text, code, distinct_by

MAX_TESTS = 60
DESCRIPTION_MAX = 500


@dataclass(frozen=True)
class Quantity:
    ranges: dict[str, tuple[float, float]]  # unit -> plausible (min, max)


@dataclass(frozen=True)
class Grade:
    values: tuple[str, ...]


@dataclass(frozen=True)
class Description:
    pass


@dataclass(frozen=True)
class Coded:
    pass


DIPSTICK = Grade(("-", "±", "+", "++", "+++", "++++"))
NEGATIVE_POSITIVE = Grade(("阴性", "阳性"))
TEXT = Description()
CODED = Coded()


def _mmol(low: float, high: float) -> Quantity:
    return Quantity({"mmol/L": (low, high)})


SPECS: dict[Item, Quantity | Grade | Description] = {
    Item.HAEMOGLOBIN: Quantity({"g/L": (20, 250)}),
    Item.WHITE_CELLS: Quantity({"×10^9/L": (0.1, 500)}),
    Item.PLATELETS: Quantity({"×10^9/L": (1, 2000)}),
    Item.BLOOD_ROUTINE_OTHER: TEXT,
    Item.URINE_PROTEIN: DIPSTICK,
    Item.URINE_GLUCOSE: DIPSTICK,
    Item.URINE_KETONES: DIPSTICK,
    Item.URINE_OCCULT_BLOOD: DIPSTICK,
    Item.URINE_ROUTINE_OTHER: TEXT,
    Item.FASTING_GLUCOSE: Quantity({"mmol/L": (0.5, 60), "mg/dL": (9, 1100)}),
    Item.ECG: CODED,
    Item.URINE_MICROALBUMIN: Quantity({"mg/dL": (0, 500)}),
    Item.FAECAL_OCCULT_BLOOD: NEGATIVE_POSITIVE,
    Item.HBA1C: Quantity({"%": (2, 20)}),
    Item.HBSAG: NEGATIVE_POSITIVE,
    Item.ALT: Quantity({"U/L": (0, 10000)}),
    Item.AST: Quantity({"U/L": (0, 10000)}),
    Item.ALBUMIN: Quantity({"g/L": (5, 70)}),
    Item.TOTAL_BILIRUBIN: Quantity({"μmol/L": (0, 1000)}),
    Item.CONJUGATED_BILIRUBIN: Quantity({"μmol/L": (0, 800)}),
    Item.CREATININE: Quantity({"μmol/L": (5, 3000)}),
    Item.UREA: _mmol(0.3, 100),
    Item.POTASSIUM: _mmol(1.0, 10.0),
    Item.SODIUM: _mmol(90, 200),
    Item.TOTAL_CHOLESTEROL: _mmol(0.5, 30),
    Item.TRIGLYCERIDES: _mmol(0.1, 60),
    Item.LDL_C: _mmol(0.1, 20),
    Item.HDL_C: _mmol(0.1, 10),
    Item.CHEST_XRAY: CODED,
    Item.ULTRASOUND_ABDOMEN: CODED,
    Item.ULTRASOUND_OTHER: CODED,
    Item.CERVICAL_SMEAR: CODED,
    Item.OTHER: TEXT,
}

CODED_ITEMS = frozenset(item.value for item, spec in SPECS.items() if isinstance(spec, Coded))

# Spellings seen in lab systems, mapped to the one stored.
UNIT_ALIASES = {
    "umol/L": "μmol/L", "µmol/L": "μmol/L",  # ASCII u and the micro sign U+00B5
    "x10^9/L": "×10^9/L", "10^9/L": "×10^9/L", "*10^9/L": "×10^9/L",
    "mmol/l": "mmol/L", "g/l": "g/L", "u/L": "U/L", "IU/L": "U/L", "mg/dl": "mg/dL",
}


class NumberOrText(fields.Field):
    """A number (not a bool) or a non-blank string, kept as given (strings trimmed)."""

    default_error_messages = {"invalid": "Must be a number or text."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float | int | str:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise self.make_error("invalid")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.make_error("invalid")
        if isinstance(value, str):
            if not value.strip():
                raise ValidationError("Must not be blank.")
            if len(value) > DESCRIPTION_MAX:
                raise ValidationError(f"Longer than maximum length {DESCRIPTION_MAX}.")
            return value.strip()
        return value


def _normal_unit(unit: str | None) -> str | None:
    return None if unit is None else UNIT_ALIASES.get(unit.strip(), unit.strip())


def _spec_errors(item: Item, data: dict[str, Any], unit: str | None) -> dict[str, str]:
    spec, value = SPECS[item], data.get("value")
    if isinstance(spec, Coded):
        return _coded_errors(data, unit)
    if "value" not in data or value is None:
        return {"value": "Missing data for required field."}
    for field in ("result", "description"):
        if data.get(field) is not None:
            return {field: "Must be left out for this item."}
    if isinstance(spec, Quantity):
        if unit not in spec.ranges:
            return {"unit": f"Must be one of: {', '.join(spec.ranges)}."}
        if isinstance(value, str):
            return {"value": "Must be a number."}
        low, high = spec.ranges[unit]
        if not low <= value <= high:
            return {"value": f"Outside the plausible range {low:g}-{high:g} {unit}."}
        return {}
    if unit is not None and item is not Item.OTHER:
        return {"unit": "Must be left out for this item."}
    if isinstance(spec, Grade) and value not in spec.values:
        return {"value": f"Must be one of: {', '.join(spec.values)}."}
    if isinstance(spec, Description) and item is not Item.OTHER and not isinstance(value, str):
        return {"value": "Must be text."}
    return {}


def _coded_errors(data: dict[str, Any], unit: str | None) -> dict[str, str]:
    if unit is not None:
        return {"unit": "Must be left out for this item."}
    if data.get("value") is not None:  # the shape of results filed before they were coded
        if not isinstance(data["value"], str):
            return {"value": "Must be text."}
        if data.get("result") is not None or data.get("description") is not None:
            return {"value": "Give result and description instead."}
        return {}
    if data.get("result") is None:
        return {"result": "Missing data for required field."}
    if data["result"] == NormalAbnormal.ABNORMAL.value and data.get("description") is None:
        return {"description": f"Required when {NormalAbnormal.ABNORMAL.label} "
                               f"({NormalAbnormal.ABNORMAL.value}) is selected in result."}
    return {}


def uncoded(result: dict[str, Any]) -> bool:
    """A result of a coded item in the free-text shape it had before: ``{"item": "ecg", "value": "窦性心律"}``."""
    return result.get("item") in CODED_ITEMS and isinstance(result.get("value"), str) and result.get("result") is None


class ExamResult(Section):
    """One result: ``{"item": "fasting_glucose", "value": 5.6, "unit": "mmol/L"}``, or a coded one:
    ``{"item": "ecg", "result": "2", "description": "ST段压低"}``."""

    item = code(Item, required=True)
    name = Text(50, allow_none=True)
    value = NumberOrText(allow_none=True)
    unit = fields.Str(allow_none=True, validate=validate.Length(min=1, max=20))
    result = code(NormalAbnormal, allow_none=True)
    description = Text(DESCRIPTION_MAX, allow_none=True)

    rules = (Requires("name", on="item", when=Item.OTHER),)

    @validates_schema
    def _matches_item(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors = _spec_errors(Item(data["item"]), data, _normal_unit(data.get("unit")))
        if errors:
            raise ValidationError({field: [message] for field, message in errors.items()})

    @post_load
    def _normalise_unit(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("unit") is not None:
            data["unit"] = _normal_unit(data["unit"])
        return data


def exam_results(**kwargs: Any) -> fields.List:
    """The section: each item once, except ``other``."""
    return fields.List(fields.Nested(ExamResult), validate=[
        validate.Length(max=MAX_TESTS), distinct_by("item", except_for=[Item.OTHER.value])], **kwargs)
