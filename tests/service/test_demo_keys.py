"""The API keys of a demo run end with it (`ehr demo`, `ehr up --demo`), and the demo leaves a
work list to look at, a referral in every state and the insurer's settlements on the 首页."""

from __future__ import annotations

from datetime import date

import pytest

from ehr import demo_referrals, demo_settlements
from ehr.access import create_demo_keys, revoke_demo_keys
from ehr.broker import grant, management, partner_uri
from ehr.demo import run_demo
from ehr.institutions import registered
from shared.config import load_settings
from tests.support.amqp import wait_until
from tests.support.auth import bearer
from tests.support.db import query


def test_demo_keys_work_during_the_demo_and_are_refused_once_revoked(module_gateway):
    keys = create_demo_keys(echo=lambda *_: None)
    assert keys, "the demo county has township centres"
    code, key = next(iter(keys.items()))
    assert bearer(key).get(module_gateway + "/api/v1/villages").status_code == 200

    revoke_demo_keys(keys, echo=lambda *_: None)
    assert bearer(key).get(module_gateway + "/api/v1/villages").status_code == 401
    live = query("gateway", "SELECT name FROM api_keys WHERE name LIKE 'demo-%' AND revoked_at IS NULL")
    assert live == []
    revoked = query("gateway", "SELECT target FROM audit_entries WHERE action = 'admin.apikey_revoke'")
    assert f"apikey:demo-{code}" in {r.target for r in revoked}


@pytest.fixture(scope="module")
def insurers(suite_env):
    """The demo county's insurers, each with its own broker account as `ehr demo` grants it:
    {code: AMQP URI}."""
    settings = load_settings()
    api, naming = management(settings)
    uris = {}
    for institution in registered(kinds=["insurer"]):
        name, password = grant(api, naming, institution["code"], institution["kind"], institution["division_code"])
        uris[institution["code"]] = partner_uri(settings.amqp_uri, name, password)
    return uris


@pytest.fixture(scope="module")
def demo(module_gateway, suite_env, insurers):
    """One `ehr demo` run on the real services (6 residents), its keys live until the module ends:
    (result, keys, the hospitals' broker URIs); the insurer publishes with its own account."""
    keys = create_demo_keys(echo=lambda *_: None)
    hospitals = {i["code"]: suite_env.amqp_uri for i in registered(kinds=["hospital"])}
    try:
        result = run_demo(module_gateway, keys, {**hospitals, **insurers}, residents=6, encounters_each=1, seed=7,
                          echo=lambda *_: None)
        yield result, keys, hospitals
    finally:
        revoke_demo_keys(keys, echo=lambda *_: None)


def test_the_demo_leaves_a_work_list_with_urgent_overdue_and_due_items_and_a_suggestion(module_gateway, demo):
    """`ehr demo` on the real services: the programmes' cast is enrolled and its follow-ups filed
    through the API with the centre's demo key, so its work list has something of every kind, each
    saying why, and the hospital's I10 diagnosis of a resident not enrolled is to be confirmed."""
    result, keys, _ = demo
    api, cast = bearer(keys[result["centre"]]), result["cast"]
    assert all(cast.values()), cast
    assert min(result["worklist"][k] for k in ("urgent", "overdue", "due", "to_confirm")) >= 1, result["worklist"]

    items = api.get(module_gateway + "/api/v1/worklist?limit=200").json()["items"]
    mine = {(i["archive_no"], i["programme"]): i for i in items}
    urgent = mine[(cast["urgent"], "hypertension")]
    assert (urgent["status"], urgent["reason"], urgent["urgent_triggers"]) == ("urgent", "urgent_referral",
                                                                               ["sbp_180", "dbp_110"])
    assert items[0]["urgent"]   # urgent referrals first
    referral = mine[(cast["referral"], "hypertension")]
    assert (referral["status"], referral["reason"]) == ("overdue", "referral_two_unsatisfactory")
    assert referral["consecutive_unsatisfactory"] == 2 and referral["days_overdue"] == 8
    assert mine[(cast["revisit"], "type2_diabetes")]["reason"] == "revisit_unsatisfactory"
    assert mine[(cast["overdue"], "hypertension")]["days_overdue"] == 25
    assert mine[(cast["due"], "hypertension")]["status"] == "due"
    # one integrated visit moved both schedules: due in both programmes on the same day
    both = [mine[(cast["integrated"], p)] for p in ("hypertension", "type2_diabetes")]
    assert {i["status"] for i in both} == {"due"} and both[0]["due_date"] == both[1]["due_date"]
    elderly = mine[(cast["elderly"], "elderly")]
    assert (elderly["service"], elderly["status"]) == ("annual_check", "overdue")   # the TCM service done
    assert all(i["reason_text"] for i in items)

    suggestions = api.get(module_gateway + "/api/v1/programme-suggestions?limit=200").json()["items"]
    [suggested] = [s for s in suggestions if s["archive_no"] == cast["suggested"]]
    assert (suggested["programme"], suggested["status"]) == ("hypertension", "open")
    assert suggested["evidence"][0]["record_type"] == "hospital_encounter"
    assert result["hints"] and any("/api/v1/worklist" in line for line in result["hints"])


def test_the_demo_leaves_a_referral_in_every_state_and_a_second_run_adds_none(module_gateway, demo):
    """The centre's sent box holds a referral in every state, each made as its users would (the
    centre over HTTP, the hospitals over AMQP; drafts from the follow-ups' suggestions; the expiry
    sweep for one), with the history of how it got there; a consultation waits and one is answered,
    its 会诊记录表 filed. Run again, the referrals part makes nothing."""
    result, keys, hospitals = demo
    api = bearer(keys[result["centre"]])
    states = result["referrals"]["states"]
    assert set(states) == set(demo_referrals.STATES) and min(states.values()) >= 1, states
    sent = {}
    for state in demo_referrals.STATES:
        page = api.get(f"{module_gateway}/api/v1/referrals?box=sent&state={state}&limit=200").json()["items"]
        assert page, state
        sent[state] = api.get(f"{module_gateway}/api/v1/referrals/{page[0]['referral_id']}").json()
    assert [s["action"] for s in sent["back_referred"]["history"]] == ["send", "accept", "arrive", "back_refer"]
    assert sent["back_referred"]["history"][1]["actor"].startswith("institution:H")   # a hospital's own message
    assert sent["back_referred"]["back_referral"]["plan"] == demo_referrals.BACK["plan"]
    assert [s["action"] for s in sent["expired"]["history"]] == ["send", "expire"]
    assert sent["expired"]["urgency"] == "urgent" and sent["expired"]["history"][-1]["actor"] == "system"
    assert sent["rejected"]["history"][-1]["reason"] and sent["cancelled"]["history"][-1]["institution_code"] == \
        result["centre"]
    assert sent["draft"]["trigger"]["reason"] in ("urgent", "two_unsatisfactory")   # from the follow-ups
    consultations = {state: api.get(f"{module_gateway}/api/v1/consultations?box=sent&state={state}").json()["items"]
                     for state in ("requested", "answered")}
    assert consultations["requested"] and consultations["answered"]
    assert consultations["answered"][0]["opinion"] == demo_referrals.OPINION["opinion"]

    def call(method, path, body, key):
        resp = bearer(key).request(method, module_gateway + path, json=body)
        return resp.status_code, resp.json()

    again = demo_referrals.run(call, keys[result["centre"]], hospitals, list(filter(None, result["cast"].values())),
                               expire=lambda *_: pytest.fail("the second run expired something"))
    assert again["made"] == [] and again["consultations"] == {}
    assert again["states"] == {**states, "draft": again["states"]["draft"]}


def _filed(message_id: str) -> list[str]:
    return sorted(row[0] for row in query("records", """
        SELECT 'filed' FROM record_revisions WHERE message_id = :m
        UNION ALL SELECT 'quarantine:' || reason FROM quarantine WHERE message_id = :m
        UNION ALL SELECT 'pending:' || status FROM pending_encounters WHERE message_id = :m""", m=message_id))


def _settlements() -> dict[str, tuple]:
    """settlement number -> (archive, current revision, revisions filed, current total)."""
    return {r.source_record_id: (r.archive_no, r.current_revision, r.revisions, r.total) for r in query("records", """
        SELECT r.source_record_id, r.archive_no, r.current_revision, count(v.revision) AS revisions,
               max(CASE WHEN v.revision = r.current_revision THEN v.content -> 'amounts' ->> 'total' END) AS total
        FROM records r JOIN record_revisions v ON v.record_id = r.id
        WHERE r.record_type = 'insurance_settlement' GROUP BY r.id""")}


def test_the_demo_insurer_settles_for_residents_once_and_the_front_page_shows_it(module_gateway, demo, insurers):
    """The insurer's settlements, published with its own broker account: each filed once, the
    correction a second revision of its settlement, the one of a resident registered later filed
    from pending; the 首页 of the first resident sums them. Sent again (a second `ehr demo` with
    the same residents), nothing is filed twice."""
    result, keys, _ = demo
    settled = result["settlements"]
    assert settled["insurer"] in insurers
    bodies, message_ids = settled["bodies"], settled["message_ids"]
    kinds = [(b["settlement"]["type"], b["source"]["revision"]) for b in bodies]
    assert kinds == [("outpatient", 1), ("outpatient", 2), ("inpatient", 1), ("outpatient", 1), ("outpatient", 1)]
    # the last, of a resident registered after it was sent: pending, then filed with the archive
    # (filed at once if records read it only after the registration)
    pending, once = message_ids[-1], (["filed"], ["filed", "pending:filed"])
    wait_until(lambda: all(_filed(m) == ["filed"] for m in message_ids[:-1]) and _filed(pending) in once,
               message="the demo settlements filed")

    numbers = {b["source"]["settlement_no"] for b in bodies}
    filed = {no: row for no, row in _settlements().items() if no in numbers}
    assert len(filed) == 4                                    # the correction is no record of its own
    corrected = bodies[0]["source"]["settlement_no"]
    assert filed[corrected][1:] == (2, 2, "316.8")            # two revisions, the correction current
    assert {row[1:3] for no, row in filed.items() if no != corrected} == {(1, 1)}

    api = bearer(keys[result["centre"]])
    first = result["cast"]["due"]    # the programmes' first resident, whom the hints name
    assert filed[corrected][0] == first
    insurance = api.get(f"{module_gateway}/api/v1/archives/{first}/summary").json()["insurance"]
    assert (insurance["settlements"], insurance["total"], insurance["out_of_pocket"]) == (1, "316.80", "66.72")
    assert insurance["last_institution_code"] == bodies[0]["settlement"]["institution_code"]
    assert any(f"/api/v1/archives/{first}/summary" in line for line in result["hints"])
    inpatient = api.get(f"{module_gateway}/api/v1/archives/{result['cast']['integrated']}/summary").json()
    assert inpatient["insurance"]["total"] == "7700.00" and inpatient["insurance"]["last_type"] == "inpatient"

    # the second run: the same residents, the same message ids; then a new settlement, behind them
    # on the queue, to know they were read
    assert demo_settlements.publish(insurers[settled["insurer"]], bodies) == message_ids
    before = _settlements()
    marker = demo_settlements.body(settled["insurer"], _Insured(bodies[3]["insured"]),
                                   bodies[3]["settlement"]["institution_code"], "JS-DEMO-MARKER", 1,
                                   demo_settlements.OUTPATIENT, "1", date.fromisoformat(
                                       bodies[3]["settlement"]["visit_date"]))
    [marker_id] = demo_settlements.publish(insurers[settled["insurer"]], [marker])
    wait_until(lambda: _filed(marker_id) == ["filed"], message="the marker settlement filed")
    after = _settlements()
    assert {no: row for no, row in after.items() if no != "JS-DEMO-MARKER"} == before
    assert all(_filed(m) == ["filed"] for m in message_ids[:-1]) and _filed(pending) in once


class _Insured:
    """The insured of a body, as the plan's residents are read."""

    def __init__(self, insured: dict) -> None:
        self.id_number, self.name, self.sex = insured["id_number"], insured["name"], insured["sex"]
        self.birth_date = date.fromisoformat(insured["birth_date"])
