"""The staff's web pages in a real browser (Debian's Chromium): signing in and out, finding a
resident, the archive, entering a 健康体检表 (one field wrong, then right), scope by typed URL,
CSRF, the session cookie, labels and the keyboard. Each test prepares its users and archives
here and runs its steps (`scenarios.py`) in Chromium."""

from __future__ import annotations

from datetime import date

from ehr.synthetic import Synthesizer
from tests.browser.conftest import CLINIC, OTHER_VILLAGE, TOWNSHIP, VILLAGE

YOUNG = date(1980, 3, 14)  # under 65: the elderly items of the 健康体检表 are refused


def test_a_village_doctor_finds_a_resident_and_enters_a_health_exam_wrong_then_right(scenario, staff, api):
    resident = api(born=YOUNG)
    scenario("health_exam", doctor=staff.user("village_doctor", CLINIC), archive_no=resident["archive_no"],
             id_number=resident["id_number"])


def test_a_village_doctor_cannot_open_another_villages_archive_by_typed_url(scenario, staff, api):
    other = api(village=OTHER_VILLAGE, institution=TOWNSHIP)
    own = api()
    scenario("typed_url_out_of_village", doctor=staff.user("village_doctor", CLINIC),
             other_archive_no=other["archive_no"], other_name=other["name"], own_archive_no=own["archive_no"])


def test_a_form_without_its_csrf_token_is_refused_and_signing_out_ends_the_session(scenario, staff, api):
    resident = api()
    scenario("csrf_refused_and_sign_out", doctor=staff.user("village_doctor", CLINIC),
             archive_no=resident["archive_no"], name=resident["name"])


def test_the_session_cookie_is_http_only_and_strict_and_pages_allow_no_inline_script(scenario, staff):
    scenario("session_cookie_and_headers", doctor=staff.user("village_doctor", CLINIC))


def test_sign_in_search_and_open_an_archive_with_the_keyboard_alone(scenario, staff, api):
    resident = api()
    scenario("keyboard", doctor=staff.user("village_doctor", CLINIC), archive_no=resident["archive_no"])


def test_a_possible_duplicate_is_offered_and_a_new_person_is_confirmed(scenario, staff, api):
    resident = api()
    synth = Synthesizer()
    twin = synth.resident(VILLAGE, CLINIC, born=date.fromisoformat(resident["birth_date"]), sex=resident["sex"])
    while twin.id_number == resident["id_number"]:  # one sex and birth date share 500 sequence numbers
        twin = synth.resident(VILLAGE, CLINIC, born=date.fromisoformat(resident["birth_date"]), sex=resident["sex"])
    scenario("create_with_duplicate_choice", id_number=twin.id_number, doctor=staff.user("village_doctor", CLINIC),
             archive_no=resident["archive_no"], name=resident["name"], sex=resident["sex"],
             birth_date=resident["birth_date"], village_code=VILLAGE)
