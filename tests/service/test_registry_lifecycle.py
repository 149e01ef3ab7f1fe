"""The archive lifecycle in the registry: identity corrections, termination and reactivation,
transfers inside the suite, merge and unmerge, revisions and events; real RabbitMQ and PostgreSQL.

The registry database is shared by the whole run, so each test works on its own synthetic
residents and asserts on them, never on totals.
"""

from contextlib import ExitStack
from dataclasses import replace
from datetime import timedelta

import pytest
from shared.transport.rpc import SignedClusterRpcClient

from ehr.synthetic import Resident, Synthesizer, make_id_number
from shared.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from shared.identity import mask_id_number
from shared import clock
from tests.support.amqp import Listener
from tests.support.db import query

VILLAGE, INSTITUTION = "110105101101", "T1101051011"          # 孙河镇 上辛堡村
NEIGHBOUR_VILLAGE, NEIGHBOUR_CLINIC = "110105101102", "V1101051012"  # same township, 下辛堡村
NEW_VILLAGE, NEW_INSTITUTION = "110105201101", "T1101052011"  # 金盏乡 东窑村
NEW_VILLAGE_CLINIC = "V1101052011"

DOCTOR = {"ehr.user": "doc-sunhe", "ehr.institution": INSTITUTION, "ehr.role": "doctor"}
RECEIVER = {"ehr.user": "doc-jinzhan", "ehr.institution": NEW_INSTITUTION, "ehr.role": "doctor"}


@pytest.fixture
def synth():
    return Synthesizer()


@pytest.fixture
def clients(suite_env):
    """clients(context) -> an RPC proxy whose calls carry that user, institution and role."""
    with ExitStack() as stack:
        def _client(context: dict):
            return stack.enter_context(SignedClusterRpcClient(timeout=20, context_data=context))
        yield _client


@pytest.fixture
def doctor(registry, clients):
    return clients(DOCTOR)


@pytest.fixture
def receiver(registry, clients):
    return clients(RECEIVER)


@pytest.fixture
def events(registry, suite_env):
    listener = Listener(suite_env.amqp_uri, "ehr.events", "registry.#")
    yield listener
    listener.close()


def create(rpc, resident: Resident) -> str:
    return rpc.registry.create_archive({**resident.archive_request(), "confirm_new": True})["archive_no"]


_ISSUED: set[str] = set()


def same_person_again(synth: Synthesizer, resident: Resident) -> Resident:
    """The resident registered a second time under another valid ID number (a typo that passed the
    check character, say): a duplicate to merge, or the number a correction puts right."""
    _ISSUED.add(resident.id_number)
    while True:
        other = make_id_number(synth.rng, resident.id_number[:6], resident.birth_date, resident.sex)
        if other not in _ISSUED:
            _ISSUED.add(other)
            return replace(resident, id_number=other, phone=None)


def identity_query(resident: Resident) -> dict:
    return {"id_type": "01", "id_number": resident.id_number}


def days_ago(days: int) -> str:
    return (clock.today() - timedelta(days=days)).isoformat()


# -- termination ------------------------------------------------------------------------------


@pytest.mark.parametrize("reason, details", [
    ("death", {"cause": "脑梗死"}),
    ("migration_out", {"destination": "河北省保定市莲池区", "handover": "纸质档案交莲池区五四路社区卫生服务中心王医生"}),
    ("loss_to_follow_up", {"note": "连续三次入户未见，电话停机"}),
])
def test_termination_records_its_reason_date_and_required_details(reason, details, doctor, synth):
    archive_no = create(doctor, synth.resident(VILLAGE, INSTITUTION))
    for missing in details:
        incomplete = {k: v for k, v in details.items() if k != missing}
        with pytest.raises(ValidationFailed) as err:
            doctor.registry.terminate_archive(archive_no, {"reason": reason, "date": days_ago(3), **incomplete})
        assert list(err.value.details) == [missing]

    answer = doctor.registry.terminate_archive(archive_no, {"reason": reason, "date": days_ago(3), **details})

    assert answer["status"] == "terminated"
    expected = {"reason": reason, "date": days_ago(3), "cause": None, "destination": None, "handover": None,
                "note": None, **details}
    assert answer["termination"] == expected
    assert doctor.registry.get_archive(archive_no)["termination"] == expected


def test_details_of_another_reason_and_unknown_reasons_are_refused(doctor, synth):
    archive_no = create(doctor, synth.resident(VILLAGE, INSTITUTION))
    with pytest.raises(ValidationFailed) as err:
        doctor.registry.terminate_archive(archive_no, {"reason": "loss_to_follow_up", "date": days_ago(1),
                                                       "note": "失联", "cause": "脑梗死"})
    assert list(err.value.details) == ["cause"]
    with pytest.raises(ValidationFailed) as err:
        doctor.registry.terminate_archive(archive_no, {"reason": "moved", "date": days_ago(1)})
    assert "reason" in err.value.details
    assert doctor.registry.get_archive(archive_no)["status"] == "active"


def test_a_termination_date_in_the_future_or_before_birth_is_refused(doctor, synth):
    resident = synth.resident(VILLAGE, INSTITUTION)
    archive_no = create(doctor, resident)
    before_birth = (resident.birth_date - timedelta(days=1)).isoformat()
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    for day in (before_birth, tomorrow):
        with pytest.raises(ValidationFailed) as err:
            doctor.registry.terminate_archive(archive_no, {"reason": "death", "date": day, "cause": "心衰"})
        assert list(err.value.details) == ["date"]


def test_a_terminated_archive_cannot_be_terminated_again(doctor, synth):
    archive_no = create(doctor, synth.resident(VILLAGE, INSTITUTION))
    doctor.registry.terminate_archive(archive_no, {"reason": "loss_to_follow_up", "date": days_ago(1), "note": "失联"})
    with pytest.raises(InvalidTransition):
        doctor.registry.terminate_archive(archive_no, {"reason": "death", "date": days_ago(1), "cause": "心衰"})


def test_an_archive_terminated_for_death_cannot_be_reactivated(doctor, synth):
    archive_no = create(doctor, synth.resident(VILLAGE, INSTITUTION))
    doctor.registry.terminate_archive(archive_no, {"reason": "death", "date": days_ago(2), "cause": "心衰"})
    with pytest.raises(InvalidTransition) as err:
        doctor.registry.reactivate_archive(archive_no, "误报死亡")
    assert err.value.details["termination_reason"] == "death"
    assert doctor.registry.get_archive(archive_no)["status"] == "terminated"


@pytest.mark.parametrize("reason, details", [
    ("loss_to_follow_up", {"note": "外出务工失联"}),
    ("migration_out", {"destination": "天津市", "handover": "档案复印件交天津市和平区社区卫生服务中心"}),
])
def test_a_resident_lost_or_moved_away_who_returns_is_reactivated(reason, details, doctor, synth):
    archive_no = create(doctor, synth.resident(VILLAGE, INSTITUTION))
    doctor.registry.terminate_archive(archive_no, {"reason": reason, "date": days_ago(30), **details})

    answer = doctor.registry.reactivate_archive(archive_no, "居民返回本村居住")

    assert answer["status"] == "active" and answer["termination"] is None
    last = doctor.registry.list_revisions(archive_no)[-1]
    assert last["action"] == "reactivated" and last["reason"] == "居民返回本村居住"
    assert last["changes"]["status"] == ["terminated", "active"]
    assert last["changes"]["termination_reason"] == [reason, None]
    with pytest.raises(InvalidTransition):
        doctor.registry.reactivate_archive(archive_no, "again")


def test_a_terminated_archive_is_still_found_by_get_archive_search_and_resolve_with_its_status(doctor, synth):
    resident = synth.resident(VILLAGE, INSTITUTION)
    archive_no = create(doctor, resident)
    doctor.registry.terminate_archive(archive_no, {"reason": "death", "date": days_ago(5), "cause": "肺癌"})

    assert doctor.registry.get_archive(archive_no)["status"] == "terminated"
    found = doctor.registry.search_archives({"archive_no": archive_no})["items"]
    assert [(a["archive_no"], a["status"]) for a in found] == [(archive_no, "terminated")]
    by_id = doctor.registry.search_archives({"id_number": resident.id_number})["items"]
    assert [a["status"] for a in by_id] == ["terminated"]
    answer = doctor.registry.resolve(identity_query(resident))
    assert (answer["status"], answer["archive_no"], answer["archive_status"]) == ("matched", archive_no, "terminated")
    assert doctor.registry.resolve_identities([identity_query(resident)])[0]["status"] == "terminated"


# -- identity corrections ---------------------------------------------------------------------


def test_an_identity_correction_is_checked_like_a_creation_and_recomputes_the_pinyin(doctor, synth):
    resident = synth.resident(VILLAGE, INSTITUTION)
    archive_no = create(doctor, resident)
    other_sex = "1" if resident.sex == "2" else "2"
    with pytest.raises(ValidationFailed) as err:
        doctor.registry.update_identity(archive_no, {"sex": other_sex})
    assert list(err.value.details) == ["sex"]

    answer = doctor.registry.update_identity(archive_no, {"name": "蒯秀瑛", "phone": None}, reason="核对户口本")

    assert answer["name"] == "蒯秀瑛" and answer["version"] == 2
    found = doctor.registry.search_archives({"pinyin": "kuaixiuying", "birth_date": resident.birth_date.isoformat()})
    assert archive_no in [a["archive_no"] for a in found["items"]]
    revision = doctor.registry.list_revisions(archive_no)[-1]
    assert revision["changes"]["name"] == [resident.name, "蒯秀瑛"]
    assert revision["changes"]["phone"] == [resident.phone[:3] + "****" + resident.phone[-4:], None]


def test_changing_the_id_number_needs_a_reason_and_a_number_no_other_archive_holds(doctor, synth):
    resident = synth.resident(VILLAGE, INSTITUTION)
    archive_no = create(doctor, resident)
    taken = synth.resident(VILLAGE, INSTITUTION)
    taken_no = create(doctor, taken)
    corrected = same_person_again(synth, resident).id_number

    with pytest.raises(ValidationFailed) as err:
        doctor.registry.update_identity(archive_no, {"id_number": corrected})
    assert list(err.value.details) == ["reason"]
    # Another person's number: their sex or birth date differs, so take theirs along.
    with pytest.raises(Conflict) as err:
        doctor.registry.update_identity(archive_no, {"id_number": taken.id_number, "sex": taken.sex,
                                                     "birth_date": taken.birth_date.isoformat()}, reason="录入错误")
    assert err.value.details["archive_no"] == taken_no and taken.id_number not in str(err.value.details)

    answer = doctor.registry.update_identity(archive_no, {"id_number": corrected}, reason="录入错误")

    assert answer["id_number_masked"] == mask_id_number(corrected)
    assert doctor.registry.resolve(identity_query(replace(resident, id_number=corrected)))["archive_no"] == archive_no
    assert doctor.registry.resolve(identity_query(resident)) == {"status": "none"}
    revision = doctor.registry.list_revisions(archive_no)[-1]
    assert revision["changes"]["id_number"] == [mask_id_number(resident.id_number), mask_id_number(corrected)]


# -- transfers --------------------------------------------------------------------------------


def serial_of(archive_no: str) -> int:
    return int(archive_no[-5:])


def test_a_transfer_accepted_into_another_village_renumbers_the_archive_and_the_old_number_leads_to_it(
        doctor, receiver, synth):
    resident = synth.resident(VILLAGE, INSTITUTION)
    old_no = create(doctor, resident)
    before = create(doctor, synth.resident(NEW_VILLAGE, NEW_INSTITUTION))

    transfer = doctor.registry.request_transfer(old_no, {"to_village_code": NEW_VILLAGE,
                                                         "to_institution_code": NEW_INSTITUTION, "reason": "迁居东窑村"})
    assert transfer["status"] == "requested" and transfer["requested_by"] == DOCTOR["ehr.user"]
    assert receiver.registry.list_transfers(to_institution_code=NEW_INSTITUTION, status="requested")[0] == transfer
    accepted = receiver.registry.accept_transfer(transfer["transfer_id"])
    after = create(doctor, synth.resident(NEW_VILLAGE, NEW_INSTITUTION))

    new_no = accepted["archive"]["archive_no"]
    assert new_no.startswith(NEW_VILLAGE)
    assert [serial_of(before), serial_of(new_no), serial_of(after)] == [serial_of(before) + i for i in range(3)]
    assert accepted["transfer"]["status"] == "accepted" and accepted["transfer"]["new_archive_no"] == new_no
    assert accepted["transfer"]["decided_by"] == RECEIVER["ehr.user"]
    via_old = doctor.registry.get_archive(old_no)
    assert via_old["archive_no"] == new_no and via_old["former_archive_nos"] == [old_no]
    assert (via_old["village_code"], via_old["institution_code"], via_old["status"]) == (
        NEW_VILLAGE, NEW_INSTITUTION, "active")
    assert doctor.registry.resolve(identity_query(resident))["archive_no"] == new_no
    assert [a["archive_no"] for a in doctor.registry.search_archives({"archive_no": old_no})["items"]] == [new_no]
    history = doctor.registry.list_revisions(old_no)
    assert [r["action"] for r in history] == ["created", "transferred"]
    assert history[-1]["changes"]["archive_no"] == [old_no, new_no]


def test_a_transfer_to_another_institution_of_the_same_village_keeps_the_number(doctor, clients, synth):
    archive_no = create(doctor, synth.resident(NEIGHBOUR_VILLAGE, INSTITUTION))
    transfer = doctor.registry.request_transfer(archive_no, {
        "to_village_code": NEIGHBOUR_VILLAGE, "to_institution_code": NEIGHBOUR_CLINIC, "reason": "由村卫生室管理"})
    # The township centre above the clinic may decide for it.
    accepted = clients(DOCTOR).registry.accept_transfer(transfer["transfer_id"])
    assert accepted["archive"]["archive_no"] == archive_no
    assert accepted["archive"]["institution_code"] == NEIGHBOUR_CLINIC
    assert accepted["archive"]["former_archive_nos"] == []


def test_a_rejected_or_cancelled_transfer_leaves_the_archive_where_it_was(doctor, receiver, synth):
    archive_no = create(doctor, synth.resident(VILLAGE, INSTITUTION))
    request = {"to_village_code": NEW_VILLAGE, "to_institution_code": NEW_INSTITUTION, "reason": "迁居"}

    first = doctor.registry.request_transfer(archive_no, request)
    with pytest.raises(Conflict):
        doctor.registry.request_transfer(archive_no, request)
    rejected = receiver.registry.reject_transfer(first["transfer_id"], "本村无此居民")
    second = doctor.registry.request_transfer(archive_no, request)
    cancelled = doctor.registry.cancel_transfer(second["transfer_id"], "申请有误")

    assert (rejected["status"], rejected["decision_reason"]) == ("rejected", "本村无此居民")
    assert (cancelled["status"], cancelled["decided_by"]) == ("cancelled", DOCTOR["ehr.user"])
    with pytest.raises(InvalidTransition):
        receiver.registry.accept_transfer(second["transfer_id"])
    archive = doctor.registry.get_archive(archive_no)
    assert (archive["archive_no"], archive["village_code"], archive["version"]) == (archive_no, VILLAGE, 1)


def test_only_the_receiving_side_accepts_and_only_the_requesting_side_cancels(doctor, receiver, clients, synth):
    archive_no = create(doctor, synth.resident(VILLAGE, INSTITUTION))
    transfer = doctor.registry.request_transfer(archive_no, {
        "to_village_code": NEW_VILLAGE, "to_institution_code": NEW_INSTITUTION, "reason": "迁居"})
    with pytest.raises(InvalidTransition):
        doctor.registry.accept_transfer(transfer["transfer_id"])
    with pytest.raises(InvalidTransition):  # a clinic below the receiving centre is not above it
        clients({"ehr.user": "v", "ehr.institution": NEW_VILLAGE_CLINIC}).registry.accept_transfer(
            transfer["transfer_id"])
    with pytest.raises(InvalidTransition):
        receiver.registry.cancel_transfer(transfer["transfer_id"])
    assert receiver.registry.get_transfer(transfer["transfer_id"])["status"] == "requested"


def test_only_an_active_archive_is_transferred_and_termination_cancels_its_request(doctor, receiver, synth):
    archive_no = create(doctor, synth.resident(VILLAGE, INSTITUTION))
    request = {"to_village_code": NEW_VILLAGE, "to_institution_code": NEW_INSTITUTION, "reason": "迁居"}
    transfer = doctor.registry.request_transfer(archive_no, request)
    doctor.registry.terminate_archive(archive_no, {"reason": "death", "date": days_ago(1), "cause": "心衰"})

    assert receiver.registry.get_transfer(transfer["transfer_id"])["status"] == "cancelled"
    with pytest.raises(InvalidTransition):
        receiver.registry.accept_transfer(transfer["transfer_id"])
    with pytest.raises(InvalidTransition):
        doctor.registry.request_transfer(archive_no, request)


def test_a_transfer_to_an_institution_that_does_not_serve_the_village_is_refused(doctor, synth):
    archive_no = create(doctor, synth.resident(VILLAGE, INSTITUTION))
    with pytest.raises(ValidationFailed) as err:
        doctor.registry.request_transfer(archive_no, {"to_village_code": NEW_VILLAGE,
                                                      "to_institution_code": INSTITUTION, "reason": "迁居"})
    assert list(err.value.details) == ["to_institution_code"]
    with pytest.raises(NotFound):
        doctor.registry.accept_transfer(987654321)


# -- merge and unmerge ------------------------------------------------------------------------


def test_after_a_merge_the_merged_number_and_id_number_lead_to_the_survivor(doctor, synth):
    resident = synth.resident(VILLAGE, INSTITUTION)
    duplicate = same_person_again(synth, resident)
    survivor_no, merged_no = create(doctor, resident), create(doctor, duplicate)

    merge = doctor.registry.merge_archives(survivor_no, merged_no, "同一居民重复建档")

    assert (merge["archive_no"], merge["merged_archive_no"]) == (survivor_no, merged_no)
    assert merge["merged_id_number_masked"] == mask_id_number(duplicate.id_number)
    answer = doctor.registry.resolve(identity_query(duplicate))
    assert (answer["status"], answer["archive_no"], answer["archive_status"]) == ("matched", survivor_no, "active")
    assert doctor.registry.resolve_identities([identity_query(duplicate)])[0]["archive_no"] == survivor_no
    via_merged = doctor.registry.get_archive(merged_no)
    assert via_merged["archive_no"] == survivor_no and via_merged["merged_archive_nos"] == [merged_no]
    by_id = doctor.registry.search_archives({"id_number": duplicate.id_number})["items"]
    assert [a["archive_no"] for a in by_id] == [survivor_no]
    with pytest.raises(Conflict) as err:
        create(doctor, replace(duplicate, name="另一个名字"))
    assert err.value.details["archive_no"] == survivor_no
    # The merged archive keeps its own history.
    assert [r["action"] for r in doctor.registry.list_revisions(merged_no)] == ["created", "merged"]


def test_merging_an_archive_with_itself_or_with_a_terminated_one_is_refused(doctor, synth):
    first = create(doctor, synth.resident(VILLAGE, INSTITUTION))
    second = create(doctor, synth.resident(VILLAGE, INSTITUTION))
    with pytest.raises(ValidationFailed):
        doctor.registry.merge_archives(first, first, "重复")
    doctor.registry.terminate_archive(second, {"reason": "death", "date": days_ago(1), "cause": "心衰"})
    with pytest.raises(InvalidTransition):
        doctor.registry.merge_archives(first, second, "重复")


def test_unmerge_after_later_writes_restores_the_merged_archive_exactly_and_keeps_the_survivors_writes(
        doctor, synth):
    resident = synth.resident(VILLAGE, INSTITUTION)
    duplicate = same_person_again(synth, resident)
    survivor_no, merged_no = create(doctor, resident), create(doctor, duplicate)
    merged_before = doctor.registry.get_archive(merged_no)
    row_before = query("registry", "SELECT * FROM archives WHERE archive_no = :a", a=merged_no)[0]._mapping
    merge = doctor.registry.merge_archives(survivor_no, merged_no, "同一居民重复建档")

    doctor.registry.update_identity(merged_no, {"name": "蒯建华"}, reason="更正姓名")  # lands on the survivor
    doctor.registry.update_identity(survivor_no, {"phone": "13912345678"})
    unmerged = doctor.registry.unmerge_archives(merge["merge_id"], "经核实并非同一人")

    assert unmerged["unmerged_at"] and unmerged["unmerge_reason"] == "经核实并非同一人"
    restored = doctor.registry.get_archive(merged_no)
    ignore = {"version", "updated_at"}
    assert {k: v for k, v in restored.items() if k not in ignore} == \
        {k: v for k, v in merged_before.items() if k not in ignore}
    row_after = query("registry", "SELECT * FROM archives WHERE archive_no = :a", a=merged_no)[0]._mapping
    assert {k: row_after[k] for k in row_before if k not in ignore} == \
        {k: row_before[k] for k in row_before if k not in ignore}
    survivor = doctor.registry.get_archive(survivor_no)
    assert survivor["name"] == "蒯建华" and survivor["merged_archive_nos"] == []
    assert doctor.registry.resolve(identity_query(duplicate))["archive_no"] == merged_no
    assert doctor.registry.resolve(identity_query(resident))["archive_no"] == survivor_no
    with pytest.raises(InvalidTransition):
        doctor.registry.unmerge_archives(merge["merge_id"], "again")
    assert [r["action"] for r in doctor.registry.list_revisions(survivor_no)] == [
        "created", "merge_received", "identity_updated", "identity_updated", "merge_undone"]


def test_a_merge_is_not_undone_once_the_survivor_has_taken_the_merged_id_number(doctor, synth):
    resident = synth.resident(VILLAGE, INSTITUTION)
    duplicate = same_person_again(synth, resident)
    survivor_no, merged_no = create(doctor, resident), create(doctor, duplicate)
    merge = doctor.registry.merge_archives(survivor_no, merged_no, "重复建档")
    # The merged archive had the right number: the survivor, the same person, may take it...
    doctor.registry.update_identity(survivor_no, {"id_number": duplicate.id_number}, reason="以另一档案为准")
    assert doctor.registry.resolve(identity_query(duplicate))["archive_no"] == survivor_no

    # ...and then two archives cannot hold it.
    with pytest.raises(Conflict) as err:
        doctor.registry.unmerge_archives(merge["merge_id"], "并非同一人")
    assert err.value.details["archive_no"] == survivor_no
    assert doctor.registry.get_archive(merged_no)["archive_no"] == survivor_no


# -- revisions and events ---------------------------------------------------------------------


def test_every_change_has_a_revision_saying_who_and_why_without_clear_id_numbers(doctor, receiver, synth):
    resident = synth.resident(VILLAGE, INSTITUTION)
    duplicate = same_person_again(synth, resident)
    corrected = same_person_again(synth, resident)
    archive_no, other_no = create(doctor, resident), create(doctor, duplicate)
    doctor.registry.update_identity(archive_no, {"id_number": corrected.id_number}, reason="录入错误")
    doctor.registry.terminate_archive(archive_no, {"reason": "loss_to_follow_up", "date": days_ago(9), "note": "失联"})
    doctor.registry.reactivate_archive(archive_no, "居民返回")
    transfer = doctor.registry.request_transfer(archive_no, {
        "to_village_code": NEW_VILLAGE, "to_institution_code": NEW_INSTITUTION, "reason": "迁居东窑村"})
    new_no = receiver.registry.accept_transfer(transfer["transfer_id"])["archive"]["archive_no"]
    merge = doctor.registry.merge_archives(new_no, other_no, "重复建档")
    doctor.registry.unmerge_archives(merge["merge_id"], "并非同一人")

    history = doctor.registry.list_revisions(archive_no)

    assert [(r["revision"], r["action"]) for r in history] == list(enumerate(
        ["created", "identity_updated", "terminated", "reactivated", "transferred", "merge_received",
         "merge_undone"], start=1))
    assert all(r["changed_at"] and r["actor"]["user"] for r in history)
    assert history[1]["actor"] == {"user": DOCTOR["ehr.user"], "institution_code": INSTITUTION, "role": "doctor"}
    assert history[4]["actor"]["user"] == RECEIVER["ehr.user"] and history[4]["reason"] == "迁居东窑村"
    assert [r["reason"] for r in history[1:4]] == ["录入错误", "loss_to_follow_up", "居民返回"]
    assert history[0]["changes"]["id_number"] == [None, mask_id_number(resident.id_number)]
    stored = str(query("registry", "SELECT changes, reason FROM archive_revisions WHERE archive_no IN (:a, :b)",
                       a=new_no, b=other_no))
    stored += str(query("registry", "SELECT snapshot FROM merges WHERE id = :m", m=merge["merge_id"]))
    stored += str(query("registry", "SELECT * FROM transfers WHERE id = :t", t=transfer["transfer_id"]))
    answered = str(history) + str(doctor.registry.list_revisions(other_no))
    assert resident.phone not in stored + answered
    for person in (resident, duplicate, corrected):
        assert person.id_number not in stored + answered


def test_each_lifecycle_change_is_announced_once_through_the_outbox_with_its_payload(
        doctor, receiver, events, synth):
    resident = synth.resident(VILLAGE, INSTITUTION)
    duplicate = same_person_again(synth, resident)
    archive_no, other_no = create(doctor, resident), create(doctor, duplicate)
    doctor.registry.update_identity(archive_no, {"name": "郜秀兰", "phone": "13700000001"})
    doctor.registry.terminate_archive(archive_no, {"reason": "loss_to_follow_up", "date": days_ago(4), "note": "失联"})
    doctor.registry.reactivate_archive(archive_no, "居民返回")
    transfer = doctor.registry.request_transfer(archive_no, {
        "to_village_code": NEW_VILLAGE, "to_institution_code": NEW_INSTITUTION, "reason": "迁居"})
    new_no = receiver.registry.accept_transfer(transfer["transfer_id"])["archive"]["archive_no"]
    merge_id = doctor.registry.merge_archives(new_no, other_no, "重复建档")["merge_id"]
    doctor.registry.unmerge_archives(merge_id, "并非同一人")

    ours = {archive_no, other_no, new_no}
    announced = [m for m in events.settle(quiet=2.0) if m["body"]["data"].get("archive_no") in ours]

    keys = {p.id_number: p for p in (resident, duplicate)}
    hexes = {n: row[0].hex() for n, row in (
        (n, query("registry", "SELECT id_number_index FROM archives WHERE archive_no = :a", a=n)[0])
        for n in (new_no, other_no))}
    def profile(person):
        return {"birth_date": person.birth_date.isoformat(), "sex": person.sex, "residence_type": None,
                "responsible_doctor": None}

    assert [(m["routing_key"], m["body"]["data"]) for m in announced] == [
        ("registry.archive_created", {"archive_no": archive_no, "village_code": VILLAGE,
                                      "institution_code": INSTITUTION, "identity_keys": [hexes[new_no]],
                                      "profile": profile(resident)}),
        ("registry.archive_created", {"archive_no": other_no, "village_code": VILLAGE,
                                      "institution_code": INSTITUTION, "identity_keys": [hexes[other_no]],
                                      "profile": profile(duplicate)}),
        ("registry.identity_updated", {"archive_no": archive_no, "fields": ["name", "phone"],
                                       "identity_keys": [hexes[new_no]], "profile": profile(resident)}),
        ("registry.archive_terminated", {"archive_no": archive_no, "reason": "loss_to_follow_up",
                                         "date": days_ago(4)}),
        ("registry.archive_reactivated", {"archive_no": archive_no}),
        ("registry.archive_transferred", {"archive_no": new_no, "former_archive_no": archive_no,
                                          "village_code": NEW_VILLAGE, "institution_code": NEW_INSTITUTION}),
        ("registry.archives_merged", {"merge_id": merge_id, "archive_no": new_no, "merged_archive_no": other_no,
                                      "merged_identity_keys": [hexes[other_no]]}),
        ("registry.archives_unmerged", {"merge_id": merge_id, "archive_no": new_no, "restored_archive_no": other_no,
                                        "restored_identity_keys": [hexes[other_no]]}),
    ]
    assert all(m["body"]["schema"] == "ehr.event/1" and m["message_id"] == m["body"]["event_id"] for m in announced)
    assert len({m["body"]["event_id"] for m in announced}) == len(announced)
    assert announced[5]["body"]["actor"]["user"] == RECEIVER["ehr.user"]
    assert not any(number in str(m["body"]) for m in announced for number in keys)
    assert query("registry", "SELECT count(*) FROM outbox")[0][0] == 0
