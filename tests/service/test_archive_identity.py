"""Who the archive is for and its cover, over HTTP against real registry, records and gateway
services (issue 18): a newborn's archive without an ID number and the ID number attached later,
search by 居民健康卡号 and 常住类型, the cover's personal data sealed, 责任医生 a clinician of the
managing institution, and only a primary-care unit serving the village as 管理单位.

Callers: a township doctor of 孙河镇 (township 110105101) and one of 金盏乡 (110105201).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from ehr.synthetic import Synthesizer, make_id_number
from shared import clock
from tests.support.db import query

VILLAGE, CENTRE, CLINIC = "110105101101", "T1101051011", "V1101051011"
OTHER_CENTRE = "T1101052011"
TODAY = clock.today()
GIVEN: set[str] = set()  # the newborns' ID numbers handed out


@pytest.fixture(scope="module")
def api(module_gateway):
    return module_gateway + "/api/v1"


@pytest.fixture(scope="module")
def synth():
    return Synthesizer(seed=uuid.uuid4().int % 10_000_000)


@pytest.fixture(scope="module")
def doctor(auth):
    return auth.session_for("township_doctor", CENTRE)


@pytest.fixture(scope="module")
def their_doctor(auth):
    return auth.session_for("township_doctor", OTHER_CENTRE)


def create(session, api, body: dict) -> dict:
    resp = session.post(f"{api}/archives", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def newborn(synth, **extra) -> tuple[dict, str]:
    """A newborn's creation request (no ID number) and the ID number the child gets later."""
    born = TODAY - timedelta(days=6)
    resident = synth.resident(VILLAGE, CENTRE)
    id_number = make_id_number(synth.rng, "110105", born, "1")
    while id_number in GIVEN:  # 500 numbers a day and sex: never the same twice in this module
        id_number = make_id_number(synth.rng, "110105", born, "1")
    GIVEN.add(id_number)
    body = {"name": resident.name, "sex": "1", "birth_date": born.isoformat(), "village_code": VILLAGE,
            "institution_code": CENTRE, "archive_source": "2", "consent": "given",
            "consent_date": TODAY.isoformat(), **extra}
    return body, id_number


def test_a_newborn_gets_an_archive_without_an_id_number_and_the_id_number_later(api, synth, doctor):
    mother = create(doctor, api, {**synth.resident(VILLAGE, CENTRE).archive_request(), "confirm_new": True})
    body, id_number = newborn(synth, guardian_archive_no=mother["archive_no"],
                              birth_certificate_no=f"P{uuid.uuid4().int % 10 ** 9:09d}")
    baby = create(doctor, api, body)
    assert (baby["id_number_masked"], baby["id_type"], baby["guardian_archive_no"]) == \
        (None, None, mother["archive_no"])
    assert (baby["archive_date"], baby["consent"], baby["archive_source"]) == (TODAY.isoformat(), "given", "2")

    attached = doctor.post(f"{api}/archives/{baby['archive_no']}/id-number",
                           json={"id_type": "01", "id_number": id_number})
    assert attached.status_code == 200, attached.text
    assert attached.json()["id_number_masked"] == "*" * 14 + id_number[-4:]
    revision = doctor.get(f"{api}/archives/{baby['archive_no']}/revisions").json()[-1]
    assert revision["action"] == "id_number_attached"
    assert revision["changes"] == {"id_type": [None, "01"], "id_number": [None, "*" * 14 + id_number[-4:]]}

    # from now on the ID number finds it, under type 02 (居民户口簿) as under 01 ...
    for id_type in ("01", "02"):
        found = doctor.post(f"{api}/archives/search", json={"id_type": id_type, "id_number": id_number})
        assert [a["archive_no"] for a in found.json()["items"]] == [baby["archive_no"]]
    # ... and the duplicate rules hold: a second archive for it is refused as any would be
    again = doctor.post(f"{api}/archives", json={**body, "id_type": "02", "id_number": id_number,
                                                 "birth_certificate_no": None, "confirm_new": True})
    assert again.status_code == 409 and again.json()["error"]["details"]["archive_no"] == baby["archive_no"]
    # ... attaching it to another newborn's archive too, with the same answer a creation gets
    twin_body, _ = newborn(synth, guardian_archive_no=mother["archive_no"], confirm_new=True)
    twin = create(doctor, api, twin_body)
    taken = doctor.post(f"{api}/archives/{twin['archive_no']}/id-number", json={"id_type": "02", "id_number": id_number})
    assert taken.status_code == 409, taken.text
    assert taken.json()["error"]["code"] == again.json()["error"]["code"] == "conflict"
    assert taken.json()["error"]["details"] == again.json()["error"]["details"] == {
        "archive_no": baby["archive_no"], "id_number": "*" * 14 + id_number[-4:]}
    # an archive that has its ID number is corrected with a reason, not attached again
    assert doctor.post(f"{api}/archives/{baby['archive_no']}/id-number",
                       json={"id_number": id_number}).status_code == 422


def test_an_id_number_held_outside_the_callers_scope_is_refused_without_naming_the_archive(
        api, synth, doctor, their_doctor):
    body, id_number = newborn(synth, guardian_id_number=synth.resident(VILLAGE, CENTRE).id_number, confirm_new=True)
    theirs = create(their_doctor, api, {**body, "village_code": "110105201101", "institution_code": OTHER_CENTRE,
                                        "id_number": id_number})
    ours = create(doctor, api, body)
    refused = doctor.post(f"{api}/archives/{ours['archive_no']}/id-number", json={"id_number": id_number})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "registered_elsewhere"
    assert theirs["archive_no"] not in refused.text and id_number not in refused.text
    # an ID number that does not fit the archive's sex and birth date is a field error
    other = synth.resident(VILLAGE, CENTRE)
    assert doctor.post(f"{api}/archives/{ours['archive_no']}/id-number",
                       json={"id_number": other.id_number}).status_code == 400
    # a guardian's archive outside the caller's scope is as unknown as a missing one
    hidden = doctor.post(f"{api}/archives", json={**newborn(synth)[0], "guardian_archive_no": theirs["archive_no"]})
    assert hidden.status_code == 400
    assert hidden.json()["error"]["details"] == {"guardian_archive_no": ["Unknown archive."]}


def test_without_an_id_number_an_archive_names_a_guardian(api, synth, doctor):
    body, _ = newborn(synth)
    refused = doctor.post(f"{api}/archives", json=body)
    assert refused.status_code == 400 and list(refused.json()["error"]["details"]) == ["id_number"]
    guardian = synth.resident(VILLAGE, CENTRE)
    created = create(doctor, api, {**body, "guardian_id_number": guardian.id_number, "confirm_new": True})
    shown = doctor.get(f"{api}/archives/{created['archive_no']}").json()
    assert shown["guardian_id_number_masked"] == "*" * 14 + guardian.id_number[-4:]
    stored = query("registry", "SELECT guardian_id_number_enc FROM archives WHERE archive_no = :a",
                   a=created["archive_no"])[0][0]
    assert guardian.id_number.encode() not in bytes(stored)


def test_an_archive_is_found_by_its_health_card(api, synth, doctor, their_doctor):
    card = f"H{uuid.uuid4().int % 10 ** 11:011d}"
    archive = create(doctor, api, {**synth.resident(VILLAGE, CENTRE).archive_request(), "health_card_no": card})
    found = doctor.post(f"{api}/archives/search", json={"health_card_no": card.lower()})
    assert found.status_code == 200 and [a["archive_no"] for a in found.json()["items"]] == [archive["archive_no"]]
    assert doctor.post(f"{api}/archives/search", json={"health_card_no": card + "9"}).json()["items"] == []
    # outside the caller's jurisdiction the card finds nothing
    assert their_doctor.post(f"{api}/archives/search", json={"health_card_no": card}).json()["items"] == []


def test_residence_type_and_ethnicity_are_kept_corrected_with_revisions_and_searched(api, synth, doctor):
    resident = synth.resident(VILLAGE, CENTRE)
    paper_day = (resident.birth_date + timedelta(days=1)).isoformat()  # a paper archive of long ago
    archive = create(doctor, api, {**resident.archive_request(), "residence_type": "2", "ethnicity": "99",
                                   "ethnicity_name": "回族", "archive_date": paper_day})
    assert (archive["residence_type"], archive["ethnicity_name"], archive["archive_date"]) == ("2", "回族", paper_day)
    found = doctor.post(f"{api}/archives/search", json={"name": resident.name, "residence_type": "2"})
    assert archive["archive_no"] in [a["archive_no"] for a in found.json()["items"]]
    assert archive["archive_no"] not in [a["archive_no"] for a in doctor.post(
        f"{api}/archives/search", json={"name": resident.name, "residence_type": "1"}).json()["items"]]

    changed = doctor.patch(f"{api}/archives/{archive['archive_no']}", json={"residence_type": "1", "reason": "落户"})
    assert changed.status_code == 200 and changed.json()["residence_type"] == "1"
    revision = doctor.get(f"{api}/archives/{archive['archive_no']}/revisions").json()[-1]
    assert revision["changes"] == {"residence_type": ["2", "1"]} and revision["reason"] == "落户"
    bad = doctor.patch(f"{api}/archives/{archive['archive_no']}", json={"ethnicity": "01"})
    assert bad.status_code == 400 and list(bad.json()["error"]["details"]) == ["ethnicity_name"]
    future = doctor.patch(f"{api}/archives/{archive['archive_no']}",
                          json={"archive_date": (TODAY + timedelta(days=1)).isoformat()})
    assert future.status_code == 400 and list(future.json()["error"]["details"]) == ["archive_date"]


def test_the_cover_is_kept_sealed_and_shown_to_those_in_scope(api, synth, auth, doctor):
    village_doctor = auth.user("village_doctor", CLINIC)
    resident = synth.resident(VILLAGE, CENTRE)
    cover = {"current_address": "孙河乡上辛堡村东街12号", "registered_address": "河北省保定市莲池区五四路3号",
             "employer": "务农", "contact_name": "王建国", "contact_phone": "13912345678"}
    archive = create(doctor, api, {**resident.archive_request(), **cover, "institution_code": CLINIC,
                                   "responsible_doctor": village_doctor})
    shown = doctor.get(f"{api}/archives/{archive['archive_no']}").json()
    assert {k: shown[k] for k in ("current_address", "registered_address", "employer", "contact_name")} == \
        {k: cover[k] for k in ("current_address", "registered_address", "employer", "contact_name")}
    assert (shown["contact_phone_masked"], shown["responsible_doctor"]) == ("139****5678", village_doctor)
    row = query("registry", "SELECT * FROM archives WHERE archive_no = :a", a=archive["archive_no"])[0]._mapping
    stored = b"".join(bytes(row[c]) for c in ("current_address_enc", "registered_address_enc", "employer_enc",
                                              "contact_name_enc", "contact_phone_enc"))
    assert all(v.encode() not in stored for v in cover.values())
    created = doctor.get(f"{api}/archives/{archive['archive_no']}/revisions").json()[0]["changes"]
    assert created["current_address"] == [None, "******"] and created["contact_phone"] == [None, "139****5678"]
    assert all(v not in str(created) for v in cover.values())


def test_the_responsible_doctor_is_a_clinician_of_the_managing_institution(api, synth, auth, doctor):
    colleague = auth.user("township_doctor", CENTRE)
    stranger = auth.user("township_doctor", OTHER_CENTRE)
    admin = auth.user("institution_admin", CENTRE)
    archive = create(doctor, api, {**synth.resident(VILLAGE, CENTRE).archive_request(), "responsible_doctor": colleague})
    assert archive["responsible_doctor"] == colleague
    for who in (stranger, admin, "nobody-" + uuid.uuid4().hex[:6]):
        refused = doctor.post(f"{api}/archives", json={**synth.resident(VILLAGE, CENTRE).archive_request(),
                                                       "responsible_doctor": who})
        assert refused.status_code == 400, refused.text
        assert list(refused.json()["error"]["details"]) == ["responsible_doctor"]
        changed = doctor.patch(f"{api}/archives/{archive['archive_no']}", json={"responsible_doctor": who})
        assert changed.status_code == 400 and list(changed.json()["error"]["details"]) == ["responsible_doctor"]
    assert doctor.get(f"{api}/archives/{archive['archive_no']}").json()["responsible_doctor"] == colleague


@pytest.mark.parametrize("institution,why", [
    ("H1101050002", "A hospital cannot manage archives"),
    ("G1101050001", "A health commission cannot manage archives"),
    ("T1101052011", "Does not serve the village."),
])
def test_only_a_primary_care_unit_serving_the_village_becomes_its_managing_institution(
        api, synth, doctor, institution, why):
    refused = doctor.post(f"{api}/archives", json={**synth.resident(VILLAGE, CENTRE).archive_request(),
                                                   "institution_code": institution})
    assert refused.status_code == 400, refused.text
    [message] = refused.json()["error"]["details"]["institution_code"]
    assert message.startswith(why)
