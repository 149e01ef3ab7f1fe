"""Who the archive is for, and its cover, at the contract's boundary (issue 18): 常住类型 and 民族,
how it was built and the resident's consent, 建档日期, a newborn without an ID number, and the
公民身份号码 under ID type 02."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from marshmallow import ValidationError

from shared.contracts.identity import identity_problems
from shared.contracts.registry import ArchiveCreateSchema, ArchiveSearchSchema, IdNumberAttachmentSchema
from shared.identity import check_identity_document, identity_namespace
from shared.pii import PiiBox, identity_key

from services.registry.usecases import management_problem
from shared import clock

TODAY = clock.today()
ADULT = {"name": "张秀英", "sex": "2", "birth_date": "1949-12-31", "id_number": "11010519491231002X",
         "village_code": "110105003001", "institution_code": "C1101050031"}
NEWBORN = {"name": "李小宝", "sex": "1", "birth_date": (TODAY - timedelta(days=5)).isoformat(),
           "village_code": "110105003001", "institution_code": "C1101050031"}


def load(**fields) -> dict:
    return ArchiveCreateSchema().load(fields)


def errors(**fields) -> dict:
    with pytest.raises(ValidationError) as err:
        ArchiveCreateSchema().load(fields)
    return err.value.messages


# -- 建档日期 -------------------------------------------------------------------------------------


def test_the_archive_date_may_be_today_or_a_past_day_of_a_paper_archive():
    assert load(**ADULT, archive_date=TODAY.isoformat())["archive_date"] == TODAY
    assert load(**ADULT, archive_date="2009-03-01")["archive_date"] == date(2009, 3, 1)
    assert load(**ADULT)["archive_date"] is None  # the use case gives it today's date


def test_the_archive_date_is_not_in_the_future_nor_before_birth():
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    assert errors(**ADULT, archive_date=tomorrow) == {"archive_date": ["Must not be in the future."]}
    assert errors(**ADULT, archive_date="1949-12-30") == {"archive_date": ["Must not be before the birth date."]}
    assert load(**ADULT, archive_date="1949-12-31")["archive_date"] == date(1949, 12, 31)


# -- consent (自愿与引导相结合) -----------------------------------------------------------------------


def test_consent_or_refusal_goes_with_its_date_and_the_date_with_it():
    given = load(**ADULT, consent="given", consent_date=TODAY.isoformat())
    assert (given["consent"], given["consent_date"]) == ("given", TODAY)
    assert load(**ADULT, consent="refused", consent_date="2026-01-05")["consent"] == "refused"
    assert errors(**ADULT, consent="given") == {"consent_date": ["Required with consent."]}
    assert errors(**ADULT, consent_date="2026-01-05") == {"consent_date": ["Only with consent (given or refused)."]}
    assert "consent" in errors(**ADULT, consent="yes", consent_date="2026-01-05")


def test_the_consent_date_is_not_in_the_future_nor_before_birth():
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    assert errors(**ADULT, consent="given", consent_date=tomorrow) == {"consent_date": ["Must not be in the future."]}
    assert errors(**ADULT, consent="given", consent_date="1949-12-30") == {
        "consent_date": ["Must not be before the birth date."]}


# -- 常住类型, 民族, 建档方式 ---------------------------------------------------------------------------


def test_residence_type_ethnicity_and_source_take_the_codes_of_the_form():
    data = load(**ADULT, residence_type="2", ethnicity="99", ethnicity_name="回族", archive_source="2")
    assert (data["residence_type"], data["ethnicity"], data["ethnicity_name"], data["archive_source"]) == \
        ("2", "99", "回族", "2")
    assert set(errors(**ADULT, residence_type="3", ethnicity="02", archive_source="5")) == \
        {"residence_type", "ethnicity", "archive_source"}


def test_a_minority_carries_its_name_and_the_han_none():
    assert errors(**ADULT, ethnicity="99") == {"ethnicity_name": ["Required when ethnicity is 99 (少数民族)."]}
    assert errors(**ADULT, ethnicity="01", ethnicity_name="回族") == {
        "ethnicity_name": ["Only with ethnicity 99 (少数民族)."]}


def test_the_openapi_description_of_a_code_field_lists_its_meanings():
    described = ArchiveCreateSchema().fields["residence_type"].metadata["description"]
    assert "1 户籍" in described and "2 非户籍" in described
    assert "3 筛查" in ArchiveCreateSchema().fields["archive_source"].metadata["description"]


# -- a newborn without an ID number ------------------------------------------------------------


def test_a_newborn_without_an_id_number_names_a_guardian_archive_or_id_number():
    by_archive = load(**NEWBORN, guardian_archive_no="11010500300100001", birth_certificate_no="P110123456")
    assert (by_archive["id_number"], by_archive["id_type"]) == (None, None)
    assert by_archive["birth_certificate_no"] == "P110123456"
    by_id = load(**NEWBORN, guardian_id_number="11010519491231002x")
    assert (by_id["guardian_id_number"], by_id["guardian_id_type"]) == ("11010519491231002X", "01")


def test_without_an_id_number_or_a_guardian_an_archive_is_refused():
    assert errors(**NEWBORN) == {"id_number": [
        "Required, unless a guardian is given (guardian_archive_no or guardian_id_number)."]}
    assert set(errors(**NEWBORN, guardian_id_number="110105194912310021")) == {"guardian_id_number"}
    assert "guardian_archive_no" in errors(**NEWBORN, guardian_archive_no="1101050030010000")


def test_identity_problems_judge_the_archive_as_a_whole():
    held = {"id_number": None, "guardian_archive_no": "11010500300100001", "birth_date": date(2026, 11, 18)}
    assert identity_problems(held, today=date(2026, 11, 26)) == {}
    assert identity_problems({**held, "guardian_archive_no": None}, today=date(2026, 11, 26)) == {
        "id_number": ["Required, unless a guardian is given (guardian_archive_no or guardian_id_number)."]}
    assert identity_problems({**held, "archive_date": date(2026, 11, 17)}, today=date(2026, 11, 26)) == {
        "archive_date": ["Must not be before the birth date."]}
    assert identity_problems({**held, "archive_date": date(2026, 11, 27)}, today=date(2026, 11, 26)) == {
        "archive_date": ["Must not be in the future."]}


# -- the 公民身份号码 under ID type 02 (居民户口簿) --------------------------------------------------------


def test_a_citizen_number_under_type_02_is_validated_as_under_01():
    assert check_identity_document("02", "11010519491231002x", birth_date=None, sex=None) == \
        ("11010519491231002X", {})
    assert check_identity_document("02", "110105194912310021", birth_date=None, sex=None)[1] == {
        "id_number": ["Not a valid ID number: bad check character."]}
    assert check_identity_document("02", "11010519491231002X", birth_date=date(1950, 1, 1), sex="1")[1] == {
        "birth_date": ["Birth date does not match the ID number."], "sex": ["Sex does not match the ID number."]}
    assert set(errors(**{**ADULT, "id_type": "02", "id_number": "110105194912310021"})) == {"id_number"}
    # a passport number keeps its own rules (none of GB 11643)
    assert check_identity_document("03", " e12345678 ", birth_date=None, sex=None) == ("E12345678", {})


def test_types_01_and_02_find_the_same_person():
    assert identity_namespace("01") == identity_namespace("02") == identity_namespace(None) == "id:01"
    assert identity_namespace("03") == "id:03"
    pii = PiiBox(b"k" * 32, b"i" * 32)
    assert identity_key(pii, "02", "11010519491231002X") == identity_key(pii, "01", "11010519491231002X")
    assert identity_key(pii, "03", "11010519491231002X") != identity_key(pii, "01", "11010519491231002X")


def test_an_attached_id_number_is_normalised_and_checked():
    assert IdNumberAttachmentSchema().load({"id_type": "02", "id_number": "110105491231002"}) == \
        {"id_type": "02", "id_number": "11010519491231002X"}
    with pytest.raises(ValidationError):
        IdNumberAttachmentSchema().load({"id_number": "110105194912310021"})


# -- search by the health card, residence type, ethnicity ----------------------------------------


def test_search_takes_the_health_card_residence_type_and_ethnicity_as_filters():
    assert ArchiveSearchSchema().load({"health_card_no": "H1101 0500012"}) == {"health_card_no": "H1101 0500012"}
    assert ArchiveSearchSchema().load({"residence_type": "1", "ethnicity": "99"}) == \
        {"residence_type": "1", "ethnicity": "99"}
    with pytest.raises(ValidationError):
        ArchiveSearchSchema().load({"residence_type": "3"})


# -- the managing institution ------------------------------------------------------------------


class Unit:
    def __init__(self, kind: str, division_code: str) -> None:
        self.kind, self.division_code = kind, division_code


@pytest.mark.parametrize("kind,division,problem", [
    ("township_centre", "110105101", None), ("village_clinic", "110105101101", None),
    ("community_station", "110105101101", None),
    ("village_clinic", "110105101102", "Does not serve the village."),
    ("township_centre", "110105201", "Does not serve the village."),
    ("hospital", "110105101", "A hospital cannot manage archives"),
    ("health_commission", "110105", "A health commission cannot manage archives"),
])
def test_only_a_primary_care_unit_serving_the_village_manages_its_archives(kind, division, problem):
    found = management_problem(Unit(kind, division), "110105101101")
    assert (found is None) if problem is None else found.startswith(problem)
