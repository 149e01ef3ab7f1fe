"""The key populations (重点人群) of 《国家基本公共卫生服务规范（第三版）》 and the chronic conditions
that place a resident in them: plain data and functions, with no service's imports, read by the
records service's 首页 (through `services.records.rules`) and, later, by the programmes service.

    condition_of_past_disease("3")                    -> "diabetes"         (既往史 3 糖尿病, any type)
    condition_of_diagnosis({"code": "E11.9"})         -> "type2_diabetes"
    condition_of_diagnosis({"code": "I15.0"})         -> "secondary_hypertension"   (no programme)
    folded({"diabetes", "type2_diabetes"})            -> {"type2_diabetes"}
    key_populations(70, {"hypertension", "copd"})     -> ["elderly", "hypertension"]
    key_populations(30, {"hypertension"})             -> []                 (the programme starts at 35)

Conditions (`CONDITIONS`) come from the 个人基本信息表's 既往史 codes (domain.md §3, [S]) and from
the ICD-10 codes of hospital diagnoses, by prefix. The ICD-10 ranges are not in the specification
(domain.md names the diseases, not their codes): each range below is [M].

- 高血压: the programme is for primary hypertension (domain.md §5): I10 and its heart and kidney
  forms I11-I13 [M]. Secondary hypertension (I15) is a condition of its own, outside the
  programme. 既往史 2 高血压 does not say which; it is taken as primary [M] (most is), for the
  programme's doctor to confirm at enrolment.
- 糖尿病: 既往史 3 is diabetes of any type, as is E14 (type not stated): condition `diabetes`.
  E11 is `type2_diabetes`, which *refines* `diabetes`: once the type is known the unstated
  entry folds into it (`folded`). The programme is for type 2 diabetes; a diabetes of unstated
  type is taken into it for its doctor to confirm the type [M]. E10 (type 1), E12 and E13 name
  no condition.
- 严重精神障碍 (domain.md §5, the six disorders): schizophrenia F20, persistent delusional
  disorder (偏执性精神病) F22, schizoaffective disorder F25, bipolar disorder F31, mental disorder
  due to epilepsy F06 [M: F06 is "due to brain damage or physical disease", of which epilepsy is
  one], and intellectual disability with a mental disorder: the whole F70-F79 range [M: the code
  does not say whether a mental disorder accompanies it; the programme's doctor confirms it].
- 结核病: the programme is for pulmonary tuberculosis (肺结核), A15-A16. Extrapulmonary and
  miliary tuberculosis (A17-A19 [M for A19]) are a condition outside it. 既往史 9 结核病 names
  neither the site nor whether it is current (it is often an old, cured one):
  `tuberculosis_unspecified`, outside the programme, refined by either known site.
- 冠心病, 脑卒中, 慢性阻塞性肺疾病: shown on the 首页, no programme of their own.

Programmes (`PROGRAMMES`, in the specification's order) and their conditions (domain.md §5):
children 0-6 [S]; 孕产妇; the elderly, 65 and over [S]; hypertension and type 2 diabetes from
35 [S]; severe mental disorders and pulmonary tuberculosis at any age. Ages are completed years
on the day asked about.

孕产妇 is pending the maternal programme: no record the suite keeps says that a woman is pregnant
or postpartum (neither the 个人基本信息表 nor the 健康体检表 has such a field, and a hospital's
pregnancy diagnosis does not say when the pregnancy ends). `key_populations` takes the
`pregnancy` condition when a caller knows it (the maternal programme's own records will); the
首页 passes none today.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.codes import PastDisease, Sex


@dataclass(frozen=True)
class Condition:
    """A chronic condition: its 首页 label, the 既往史 code naming it (if any), the ICD-10
    prefixes naming it, and the broader condition it refines (if any)."""

    label: str
    past_disease: str | None = None
    icd10: tuple[str, ...] = ()
    refines: str | None = None


CONDITIONS: dict[str, Condition] = {
    "hypertension": Condition("高血压", PastDisease.HYPERTENSION.value, ("I10", "I11", "I12", "I13")),
    "secondary_hypertension": Condition("继发性高血压", icd10=("I15",)),
    "diabetes": Condition("糖尿病", PastDisease.DIABETES.value, ("E14",)),
    "type2_diabetes": Condition("2型糖尿病", icd10=("E11",), refines="diabetes"),
    "severe_mental_disorder": Condition(
        "严重精神障碍", PastDisease.SEVERE_MENTAL_DISORDER.value,
        ("F20", "F22", "F25", "F31", "F06", "F70", "F71", "F72", "F73", "F78", "F79")),
    "tuberculosis": Condition("肺结核", icd10=("A15", "A16"), refines="tuberculosis_unspecified"),
    "extrapulmonary_tuberculosis": Condition("肺外结核", icd10=("A17", "A18", "A19"),
                                             refines="tuberculosis_unspecified"),
    "tuberculosis_unspecified": Condition("结核病", PastDisease.TUBERCULOSIS.value),
    "coronary_heart_disease": Condition("冠心病", PastDisease.CORONARY_HEART_DISEASE.value,
                                        ("I20", "I21", "I22", "I25")),
    "stroke": Condition("脑卒中", PastDisease.STROKE.value, ("I60", "I61", "I62", "I63", "I64")),
    "copd": Condition("慢性阻塞性肺疾病", PastDisease.COPD.value, ("J44",)),
}
LABELS = {name: condition.label for name, condition in CONDITIONS.items()}
DIABETES = frozenset({"diabetes", "type2_diabetes"})  # diabetes of any type the records name
PREGNANCY = "pregnancy"  # known to the maternal programme's records only (see the module docstring)


@dataclass(frozen=True)
class Programme:
    """A key population: residents aged `min_age` to `max_age` (either open) with one of
    `conditions` (none listed: age alone), of `sex` when given."""

    label: str
    min_age: int | None = None
    max_age: int | None = None
    conditions: tuple[str, ...] = ()
    sex: str | None = None

    def includes(self, age: int, conditions: frozenset[str], sex: str | None) -> bool:
        if self.min_age is not None and age < self.min_age:
            return False
        if self.max_age is not None and age > self.max_age:
            return False
        if self.sex is not None and sex is not None and sex != self.sex:
            return False
        return not self.conditions or bool(conditions & set(self.conditions))


PROGRAMMES: dict[str, Programme] = {
    "children_0_6": Programme("0～6岁儿童", max_age=6),
    "maternal": Programme("孕产妇", conditions=(PREGNANCY,), sex=Sex.FEMALE.value),
    "elderly": Programme("老年人", min_age=65),
    "hypertension": Programme("高血压", min_age=35, conditions=("hypertension",)),
    "type2_diabetes": Programme("2型糖尿病", min_age=35, conditions=("type2_diabetes", "diabetes")),
    "severe_mental_disorder": Programme("严重精神障碍", conditions=("severe_mental_disorder",)),
    "tuberculosis": Programme("肺结核", conditions=("tuberculosis",)),
}
PROGRAMME_CONDITIONS = ("hypertension", "type2_diabetes", "severe_mental_disorder", "tuberculosis")


def condition_of_past_disease(code: str | None) -> str | None:
    """The condition a 既往史 disease code names, if any: `condition_of_past_disease("2") -> "hypertension"`."""
    return next((name for name, c in CONDITIONS.items() if c.past_disease is not None and code == c.past_disease),
                None)


def condition_of_diagnosis(diagnosis: dict) -> str | None:
    """The condition a hospital diagnosis names, by its ICD-10 code's prefix:
    `{"system": "ICD-10", "code": "i10.x01"} -> "hypertension"`; another coding system names none."""
    if diagnosis.get("system", "ICD-10") != "ICD-10":
        return None
    icd = (diagnosis.get("code") or "").upper()
    return next((name for name, c in CONDITIONS.items() if c.icd10 and icd.startswith(c.icd10)), None)


def folded(conditions: Iterable[str]) -> set[str]:
    """The conditions with each broad one dropped once a condition refining it is known:
    `{"diabetes", "type2_diabetes"} -> {"type2_diabetes"}`."""
    conditions = set(conditions)
    refined = {CONDITIONS[name].refines for name in conditions if name in CONDITIONS}
    return conditions - refined


def key_populations(age: int, conditions: Iterable[str], sex: str | None = None) -> list[str]:
    """The key populations of a resident of `age` (completed years) with these conditions, in the
    specification's order. `sex` (GB/T 2261.1) limits 孕产妇 to women; unknown, it limits nothing."""
    known = frozenset(folded(conditions))
    return [code for code, programme in PROGRAMMES.items() if programme.includes(age, known, sex)]
