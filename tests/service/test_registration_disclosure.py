"""Creating or correcting an archive tells the caller nothing about residents outside their
jurisdiction (issue 11, finding 2), shows ID numbers in a mask the birth date does not complete
(finding 3), and compares names in their normal form (finding 10): over HTTP, against real
registry, records and gateway services.

Callers: a township doctor of 孙河镇 (township 110105101, which holds HERE) and one of 金盏乡
(110105201, which holds THERE).
"""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from ehr.synthetic import Synthesizer, make_id_number
from tests.support.db import audit_outcome

HERE, HERE_CENTRE = "110105101102", "T1101051011"
THERE, THERE_CENTRE = "110105201102", "T1101052011"


@pytest.fixture(scope="module")
def api(module_gateway):
    return module_gateway + "/api/v1"


@pytest.fixture(scope="module")
def synth():
    return Synthesizer(seed=uuid.uuid4().int)


@pytest.fixture(scope="module")
def doctor(auth):
    return auth.session_for("township_doctor", HERE_CENTRE)


@pytest.fixture(scope="module")
def their_doctor(auth):
    return auth.session_for("township_doctor", THERE_CENTRE)


_ISSUED: set[str] = set()


def resident_of(synth, village, centre, **overrides):
    """A new resident; two residents of one sex and birth date in one county draw their ID numbers
    from 500 sequence numbers, so a number this module has already used is drawn again (a 1 in
    500 collision made a "new person" an existing one in a CI run)."""
    resident = dataclasses.replace(synth.resident(village, centre), **overrides)
    redraw = "birth_date" in overrides or "sex" in overrides
    while redraw or resident.id_number in _ISSUED:
        resident = dataclasses.replace(resident, id_number=make_id_number(
            synth.rng, village[:6], resident.birth_date, resident.sex))
        redraw = False
    _ISSUED.add(resident.id_number)
    return resident


def create(session, api, resident, **extra) -> dict:
    resp = session.post(f"{api}/archives", json={**resident.archive_request(), **extra})
    assert resp.status_code == 201, resp.text
    return resp.json()


def moved_here(resident):
    """The same person, registered again by 孙河镇 in its own village."""
    return dataclasses.replace(resident, village_code=HERE, institution_code=HERE_CENTRE)


def audit_target(resp) -> str | None:
    return audit_outcome(resp.headers["X-Request-Id"]).target


def test_an_id_number_registered_in_another_township_is_refused_without_naming_its_archive(
        api, doctor, their_doctor, synth):
    resident = resident_of(synth, THERE, THERE_CENTRE)
    theirs = create(their_doctor, api, resident)
    resp = doctor.post(f"{api}/archives", json={**moved_here(resident).archive_request(), "confirm_new": True})
    assert resp.status_code == 409
    error = resp.json()["error"]
    assert error["code"] == "registered_elsewhere"
    assert error["details"] == {"id_number": "*" * 14 + resident.id_number[-4:]}
    for secret in (theirs["archive_no"], theirs["archive_no"][:12], THERE, THERE_CENTRE, resident.id_number):
        assert secret not in resp.text
    assert audit_target(resp) is None  # it disclosed no archive


def test_an_id_number_registered_in_ones_own_township_names_its_archive_and_the_audit_says_so(api, doctor, synth):
    resident = resident_of(synth, HERE, HERE_CENTRE)
    ours = create(doctor, api, resident)
    resp = doctor.post(f"{api}/archives", json={**resident.archive_request(), "confirm_new": True})
    assert resp.status_code == 409
    error = resp.json()["error"]
    assert error["code"] == "conflict" and error["details"]["archive_no"] == ours["archive_no"]
    assert error["details"]["id_number"] == "*" * 14 + resident.id_number[-4:]
    assert audit_target(resp) == f"disclosed:{ours['archive_no']}"


def test_a_health_card_held_in_another_township_is_refused_without_naming_its_archive(
        api, doctor, their_doctor, synth):
    card = "HC" + uuid.uuid4().hex[:10].upper()
    theirs = create(their_doctor, api, resident_of(synth, THERE, THERE_CENTRE), health_card_no=card)
    resp = doctor.post(f"{api}/archives", json={**resident_of(synth, HERE, HERE_CENTRE).archive_request(),
                                                "health_card_no": card, "confirm_new": True})
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "registered_elsewhere"
    assert set(resp.json()["error"]["details"]) == {"health_card_no"}
    assert theirs["archive_no"] not in resp.text and card not in resp.text


def test_correcting_an_id_number_to_one_registered_elsewhere_does_not_name_that_archive(
        api, doctor, their_doctor, synth):
    resident = resident_of(synth, THERE, THERE_CENTRE)
    theirs = create(their_doctor, api, resident)
    ours = create(doctor, api, resident_of(synth, HERE, HERE_CENTRE, sex=resident.sex,
                                           birth_date=resident.birth_date), confirm_new=True)
    resp = doctor.patch(f"{api}/archives/{ours['archive_no']}",
                        json={"id_number": resident.id_number, "reason": "身份证号录入错误"})
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "registered_elsewhere"
    assert theirs["archive_no"] not in resp.text and THERE not in resp.text


def test_possible_duplicates_are_only_those_of_ones_own_jurisdiction(api, doctor, their_doctor, synth):
    resident = resident_of(synth, THERE, THERE_CENTRE)
    create(their_doctor, api, resident)
    # The same name, sex and birth date in 金盏乡 is nobody 孙河镇 may be told of: no 409.
    twin = dataclasses.replace(resident_of(synth, HERE, HERE_CENTRE, sex=resident.sex, birth_date=resident.birth_date),
                               name=resident.name)
    assert create(doctor, api, twin)["archive_no"].startswith(HERE)
    # Inside the jurisdiction the same rule finds it, and the audit entry names what it showed.
    again = resident_of(synth, HERE, HERE_CENTRE, sex=resident.sex, birth_date=resident.birth_date)
    resp = doctor.post(f"{api}/archives", json={**dataclasses.replace(again, name=resident.name).archive_request()})
    assert resp.status_code == 409
    shown = [d["archive_no"] for d in resp.json()["error"]["details"]["possible_duplicates"]]
    assert shown and all(no.startswith("110105101") for no in shown)
    target = audit_target(resp)
    assert target.startswith(f"disclosed:{min(shown)}") and len(target) <= 80


def test_a_shared_phone_alone_is_no_possible_duplicate(api, doctor, synth):
    first = resident_of(synth, HERE, HERE_CENTRE)
    create(doctor, api, first, confirm_new=True)
    stranger = dataclasses.replace(resident_of(synth, HERE, HERE_CENTRE), phone=first.phone, name="欧阳" + first.name)
    assert create(doctor, api, stranger)["archive_no"]


def test_a_zero_width_space_does_not_hide_a_duplicate_and_is_not_stored(api, doctor, synth):
    resident = resident_of(synth, HERE, HERE_CENTRE, sex="2")
    resident = dataclasses.replace(resident, name="张秀英")
    first = create(doctor, api, resident, confirm_new=True)
    hidden = resident_of(synth, HERE, HERE_CENTRE, sex="2", birth_date=resident.birth_date)

    def candidate(name):
        resp = doctor.post(f"{api}/archives", json={**hidden.archive_request(), "name": name})
        assert resp.status_code == 409
        return [d for d in resp.json()["error"]["details"]["possible_duplicates"]
                if d["archive_no"] == first["archive_no"]]

    # Scored as the clean name is: name, birth date, sex (and the other ID number counts against).
    assert candidate("张\u200b秀英") == candidate("张秀英") != []
    assert candidate("张\u200b秀英")[0]["reasons"][:3] == ["name", "birth_date", "sex"]
    created = create(doctor, api, hidden, name="\u202e张\u200b秀英 ", confirm_new=True)
    assert created["name"] == "张秀英"


def test_an_archive_shows_its_id_number_by_the_last_four_characters_only(api, doctor, synth):
    resident = resident_of(synth, HERE, HERE_CENTRE)
    created = create(doctor, api, resident, confirm_new=True)
    read = doctor.get(f"{api}/archives/{created['archive_no']}").json()
    found = doctor.post(f"{api}/archives/search", json={"archive_no": created["archive_no"]}).json()["items"]
    for shown in (created["id_number_masked"], read["id_number_masked"], found[0]["id_number_masked"]):
        assert shown == "*" * 14 + resident.id_number[-4:]
    assert resident.id_number[:6] not in read["id_number_masked"]
