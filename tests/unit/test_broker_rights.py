"""What a partner's broker account may do (`ehr.broker.rights_for`) and which messages records
trusts (`filing.Intake`), as data: the regexes RabbitMQ applies, matched here against the names
and routing keys a partner could try. The same rights are exercised on the real broker in
tests/service/test_broker_accounts.py."""

from __future__ import annotations

import json
import re

import pytest

from ehr.broker import rights_for
from ehr.synthetic import Synthesizer
from services.records.filing import Intake, parse_delivery
from shared.delivery import Delivery
from shared.messaging import BrokerAccounts

HOSPITAL = rights_for("H3301020001", "hospital", "110105")
TOWNSHIP = rights_for("T1101051011", "township_centre", "110105101")
VILLAGE = rights_for("V1101051011", "village_clinic", "110105101101")
INTERNAL_NAMES = ["ehr.events", "ehr.dead-letter", "nameko-rpc", "rpc-registry", "records.encounters",
                  "amq.default", "rpc.reply-gateway-1b2c", "records.encounters.parked"]


def allowed(regex: str, name: str) -> bool:
    return re.search(regex, name) is not None  # RabbitMQ's test: the regex matches the name


@pytest.mark.parametrize("name", INTERNAL_NAMES + ["ehr.archive-updates", "township.H3301020001"])
def test_hospital_may_neither_configure_write_nor_read_anything_internal(name):
    assert not allowed(HOSPITAL.configure, name)
    assert not allowed(HOSPITAL.write, name)
    assert not allowed(HOSPITAL.read, name)


def test_hospital_writes_only_encounters_under_its_own_code_and_reads_its_referral_queue():
    assert allowed(HOSPITAL.write, "ehr.encounters")
    write, read = HOSPITAL.topics["ehr.encounters"]
    assert allowed(write, "encounter.H3301020001.outpatient")
    for key in ("encounter.H1101050002.outpatient", "encounter.H33010200011.outpatient", "encounter.#"):
        assert not allowed(write, key)
    assert allowed(HOSPITAL.read, "referrals.H3301020001")
    assert not allowed(HOSPITAL.read, "referrals.H1101050002")


@pytest.mark.parametrize("name", INTERNAL_NAMES + ["ehr.encounters", "township.T1101052011", "township.T11010510111",
                                                   "amq.gen-abc"])
def test_township_may_not_touch_other_exchanges_or_queues(name):
    assert not allowed(TOWNSHIP.configure, name)
    assert not allowed(TOWNSHIP.write, name)
    assert not allowed(TOWNSHIP.read, name)


@pytest.mark.parametrize("queue", ["township.T1101051011", "township.T1101051011.his"])
def test_township_declares_binds_and_reads_its_own_queues(queue):
    assert allowed(TOWNSHIP.configure, queue) and allowed(TOWNSHIP.write, queue) and allowed(TOWNSHIP.read, queue)
    assert allowed(TOWNSHIP.read, "ehr.archive-updates") and not allowed(TOWNSHIP.write, "ehr.archive-updates")


@pytest.mark.parametrize("rights,key,ok", [
    (TOWNSHIP, "archive.110105.101.#", True),
    (TOWNSHIP, "archive.110105.101.101.#", True),
    (TOWNSHIP, "archive.110105.101.*.hospital_encounter", True),
    (TOWNSHIP, "archive.110105.201.#", False),
    (TOWNSHIP, "archive.110105.#", False),
    (TOWNSHIP, "archive.110105.1011.#", False),
    (TOWNSHIP, "#", False),
    (VILLAGE, "archive.110105.101.101.#", True),
    (VILLAGE, "archive.110105.101.#", False),
    (VILLAGE, "archive.110105.101.102.#", False),
])
def test_binding_keys_are_limited_to_the_jurisdictions_prefix(rights, key, ok):
    write, read = rights.topics["ehr.archive-updates"]
    assert allowed(read, key) is ok
    assert not allowed(write, key)


def test_a_malformed_institution_code_cannot_widen_the_regexes():
    with pytest.raises(ValueError):
        rights_for("H.*", "hospital", "110105")


# -- what records trusts ---------------------------------------------------------------------

ACCOUNTS = BrokerAccounts(internal="ehr", partner_prefix="inst-")
synth = Synthesizer(seed=7)
RESIDENT = synth.resident("110105101101", "T1101051011")


def delivery(body: bytes | dict, user_id: str | None, routing_key="encounter.H3301020001.outpatient") -> Delivery:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return Delivery(raw, routing_key, "m-1", "application/json", {}, False, user_id=user_id)


@pytest.mark.parametrize("user_id,reason", [
    ("inst-H3301020001", None),
    ("ehr", None),                        # the suite's own account: an operator's replay
    ("inst-H1101050002", "publisher_mismatch"),
    (None, "publisher_mismatch"),
    ("inst-", "publisher_mismatch"),
])
def test_an_encounter_is_trusted_only_from_its_institutions_account_or_the_suites(user_id, reason):
    body = synth.encounter(RESIDENT, "H3301020001")
    assert parse_delivery(delivery(body, user_id), Intake(ACCOUNTS)).reason == reason


def test_a_forged_body_institution_under_the_own_routing_key_is_a_publisher_mismatch():
    body = synth.encounter(RESIDENT, "H1101050002")
    incoming = parse_delivery(delivery(body, "inst-H3301020001"), Intake(ACCOUNTS))
    assert incoming.reason == "publisher_mismatch"
    assert incoming.details == {"_user_id": [
        "Must be the broker account of source.institution_code (published by 'inst-H3301020001')."]}


def test_a_body_over_the_bound_is_too_large_before_it_is_parsed(monkeypatch):
    monkeypatch.setattr(json, "loads", lambda *a, **k: pytest.fail("the body was parsed"))
    incoming = parse_delivery(delivery(b"[" * 2000, "inst-H3301020001"), Intake(ACCOUNTS, max_bytes=1000))
    assert incoming.reason == "too_large" and incoming.details == {"_body": ["Longer than maximum length 1000 bytes."]}
