from datetime import date

import pytest

from shared.identity import (
    PROVINCE_CODES,
    WEIGHTS,
    IdNumber,
    InvalidIdNumber,
    check_character,
    check_consistency,
    mask_id_number,
    normalise_name,
    mask_phone,
    parse_id_number,
    upgrade_15,
)

TODAY = date(2024, 6, 1)


@pytest.mark.parametrize(
    "number, birth_date, sex",
    [
        ("11010519491231002X", date(1949, 12, 31), "2"),
        ("440524188001010014", date(1880, 1, 1), "1"),
        ("34052419800101001X", date(1980, 1, 1), "1"),
        ("370101190102039973", date(1901, 2, 3), "1"),
        ("110101199003074477", date(1990, 3, 7), "1"),
    ],
)
def test_valid_standard_vectors_parse_with_birth_date_and_sex(number, birth_date, sex):
    idn = parse_id_number(number, today=TODAY)
    assert idn.value == number
    assert idn.birth_date == birth_date
    assert idn.sex == sex
    assert idn.address_code == number[:6]


def test_weights_are_powers_of_two_mod_11_counted_from_the_right():
    assert WEIGHTS == tuple(2 ** (i - 1) % 11 for i in range(18, 1, -1))


@pytest.mark.parametrize(
    "first17, expected",
    [
        ("11010519491231002", "X"),
        ("44052418800101001", "4"),
        ("37010119010203997", "3"),
        ("11010119900307447", "7"),
        ("11010119900307123", "3"),
    ],
)
def test_check_character_matches_computed_vectors(first17, expected):
    assert check_character(first17) == expected


def test_check_character_rejects_wrong_length():
    with pytest.raises(InvalidIdNumber):
        check_character("1101051949123100")


def test_wrong_check_character_is_rejected():
    with pytest.raises(InvalidIdNumber) as exc:
        parse_id_number("110101199003071234", today=TODAY)
    assert exc.value.reason == "bad check character"


def test_fifteen_digit_number_is_upgraded():
    assert upgrade_15("110105491231002") == "11010519491231002X"


def test_parse_accepts_fifteen_digit_number_and_returns_upgraded_value():
    idn = parse_id_number("110105491231002", today=TODAY)
    assert idn.value == "11010519491231002X"
    assert idn.birth_date == date(1949, 12, 31)
    assert idn.sex == "2"


def test_lower_case_x_is_accepted_and_stored_upper_case():
    assert parse_id_number("11010519491231002x", today=TODAY).value == "11010519491231002X"


def test_surrounding_whitespace_is_stripped():
    assert parse_id_number("  11010519491231002X\n", today=TODAY).value == "11010519491231002X"


def test_birth_date_in_the_future_is_rejected():
    first17 = "11010120240602001"
    number = first17 + check_character(first17)
    with pytest.raises(InvalidIdNumber) as exc:
        parse_id_number(number, today=TODAY)
    assert exc.value.reason == "birth date in the future"


def test_birth_date_equal_to_today_is_accepted():
    first17 = "11010120240601001"
    number = first17 + check_character(first17)
    assert parse_id_number(number, today=TODAY).birth_date == TODAY


def test_february_29_in_non_leap_year_is_rejected():
    first17 = "11010119010229001"
    number = first17 + check_character(first17)
    with pytest.raises(InvalidIdNumber) as exc:
        parse_id_number(number, today=TODAY)
    assert exc.value.reason == "invalid birth date"


def test_february_29_in_leap_year_is_accepted():
    first17 = "11010120000229001"
    number = first17 + check_character(first17)
    assert parse_id_number(number, today=TODAY).birth_date == date(2000, 2, 29)


def test_birth_year_before_1880_is_rejected():
    first17 = "11010118791231001"
    number = first17 + check_character(first17)
    with pytest.raises(InvalidIdNumber) as exc:
        parse_id_number(number, today=TODAY)
    assert exc.value.reason == "birth date before 1880"


@pytest.mark.parametrize("raw", ["", "1101051949123100", "11010519491231002X0", "1101054912310"])
def test_wrong_length_is_rejected(raw):
    with pytest.raises(InvalidIdNumber) as exc:
        parse_id_number(raw, today=TODAY)
    assert exc.value.reason == "wrong length"


@pytest.mark.parametrize(
    "raw",
    ["1101051949123100AX", "X1010519491231002X", "11010519491231002Y", "11010549123100A", "１１０１０５４９１２３１００２"],
)
def test_letters_and_non_ascii_digits_are_rejected(raw):
    with pytest.raises(InvalidIdNumber) as exc:
        parse_id_number(raw, today=TODAY)
    assert exc.value.reason == "non-digit characters"


@pytest.mark.parametrize("prefix", ["00", "10", "16", "20", "24", "30", "38", "47", "55", "60", "66", "72", "84", "91", "99"])
def test_unknown_province_prefix_is_rejected(prefix):
    first17 = prefix + "010119800101001"
    number = first17 + check_character(first17)
    with pytest.raises(InvalidIdNumber) as exc:
        parse_id_number(number, today=TODAY)
    assert exc.value.reason == "invalid province code"


@pytest.mark.parametrize("prefix", ["11", "15", "46", "54", "65", "71", "81", "82", "83"])
def test_real_province_prefixes_including_residence_permits_are_accepted(prefix):
    first17 = prefix + "000019800101001"
    number = first17 + check_character(first17)
    assert parse_id_number(number, today=TODAY).address_code == prefix + "0000"


def test_province_set_excludes_foreigner_permanent_residence_prefix():
    assert "91" not in PROVINCE_CODES
    assert len(PROVINCE_CODES) == 5 + 3 + 7 + 6 + 5 + 5 + 4


@pytest.mark.parametrize(
    "raw",
    [
        "110101199003071234",
        "11010119900230123X",
        "110105491231002A",
        "91010119800101001X",
        "11010519491231002",
    ],
)
def test_error_message_never_contains_the_number(raw):
    with pytest.raises(InvalidIdNumber) as exc:
        parse_id_number(raw, today=TODAY)
    text = str(exc.value) + repr(exc.value)
    assert raw not in text
    assert raw[:14] not in text
    assert str(exc.value) == exc.value.reason


def test_invalid_id_number_is_a_value_error():
    assert issubclass(InvalidIdNumber, ValueError)


def test_id_number_repr_is_masked():
    idn = parse_id_number("11010519491231002X", today=TODAY)
    assert "19491231" not in repr(idn)


def test_id_number_is_frozen():
    idn = parse_id_number("11010519491231002X", today=TODAY)
    with pytest.raises(AttributeError):
        idn.sex = "1"  # type: ignore[misc]


def _female_1949() -> IdNumber:
    return parse_id_number("11010519491231002X", today=TODAY)


def test_consistent_fields_report_nothing():
    assert check_consistency(_female_1949(), birth_date=date(1949, 12, 31), sex="2") == []


def test_missing_fields_are_not_checked():
    assert check_consistency(_female_1949(), birth_date=None, sex=None) == []


def test_birth_date_mismatch_is_reported():
    problems = check_consistency(_female_1949(), birth_date=date(1949, 12, 30), sex="2")
    assert [field for field, _ in problems] == ["birth_date"]


def test_sex_mismatch_is_reported():
    problems = check_consistency(_female_1949(), birth_date=None, sex="1")
    assert [field for field, _ in problems] == ["sex"]


def test_both_mismatches_are_reported():
    problems = check_consistency(_female_1949(), birth_date=date(1950, 1, 1), sex="1")
    assert [field for field, _ in problems] == ["birth_date", "sex"]


@pytest.mark.parametrize("sex", ["0", "9"])
def test_unknown_or_unstated_sex_is_not_checked(sex):
    assert check_consistency(_female_1949(), birth_date=None, sex=sex) == []


def test_mismatch_messages_do_not_contain_personal_data():
    for _, message in check_consistency(_female_1949(), birth_date=date(1950, 1, 1), sex="1"):
        assert "1949" not in message and "1950" not in message


def test_mask_id_number_shows_the_last_four_characters_only():
    assert mask_id_number("11010519491231002X") == "**************002X"


def test_mask_id_number_with_the_birth_date_beside_it_does_not_give_the_number():
    # 110105********0184 with 1966-05-07 was 110105196605070184: the old mask showed everything
    # but the birth date, which every archive serves beside it.
    number = "110105196605070184"
    masked = mask_id_number(number)
    completed = masked.replace("*" * 8, "19660507", 1)
    assert completed != number and masked[:14] == "*" * 14
    assert "110105" not in masked and "19660507" not in masked


def test_mask_id_number_other_lengths_keep_the_last_four():
    assert mask_id_number("110105491231002") == "***********1002"
    assert mask_id_number("E12345678") == "*****5678"
    assert mask_id_number("123456") == "**3456"


@pytest.mark.parametrize("raw", ["", "1", "1234"])
def test_mask_id_number_short_values_are_fully_hidden(raw):
    assert mask_id_number(raw) == "*" * len(raw)


@pytest.mark.parametrize("raw, normal", [
    ("张\u200b秀英", "张秀英"),          # zero-width space
    ("\u202e张秀英\u202c", "张秀英"),    # right-to-left override and pop
    ("\ufeff张\u200d秀\u2060英", "张秀英"),  # byte-order mark, zero-width joiner, word joiner
    ("Ｌｉ　 Ｍｉｎｇ ", "Li Ming"),      # full-width letters and space, runs of spaces
    ("张秀英", "张秀英"),
])
def test_normalise_name_folds_compatibility_forms_and_drops_invisible_characters(raw, normal):
    assert normalise_name(raw) == normal


def test_a_name_of_invisible_characters_only_normalises_to_nothing():
    assert normalise_name("\u200b\u200e ") == ""


def test_mask_phone_mobile_keeps_first_3_and_last_4():
    assert mask_phone("13800000000") == "138****0000"
    assert mask_phone("13912345678") == "139****5678"


def test_mask_phone_other_lengths_keep_last_2():
    assert mask_phone("010-12345678") == "**********78"
    assert mask_phone("12345") == "***45"


@pytest.mark.parametrize("raw", ["", "1", "12"])
def test_mask_phone_very_short_values_are_fully_hidden(raw):
    assert mask_phone(raw) == "*" * len(raw)
