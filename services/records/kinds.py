"""The kinds of partner message records files, and what sets each apart; the filing pipeline
(`filing`), pending messages (`pending`), revisions (`revisions`) and the quarantine store
(`quarantine`) are one code path parametrised by the kind:

    kind        exchange         routing key                              claim                      record
    encounter   ehr.encounters   encounter.<source.institution_code>.<kind>  encounter:<institution>  hospital_encounter
    settlement  ehr.insurance    settlement.<settlement.institution_code>.<type>
                                                                          settlement:<institution>  insurance_settlement

Each kind names its contract's loader, the routing key its body implies, the institution whose
broker account may publish it, the institutions it names that must be registered (and of which
kind), how its patient is sought (`identity_query`), what it files as a record and revision, and
what of it needs a clinician's look.

    kind_of_queue("records.settlements")   -> SETTLEMENT
    ENCOUNTER.routing_key(encounter)        -> "encounter.H3301020001.outpatient"
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from shared.contracts import encounter as encounter_contract
from shared.contracts import settlement as settlement_contract
from shared.identity import mask_id_number, mask_phone
from shared.messaging import ENCOUNTERS, INSURANCE, RECORDS_ENCOUNTERS, RECORDS_SETTLEMENTS
from shared.pii import PiiBox

from services.records.identities import identity_query as encounter_identity_query
from services.records.identities import patient_key
from services.records.rules import insurance_review, review_for
from services.records.standing import standing_records

HOSPITAL_ENCOUNTER = "hospital_encounter"
INSURANCE_SETTLEMENT = "insurance_settlement"
INSURER = "insurer"  # the registry's institution kind of an insurance agency (医保经办机构)
RECORD_NAMESPACE = uuid.UUID("6f1c2d0e-6b0a-4f47-9a51-3f1d2a7c9e10")

# Reviews of the items of one batch, aligned with them: (review, details) or None.
Reviews = list[tuple[str, dict[str, Any] | None] | None]


def record_id_for(institution_code: str, source_record_id: str, kind: str) -> str:
    """Deterministic: the same partner record always maps to the same record id."""
    return str(uuid.uuid5(RECORD_NAMESPACE, f"{institution_code}|{source_record_id}|{kind}"))


def _mask_card(value: str) -> str:
    text = value.strip()
    return "*" * len(text) if len(text) <= 4 else "*" * (len(text) - 4) + text[-4:]


@dataclass(frozen=True)
class MessageKind:
    """One kind of partner message (see the module doc). `institutions(data)` lists the codes the
    message names that must be registered: (code, the kind it must be or None, its field errors)."""

    name: str
    queue: str
    exchange: str
    record_type: str
    origin: str
    load: Callable[..., Any]
    invalid: type[Exception]
    routed: Callable[[Any], tuple[str, str]]
    routing_rule: str
    publisher: Callable[[Any], str]
    publisher_rule: str
    institutions: Callable[[Any], list[tuple[str, str | None, dict]]]
    identity_query: Callable[[Any], dict[str, Any]]
    record: Callable[[Any], dict[str, Any]]
    reviews: Callable[[Session, list[tuple[Any, str, str]], Mapping[str, str | None]], Reviews]
    message_shape: Any
    shown: frozenset
    masked: Mapping[tuple[str, ...], Callable[[str], str]]

    def routing_key(self, data: Any) -> str:
        institution, kind = self.routed(data)
        return f"{self.name}.{institution}.{kind}"

    def claim_source(self, institution_code: str) -> str:
        """The namespace of a message's idempotency key: the kind and the institution of its routing key."""
        return f"{self.name}:{institution_code}"

    def record_id(self, data: Any) -> str:
        r = self.record(data)
        return record_id_for(r["institution_code"], r["source_record_id"], r["identity_kind"])

    def rows(self, pii: PiiBox, data: Any, archive_no: str, message_id: str,
             review: tuple[str, dict | None] | None) -> dict[str, dict]:
        """The record and revision rows a message files into `archive_no`."""
        r = self.record(data)
        rid = record_id_for(r["institution_code"], r["source_record_id"], r["identity_kind"])
        return {
            "record": {
                "id": rid, "archive_no": archive_no, "record_type": self.record_type, "kind": r["kind"],
                "institution_code": r["institution_code"], "source_system": r["system"],
                "source_record_id": r["source_record_id"], "occurred_at": r["occurred_at"],
                "current_source_version": r["version"], "identity_key": patient_key(pii, data),
                "review": review and review[0], "review_details": review and review[1],
            },
            "revision": {
                "record_id": rid, "source_version": r["version"], "content": r["content"],
                "origin": self.origin, "author": f"{r['institution_code']}/{r['system'] or r['default_system']}",
                "message_id": message_id,
            },
        }


# -- hospital encounters (ehr.encounter/1) ---------------------------------------------------------


def _encounter_reviews(session: Session, items: list[tuple[Any, str, str]],
                       division_of: Mapping[str, str | None]) -> Reviews:
    out: Reviews = []
    for enc, archive_no, _ in items:
        review = review_for(archive_no, division_of.get(enc.institution_code))
        out.append((review, None) if review else None)
    return out


ENCOUNTER = MessageKind(
    name="encounter",
    queue=RECORDS_ENCOUNTERS,
    exchange=ENCOUNTERS,
    record_type=HOSPITAL_ENCOUNTER,
    origin="hospital_message",
    load=encounter_contract.load_encounter,
    invalid=encounter_contract.InvalidEncounter,
    routed=lambda enc: (enc.institution_code, enc.kind),
    routing_rule="Must be encounter.<source.institution_code>.<encounter.kind> of the body.",
    publisher=lambda enc: enc.institution_code,
    publisher_rule="Must be the broker account of source.institution_code",
    institutions=lambda enc: [(enc.institution_code, None,
                               {"source": {"institution_code": ["Unknown institution."]}})],
    identity_query=encounter_identity_query,
    record=lambda enc: {
        "institution_code": enc.institution_code, "source_record_id": enc.record_id, "identity_kind": enc.kind,
        "kind": enc.kind, "system": enc.system, "default_system": "HIS", "occurred_at": enc.started_at,
        "version": enc.version, "content": enc.content},
    reviews=_encounter_reviews,
    message_shape=encounter_contract.MESSAGE_SHAPE,
    shown=frozenset({("schema",), ("source", "institution_code"), ("source", "system"), ("source", "record_id"),
                     ("source", "version"), ("patient", "id_type"), ("patient", "sex"), ("encounter", "kind"),
                     ("encounter", "started_at"), ("encounter", "ended_at")}),
    masked={("patient", "id_number"): mask_id_number, ("patient", "phone"): mask_phone},
)


# -- insurance settlements (ehr.settlement/1) ------------------------------------------------------


def settlement_identity_query(s: settlement_contract.Settlement) -> dict[str, Any]:
    """What the registry finds the insured's archive by: the ID number, else the insurance card
    (with the sex and birth date by which it notices a card naming somebody else)."""
    insured = s.body.get("insured") or {}
    return {"id_type": s.id_type, "id_number": s.id_number, "health_card_no": None,
            "insurance_card_no": s.insurance_card_no, "mrn": None, "institution_code": s.institution_code,
            "sex": insured.get("sex"), "birth_date": insured.get("birth_date")}


def _settlement_reviews(session: Session, items: list[tuple[Any, str, str]],
                        division_of: Mapping[str, str | None]) -> Reviews:
    """An insurance type the archive's 个人基本信息表 does not list (`rules.insurance_review`)."""
    forms: dict[str, tuple[dict | None, str | None]] = {}
    for archive_no in {archive_no for _, archive_no, _ in items}:
        form = standing_records(session, archive_no, ("personal_info",))
        forms[archive_no] = (form[0][2].get("payment"), form[0][3]) if form else (None, None)
    out: Reviews = []
    for s, archive_no, _ in items:
        payment, form_id = forms[archive_no]
        found = insurance_review(s.insurance_type, payment)
        out.append(found and (found[0], {**found[1], "form_record_id": form_id}))
    return out


SETTLEMENT = MessageKind(
    name="settlement",
    queue=RECORDS_SETTLEMENTS,
    exchange=INSURANCE,
    record_type=INSURANCE_SETTLEMENT,
    origin="insurance",
    load=settlement_contract.load_settlement,
    invalid=settlement_contract.InvalidSettlement,
    routed=lambda s: (s.institution_code, s.type),
    routing_rule="Must be settlement.<settlement.institution_code>.<settlement.type> of the body.",
    publisher=lambda s: s.insurer_code,
    publisher_rule="Must be the broker account of source.insurer_code",
    institutions=lambda s: [
        (s.institution_code, None, {"settlement": {"institution_code": ["Unknown institution."]}}),
        (s.insurer_code, INSURER, {"source": {"insurer_code": ["Unknown institution."]}}),
    ],
    identity_query=settlement_identity_query,
    record=lambda s: {
        "institution_code": s.insurer_code, "source_record_id": s.settlement_no, "identity_kind": INSURANCE_SETTLEMENT,
        "kind": s.type, "system": s.system, "default_system": "医保", "occurred_at": s.settled_at,
        "version": s.revision, "content": s.content},
    reviews=_settlement_reviews,
    message_shape=settlement_contract.MESSAGE_SHAPE,
    shown=frozenset({("schema",), ("source", "insurer_code"), ("source", "system"), ("source", "settlement_no"),
                     ("source", "revision"), ("insured", "id_type"), ("insured", "sex"), ("settlement", "type"),
                     ("settlement", "institution_code"), ("settlement", "visit_date"),
                     ("settlement", "discharge_date"), ("settlement", "insurance_type"),
                     ("settlement", "settled_at")}),
    masked={("insured", "id_number"): mask_id_number, ("insured", "insurance_card_no"): _mask_card},
)

KINDS = {kind.name: kind for kind in (ENCOUNTER, SETTLEMENT)}
_BY_QUEUE = {kind.queue: kind for kind in KINDS.values()}


def kind_of_queue(queue: str) -> MessageKind | None:
    """The kind of message a records work queue carries (None for the registry's events)."""
    return _BY_QUEUE.get(queue)

