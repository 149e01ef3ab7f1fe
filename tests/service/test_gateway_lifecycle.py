"""The archive lifecycle over HTTP: search within one's jurisdiction, corrections with their
revisions, termination and reactivation, transfer between townships, merge and unmerge, and
possible-duplicate review, against real registry, records and gateway services.

Callers: a township doctor and an archive manager of 孙河镇 (township 110105101, which holds
HERE) and their counterparts of 金盏乡 (110105201, which holds THERE).
"""

from __future__ import annotations

import base64
import dataclasses
import random
import uuid
import pytest

from ehr.synthetic import Synthesizer, make_id_number
from tests.support.amqp import wait_until
from tests.support.db import audit_outcome

HERE, HERE_CENTRE = "110105101102", "T1101051011"
THERE, THERE_CENTRE = "110105201102", "T1101052011"
VISIT = {"occurred_on": "2026-11-20", "subjective": "复诊", "assessment": "高血压", "plan": "继续服药",
         "clinician": "王医生"}


@pytest.fixture(scope="module")
def api(module_gateway):
    return module_gateway + "/api/v1"


@pytest.fixture(scope="module")
def synth():
    return Synthesizer(seed=uuid.uuid4().int % 10_000)


@pytest.fixture(scope="module")
def doctor(auth):
    return auth.session_for("township_doctor", HERE_CENTRE)


@pytest.fixture(scope="module")
def manager(auth):
    return auth.session_for("archive_manager", HERE_CENTRE)


@pytest.fixture(scope="module")
def their_doctor(auth):
    return auth.session_for("township_doctor", THERE_CENTRE)


@pytest.fixture(scope="module")
def village_doctor(auth):
    return auth.session_for("village_doctor", "V1101051011")   # 上辛堡村 110105101101 only


def create(session, api, resident, **extra) -> dict:
    resp = session.post(f"{api}/archives", json={**resident.archive_request(), **extra})
    assert resp.status_code == 201, resp.text
    return resp.json()


def search(session, api, **filters) -> list[str]:
    resp = session.post(f"{api}/archives/search", json=filters)
    assert resp.status_code == 200, resp.text
    return [a["archive_no"] for a in resp.json()["items"]]


# -- search ----------------------------------------------------------------------------------

def test_search_finds_only_archives_of_the_callers_jurisdiction(api, synth, doctor, their_doctor, village_doctor):
    here = synth.resident(HERE, HERE_CENTRE)
    there = dataclasses.replace(synth.resident(THERE, THERE_CENTRE), name=here.name, sex=here.sex,
                                birth_date=here.birth_date,
                                id_number=make_id_number(random.Random(), THERE[:6], here.birth_date, here.sex))
    mine = create(doctor, api, here)["archive_no"]
    theirs = create(their_doctor, api, there, confirm_new=True)["archive_no"]

    assert search(doctor, api, name=here.name, birth_date=here.birth_date.isoformat()) == [mine]
    assert search(their_doctor, api, name=here.name, birth_date=here.birth_date.isoformat()) == [theirs]
    # an exact ID number or archive number of another township finds nothing either
    assert search(doctor, api, id_type="01", id_number=there.id_number) == []
    assert search(doctor, api, archive_no=theirs) == []
    assert search(doctor, api, archive_no=THERE) == []
    # a village clinic sees its own village, not the rest of the township
    assert search(village_doctor, api, archive_no=mine) == []


def test_search_by_id_number_pinyin_and_village_pages_in_number_order(api, synth, doctor):
    residents = [synth.resident(HERE, HERE_CENTRE) for _ in range(3)]
    numbers = [create(doctor, api, r)["archive_no"] for r in residents]
    assert search(doctor, api, id_type="01", id_number=residents[1].id_number.lower()) == [numbers[1]]

    first = doctor.post(f"{api}/archives/search", json={"archive_no": HERE, "limit": 2}).json()
    rest = doctor.post(f"{api}/archives/search", json={"archive_no": HERE, "limit": 200,
                                                      "cursor": first["next"]}).json()
    found = [a["archive_no"] for a in first["items"] + rest["items"]]
    assert found == sorted(found) and set(numbers) <= set(found)
    assert all(a["id_number_masked"] and "*" in a["id_number_masked"] for a in first["items"])


def test_a_bad_search_names_the_field_and_the_audit_keeps_no_identifier(api, synth, doctor):
    resp = doctor.post(f"{api}/archives/search", json={"birth_date": "1949-02-30", "colour": "red"})
    assert resp.status_code == 400
    assert set(resp.json()["error"]["details"]) == {"birth_date", "colour"}
    resp = doctor.post(f"{api}/archives/search", json={"name": "张", "limit": 0})
    assert resp.status_code == 400 and set(resp.json()["error"]["details"]) == {"limit"}
    assert doctor.post(f"{api}/archives/search", json={}).status_code == 400

    secret = synth.resident(HERE, HERE_CENTRE).id_number
    resp = doctor.post(f"{api}/archives/search", json={"id_type": "01", "id_number": secret})
    assert resp.status_code == 200
    entry = audit_outcome(resp.headers["X-Request-Id"])
    assert entry.action == "archive.search" and entry.outcome == "ok"
    assert secret not in str(tuple(entry)) and secret[6:14] not in str(tuple(entry))


# -- corrections, termination, reactivation --------------------------------------------------

def test_a_correction_is_a_revision_with_who_and_why(api, synth, doctor):
    archive_no = create(doctor, api, synth.resident(HERE, HERE_CENTRE))["archive_no"]
    resp = doctor.patch(f"{api}/archives/{archive_no}", json={"name": "张秀瑛", "reason": "核对户口本"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["name"] == "张秀瑛"

    revisions = doctor.get(f"{api}/archives/{archive_no}/revisions").json()
    assert [r["action"] for r in revisions][0] == "created"
    last = revisions[-1]
    assert last["reason"] == "核对户口本" and "name" in last["changes"]
    assert last["actor"]["institution_code"] == HERE_CENTRE

    bad = doctor.patch(f"{api}/archives/{archive_no}", json={"sex": "7"})
    assert bad.status_code == 400 and "sex" in bad.json()["error"]["details"]


def test_a_terminated_archive_refuses_clinical_writes_until_reactivated(api, synth, doctor):
    archive_no = create(doctor, api, synth.resident(HERE, HERE_CENTRE))["archive_no"]
    missing = doctor.post(f"{api}/archives/{archive_no}/termination", json={"reason": "death", "date": "2026-11-01"})
    assert missing.status_code == 400 and "cause" in missing.json()["error"]["details"]

    ended = doctor.post(f"{api}/archives/{archive_no}/termination",
                        json={"reason": "loss_to_follow_up", "date": "2026-11-01", "note": "外出务工失访"})
    assert ended.status_code == 200 and ended.json()["status"] == "terminated"
    assert ended.json()["termination"]["reason"] == "loss_to_follow_up"
    assert doctor.post(f"{api}/archives/{archive_no}/records",
                       json={"record_type": "visit", "content": VISIT}).status_code == 422
    # still findable and readable
    assert search(doctor, api, archive_no=archive_no) == [archive_no]
    assert doctor.post(f"{api}/archives/{archive_no}/termination",
                       json={"reason": "loss_to_follow_up", "date": "2026-11-01", "note": "again"}).status_code == 422

    back = doctor.post(f"{api}/archives/{archive_no}/reactivation", json={"reason": "居民返回本村居住"})
    assert back.status_code == 200 and back.json()["status"] == "active"
    assert doctor.post(f"{api}/archives/{archive_no}/records",
                       json={"record_type": "visit", "content": VISIT}).status_code == 201
    actions = [r["action"] for r in doctor.get(f"{api}/archives/{archive_no}/revisions").json()]
    assert actions[-2:] == ["terminated", "reactivated"]


# -- transfer --------------------------------------------------------------------------------

def test_a_transfer_to_another_township_moves_the_archive_and_its_records(api, synth, doctor, their_doctor):
    archive_no = create(doctor, api, synth.resident(HERE, HERE_CENTRE))["archive_no"]
    filed = doctor.post(f"{api}/archives/{archive_no}/records", json={"record_type": "visit", "content": VISIT})
    assert filed.status_code == 201
    scan = doctor.post(f"{api}/archives/{archive_no}/attachments", json={
        "attachment_type": "paper_scan", "content": base64.b64encode(b"%PDF-1.7\n%%EOF\n").decode(),
        "document_date": "2019-05-06"})
    assert scan.status_code == 201, scan.text

    asked = doctor.post(f"{api}/archives/{archive_no}/transfers", json={
        "to_village_code": THERE, "to_institution_code": THERE_CENTRE, "reason": "迁居金盏乡"})
    assert asked.status_code == 201, asked.text
    transfer_id = asked.json()["transfer_id"]
    assert transfer_id in [t["transfer_id"] for t in their_doctor.get(f"{api}/transfers?status=requested").json()]
    assert transfer_id not in [t["transfer_id"] for t in doctor.get(f"{api}/transfers").json()]
    # only the receiving side decides, only the sending side withdraws
    assert doctor.post(f"{api}/transfers/{transfer_id}/accept").status_code == 404
    assert their_doctor.post(f"{api}/transfers/{transfer_id}/cancel", json={}).status_code == 404

    accepted = their_doctor.post(f"{api}/transfers/{transfer_id}/accept")
    assert accepted.status_code == 200, accepted.text
    new_no = accepted.json()["archive"]["archive_no"]
    assert new_no.startswith(THERE) and new_no != archive_no
    assert accepted.json()["transfer"]["status"] == "accepted"

    # the old number leads to the archive under its new number, for its new keepers only
    assert their_doctor.get(f"{api}/archives/{archive_no}").json()["archive_no"] == new_no
    assert doctor.get(f"{api}/archives/{new_no}").status_code == 404
    assert search(their_doctor, api, archive_no=new_no) == [new_no]
    timeline = wait_until(lambda: len(items := their_doctor.get(f"{api}/archives/{new_no}/records").json()["items"])
                          == 2 and items, message="the record moved")
    # the record moved to the new number; the scan stays under the old one, on the same timeline
    assert [(i["entry"], i["archive_no"]) for i in timeline] == [("record", new_no), ("attachment", archive_no)]
    assert doctor.get(f"{api}/transfers/{transfer_id}").status_code == 200   # the sender still sees it


def test_a_rejected_transfer_leaves_the_archive_where_it_was(api, synth, doctor, their_doctor):
    archive_no = create(doctor, api, synth.resident(HERE, HERE_CENTRE))["archive_no"]
    transfer_id = doctor.post(f"{api}/archives/{archive_no}/transfers", json={
        "to_village_code": THERE, "to_institution_code": THERE_CENTRE, "reason": "迁居"}).json()["transfer_id"]
    rejected = their_doctor.post(f"{api}/transfers/{transfer_id}/reject", json={"reason": "本村无此居民"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert doctor.get(f"{api}/archives/{archive_no}").json()["archive_no"] == archive_no
    assert [t["status"] for t in doctor.get(f"{api}/archives/{archive_no}/transfers").json()] == ["rejected"]


# -- duplicates, merge, unmerge --------------------------------------------------------------

def test_review_finds_the_duplicate_and_a_merge_can_be_undone(api, synth, manager, doctor):
    person = synth.resident(HERE, HERE_CENTRE)
    first = create(manager, api, person)["archive_no"]
    # the same person registered again under a mistyped ID number (same birth date and sex)
    again = dataclasses.replace(person, id_number=make_id_number(random.Random(), HERE[:6], person.birth_date,
                                                                 person.sex))
    refused = manager.post(f"{api}/archives", json=again.archive_request())
    assert refused.status_code == 409
    assert first in [d["archive_no"] for d in refused.json()["error"]["details"]["possible_duplicates"]]
    second = create(manager, api, again, confirm_new=True)["archive_no"]

    review = manager.get(f"{api}/archives/{second}/possible-duplicates")
    assert review.status_code == 200
    assert first in [d["archive_no"] for d in review.json()["possible_duplicates"]]
    assert second not in [d["archive_no"] for d in review.json()["possible_duplicates"]]

    # only archive managers merge
    assert doctor.post(f"{api}/merges", json={"surviving_archive_no": first, "merged_archive_no": second,
                                              "reason": "同一居民重复建档"}).status_code == 403
    merged = manager.post(f"{api}/merges", json={"surviving_archive_no": first, "merged_archive_no": second,
                                                 "reason": "同一居民重复建档"})
    assert merged.status_code == 201, merged.text
    merge_id = merged.json()["merge_id"]
    assert manager.get(f"{api}/archives/{second}").json()["archive_no"] == first
    assert [m["merge_id"] for m in manager.get(f"{api}/archives/{first}/merges").json()] == [merge_id]

    undone = manager.post(f"{api}/merges/{merge_id}/unmerge", json={"reason": "并非同一人"})
    assert undone.status_code == 200 and undone.json()["unmerged_at"]
    assert manager.get(f"{api}/archives/{second}").json()["archive_no"] == second


def test_a_merge_needs_both_archives_in_scope(api, synth, manager, their_doctor):
    mine = create(manager, api, synth.resident(HERE, HERE_CENTRE))["archive_no"]
    theirs = create(their_doctor, api, synth.resident(THERE, THERE_CENTRE))["archive_no"]
    resp = manager.post(f"{api}/merges", json={"surviving_archive_no": mine, "merged_archive_no": theirs,
                                               "reason": "同一居民"})
    assert resp.status_code == 404
    assert resp.json()["error"]["details"] == {"merged_archive_no": theirs}
    assert their_doctor.get(f"{api}/archives/{theirs}").json()["status"] == "active"
    bad = manager.post(f"{api}/merges", json={"surviving_archive_no": "123", "merged_archive_no": mine})
    assert bad.status_code == 400 and set(bad.json()["error"]["details"]) == {"surviving_archive_no", "reason"}


def test_stats_count_every_village_of_the_jurisdiction(api, synth, doctor, auth):
    admin = auth.session_for("institution_admin", HERE_CENTRE)
    before = {v["code"]: v["archives"] for v in admin.get(f"{api}/stats").json()["villages"]}
    create(doctor, api, synth.resident(HERE, HERE_CENTRE))
    figures = admin.get(f"{api}/stats").json()
    after = {v["code"]: v["archives"] for v in figures["villages"]}
    assert after[HERE] == before[HERE] + 1
    assert {"110105101101", "110105101102"} <= set(after) and all(v.startswith("110105101") for v in after)
    assert figures["total"] == sum(after.values())
    assert set(figures) == {"jurisdiction", "total", "villages"}
