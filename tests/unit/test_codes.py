import pytest

from shared import codes
from shared.codes import (
    BloodTypeABO,
    CodeEnum,
    EncounterKind,
    Ethnicity,
    FamilyHistoryDisease,
    IdType,
    PastDisease,
    Sex,
    Symptom,
)

ALL_TABLES = [
    obj
    for obj in vars(codes).values()
    if isinstance(obj, type) and issubclass(obj, CodeEnum) and obj is not CodeEnum
]


def test_member_is_looked_up_by_code():
    assert Sex("1") is Sex.MALE


def test_value_is_the_code_and_label_is_chinese():
    assert Sex.MALE.value == "1"
    assert Sex.MALE.label == "男"
    assert Sex.UNSTATED.label == "未说明的性别"


def test_codes_lists_code_strings_in_declaration_order():
    assert Sex.codes() == ["0", "1", "2", "9"]


def test_unknown_code_is_rejected():
    with pytest.raises(ValueError):
        Sex("3")


def test_all_requested_tables_exist():
    names = {table.__name__ for table in ALL_TABLES}
    assert {
        "Sex", "ResidenceType", "Ethnicity", "BloodTypeABO", "BloodTypeRh", "Education",
        "Occupation", "MaritalStatus", "PaymentMethod", "DrugAllergy", "Exposure",
        "PastDisease", "FamilyHistoryDisease", "Disability", "KitchenVentilation", "Fuel",
        "DrinkingWater", "Toilet", "LivestockPen", "IdType", "EncounterKind", "Symptom",
    } <= names


@pytest.mark.parametrize("table", ALL_TABLES, ids=lambda t: t.__name__)
def test_every_code_round_trips(table):
    for member in table:
        assert isinstance(member.value, str)
        assert member.label
        assert table(member.value) is member
    assert table.codes() == [member.value for member in table]
    assert len(set(table.codes())) == len(table.codes())


def test_ethnicity_has_only_han_and_minority():
    assert Ethnicity.codes() == ["01", "99"]
    assert Ethnicity("99").label == "少数民族"


def test_blood_type_abo_codes_match_form():
    assert [(m.value, m.label) for m in BloodTypeABO] == [
        ("1", "A"), ("2", "B"), ("3", "O"), ("4", "AB"), ("5", "不详"),
    ]


def test_past_disease_and_family_history_differ_after_hepatitis():
    assert PastDisease("11").label == "其他法定传染病"
    assert PastDisease("13").label == "其他"
    assert FamilyHistoryDisease("11").label == "先天畸形"
    assert FamilyHistoryDisease("12").label == "其他"


def test_id_type_uses_two_digit_codes():
    assert IdType("01").label == "居民身份证"
    assert IdType("99").label == "其他法定有效证件"
    assert all(len(code) == 2 for code in IdType.codes())


def test_symptom_list_runs_from_1_to_25():
    assert Symptom.codes() == [str(n) for n in range(1, 26)]
    assert Symptom("1").label == "无症状"


def test_encounter_kinds_have_word_values_and_chinese_labels():
    assert {kind.value: kind.label for kind in EncounterKind} == {
        "outpatient": "门诊",
        "emergency": "急诊",
        "inpatient_admission": "入院",
        "inpatient_discharge": "出院",
        "lab_result": "检验结果",
        "exam_report": "检查报告",
    }
