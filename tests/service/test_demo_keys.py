"""The API keys of a demo run end with it (`ehr demo`, `ehr up --demo`), and the demo leaves a
work list to look at and a referral in every state."""

from __future__ import annotations

import pytest

from ehr import demo_referrals
from ehr.access import create_demo_keys, revoke_demo_keys
from ehr.demo import run_demo
from ehr.institutions import registered
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
def demo(module_gateway, suite_env):
    """One `ehr demo` run on the real services (6 residents), its keys live until the module ends:
    (result, keys, the hospitals' broker URIs)."""
    keys = create_demo_keys(echo=lambda *_: None)
    hospitals = {i["code"]: suite_env.amqp_uri for i in registered(kinds=["hospital"])}
    try:
        result = run_demo(module_gateway, keys, hospitals, residents=6, encounters_each=1, seed=7,
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
