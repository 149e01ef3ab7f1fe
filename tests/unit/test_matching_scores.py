"""The pure scoring of identity resolution: weights, typos, ranking and the duplicate rules."""

from datetime import date

import pytest

from services.registry.keys import name_pinyin
from services.registry.scoring import (
    BIRTH_DATE_EXACT, BIRTH_DATE_TYPO, CANDIDATE_THRESHOLD, ID_NUMBER_DIFFERS, MAX_CANDIDATES, NAME_EXACT,
    NAME_PINYIN, NAME_SIMILAR, PHONE, SEX, Identity, birth_date_typo, is_possible_duplicate, rank, score,
)

BIRTH = date(1949, 12, 31)


def person(name="张秀英", sex="2", birth_date=BIRTH, phone=b"phone-1", id_type="01", id_index=b"id-1",
           archive_no="11010510110100001", status="active") -> Identity:
    return Identity(name=name, name_pinyin=name_pinyin(name) if name else None, sex=sex, birth_date=birth_date,
                    phone_index=phone, id_type=id_type, id_index=id_index, archive_no=archive_no, status=status)


def sought(**overrides) -> Identity:
    base = dict(phone=None, id_type=None, id_index=None, archive_no=None, status=None)
    return person(**{**base, **overrides})


def test_an_equal_id_number_decides_alone_with_score_one():
    result = score(sought(name="李四", birth_date=date(1980, 1, 1), id_type="01", id_index=b"id-1"), person())
    assert result.value == 1.0 and result.reasons == ("id_number",) and result.is_identifier_match


def test_every_demographic_agreeing_stays_below_an_identifier_match():
    result = score(sought(phone=b"phone-1"), person(id_index=None))
    assert result.reasons == ("name", "birth_date", "sex", "phone")
    assert result.value == round(NAME_EXACT + BIRTH_DATE_EXACT + SEX + PHONE, 2) < 1.0
    assert not result.is_identifier_match


def test_same_pinyin_in_other_characters_counts_as_name_pinyin_not_name():
    result = score(sought(name="章秀英"), person())
    assert result.reasons == ("name_pinyin", "birth_date", "sex")
    assert result.value == round(NAME_PINYIN + BIRTH_DATE_EXACT + SEX, 2) >= CANDIDATE_THRESHOLD


def test_a_name_one_character_off_with_other_pinyin_is_similar():
    result = score(sought(name="张桂英"), person())
    assert result.reasons == ("name_similar", "birth_date", "sex")
    assert result.value == round(NAME_SIMILAR + BIRTH_DATE_EXACT + SEX, 2) >= CANDIDATE_THRESHOLD


def test_a_different_name_and_the_same_birth_date_and_sex_is_below_the_threshold():
    result = score(sought(name="王建国"), person())
    assert result.reasons == ("birth_date", "sex") and result.value < CANDIDATE_THRESHOLD


@pytest.mark.parametrize("typo", [date(1949, 12, 30), date(1948, 12, 31), date(1949, 10, 31)])
def test_one_digit_off_in_the_birth_date_is_a_typo(typo):
    assert birth_date_typo(BIRTH, typo)


def test_day_and_month_swapped_is_a_typo():
    assert birth_date_typo(date(1980, 3, 5), date(1980, 5, 3))


@pytest.mark.parametrize("other", [BIRTH, date(1950, 1, 1), date(1949, 1, 13), date(1994, 12, 31)])
def test_equal_dates_and_distant_dates_are_not_typos(other):
    assert not birth_date_typo(BIRTH, other)


def test_a_birth_date_typo_scores_less_than_an_equal_birth_date():
    result = score(sought(birth_date=date(1949, 12, 21)), person())
    assert result.reasons == ("name", "birth_date_typo", "sex")
    assert result.value == round(NAME_EXACT + BIRTH_DATE_TYPO + SEX, 2) >= CANDIDATE_THRESHOLD


@pytest.mark.parametrize("sex", ["0", "9"])
def test_unknown_or_unstated_sex_says_nothing(sex):
    assert "sex" not in score(sought(sex=sex), person(sex=sex)).reasons


def test_a_different_id_number_of_the_same_type_is_penalised_and_flagged():
    result = score(sought(id_type="01", id_index=b"id-2", phone=b"phone-1"), person())
    assert result.reasons[-1] == "id_number_differs"
    assert result.value == round(NAME_EXACT + BIRTH_DATE_EXACT + SEX + PHONE + ID_NUMBER_DIFFERS, 2)


def test_id_numbers_of_different_types_cannot_contradict_each_other():
    assert "id_number_differs" not in score(sought(id_type="03", id_index=b"passport"), person()).reasons


def test_rank_keeps_those_over_the_threshold_best_first_then_by_archive_number():
    archives = [
        person(name="章秀英", archive_no="11010510110100003"),                     # 0.65
        person(archive_no="11010510110100002"),                                   # 0.75
        person(name="王建国", archive_no="11010510110100001"),                     # 0.40, dropped
        person(name="章秀英", archive_no="11010510110100000"),                     # 0.65, earlier number
    ]
    ranked = rank(sought(), archives)
    assert [a.archive_no for a, _ in ranked] == ["11010510110100002", "11010510110100000", "11010510110100003"]


def test_rank_returns_at_most_five():
    archives = [person(archive_no=f"110105101101{n:05d}") for n in range(8)]
    assert len(rank(sought(), archives)) == MAX_CANDIDATES == 5


@pytest.mark.parametrize("archive, expected", [
    (person(phone=None), True),                                           # name + sex + birth date
    (person(name="王建国", birth_date=date(1960, 1, 1)), False),           # same phone only: never
    (person(name="王建国", sex="1", birth_date=date(1960, 1, 1)), False),  # nor phone without sex
    (person(birth_date=date(1960, 1, 1)), True),                          # same name + phone
    (person(name="章秀英", birth_date=date(1960, 1, 1)), True),            # same pinyin + phone
    (person(name="章秀英", sex="1", phone=None), True),                   # same pinyin + birth date
    (person(sex="1", phone=None), True),                                  # same name (so pinyin) + birth date
    (person(birth_date=date(1960, 1, 1), phone=None), False),             # name + sex only
    (person(name="王建国", phone=None), False),                            # birth date + sex only
    (person(birth_date=date(1949, 12, 13), phone=None), False),           # birth-date typo is not enough
])
def test_possible_duplicates_on_creation_follow_the_rules(archive, expected):
    new = sought(phone=b"phone-1", id_type="01", id_index=b"id-new")
    assert is_possible_duplicate(score(new, archive)) is expected


def test_an_identity_never_shows_its_name_in_repr():
    assert "张" not in repr(person()) and "11010510110100001" in repr(person())


def test_a_zero_width_space_in_a_name_scores_like_the_clean_name_once_normalised():
    from shared.identity import normalise_name

    clean = score(sought(), person(birth_date=date(1960, 1, 1), phone=None))
    dirty_name = normalise_name("张\u200b秀英")
    dirty = score(sought(name=dirty_name), person(birth_date=date(1960, 1, 1), phone=None))
    assert dirty == clean and "name" in dirty.reasons
