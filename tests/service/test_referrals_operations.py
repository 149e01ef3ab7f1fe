"""The referrals service's faults and what operators do about them, on the real broker and database,
with the hospital played by a plain kombu client (none of the suite's code):

- a back-referral answered while the records service is not running: the 回转单 stays owed (the
  operators' list shows its attempts and last error), and once records runs again it is filed on
  its own, exactly once;
- a hospital's accept and reject of the same referral published at once, to two competing
  processes of the service: one wins, the other is quarantined as `invalid_transition` naming
  both states, and only the winner left a step and an event;
- the quarantine for operators: the loser listed, shown with its free text as shapes only,
  discarded with a note; an answer for an unknown referral replayed corrected and applied; an
  event refused a replay.
"""

from __future__ import annotations

import json
import uuid

import pytest
from kombu import Connection, Producer

from services.records.service import RecordsService
from services.referrals.service import ReferralsService
from services.registry.service import RegistryService
from shared.errors import InvalidTransition, ValidationFailed
from shared.transport.rpc import SignedClusterRpcClient
from tests.support.amqp import Listener, wait_until
from tests.support.db import query

VILLAGE = "110105003001"
TOWNSHIP = "C1101050031"
HOSPITAL = "H3301020001"
REASON = {"impression": "高血压3级，血压控制不佳"}
BACK = {"diagnosis": "原发性高血压3级", "treatment": "住院调整降压方案", "plan": "氨氯地平5mg qd，两周后社区随访"}


class KombuHospital:
    """A hospital's own publisher: kombu, publisher confirms, `user_id` its account."""

    def __init__(self, amqp_uri: str) -> None:
        self.conn = Connection(amqp_uri, transport_options={"confirm_publish": True})
        self.producer = Producer(self.conn.default_channel, auto_declare=False)

    def answer(self, body: dict, message_id: str | None = None, code: str = HOSPITAL) -> str:
        message_id = message_id or str(uuid.uuid4())
        body = {"schema": "ehr.referral-answer/1", "institution_code": code, **body}
        self.producer.publish(json.dumps(body, ensure_ascii=False).encode(), exchange="ehr.referral-answers",
                              routing_key=f"answer.{code}.{body['kind']}", content_type="application/json",
                              delivery_mode=2, message_id=message_id, user_id=self.conn.userid)
        return message_id

    def close(self) -> None:
        self.conn.release()


def as_institution(code: str, user: str):
    return SignedClusterRpcClient(timeout=20, context_data={"ehr.user": user, "ehr.institution": code,
                                                            "ehr.role": "township_doctor"})


def as_operator():
    return SignedClusterRpcClient(timeout=20, context_data={"ehr.user": "cli:ops", "ehr.role": "system_operator"})


@pytest.fixture
def kombu_hospital(suite_env):
    h = KombuHospital(suite_env.amqp_uri)
    yield h
    h.close()


@pytest.fixture
def operator(suite_env):
    with as_operator() as client:
        yield client


def _archive(rpc, synth) -> str:
    return rpc.registry.create_archive(synth.resident(VILLAGE, TOWNSHIP).archive_request())["archive_no"]


def _state(rpc, referral_id) -> str:
    return rpc.referrals.get_referral(referral_id)["state"]


def test_a_back_referral_while_records_is_down_stays_owed_and_is_filed_once_records_runs(
        start, suite_env, monkeypatch, rpc, synth, kombu_hospital, operator):
    monkeypatch.setenv("EHR_RPC_TIMEOUT", "2")  # records' silence is noticed soon
    registry, records, _ = start(RegistryService, RecordsService, ReferralsService)
    archive_no = _archive(rpc, synth)
    with as_institution(TOWNSHIP, "doc01") as township:
        referral_id = township.referrals.create_referral({"archive_no": archive_no, "to_institution_code": HOSPITAL,
                                                          "reason": REASON})["referral_id"]
    kombu_hospital.answer({"kind": "accept", "referral_id": referral_id})
    wait_until(lambda: _state(rpc, referral_id) == "accepted", message="accepted")
    kombu_hospital.answer({"kind": "arrived", "referral_id": referral_id})
    wait_until(lambda: _state(rpc, referral_id) == "arrived", message="arrived")
    wait_until(lambda: [f["status"] for f in rpc.referrals.get_referral(referral_id)["filings"]] == ["filed"],
               message="the 转出单 filed")

    records.stop()
    kombu_hospital.answer({"kind": "back_referral", "referral_id": referral_id, "back_referral": BACK})
    wait_until(lambda: _state(rpc, referral_id) == "back_referred", message="back-referred")

    def owed():
        return [f for f in operator.referrals.list_filings()["items"]
                if f["subject"] == f"referral:{referral_id}" and f["attempts"] >= 1]

    [filing] = wait_until(owed, timeout=30, message="the 回转单 owed, with a failed attempt")
    assert (filing["record_type"], filing["status"], filing["archive_no"]) == ("referral_back", "pending", archive_no)
    assert filing["last_error"] and filing["next_attempt_at"]
    assert "content" not in filing  # the form's clinical text is not the operator's
    assert operator.referrals.list_filings(status="filed")["items"][0]["record_type"] == "referral_out"

    start(RecordsService)  # records runs again; the timer files what is owed, on its own
    wait_until(lambda: not [f for f in operator.referrals.list_filings()["items"]
                            if f["subject"] == f"referral:{referral_id}"], timeout=120, message="the 回转单 filed")
    # An operator's retry now finds nothing more to file, and the archive holds one 回转单.
    assert operator.referrals.retry_filings()["filed"] == 0
    backs = rpc.records.list_records(archive_no, record_type="referral_back")["items"]
    assert [r["record_id"] for r in backs] == [filing["record_id"]]
    [row] = query("referrals", "SELECT status, attempts FROM filings WHERE record_id = :r", r=filing["record_id"])
    assert row.status == "filed" and row.attempts >= 1
    assert query("records", "SELECT count(*) FROM records WHERE id = :r", r=filing["record_id"])[0][0] == 1


def test_a_referral_sent_while_records_is_down_is_answered_and_its_filing_owed(
        start, suite_env, monkeypatch, rpc, synth, operator):
    # The referral's own answer does not wait out EHR_RPC_TIMEOUT for records: the 转出单's filing
    # is tried briefly and left to the timer (the test's RPC client gives up long before 120 s).
    monkeypatch.setenv("EHR_RPC_TIMEOUT", "120")
    _, records, _ = start(RegistryService, RecordsService, ReferralsService)
    records.stop()  # its queue stays: a call waits for an answer rather than failing at once
    archive_no = _archive(rpc, synth)
    with as_institution(TOWNSHIP, "doc01") as township:
        referral_id = township.referrals.create_referral({"archive_no": archive_no, "to_institution_code": HOSPITAL,
                                                          "reason": REASON})["referral_id"]
    assert _state(rpc, referral_id) == "requested"
    [filing] = [f for f in operator.referrals.list_filings()["items"] if f["subject"] == f"referral:{referral_id}"]
    assert (filing["record_type"], filing["status"]) == ("referral_out", "pending")
    assert filing["attempts"] == 1 and filing["last_error"]


def test_an_accept_and_a_reject_racing_leave_one_winner_and_the_loser_quarantined(
        start, suite_env, rpc, synth, kombu_hospital, operator):
    # Two processes of the service compete for the answers (`--replicas referrals=2`).
    start(RegistryService, RecordsService, ReferralsService, ReferralsService)
    events = Listener(suite_env.amqp_uri, "ehr.events", "referrals.#")
    referral_ids, answers = [], {}
    with as_institution(TOWNSHIP, "doc01") as township:
        for _ in range(4):
            archive_no = _archive(rpc, synth)
            referral_ids.append(township.referrals.create_referral(
                {"archive_no": archive_no, "to_institution_code": HOSPITAL, "reason": REASON})["referral_id"])
    for referral_id in referral_ids:   # both answers of a referral back to back, no wait between
        answers[referral_id] = {
            "accept": kombu_hospital.answer({"kind": "accept", "referral_id": referral_id, "note": "已安排床位"}),
            "reject": kombu_hospital.answer({"kind": "reject", "referral_id": referral_id,
                                             "reason": "本院无床位，患者张三请转他院"})}

    def settled():
        ids = [m for pair in answers.values() for m in pair.values()]
        steps = query("referrals", "SELECT message_id FROM referral_history WHERE message_id = ANY(:m)", m=ids)
        held = query("referrals", "SELECT message_id FROM quarantined_messages WHERE message_id = ANY(:m)", m=ids)
        return len(steps) + len(held) == len(ids)

    wait_until(settled, timeout=60, message="every answer applied or quarantined")
    announced = [m["body"]["data"] for m in events.settle(1.0) if m["routing_key"] in (
        "referrals.referral_accepted", "referrals.referral_rejected")]
    for referral_id, pair in answers.items():
        referral = rpc.referrals.get_referral(referral_id)
        assert referral["state"] in ("accepted", "rejected")
        winner = "accept" if referral["state"] == "accepted" else "reject"
        loser = "reject" if winner == "accept" else "accept"
        moves = [s for s in referral["history"] if s["action"] in ("accept", "reject")]
        assert [(s["action"], s["message_id"]) for s in moves] == [(winner, pair[winner])]
        [held] = query("referrals", "SELECT reason, errors, status FROM quarantined_messages WHERE message_id = :m",
                       m=pair[loser])
        assert (held.reason, held.status) == ("invalid_transition", "held")
        assert referral["state"] in held.errors["_state"][0] and "requested" in held.errors["_state"][0]
        assert [e["state"] for e in announced if e["referral_id"] == referral_id] == [referral["state"]]
    events.close()

    # The operator's view of a loser: listed, its free text only as a shape, then discarded.
    held = operator.referrals.list_quarantine(reason="invalid_transition", limit=200)["items"]
    losers = {pair["reject"] if _state(rpc, rid) == "accepted" else pair["accept"] for rid, pair in answers.items()}
    mine = [e for e in held if e["message_id"] in losers]
    assert len(mine) == len(losers) and all(e["status"] == "held" and e["user_id"] for e in mine)
    shown = operator.referrals.show_quarantined(mine[0]["id"])
    fields = shown["body"]["fields"]
    assert fields["kind"] in ("accept", "reject") and fields["referral_id"] in referral_ids
    assert "张三" not in json.dumps(shown, ensure_ascii=False) and "已安排床位" not in json.dumps(shown, ensure_ascii=False)
    assert fields.get("reason", fields.get("note")).startswith("string(")
    discarded = operator.referrals.discard_quarantined(mine[0]["id"], "两条应答并发，已以先到者为准")
    assert (discarded["status"], discarded["resolved_by"]) == ("discarded", "cli:ops")
    with pytest.raises(InvalidTransition):
        operator.referrals.replay_quarantined(mine[0]["id"])


def test_an_answer_for_an_unknown_referral_is_replayed_corrected_and_applied(
        start, suite_env, rpc, synth, kombu_hospital, operator):
    start(RegistryService, RecordsService, ReferralsService)
    archive_no = _archive(rpc, synth)
    with as_institution(TOWNSHIP, "doc01") as township:
        referral_id = township.referrals.create_referral({"archive_no": archive_no, "to_institution_code": HOSPITAL,
                                                          "reason": REASON})["referral_id"]
    wrong = kombu_hospital.answer({"kind": "accept", "referral_id": 999999999, "note": "已安排床位"})
    [entry] = wait_until(lambda: [e for e in operator.referrals.list_quarantine(reason="unknown_referral",
                                                                                 limit=200)["items"]
                                  if e["message_id"] == wrong], message="quarantined as unknown_referral")
    bad = {"schema": "ehr.referral-answer/1", "kind": "accept", "institution_code": HOSPITAL}
    with pytest.raises(ValidationFailed):   # still no referral named: refused, nothing changes
        operator.referrals.replay_quarantined(entry["id"], corrected=bad)
    replayed = operator.referrals.replay_quarantined(entry["id"], corrected={**bad, "referral_id": referral_id})
    assert replayed["status"] == "replayed"
    wait_until(lambda: _state(rpc, referral_id) == "accepted", message="the corrected answer applied")
    step = rpc.referrals.get_referral(referral_id)["history"][-1]
    assert (step["action"], step["message_id"]) == ("accept", wrong)
    with pytest.raises(InvalidTransition):
        operator.referrals.discard_quarantined(entry["id"], "已重放")
    assert [e["id"] for e in operator.referrals.list_quarantine(status="replayed", limit=200)["items"]
            if e["message_id"] == wrong] == [entry["id"]]
