"""The referrals service on the real broker and database, with a hospital played by a plain AMQP
client (py-amqp, none of the suite's code): a township centre refers a resident up, the hospital
reads it from its own queue and accepts (twice: the repeat changes nothing), a racing second
answer gets the 409 naming both states, the resident's hospital encounter marks the referral
arrived on its own, the hospital sends the 回转单 back, and the archive holds both records while
the township's update feed announces them; an answer from another institution is quarantined as
`not_the_receiver`; an unanswered request expires and the sender is told; a consultation is
answered over AMQP and its 会诊记录表 filed; a follow-up's `referral_suggested` becomes a draft."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

from urllib.parse import unquote, urlparse

import amqp
import pytest

from services.records.service import RecordsService
from services.referrals.service import ReferralsService
from services.registry.service import RegistryService
from shared import clock
from shared.errors import Conflict
from shared.transport.rpc import SignedClusterRpcClient
from tests.support.amqp import Listener, connect, wait_until
from tests.support.db import query
from tests.support.events import EventPublisher

VILLAGE = "110105003001"
TOWNSHIP = "C1101050031"
HOSPITAL = "H3301020001"
OTHER_HOSPITAL = "H1101050001"
REASON = {"impression": "高血压3级，血压控制不佳", "present_illness": "头痛三天", "treatment": "氨氯地平5mg"}
BACK = {"diagnosis": "原发性高血压3级", "findings": "心电图：左室高电压", "treatment": "住院调整降压方案",
        "plan": "氨氯地平5mg qd，两周后社区随访", "doctor": "王医生"}


class PlainHospital:
    """A hospital's own AMQP client: reads `referrals.<code>` (declared by the suite) and answers on
    `ehr.referral-answers` under `answer.<code>.<kind>`, `user_id` its account."""

    def __init__(self, amqp_uri: str, code: str) -> None:
        self.code = code
        self.conn = connect(amqp_uri)
        self.channel = self.conn.channel()
        self.account = unquote(urlparse(amqp_uri).username or "guest")
        self.channel.exchange_declare("ehr.referral-answers", "topic", durable=True, auto_delete=False)
        # What earlier tests left in the queue (it is durable) is not this test's.
        try:
            purging = self.conn.channel()
            purging.queue_purge(f"referrals.{code}")
            purging.close()
        except amqp.exceptions.NotFound:
            self.channel = self.conn.channel() if not self.channel.is_open else self.channel

    def read(self, count: int, timeout: float = 20.0) -> list[dict]:
        got = []

        def more():
            message = self.channel.basic_get(f"referrals.{self.code}", no_ack=True)
            if message is not None:
                got.append({"routing_key": message.delivery_info["routing_key"],
                            "message_id": message.properties.get("message_id"), "body": json.loads(message.body)})
            return len(got) >= count

        wait_until(more, timeout=timeout, interval=0.05, message=f"{count} referral messages")
        return got

    def answer(self, body: dict, message_id: str | None = None, code: str | None = None) -> str:
        code = code or self.code
        message_id = message_id or str(uuid.uuid4())
        body = {"schema": "ehr.referral-answer/1", "institution_code": code, **body}
        self.channel.basic_publish(
            amqp.Message(json.dumps(body, ensure_ascii=False).encode(), content_type="application/json",
                         delivery_mode=2, message_id=message_id, user_id=self.account),
            exchange="ehr.referral-answers", routing_key=f"answer.{code}.{body['kind']}")
        return message_id

    def close(self) -> None:
        self.conn.close()


def as_institution(code: str, user: str):
    return SignedClusterRpcClient(timeout=20, context_data={"ehr.user": user, "ehr.institution": code,
                                                            "ehr.role": "township_doctor"})


@pytest.fixture
def suite(start):
    return start(RegistryService, RecordsService, ReferralsService)


@pytest.fixture
def township(suite_env, suite):
    with as_institution(TOWNSHIP, "doc01") as client:
        yield client


@pytest.fixture
def hospital_rpc(suite_env, suite):
    with as_institution(HOSPITAL, "wang") as client:
        yield client


@pytest.fixture
def plain_hospital(suite_env):
    h = PlainHospital(suite_env.amqp_uri, HOSPITAL)
    yield h
    h.close()


@pytest.fixture
def resident(suite, rpc, synth):
    person = synth.resident(VILLAGE, TOWNSHIP, sex="1")
    return person, rpc.registry.create_archive(person.archive_request())["archive_no"]


def referral(rpc, referral_id):
    return rpc.referrals.get_referral(referral_id)


def state_becomes(rpc, referral_id, state):
    return wait_until(lambda: referral(rpc, referral_id)["state"] == state and referral(rpc, referral_id),
                      message=f"referral {referral_id} {state}")


def test_the_whole_loop_refer_accept_arrive_back_refer_with_both_records_in_the_archive(
        suite_env, resident, township, hospital_rpc, plain_hospital, hospital, synth, rpc):
    person, archive_no = resident
    updates = Listener(suite_env.amqp_uri, "ehr.archive-updates", "archive.110105.003.#")
    events = Listener(suite_env.amqp_uri, "ehr.events", "referrals.#")

    sent = township.referrals.create_referral({"archive_no": archive_no, "to_institution_code": HOSPITAL,
                                               "urgency": "urgent", "reason": REASON, "to_department": "心内科"})
    referral_id = sent["referral_id"]
    assert (sent["state"], sent["from_institution_code"], sent["from_doctor"]) == ("requested", TOWNSHIP, "doc01")
    requested_at = datetime.fromisoformat(sent["requested_at"])
    assert datetime.fromisoformat(sent["deadline_at"]) - requested_at == timedelta(hours=24)

    [told] = plain_hospital.read(1)
    assert told["routing_key"] == f"referral.{HOSPITAL}.referral_requested"
    assert told["body"]["referral_id"] == referral_id and told["body"]["reason"]["impression"] == REASON["impression"]
    assert "name" not in told["body"] and "id_number" not in told["body"]

    # The hospital accepts; the same message again changes nothing.
    accept_id = plain_hospital.answer({"kind": "accept", "referral_id": referral_id, "note": "已安排床位"})
    state_becomes(rpc, referral_id, "accepted")
    plain_hospital.answer({"kind": "accept", "referral_id": referral_id, "note": "已安排床位"}, message_id=accept_id)
    # A racing second answer through the API: 409 naming both states.
    with pytest.raises(Conflict) as refused:
        hospital_rpc.referrals.reject_referral(referral_id, {"reason": "无床位"})
    assert "accepted" in str(refused.value) and "requested" in str(refused.value)
    # Another institution answering is refused, and kept with the reason.
    stranger = plain_hospital.answer({"kind": "reject", "referral_id": referral_id, "reason": "x"},
                                     code=OTHER_HOSPITAL)
    wait_until(lambda: query("referrals", "SELECT reason FROM quarantined_messages WHERE message_id = :m",
                             m=stranger), message="the stranger's answer quarantined")
    assert query("referrals", "SELECT reason FROM quarantined_messages WHERE message_id = :m",
                 m=stranger)[0][0] == "not_the_receiver"

    # The resident's encounter at the hospital marks it arrived.
    hospital.publish(synth.encounter(person, HOSPITAL, started_at=datetime.now(clock.CHINA_TIME)))
    arrived = state_becomes(rpc, referral_id, "arrived")
    assert arrived["history"][-1]["actor"] == "system" and arrived["history"][-1]["reason"].startswith(
        "hospital_encounter:")

    plain_hospital.answer({"kind": "back_referral", "referral_id": referral_id, "back_referral": BACK})
    back = state_becomes(rpc, referral_id, "back_referred")
    assert back["back_referral"]["plan"] == BACK["plan"]
    assert [s["action"] for s in back["history"]] == ["send", "accept", "arrive", "back_refer"]
    assert [s["message_id"] for s in back["history"]][1] == accept_id

    def both_filed():
        r = referral(rpc, referral_id)
        return all(f["status"] == "filed" for f in r["filings"]) and len(r["filings"]) == 2 and r

    filed = wait_until(both_filed, message="both records filed")
    records = {r["record_type"]: r for r in rpc.records.list_records(archive_no)["items"]}
    assert {"referral_out", "referral_back"} <= set(records)
    assert {f["record_id"] for f in filed["filings"]} == {records["referral_out"]["record_id"],
                                                          records["referral_back"]["record_id"]}
    out = rpc.records.get_record(records["referral_out"]["record_id"])
    assert [r["origin"] for r in out["revisions"]] == ["referral"]
    assert out["revisions"][0]["content"]["impression"] == REASON["impression"]

    def announced():
        types = {m["body"]["record_type"] for m in updates.settle(0.3) if m["body"]["archive_no"] == archive_no}
        return {"referral_out", "referral_back"} <= types

    wait_until(announced, message="the township updates")
    kinds = {m["routing_key"] for m in events.settle(0.5)}
    assert {"referrals.referral_requested", "referrals.referral_accepted", "referrals.referral_arrived",
            "referrals.referral_back_referred"} <= kinds
    assert query("referrals", "SELECT count(*) FROM referral_history WHERE referral_id = :r AND action = 'accept'",
                 r=referral_id)[0][0] == 1
    updates.close(), events.close()


def test_an_unanswered_request_expires_and_the_sender_and_receiver_are_told(
        suite_env, resident, township, plain_hospital, rpc):
    _, archive_no = resident
    events = Listener(suite_env.amqp_uri, "ehr.events", "referrals.referral_expired")
    sent = township.referrals.create_referral({"archive_no": archive_no, "to_institution_code": HOSPITAL,
                                               "reason": REASON})
    plain_hospital.read(1)
    assert rpc.referrals.run_sweep(datetime.now(timezone.utc).isoformat())["expired"] == 0
    later = datetime.now(timezone.utc) + timedelta(days=3, minutes=1)
    # Other modules of the run leave requests of their own unanswered: they expire with it.
    swept = rpc.referrals.run_sweep(later.isoformat())
    assert swept["swept"] is True and swept["expired"] >= 1
    expired = referral(rpc, sent["referral_id"])
    assert expired["state"] == "expired" and expired["history"][-1]["actor"] == "system"
    [event] = [m for m in events.settle(quiet=2.0) if m["body"]["data"]["referral_id"] == sent["referral_id"]]
    assert event["body"]["data"]["from_institution_code"] == TOWNSHIP
    told = []
    wait_until(lambda: told.extend(m for m in plain_hospital.read(1) if m["body"].get("referral_id") == sent["referral_id"])
               or told, message="the receiver told of the expiry")
    assert told[0]["routing_key"] == f"referral.{HOSPITAL}.referral_expired"
    # Answering now is too late: quarantined, naming the state.
    late = plain_hospital.answer({"kind": "accept", "referral_id": sent["referral_id"]})
    wait_until(lambda: query("referrals", "SELECT reason, errors FROM quarantined_messages WHERE message_id = :m",
                             m=late), message="the late answer quarantined")
    reason, errors = query("referrals", "SELECT reason, errors FROM quarantined_messages WHERE message_id = :m",
                           m=late)[0]
    assert reason == "invalid_transition" and "expired" in errors["_state"][0]
    events.close()


def test_the_sender_cancels_before_acceptance_and_the_receiver_cannot(resident, township, hospital_rpc, rpc):
    _, archive_no = resident
    sent = township.referrals.create_referral({"archive_no": archive_no, "to_institution_code": HOSPITAL,
                                               "reason": REASON})
    with pytest.raises(Conflict, match="cancel is for the sender"):
        hospital_rpc.referrals.cancel_referral(sent["referral_id"], {"reason": "x"})
    cancelled = township.referrals.cancel_referral(sent["referral_id"], {"reason": "患者拒绝转诊"})
    assert cancelled["state"] == "cancelled" and cancelled["history"][-1]["reason"] == "患者拒绝转诊"
    inbox = hospital_rpc.referrals.list_referrals(box="inbox", state="cancelled")["items"]
    assert sent["referral_id"] in [r["referral_id"] for r in inbox]


def test_a_consultation_answered_over_amqp_files_the_consultation_form(resident, township, plain_hospital, rpc):
    _, archive_no = resident
    asked = township.referrals.request_consultation({"archive_no": archive_no, "to_institution_code": HOSPITAL,
                                                     "question": "血糖控制不佳，请协助调整方案"})
    [told] = plain_hospital.read(1)
    assert told["routing_key"] == f"referral.{HOSPITAL}.consultation_requested"
    plain_hospital.answer({"kind": "consultation_answer", "consultation_id": asked["consultation_id"],
                           "opinion": "加用二甲双胍，一月后复查", "consultants": [{"institution": "县医院", "doctor": "王医生"}]})
    wait_until(lambda: township.referrals.get_consultation(asked["consultation_id"])["state"] == "answered",
               message="answered")
    wait_until(lambda: [r for r in rpc.records.list_records(archive_no, record_type="consultation")["items"]],
               message="the 会诊记录表 filed")


def test_a_follow_ups_referral_suggestion_is_a_draft_in_the_referring_inbox(suite_env, resident, township, rpc):
    _, archive_no = resident
    publisher = EventPublisher(suite_env.amqp_uri)
    data = {"archive_no": archive_no, "programmes": ["hypertension"], "record_id": "rec-1",
            "record_type": "hypertension_follow_up", "visit_date": "2026-12-01", "reason": "urgent",
            "triggers": ["sbp_180"], "institution_code": TOWNSHIP}
    body = publisher.publish("programmes", "referral_suggested", data)
    publisher.publish("programmes", "referral_suggested", body=body)  # the same event again

    def drafts():
        return [r for r in township.referrals.list_referrals(box="sent", state="draft")["items"]
                if r["archive_no"] == archive_no]

    [draft] = wait_until(drafts, message="the draft")
    assert draft["urgency"] == "urgent" and "sbp_180" in draft["reason"]["impression"]
    sent = township.referrals.send_referral(draft["referral_id"], {"to_institution_code": HOSPITAL})
    assert sent["state"] == "requested" and sent["from_doctor"] == "doc01"
    assert len(drafts()) == 0
    publisher.close()
