import pytest

from shared.archive_no import (
    ArchiveNumber,
    InvalidArchiveNumber,
    VillageKind,
    make_archive_number,
    parse_archive_number,
    parse_village_code,
    routing_key_for,
    village_kind,
)

VALID = "11010500300100042"


def _with(county="110105", township="003", village="001", serial="00042") -> str:
    return county + township + village + serial


def test_valid_number_splits_into_segments():
    archive = parse_archive_number(VALID)
    assert archive == ArchiveNumber("110105", "003", "001", 42)


def test_value_and_str_give_all_17_digits():
    archive = parse_archive_number(VALID)
    assert archive.value == VALID
    assert str(archive) == VALID


def test_village_code_is_first_12_digits():
    assert parse_archive_number(VALID).village_code == "110105003001"


def test_jurisdiction_joins_segments_with_dots():
    assert parse_archive_number(VALID).jurisdiction == "110105.003.001"


def test_form_number_is_last_8_digits_as_printed():
    assert parse_archive_number(VALID).form_number == "001-00042"


def test_routing_key_names_county_township_village_and_record_type():
    archive = parse_archive_number(VALID)
    assert routing_key_for(archive, "health_exam") == "archive.110105.003.001.health_exam"


@pytest.mark.parametrize("record_type", ["", "*", "#", "health exam"])
def test_routing_key_rejects_empty_or_wildcard_record_type(record_type):
    with pytest.raises(ValueError):
        routing_key_for(parse_archive_number(VALID), record_type)


@pytest.mark.parametrize(
    "code, kind",
    [
        ("001", VillageKind.RESIDENTS_COMMITTEE),
        ("099", VillageKind.RESIDENTS_COMMITTEE),
        ("101", VillageKind.VILLAGERS_COMMITTEE),
        ("199", VillageKind.VILLAGERS_COMMITTEE),
        ("901", VillageKind.OTHER),
        ("999", VillageKind.OTHER),
    ],
)
def test_village_range_boundaries_are_valid(code, kind):
    assert village_kind(code) is kind
    assert parse_archive_number(_with(village=code)).village == code


@pytest.mark.parametrize("code", ["000", "100", "200", "500", "900", "99", "1a1", ""])
def test_village_codes_outside_spec_ranges_are_invalid(code):
    with pytest.raises(InvalidArchiveNumber) as exc:
        village_kind(code)
    assert exc.value.reason == "invalid village code"


@pytest.mark.parametrize("code", ["000", "100", "200", "900"])
def test_archive_number_with_invalid_village_is_rejected(code):
    with pytest.raises(InvalidArchiveNumber):
        parse_archive_number(_with(village=code))


@pytest.mark.parametrize("code", ["001", "099", "100", "199", "200", "399", "400", "599"])
def test_township_codes_001_to_599_are_valid(code):
    assert parse_archive_number(_with(township=code)).township == code


@pytest.mark.parametrize("code", ["000", "600", "999"])
def test_township_000_and_600_up_are_invalid(code):
    with pytest.raises(InvalidArchiveNumber) as exc:
        parse_archive_number(_with(township=code))
    assert exc.value.reason == "invalid township code"


@pytest.mark.parametrize("county", ["000000", "910101", "100000", "720000"])
def test_county_with_unknown_province_is_invalid(county):
    with pytest.raises(InvalidArchiveNumber) as exc:
        parse_archive_number(_with(county=county))
    assert exc.value.reason == "invalid county code"


@pytest.mark.parametrize("serial, value", [("00001", 1), ("99999", 99999)])
def test_serial_boundaries_are_valid(serial, value):
    assert parse_archive_number(_with(serial=serial)).serial == value


def test_serial_00000_is_invalid():
    with pytest.raises(InvalidArchiveNumber) as exc:
        parse_archive_number(_with(serial="00000"))
    assert exc.value.reason == "serial out of range"


@pytest.mark.parametrize("raw", ["", "1101050030010004", "110105003001000420"])
def test_wrong_length_is_rejected(raw):
    with pytest.raises(InvalidArchiveNumber) as exc:
        parse_archive_number(raw)
    assert exc.value.reason == "wrong length"


@pytest.mark.parametrize("raw", ["1101050030010004A", "110105-003-001-42", "１１０１０５００３００１０００４２"])
def test_non_digits_are_rejected(raw):
    with pytest.raises(InvalidArchiveNumber) as exc:
        parse_archive_number(raw)
    assert exc.value.reason == "non-digit characters"


def test_surrounding_whitespace_is_stripped():
    assert parse_archive_number(f" {VALID}\n").value == VALID


def test_direct_construction_is_validated():
    with pytest.raises(InvalidArchiveNumber):
        ArchiveNumber("110105", "003", "100", 1)


def test_parse_village_code_returns_segments():
    assert parse_village_code("110105003101") == ("110105", "003", "101")


@pytest.mark.parametrize("raw", ["110105000101", "110105600101", "110105003000", "000000003001", "11010500310", "11010500310A"])
def test_parse_village_code_applies_segment_rules(raw):
    with pytest.raises(InvalidArchiveNumber):
        parse_village_code(raw)


def test_make_archive_number_pads_serial():
    archive = make_archive_number("110105003101", 7)
    assert archive.value == "11010500310100007"
    assert archive.form_number == "101-00007"


@pytest.mark.parametrize("serial", [0, -1, 100000, True])
def test_make_archive_number_rejects_serial_out_of_range(serial):
    with pytest.raises(InvalidArchiveNumber):
        make_archive_number("110105003101", serial)


def test_invalid_archive_number_is_a_value_error_with_reason():
    err = InvalidArchiveNumber("wrong length")
    assert isinstance(err, ValueError)
    assert err.reason == "wrong length"
