"""The 居民健康档案信息卡 through the gateway: issued, reissued with a reason, its content assembled
from the registry's identity and the records' 首页, and found by the number printed on it after a
transfer changed the archive's number."""

from __future__ import annotations

import pytest

from services.records.service import RecordsService
from services.registry.service import RegistryService
from tests.unit.test_forms import personal_info

VILLAGE, NEIGHBOUR = "110105101102", "110105101101"
MANAGER = "T1101051011"


@pytest.fixture
def api(gateway_url):
    return gateway_url(RegistryService, RecordsService)


@pytest.fixture
def staff(auth):
    return auth.session_for("township_doctor", MANAGER)


def _archive(api, staff, resident) -> str:
    created = staff.post(f"{api}/api/v1/archives", json=resident.archive_request())
    assert created.status_code == 201, created.text
    return created.json()["archive_no"]


def test_a_card_is_issued_then_reissued_only_with_a_reason_and_shows_the_archive(api, synth, staff):
    resident = synth.resident(VILLAGE, MANAGER)
    archive_no = _archive(api, staff, resident)
    content = personal_info(occurred_on="2026-11-01")
    content["past_history"]["diseases"] = [
        {"code": "2", "diagnosed_on": max("2015-06", resident.birth_date.strftime("%Y-%m"))}]  # 高血压
    content["past_history"]["operations"] = content["past_history"]["transfusions"] = []
    filed = staff.post(f"{api}/api/v1/archives/{archive_no}/records",
                       json={"record_type": "personal_info", "content": content, "institution_code": MANAGER})
    assert filed.status_code == 201, filed.text

    first = staff.post(f"{api}/api/v1/archives/{archive_no}/cards")
    assert first.status_code == 201, first.text
    assert first.json()["issue_no"] == 1 and first.json()["reason"] is None
    assert first.json()["printed_archive_no"] == archive_no
    assert first.json()["issued_by_institution"] == MANAGER

    unexplained = staff.post(f"{api}/api/v1/archives/{archive_no}/cards", json={})
    assert unexplained.status_code == 400 and "reason" in unexplained.json()["error"]["details"]
    again = staff.post(f"{api}/api/v1/archives/{archive_no}/cards", json={"reason": "卡片遗失"})
    assert again.status_code == 201, again.text
    assert (again.json()["issue_no"], again.json()["reason"]) == (2, "卡片遗失")

    card = staff.get(f"{api}/api/v1/archives/{archive_no}/card")
    assert card.status_code == 200, card.text
    card = card.json()
    assert card["front"] == {
        "name": resident.name, "sex": resident.sex, "birth_date": resident.birth_date.isoformat(),
        "archive_no": archive_no, "blood_type": {"abo": "1", "rh": "2"}, "chronic_diseases": ["高血压"],
        "chronic_diseases_other": [], "drug_allergies": ["2", "5"], "drug_allergies_other": "头孢"}
    back = card["back"]
    assert back["phone"] == resident.phone and back["institution_code"] == MANAGER
    assert back["institution_name"] and back["village_name"]
    assert back["address"] is None and back["emergency_contact"] is None and back["responsible_doctor"] is None
    assert [(i["issue_no"], i["reason"]) for i in card["issues"]] == [(1, None), (2, "卡片遗失")]
    assert card["reissue_needed"] is False


def test_the_number_on_the_card_finds_the_archive_after_a_transfer_and_asks_for_a_new_card(api, synth, staff):
    old_no = _archive(api, staff, synth.resident(VILLAGE, MANAGER))
    assert staff.post(f"{api}/api/v1/archives/{old_no}/cards").status_code == 201
    requested = staff.post(f"{api}/api/v1/archives/{old_no}/transfers",
                           json={"to_village_code": NEIGHBOUR, "to_institution_code": MANAGER, "reason": "迁居"})
    assert requested.status_code == 201, requested.text
    accepted = staff.post(f"{api}/api/v1/transfers/{requested.json()['transfer_id']}/accept")
    assert accepted.status_code == 200, accepted.text
    new_no = accepted.json()["archive"]["archive_no"]
    assert new_no != old_no

    card = staff.get(f"{api}/api/v1/archives/{old_no}/card").json()  # the number printed on the card
    assert card["archive_no"] == new_no and card["front"]["archive_no"] == new_no
    assert card["issues"][0]["printed_archive_no"] == old_no and card["reissue_needed"] is True
    reissued = staff.post(f"{api}/api/v1/archives/{old_no}/cards", json={"reason": "档案编号变更"})
    assert reissued.status_code == 201 and reissued.json()["printed_archive_no"] == new_no
    assert staff.get(f"{api}/api/v1/archives/{new_no}/card").json()["reissue_needed"] is False


def test_a_terminated_archive_gets_no_card(api, synth, staff):
    archive_no = _archive(api, staff, synth.resident(VILLAGE, MANAGER))
    ended = staff.post(f"{api}/api/v1/archives/{archive_no}/termination",
                       json={"reason": "loss_to_follow_up", "date": "2026-11-01", "note": "外出务工失访"})
    assert ended.status_code == 200, ended.text
    refused = staff.post(f"{api}/api/v1/archives/{archive_no}/cards")
    assert refused.status_code == 422
    assert staff.get(f"{api}/api/v1/archives/{archive_no}/card").json()["issues"] == []
