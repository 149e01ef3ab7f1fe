"""The insurance part of `ehr demo`: the demo county's insurer (医保经办机构, an institution of kind
`insurer`, `Y1101050001` 朝阳区医疗保障局) sends a few settlements (医保结算) of demo residents, so
their 首页 (`GET /api/v1/archives/{no}/summary`, `insurance`) shows what insurance paid and what
they paid themselves.

It publishes as the insurer's own system would: `ehr.settlement/1` bodies on `ehr.insurance`,
routing key `settlement.<institution visited>.<type>`, with its own demo broker account
(`ehr.broker.grant_demo_accounts`) and `user_id` set to it; nothing of the suite's code but the
contract check the bodies are held to before they leave (`load_settlement`: the demo's content
must be valid). The plan (`plan`):

- an outpatient settlement and its correction (the same settlement number, revision 2: a drug
  refunded), for the first resident;
- an inpatient stay (admitted, discharged, the fees by category, 大病保险 among the payers);
- another outpatient settlement;
- one of a resident registered only after it was sent: it waits as pending and is filed the
  moment the archive is created, as the hospitals' encounters do.

Idempotent: a settlement's number is derived from the resident's ID number and its place in the
plan, and its message id from the insurer, that number and the revision (the suite's idempotency
key), so a second run with the same residents (`ehr demo --seed N`) files nothing twice.

    bodies = plan("Y1101050001", [(resident, "H3301020001"), ...], pending=(late, "H1101050002"), today=today)
    publish("amqp://inst-Y1101050001:...@.../", bodies)  -> [message id, ...]
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from decimal import Decimal

from kombu import Connection, Producer

from shared.contracts.settlement import SCHEMA_NAME, load_settlement
from shared.messaging import INSURANCE

from ehr.synthetic import Resident

SYSTEM = "医保结算平台"
# (type, diagnoses, the fees by category, how the total was paid, days ago visited, days in hospital)
OUTPATIENT = ("outpatient", [("I10", "原发性高血压")], {"西药费": "216.80", "检查费": "140.00"},
              {"fund_paid": "214.08", "personal_account": "60.00", "out_of_pocket": "82.72"}, 20, 0)
# the same visit settled again: a drug of 40 yuan refunded
CORRECTED = ("outpatient", [("I10", "原发性高血压")], {"西药费": "176.80", "检查费": "140.00"},
             {"fund_paid": "190.08", "personal_account": "60.00", "out_of_pocket": "66.72"}, 20, 0)
INPATIENT = ("inpatient", [("I25.1", "冠状动脉粥样硬化性心脏病"), ("I10", "原发性高血压")],
             {"床位费": "600.00", "西药费": "3120.50", "检查费": "1280.00", "化验费": "860.00", "治疗费": "1450.00",
              "材料费": "389.50"},
             {"fund_paid": "5390.00", "personal_account": "0.00", "out_of_pocket": "1910.00", "other_paid": "400.00"},
             75, 7)
OUTPATIENT_DIABETES = ("outpatient", [("E11.9", "2型糖尿病")], {"西药费": "188.40", "化验费": "95.00"},
                       {"fund_paid": "170.04", "personal_account": "50.00", "out_of_pocket": "63.36"}, 40, 0)
OUTPATIENT_COLD = ("outpatient", [("J06.9", "急性上呼吸道感染")], {"中成药费": "128.60", "治疗费": "60.00"},
                   {"fund_paid": "113.16", "personal_account": "40.00", "out_of_pocket": "35.44"}, 5, 0)
INSURANCE_TYPES = ("1", "2", "3")  # 城镇职工, 城镇居民基本医疗保险, 新型农村合作医疗 (CV07.10.003), by resident


def settlement_no(insurer: str, resident: Resident, n: int) -> str:
    """Stable: the same resident's n-th settlement of the plan has the same number every run."""
    return "JS" + hashlib.sha256(f"{insurer}|{resident.id_number}|{n}".encode()).hexdigest()[:18].upper()


def message_id_for(body: dict) -> str:
    """The same settlement revision always gets the same message id (the suite's idempotency key)."""
    source = body["source"]
    digest = hashlib.sha256(f"{source['insurer_code']}|{source['settlement_no']}|{source['revision']}".encode())
    return f"settlement-demo-{digest.hexdigest()[:40]}"


def body(insurer: str, resident: Resident, institution: str, number: str, revision: int, case: tuple,
         insurance_type: str, today: date, settled_later: int = 0) -> dict:
    """One `ehr.settlement/1` body: `case` as the module's tables, dated relative to `today`."""
    kind, diagnoses, fees, paid, days_ago, stay = case
    visit = today - timedelta(days=days_ago)
    settled = visit + timedelta(days=stay + settled_later)
    total = sum((Decimal(v) for v in fees.values()), Decimal("0"))
    return {
        "schema": SCHEMA_NAME,
        "source": {"insurer_code": insurer, "system": SYSTEM, "settlement_no": number, "revision": revision},
        "insured": {"id_type": "01", "id_number": resident.id_number, "insurance_card_no": None, "name": resident.name,
                    "sex": resident.sex, "birth_date": resident.birth_date.isoformat()},
        "settlement": {
            "type": kind, "institution_code": institution, "visit_date": visit.isoformat(),
            "discharge_date": settled.isoformat() if kind == "inpatient" else None,
            "insurance_type": insurance_type,
            "diagnoses": [{"system": "ICD-10", "code": code, "name": name, "primary": n == 0}
                          for n, (code, name) in enumerate(diagnoses)],
            "amounts": {"total": float(total), **{k: float(v) for k, v in paid.items()},
                        "by_category": [{"category": c, "amount": float(a)} for c, a in fees.items()]},
            "settled_at": f"{settled.isoformat()}T{10 + settled_later:02d}:15:00+08:00",
        },
    }


def plan(insurer: str, residents: list[tuple[Resident, str]], pending: tuple[Resident, str] | None,
         today: date) -> list[dict]:
    """The settlements of the module doc, in the order they are sent: `residents` (resident,
    institution visited), registered ones, up to three used; `pending`, one not yet registered."""
    cases = [(OUTPATIENT, CORRECTED), (INPATIENT,), (OUTPATIENT_DIABETES,)]
    bodies = []
    for n, ((resident, institution), revisions) in enumerate(zip(residents, cases)):
        number = settlement_no(insurer, resident, n)
        for revision, case in enumerate(revisions, start=1):
            bodies.append(body(insurer, resident, institution, number, revision, case,
                               INSURANCE_TYPES[n % len(INSURANCE_TYPES)], today, settled_later=revision - 1))
    if pending:
        resident, institution = pending
        bodies.append(body(insurer, resident, institution, settlement_no(insurer, resident, 9), 1, OUTPATIENT_COLD,
                           "2", today))
    for b in bodies:
        load_settlement(b)  # raises if the demo's own content is not valid
    return bodies


def publish(amqp_uri: str, bodies: list[dict]) -> list[str]:
    """Publish each as the account of `amqp_uri` (the insurer's), with publisher confirms; their
    message ids, in order."""
    sent = []
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        # no exchange declaration: the exchange is the suite's, and the insurer may only publish
        producer = Producer(conn.default_channel, auto_declare=False)
        for b in bodies:
            s = b["settlement"]
            message_id = message_id_for(b)
            producer.publish(json.dumps(b, ensure_ascii=False).encode(), exchange=INSURANCE,
                             routing_key=f"settlement.{s['institution_code']}.{s['type']}",
                             content_type="application/json", content_encoding="utf-8", delivery_mode=2,
                             message_id=message_id, user_id=conn.userid)
            sent.append(message_id)
    return sent
