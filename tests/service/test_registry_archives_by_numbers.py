"""`archives_by_numbers`: a page of archive numbers (a work list's) answered in one call, confined
to the scope the gateway passes, and the work list through the API naming each resident with the
masked ID number the registry answers."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import timedelta

import pytest
from shared.transport.rpc import SignedClusterRpcClient

from ehr.synthetic import Synthesizer
from shared import clock
from shared.errors import ValidationFailed
from shared.identity import mask_id_number
from tests.support.amqp import wait_until

VILLAGE, CENTRE = "110105101101", "T1101051011"          # 孙河镇 上辛堡村
OTHER_VILLAGE, OTHER_CENTRE = "110105201101", "T1101052011"  # 金盏乡 东窑村
DOCTOR = {"ehr.user": "doc-sunhe", "ehr.institution": CENTRE, "ehr.role": "doctor"}
SUNHE = {"prefix": "110105101", "institution_code": CENTRE}


@pytest.fixture
def doctor(module_gateway):  # the module's registry (one registry in the vhost)
    with ExitStack() as stack:
        yield stack.enter_context(SignedClusterRpcClient(timeout=20, context_data=DOCTOR))


def _create(doctor, synth, village: str, institution: str):
    resident = synth.resident(village, institution)
    archive = doctor.registry.create_archive({**resident.archive_request(), "confirm_new": True})
    return resident, archive["archive_no"]


def test_the_archives_of_a_page_of_numbers_come_in_one_call_inside_the_scope_in_the_order_asked(doctor):
    synth = Synthesizer()
    (a, a_no), (b, b_no) = (_create(doctor, synth, VILLAGE, CENTRE) for _ in range(2))
    _, far_no = _create(doctor, synth, OTHER_VILLAGE, OTHER_CENTRE)
    unknown = VILLAGE + "99999"

    found = doctor.registry.archives_by_numbers([b_no, far_no, unknown, a_no, b_no], scope=SUNHE)

    assert [f["archive_no"] for f in found] == [b_no, a_no]  # the other township's and the unknown left out
    assert [f["name"] for f in found] == [b.name, a.name]
    assert found[1]["id_number_masked"] == mask_id_number(a.id_number)
    assert "id_number" not in found[1] and "id_number_enc" not in found[1]
    everywhere = doctor.registry.archives_by_numbers([far_no], scope=None)
    assert [f["archive_no"] for f in everywhere] == [far_no]


def test_a_malformed_number_or_too_many_are_refused_naming_the_field(doctor):
    with pytest.raises(ValidationFailed) as malformed:
        doctor.registry.archives_by_numbers(["1101"], scope=SUNHE)
    assert "archive_nos" in malformed.value.details
    with pytest.raises(ValidationFailed) as too_many:
        doctor.registry.archives_by_numbers([f"{VILLAGE}{n:05d}" for n in range(1, 202)], scope=SUNHE)
    assert "archive_nos" in too_many.value.details


def test_the_work_list_names_each_resident_with_the_masked_id_number(module_gateway, auth):
    session = auth.session_for("township_doctor", CENTRE)
    synth = Synthesizer()
    resident = synth.resident(VILLAGE, CENTRE, born=clock.today() - timedelta(days=365 * 60))
    answer = session.post(module_gateway + "/api/v1/archives", json={**resident.archive_request(), "confirm_new": True})
    assert answer.status_code == 201, answer.text
    archive_no = answer.json()["archive_no"]
    enrolled_on = (clock.today() - timedelta(days=40)).isoformat()

    def enrolled():
        return session.post(f"{module_gateway}/api/v1/archives/{archive_no}/programmes",
                            json={"programme": "hypertension", "enrolled_on": enrolled_on}).status_code == 201

    wait_until(enrolled, message="the programmes service hears of the archive")

    def item():
        items = session.get(module_gateway + "/api/v1/worklist",
                            params={"village_code": VILLAGE, "programme": "hypertension", "limit": 200}).json()["items"]
        return next((i for i in items if i["archive_no"] == archive_no), None)

    found = wait_until(item, message="the follow-up due")
    assert found["name"] == resident.name
    assert found["id_number_masked"] == mask_id_number(resident.id_number)
    assert resident.id_number not in str(found)
