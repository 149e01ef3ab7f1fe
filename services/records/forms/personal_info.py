"""个人基本信息表: the parts the registry does not own.

The registry keeps name, sex, birth date, ID number, phones, address and village; this record
keeps the rest of the form, with the codes of ``shared.codes`` (domain.md §3).

The 填表说明's rules (see ``forms.resident``):

- children aged 0-6 on the form's date are not asked for it (their 新生儿家庭访视记录表 and
  health checks take its place): refused;
- 生活环境 is required of residents of a villagers' committee (村委会: the archive's village
  segment, the last 3 digits of its 12-digit village code, 101-199) and may be given by others
  (001-099 居委会, 901-999 其他组织);
- the form is filled once per archive and then changed in place: a second ``personal_info``
  record is refused by the records service (``services.records.rules.require_first``); a change
  is a revision of the one record.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate

from shared.codes import (
    BloodTypeABO,
    BloodTypeRh,
    Disability,
    DrinkingWater,
    DrugAllergy,
    Education,
    Exposure,
    FamilyHistoryDisease,
    Fuel,
    KitchenVentilation,
    LivestockPen,
    MaritalStatus,
    Occupation,
    PastDisease,
    PaymentMethod,
    Toilet,
)

from .common import FormSchema, LifeDate, Requires, Section, Text, YearMonth, code, code_list, describe
from .resident import AGED_7_AND_OVER, VILLAGERS, Asked

OTHER_TEXT = 100
MAX_EVENTS = 20  # the paper has two rows per history; the electronic record allows more

_CARD_NUMBER = validate.Regexp(r"^[0-9A-Za-z-]{1,32}$", error="Must be 1-32 letters, digits or hyphens.")


class BloodType(Section):
    abo = code(BloodTypeABO, required=True)
    rh = code(BloodTypeRh, required=True)


class Payment(Section):
    """医疗费用支付方式, with the card numbers the form has room for (1, 2 and 3 only)."""

    methods = code_list(PaymentMethod, required=True)
    other = Text(OTHER_TEXT, allow_none=True)
    employee_insurance_no = fields.Str(allow_none=True, validate=_CARD_NUMBER)
    resident_insurance_no = fields.Str(allow_none=True, validate=_CARD_NUMBER)
    rural_cooperative_no = fields.Str(allow_none=True, validate=_CARD_NUMBER)

    rules = (
        Requires("other", on="methods", when=PaymentMethod.OTHER),
        Requires("employee_insurance_no", on="methods", when=PaymentMethod.URBAN_EMPLOYEE_INSURANCE,
                 required=False),
        Requires("resident_insurance_no", on="methods", when=PaymentMethod.URBAN_RESIDENT_INSURANCE,
                 required=False),
        Requires("rural_cooperative_no", on="methods", when=PaymentMethod.NEW_RURAL_COOPERATIVE,
                 required=False),
    )


# A disease that carries text (a tumour's site, an occupational disease's name, 其他) may be
# recorded more than once; the others only once.
_DISEASES_WITH_TEXT = (PastDisease.MALIGNANT_TUMOUR, PastDisease.OCCUPATIONAL_DISEASE, PastDisease.OTHER)


class PastDiseaseEntry(Section):
    """One disease with its 确诊时间: ``{"code": "6", "diagnosed_on": "2020-03", "text": "胃"}``."""

    code = code(PastDisease, required=True)
    diagnosed_on = YearMonth(allow_none=True)
    text = Text(OTHER_TEXT, allow_none=True)

    rules = (
        Requires("diagnosed_on", on="code", unless=PastDisease.NONE),
        Requires("text", on="code", when=_DISEASES_WITH_TEXT),
    )


def _diseases(entries: list[dict[str, Any]]) -> None:
    codes = [entry["code"] for entry in entries]
    if PastDisease.NONE.value in codes and len(codes) > 1:
        raise ValidationError(f"{describe(PastDisease.NONE)} cannot be combined with other diseases.")
    once = [c for c in codes if c not in {d.value for d in _DISEASES_WITH_TEXT}]
    if len(once) != len(set(once)):
        raise ValidationError("Must not repeat a disease (only 6, 12 and 13 may appear more than once).")


class Operation(Section):
    """A 手术 or 外伤: ``{"name": "阑尾切除术", "date": "1998-07-02"}``."""

    name = Text(OTHER_TEXT, required=True)
    date = LifeDate(required=True)


class Transfusion(Section):
    reason = Text(OTHER_TEXT, required=True)
    date = LifeDate(required=True)


def _events(entry: type[Section]) -> fields.List:
    """An empty list records 无."""
    return fields.List(fields.Nested(entry), required=True, validate=validate.Length(max=MAX_EVENTS))


class PastHistory(Section):
    diseases = fields.List(fields.Nested(PastDiseaseEntry), required=True,
                           validate=[validate.Length(min=1, max=MAX_EVENTS, error="Give 1 to {max} entries."),
                                     _diseases])
    operations = _events(Operation)
    injuries = _events(Operation)
    transfusions = _events(Transfusion)


_NO_FAMILY_DISEASE = FamilyHistoryDisease.NONE


class FamilyHistory(Section):
    """家族史 per relative; ``<relative>_other`` is the 其他 text."""

    father = code_list(FamilyHistoryDisease, alone=_NO_FAMILY_DISEASE, required=True)
    father_other = Text(OTHER_TEXT, allow_none=True)
    mother = code_list(FamilyHistoryDisease, alone=_NO_FAMILY_DISEASE, required=True)
    mother_other = Text(OTHER_TEXT, allow_none=True)
    siblings = code_list(FamilyHistoryDisease, alone=_NO_FAMILY_DISEASE, required=True)
    siblings_other = Text(OTHER_TEXT, allow_none=True)
    children = code_list(FamilyHistoryDisease, alone=_NO_FAMILY_DISEASE, required=True)
    children_other = Text(OTHER_TEXT, allow_none=True)

    rules = tuple(Requires(f"{relative}_other", on=relative, when=FamilyHistoryDisease.OTHER)
                  for relative in ("father", "mother", "siblings", "children"))


class HereditaryDisease(Section):
    has = fields.Boolean(required=True)
    name = Text(OTHER_TEXT, allow_none=True)

    rules = (Requires("name", on="has", when=True),)


class LivingEnvironment(Section):
    """生活环境 (mainly rural).  Only fuel and drinking water have a 其他 blank on the form."""

    kitchen_ventilation = code(KitchenVentilation, required=True)
    fuel = code(Fuel, required=True)
    fuel_other = Text(OTHER_TEXT, allow_none=True)
    drinking_water = code(DrinkingWater, required=True)
    drinking_water_other = Text(OTHER_TEXT, allow_none=True)
    toilet = code(Toilet, required=True)
    livestock_pen = code(LivestockPen, required=True)

    rules = (
        Requires("fuel_other", on="fuel", when=Fuel.OTHER),
        Requires("drinking_water_other", on="drinking_water", when=DrinkingWater.OTHER),
    )


class PersonalInfoSchema(FormSchema):
    """record_type ``personal_info``: 个人基本信息表 less what the registry owns.

    ``living_environment`` is required of villagers and may be left out by others; the rest is
    required.  Example::

        {"occurred_on": "2024-03-01",
         "blood_type": {"abo": "1", "rh": "2"},
         "education": "6", "occupation": "4", "marital_status": "2",
         "payment": {"methods": ["3", "8"], "other": "大病保险", "rural_cooperative_no": "R-0042"},
         "drug_allergies": ["2", "5"], "drug_allergies_other": "头孢",
         "exposures": ["1"],
         "past_history": {"diseases": [{"code": "2", "diagnosed_on": "2015-06"}],
                          "operations": [{"name": "阑尾切除术", "date": "1998-07-02"}],
                          "injuries": [], "transfusions": []},
         "family_history": {"father": ["2", "12"], "father_other": "痛风", "mother": ["1"],
                            "siblings": ["1"], "children": ["1"]},
         "hereditary_disease": {"has": false},
         "disabilities": ["1"],
         "living_environment": {"kitchen_ventilation": "2", "fuel": "1", "drinking_water": "1",
                                "toilet": "1", "livestock_pen": "1"}}
    """

    blood_type = fields.Nested(BloodType, required=True)
    education = code(Education, required=True)
    occupation = code(Occupation, required=True)
    marital_status = code(MaritalStatus, required=True)
    payment = fields.Nested(Payment, required=True)
    drug_allergies = code_list(DrugAllergy, alone=DrugAllergy.NONE, required=True)
    drug_allergies_other = Text(OTHER_TEXT, allow_none=True)
    exposures = code_list(Exposure, alone=Exposure.NONE, required=True)
    past_history = fields.Nested(PastHistory, required=True)
    family_history = fields.Nested(FamilyHistory, required=True)
    hereditary_disease = fields.Nested(HereditaryDisease, required=True)
    disabilities = code_list(Disability, alone=Disability.NONE, required=True)
    disabilities_other = Text(OTHER_TEXT, allow_none=True)
    living_environment = fields.Nested(LivingEnvironment, allow_none=True)

    rules = (
        Requires("drug_allergies_other", on="drug_allergies", when=DrugAllergy.OTHER),
        Requires("disabilities_other", on="disabilities", when=Disability.OTHER),
    )
    asked_of = AGED_7_AND_OVER
    resident_rules = (Asked("living_environment", of=VILLAGERS, required=True, only=False),)
