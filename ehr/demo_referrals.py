"""The referrals part of `ehr demo`: one township centre's 双向转诊 and 会诊 with the demo county's
hospitals, so a newcomer opening its sent box (`GET /api/v1/referrals?box=sent`) finds a referral
in every state, each with its history, and a consultation asked and one answered.

Everything goes through the suite as its users would:

- the centre's own system (its demo key, `township_system`) refers residents of its scope over
  the gateway's HTTP API (`POST /api/v1/referrals`), cancels one, asks for consultations;
- each hospital answers over AMQP with its own demo broker account, as any HIS would
  (`ehr.referral-answer/1` on `ehr.referral-answers`, `answer.<its code>.<kind>`, `user_id` set):
  accept, reject, arrived, the 回转单, close, a consultation's answer;
- drafts are not made here: the follow-ups of the programmes' cast (two unsatisfactory readings,
  SBP ≥ 180) make the programmes service suggest referrals, which arrive as drafts in the centre's
  sent box; this part waits for one;
- an expired referral needs its deadline (24 h for an urgent one) to pass: the demo runs the
  referrals service's expiry sweep (an operator's RPC, `run_sweep`) as of that referral's
  deadline, for that referral only, so nothing else expires early.

Run twice, it adds nothing: a state the centre's sent box already shows (as does a consultation
requested or answered) is not made again.

    run(call, key, {"H1101050001": "amqp://inst-H1101050001:...@.../"}, archives, expire)
        -> {"states": {"draft": 2, "requested": 1, ...}, "made": ["requested", ...], "consultations": {...}}
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Callable

from kombu import Connection, Producer

STATES = ("draft", "requested", "accepted", "rejected", "expired", "cancelled", "arrived", "back_referred", "closed")
REASON = {"impression": "高血压病3级，血压控制不佳", "present_illness": "近两周头晕、头痛，家庭自测血压波动于170-185/100-110mmHg",
          "past_history": "高血压病史8年，规律服用苯磺酸氨氯地平片5mg qd", "treatment": "已加用厄贝沙坦150mg qd一周，效果不佳"}
URGENT_REASON = {"impression": "血压≥180/110mmHg，伴剧烈头痛，紧急转诊", "present_illness": "今晨起剧烈头痛伴恶心",
                 "treatment": "舌下含服硝苯地平片10mg后血压仍186/112mmHg"}
BACK = {"diagnosis": "原发性高血压3级（很高危）", "findings": "心电图：左室高电压；尿微量白蛋白升高",
        "treatment": "住院7天，调整为缬沙坦氨氯地平片（80mg/5mg）qd联合氢氯噻嗪12.5mg qd",
        "plan": "继续当前用药，低盐饮食，两周内社区随访血压，一月后复查肾功能", "doctor": "心内科 王医生"}
# (urgency, the steps after the request: a hospital's answer kind and its fields, or the
# centre's cancel, or the sweep) for each state the demo makes
PLANS: dict[str, tuple[str, tuple]] = {
    "requested": ("routine", ()),
    "accepted": ("routine", (("accept", {"note": "已预约心内科专家门诊"}),)),
    "rejected": ("routine", (("reject", {"reason": "本院心内科床位已满，建议转区中心医院"}),)),
    "expired": ("urgent", (("expire", {}),)),
    "cancelled": ("routine", (("cancel", {"reason": "患者拒绝转诊，选择在本中心继续调整用药"}),)),
    "arrived": ("urgent", (("accept", {"note": "急诊已接收"}), ("arrived", {}))),
    "back_referred": ("routine", (("accept", {}), ("arrived", {}), ("back_referral", {"back_referral": BACK}))),
    "closed": ("routine", (("accept", {}), ("arrived", {}), ("close", {"reason": "治愈出院，无需回转"}))),
}
STATE_AFTER = {"accept": "accepted", "reject": "rejected", "expire": "expired", "cancel": "cancelled",
               "arrived": "arrived", "back_referral": "back_referred", "close": "closed"}
QUESTION = "2型糖尿病患者空腹血糖控制不佳（9.2mmol/L），二甲双胍已用足量，请协助调整降糖方案"
OPINION = {"opinion": "建议加用达格列净10mg qd，监测血糖及尿路感染征象，一月后复查糖化血红蛋白",
           "consultants": [{"institution": "北京市朝阳区第二医院", "doctor": "内分泌科 李医生"}]}

Call = Callable[..., tuple]  # (method, path, body, key) -> (status, body)


class HospitalAnswers:
    """The hospitals' side: each publishes with its own account, as its HIS would."""

    def __init__(self, brokers: dict[str, str]) -> None:
        self.brokers = brokers
        self.connections: dict[str, Connection] = {}

    def answer(self, code: str, kind: str, fields: dict) -> str:
        conn = self.connections.get(code)
        if conn is None:
            conn = self.connections[code] = Connection(self.brokers[code], transport_options={"confirm_publish": True})
        body = {"schema": "ehr.referral-answer/1", "kind": kind, "institution_code": code, **fields}
        message_id = str(uuid.uuid4())
        # no declaration: the exchange is the suite's, and a hospital may only publish
        Producer(conn.default_channel, auto_declare=False).publish(
            json.dumps(body, ensure_ascii=False).encode(), exchange="ehr.referral-answers",
            routing_key=f"answer.{code}.{kind}", content_type="application/json", delivery_mode=2,
            message_id=message_id, user_id=conn.userid)
        return message_id

    def close(self) -> None:
        for conn in self.connections.values():
            conn.release()


def _wait(call: Call, key: str, path: str, state: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, body = call("GET", path, None, key)
        if status == 200 and body["state"] == state:
            return body
        if time.monotonic() > deadline:
            raise RuntimeError(f"demo: {path} did not become {state} ({status} {body})")
        time.sleep(0.3)


def _present(call: Call, key: str, what: str, state: str) -> bool:
    status, page = call("GET", f"/api/v1/{what}?box=sent&state={state}&limit=1", None, key)
    if status != 200:
        raise RuntimeError(f"demo: the sent {what} of the centre could not be read: {status} {page}")
    return bool(page["items"])


def _refer(call: Call, key: str, hospitals: HospitalAnswers, hospital: str, archive_no: str, state: str,
           expire: Callable[[int, str], dict], timeout: float) -> int:
    urgency, steps = PLANS[state]
    status, referral = call("POST", "/api/v1/referrals", {
        "archive_no": archive_no, "to_institution_code": hospital, "to_department": "心内科", "urgency": urgency,
        "reason": URGENT_REASON if urgency == "urgent" else REASON}, key)
    if status != 201:
        raise RuntimeError(f"demo referral ({state}) refused: {status} {referral}")
    path = f"/api/v1/referrals/{referral['referral_id']}"
    for action, fields in steps:
        if action == "cancel":
            status, body = call("POST", path + "/cancel", fields, key)
            if status != 200:
                raise RuntimeError(f"demo cancel refused: {status} {body}")
        elif action == "expire":
            expire(referral["referral_id"], referral["deadline_at"])
        else:
            hospitals.answer(hospital, action, {"referral_id": referral["referral_id"], **fields})
        _wait(call, key, path, STATE_AFTER[action], timeout)
    return referral["referral_id"]


def run(call: Call, key: str, brokers: dict[str, str], archives: list[str], expire: Callable[[int, str], dict],
        timeout: float = 20.0) -> dict:
    """Make what the centre's sent box lacks (see the module doc); `brokers`: the hospitals' AMQP
    URIs by code, `archives`: residents of the centre to refer, `expire(referral_id, as_of)`."""
    codes = sorted(brokers)
    if not codes or not archives:
        return {"states": {}, "made": [], "consultations": {}}
    hospitals = HospitalAnswers(brokers)
    made: list[str] = []
    try:
        for n, state in enumerate(s for s in STATES if s != "draft"):
            if not _present(call, key, "referrals", state):
                _refer(call, key, hospitals, codes[n % len(codes)], archives[n % len(archives)], state, expire,
                       timeout)
                made.append(state)
        consultations = {}
        for n, state in enumerate(("requested", "answered")):
            if not _present(call, key, "consultations", state):
                status, asked = call("POST", "/api/v1/consultations", {
                    "archive_no": archives[n % len(archives)], "to_institution_code": codes[0],
                    "question": QUESTION}, key)
                if status != 201:
                    raise RuntimeError(f"demo consultation refused: {status} {asked}")
                if state == "answered":
                    hospitals.answer(codes[0], "consultation_answer",
                                     {"consultation_id": asked["consultation_id"], **OPINION})
                    _wait(call, key, f"/api/v1/consultations/{asked['consultation_id']}", "answered", timeout)
                consultations[state] = asked["consultation_id"]
    finally:
        hospitals.close()
    # The drafts come from the follow-ups (the programmes service's suggestions), by events.
    deadline = time.monotonic() + timeout
    while not _present(call, key, "referrals", "draft") and time.monotonic() < deadline:
        time.sleep(0.5)
    states = {}
    for state in STATES:
        _, page = call("GET", f"/api/v1/referrals?box=sent&state={state}&limit=200", None, key)
        states[state] = len(page.get("items", [])) if isinstance(page, dict) else 0
    return {"states": states, "made": made, "consultations": consultations}


def expire_with_operator_rpc(referral_id: int, as_of: str) -> dict:
    """Run the referrals service's expiry sweep as of `as_of`, for that referral only (RPC as the
    operator running the demo, like `ehr quarantine`)."""
    from ehr.operate import suite_rpc

    with suite_rpc() as rpc:
        return rpc.referrals.run_sweep(now=as_of, referral_id=referral_id)
