"""The key populations and their conditions (shared.key_populations): which 既往史 codes and ICD-10
diagnoses name which condition, how a broad condition folds into the one refining it, and which
programmes a resident of an age, a sex and conditions belongs to, at each age boundary."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from shared.codes import PastDisease, Sex
from shared.key_populations import (
    CONDITIONS, PREGNANCY, PROGRAMMES, condition_of_diagnosis, condition_of_past_disease, folded,
    key_populations,
)


def test_past_history_code_3_is_diabetes_of_any_type_not_type_2():
    assert condition_of_past_disease(PastDisease.DIABETES.value) == "diabetes"
    assert CONDITIONS["diabetes"].label == "糖尿病"
    assert CONDITIONS["type2_diabetes"].label == "2型糖尿病"


@pytest.mark.parametrize("code, name", [
    ("I10", "hypertension"), ("I13.2", "hypertension"),
    ("I15.0", "secondary_hypertension"),                  # secondary: not the programme's
    ("E11.9", "type2_diabetes"), ("E14.9", "diabetes"),   # E14: type not stated
    ("F20.0", "severe_mental_disorder"), ("F22.0", "severe_mental_disorder"),
    ("F25.1", "severe_mental_disorder"), ("F31.2", "severe_mental_disorder"), ("F06.8", "severe_mental_disorder"),
    ("F70.1", "severe_mental_disorder"), ("F79.9", "severe_mental_disorder"),
    ("A15.0", "tuberculosis"), ("A16.9", "tuberculosis"),
    ("A17.0", "extrapulmonary_tuberculosis"), ("A18.0", "extrapulmonary_tuberculosis"),
    ("F32.9", None), ("E10.9", None), ("A14", None),
])
def test_each_programme_condition_is_named_by_its_icd10_range(code, name):
    assert condition_of_diagnosis({"code": code}) == name


def test_past_history_tuberculosis_names_no_site_and_no_programme():
    assert condition_of_past_disease(PastDisease.TUBERCULOSIS.value) == "tuberculosis_unspecified"
    assert key_populations(40, {"tuberculosis_unspecified"}) == []
    assert key_populations(40, {"extrapulmonary_tuberculosis"}) == []
    assert key_populations(40, {"tuberculosis"}) == ["tuberculosis"]


@pytest.mark.parametrize("conditions, kept", [
    ({"diabetes", "type2_diabetes"}, {"type2_diabetes"}),
    ({"diabetes"}, {"diabetes"}),
    ({"tuberculosis_unspecified", "tuberculosis"}, {"tuberculosis"}),
    ({"tuberculosis_unspecified", "extrapulmonary_tuberculosis", "hypertension"},
     {"extrapulmonary_tuberculosis", "hypertension"}),
])
def test_a_broad_condition_folds_into_the_one_refining_it(conditions, kept):
    assert folded(conditions) == kept


@pytest.mark.parametrize("age, populations", [
    (0, ["children_0_6"]), (6, ["children_0_6"]), (7, []), (64, []), (65, ["elderly"]),
])
def test_age_programmes_at_their_boundaries(age, populations):
    assert key_populations(age, set()) == populations


@pytest.mark.parametrize("condition", ["hypertension", "type2_diabetes"])
def test_hypertension_and_type_2_diabetes_programmes_start_at_35(condition):
    assert key_populations(34, {condition}) == []
    assert key_populations(35, {condition}) == [condition]


def test_secondary_hypertension_is_not_the_hypertension_programme():
    assert key_populations(50, {"secondary_hypertension"}) == []


def test_diabetes_of_unstated_type_is_taken_into_the_type_2_programme():
    assert key_populations(50, {"diabetes"}) == ["type2_diabetes"]
    assert key_populations(50, {"diabetes", "type2_diabetes"}) == ["type2_diabetes"]


@pytest.mark.parametrize("age", [12, 80])
def test_severe_mental_disorder_and_tuberculosis_have_no_age_condition(age):
    assert key_populations(age, {"severe_mental_disorder", "tuberculosis"})[-2:] == [
        "severe_mental_disorder", "tuberculosis"]


def test_maternal_is_a_key_population_of_women_known_to_be_pregnant():
    assert key_populations(28, {PREGNANCY}, Sex.FEMALE.value) == ["maternal"]
    assert key_populations(28, {PREGNANCY}) == ["maternal"]          # sex unknown: limits nothing
    assert key_populations(28, {PREGNANCY}, Sex.MALE.value) == []
    assert key_populations(28, set(), Sex.FEMALE.value) == []


def test_programmes_are_listed_in_the_specifications_order():
    assert list(PROGRAMMES) == ["children_0_6", "maternal", "elderly", "hypertension", "type2_diabetes",
                                "severe_mental_disorder", "tuberculosis"]
    everything = {"hypertension", "type2_diabetes", "severe_mental_disorder", "tuberculosis", PREGNANCY}
    assert key_populations(70, everything, Sex.FEMALE.value) == list(PROGRAMMES)[1:]


def test_every_programme_condition_is_a_known_condition():
    named = {c for programme in PROGRAMMES.values() for c in programme.conditions} - {PREGNANCY}
    assert named <= set(CONDITIONS)
    assert all(c.refines in CONDITIONS for c in CONDITIONS.values() if c.refines)


def test_the_table_imports_nothing_of_a_service():
    source = Path(__file__).resolve().parents[2] / "shared" / "key_populations.py"
    imported = {node.module for node in ast.walk(ast.parse(source.read_text()))
                if isinstance(node, ast.ImportFrom) and node.module}
    assert not {m for m in imported if m.startswith("services")}
