"""The insurer's settlement feed (`ehr.insurance`, `ehr.settlement/1`) on the real broker and
databases, with the insurer played by a plain AMQP client (pika) on its own broker account: a
settlement is filed once however often sent, a bad one is quarantined with its reason, one of a
resident not yet registered waits and is filed with the archive, a correction is a new revision,
the 首页 sums them, only the insurer may publish, a disagreeing insurance type makes a review
without touching the form, an unknown insurance card is linked, and `ehr import settlements`
files a file once when run twice."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import date, timedelta

import pika
import pytest
from click.testing import CliRunner
from pika.exceptions import ChannelClosedByBroker, ConnectionClosedByBroker

from ehr.broker import grant as grant_account
from ehr.broker import management, partner_uri
from ehr.cli import main
from shared import clock
from shared.config import load_settings
from tests.support.amqp import wait_until
from tests.support.db import query
from tests.unit.test_forms import personal_info

INSURER, HOSPITAL, OTHER_INSURER = "Y1101050001", "H3301020001", "Y1101050009"
VILLAGE, MANAGER = "110105003001", "C1101050031"


@pytest.fixture(scope="module")
def accounts(suite_env):
    """{code: (account, AMQP URI)} of the insurer, another insurer-kind account and a hospital."""
    settings = load_settings()
    api, naming = management(settings)
    granted = {}
    for code, kind in ((INSURER, "insurer"), (OTHER_INSURER, "insurer"), (HOSPITAL, "hospital")):
        name, password = grant_account(api, naming, code, kind, "110105")
        granted[code] = (name, partner_uri(settings.amqp_uri, name, password))
    return granted


@pytest.fixture
def insurer(accounts):
    connections = []

    def _client(code=INSURER):
        name, uri = accounts[code]
        connection = pika.BlockingConnection(pika.URLParameters(uri))
        connections.append(connection)
        channel = connection.channel()
        channel.confirm_delivery()
        return name, channel

    yield _client
    for connection in connections:
        if connection.is_open:
            connection.close()


def settlement(resident, settlement_no=None, revision=1, insurance_type="3", total=356.8, card=None,
               with_id=True, days_ago=3) -> dict:
    visit = clock.today() - timedelta(days=days_ago)
    return {
        "schema": "ehr.settlement/1",
        "source": {"insurer_code": INSURER, "system": "医保结算平台",
                   "settlement_no": settlement_no or f"JS-{uuid.uuid4().hex[:12]}", "revision": revision},
        "insured": {"id_type": "01", "id_number": resident.id_number if with_id else None, "insurance_card_no": card,
                    "name": resident.name, "sex": resident.sex, "birth_date": resident.birth_date.isoformat()},
        "settlement": {
            "type": "outpatient", "institution_code": HOSPITAL, "visit_date": visit.isoformat(),
            "insurance_type": insurance_type,
            "diagnoses": [{"system": "ICD-10", "code": "I10", "name": "原发性高血压", "primary": True}],
            "amounts": {"total": total, "fund_paid": round(total - 100.0, 2), "personal_account": 60.0,
                        "out_of_pocket": 40.0},
            "settled_at": f"{visit.isoformat()}T10:15:00+08:00",
        },
    }


def publish(channel, body, user_id, message_id=None, routing_key=None) -> str:
    message_id = message_id or str(uuid.uuid4())
    s = body["settlement"]
    channel.basic_publish("ehr.insurance", routing_key or f"settlement.{s['institution_code']}.{s['type']}",
                          json.dumps(body, ensure_ascii=False).encode(), pika.BasicProperties(
                              delivery_mode=2, message_id=message_id, content_type="application/json",
                              user_id=user_id))
    return message_id


def where(message_id: str) -> list[str]:
    return [row[0] for row in query("records", """
        SELECT 'filed' FROM record_revisions WHERE message_id = :m
        UNION ALL SELECT 'quarantine:' || reason FROM quarantine WHERE message_id = :m
        UNION ALL SELECT 'pending:' || status FROM pending_encounters WHERE message_id = :m""", m=message_id)]


def settlements_of(archive_no: str) -> list[tuple]:
    return [tuple(r) for r in query("records", """
        SELECT r.source_record_id, r.current_revision, v.content -> 'amounts' ->> 'total', r.review, v.origin
        FROM records r JOIN record_revisions v ON v.record_id = r.id AND v.revision = r.current_revision
        WHERE r.archive_no = :a AND r.record_type = 'insurance_settlement' ORDER BY r.source_record_id""",
        a=archive_no)]


@pytest.fixture
def registered(records_and_registry, rpc, synth):
    def _register(resident=None):
        resident = resident or synth.resident(VILLAGE, MANAGER)
        return resident, rpc.registry.create_archive(resident.archive_request())["archive_no"]
    return _register


def test_a_settlement_sent_twice_is_filed_once_and_the_front_page_sums_it(registered, rpc, insurer):
    resident, archive_no = registered()
    account, channel = insurer()
    body = settlement(resident, total=356.8)
    message_id = publish(channel, body, account)
    publish(channel, body, account, message_id=message_id)
    wait_until(lambda: where(message_id) == ["filed"], message="the settlement filed")

    assert settlements_of(archive_no) == [(body["source"]["settlement_no"], 1, "356.8", None, "insurance")]
    front = rpc.records.archive_summary(archive_no)
    assert front["dynamic"] is True
    assert front["insurance"]["settlements"] == 1
    assert (front["insurance"]["total"], front["insurance"]["out_of_pocket"]) == ("356.80", "40.00")
    assert front["insurance"]["last_institution_code"] == HOSPITAL
    assert front["last_service"]["insurance_settlement"]


def test_a_bad_settlement_is_quarantined_with_its_reason(registered, insurer):
    resident, _ = registered()
    account, channel = insurer()
    body = settlement(resident)
    body["settlement"]["amounts"]["total"] = 999.0  # the parts no longer add up
    message_id = publish(channel, body, account)
    wait_until(lambda: where(message_id) == ["quarantine:schema_invalid"], message="the settlement quarantined")
    [(queue, details)] = query("records", "SELECT queue, details FROM quarantine WHERE message_id = :m", m=message_id)
    assert queue == "records.settlements"
    assert "total" in details["settlement"]["amounts"]


def test_a_settlement_of_an_unregistered_resident_waits_and_is_filed_with_the_archive(
        registered, insurer, synth):
    resident = synth.resident(VILLAGE, MANAGER)
    account, channel = insurer()
    message_id = publish(channel, settlement(resident), account)
    wait_until(lambda: where(message_id) == ["pending:pending"], message="the settlement pending")
    _, archive_no = registered(resident)
    wait_until(lambda: sorted(where(message_id)) == ["filed", "pending:filed"], message="the pending settlement filed")
    assert len(settlements_of(archive_no)) == 1


def test_a_correction_is_a_new_revision_and_the_front_page_follows_it(registered, rpc, insurer):
    resident, archive_no = registered()
    account, channel = insurer()
    first = publish(channel, settlement(resident, settlement_no="JS-CORR-1", total=356.8), account)
    wait_until(lambda: where(first) == ["filed"], message="the settlement filed")
    corrected = publish(channel, settlement(resident, settlement_no="JS-CORR-1", revision=2, total=300.0), account)
    wait_until(lambda: where(corrected) == ["filed"], message="the correction filed")

    assert settlements_of(archive_no) == [("JS-CORR-1", 2, "300.0", None, "insurance")]
    assert rpc.records.archive_summary(archive_no)["insurance"]["total"] == "300.00"
    late = publish(channel, settlement(resident, settlement_no="JS-CORR-1", revision=1, total=356.8), account)
    wait_until(lambda: where(late) == ["filed"], message="the late original kept")
    assert settlements_of(archive_no)[0][2] == "300.0"  # the highest revision stays current


def test_only_the_insurers_own_account_may_publish_its_settlements(registered, insurer, accounts, suite_env):
    resident, archive_no = registered()
    # a hospital's account may not even publish to ehr.insurance: the broker refuses
    hospital_account, hospital = insurer(HOSPITAL)
    with pytest.raises((ChannelClosedByBroker, ConnectionClosedByBroker)):
        publish(hospital, settlement(resident), hospital_account)
    # another insurer's account publishing in this insurer's name
    other_account, other = insurer(OTHER_INSURER)
    impostor = publish(other, settlement(resident), other_account)
    wait_until(lambda: where(impostor) == ["quarantine:publisher_mismatch"], message="the impostor quarantined")
    # the suite's own account, naming a hospital as the insurer
    internal = pika.BlockingConnection(pika.URLParameters(suite_env.amqp_uri))
    try:
        channel = internal.channel()
        body = settlement(resident)
        body["source"]["insurer_code"] = HOSPITAL
        named_hospital = publish(channel, body, pika.URLParameters(suite_env.amqp_uri).credentials.username)
        wait_until(lambda: where(named_hospital) == ["quarantine:publisher_mismatch"],
                   message="a hospital named as insurer quarantined")
    finally:
        internal.close()
    assert settlements_of(archive_no) == []


def test_an_insurance_type_the_form_does_not_list_makes_a_review_and_leaves_the_form(registered, rpc, insurer, synth):
    # An adult: the form's example (an occupation, dated 2024) is not a young child's.
    resident, archive_no = registered(synth.resident(VILLAGE, MANAGER, born=date(1958, 4, 12)))
    form = rpc.records.file_record(archive_no, {"record_type": "personal_info", "content": personal_info(),
                                                "institution_code": MANAGER})  # payment methods 3 and 8
    account, channel = insurer()
    agreeing = publish(channel, settlement(resident, insurance_type="3"), account)
    differing = publish(channel, settlement(resident, insurance_type="1"), account)
    wait_until(lambda: where(agreeing) == ["filed"] and where(differing) == ["filed"], message="both filed")

    reviews = [r for r in rpc.records.list_reviews(prefix=archive_no[:9])["items"] if r["archive_no"] == archive_no]
    assert [(r["record_type"], r["review"]) for r in reviews] == [("insurance_settlement", "insurance_type_differs")]
    assert reviews[0]["details"] == {"settlement_insurance_type": "1", "form_payment_methods": ["3", "8"],
                                     "form_record_id": form["record_id"]}
    standing = rpc.records.get_record(form["record_id"])
    assert standing["current_revision"] == 1 and len(standing["revisions"]) == 1
    assert standing["revisions"][0]["content"]["payment"]["methods"] == ["3", "8"]


def test_an_insurance_card_the_archive_does_not_hold_is_linked_and_then_finds_it(registered, rpc, insurer):
    resident, archive_no = registered()
    account, channel = insurer()
    card = f"C{uuid.uuid4().hex[:14].upper()}"
    first = publish(channel, settlement(resident, card=card), account)
    wait_until(lambda: where(first) == ["filed"], message="the settlement with ID number and card filed")
    wait_until(lambda: any(i["kind"] == "insurance_card" for i in rpc.registry.list_identifiers(archive_no)),
               message="the card linked")
    by_card = publish(channel, settlement(resident, card=card, with_id=False), account)
    wait_until(lambda: where(by_card) == ["filed"], message="the settlement with the card alone filed")
    assert len(settlements_of(archive_no)) == 2


def test_importing_a_csv_twice_files_each_settlement_once(registered, tmp_path):
    resident, archive_no = registered()
    day = (clock.today() - timedelta(days=10)).isoformat()
    rows = [{"settlement_no": f"IMP-{uuid.uuid4().hex[:8]}-{n}", "revision": "1", "id_number": resident.id_number,
             "name": resident.name, "sex": resident.sex, "birth_date": resident.birth_date.isoformat(),
             "type": "pharmacy", "institution_code": HOSPITAL, "visit_date": day, "insurance_type": "3",
             "diagnoses": "I10 原发性高血压", "total": "120.50", "fund_paid": "80", "personal_account": "20.50",
             "out_of_pocket": "20", "fees": "西药费=120.50", "settled_at": f"{day}T09:00:00+08:00"} for n in range(2)]
    rows.append({**rows[0], "settlement_no": "IMP-BAD", "out_of_pocket": "99"})
    path = tmp_path / "settlements.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    for _ in range(2):
        result = CliRunner().invoke(main, ["import", "settlements", str(path), "--insurer", INSURER])
        assert result.exit_code == 1 and "line 4" in result.output, result.output
    # a last file after both, so that every message of the two imports has been taken when it is filed
    sentinel = tmp_path / "sentinel.csv"
    with sentinel.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerow({**rows[0], "settlement_no": f"IMP-LAST-{uuid.uuid4().hex[:8]}"})
    assert CliRunner().invoke(main, ["import", "settlements", str(sentinel), "--insurer", INSURER]).exit_code == 0
    wait_until(lambda: len(settlements_of(archive_no)) == 3, message="the settlements filed")
    numbers = [r[0] for r in settlements_of(archive_no) if not r[0].startswith("IMP-LAST")]
    assert len(numbers) == 2 and "IMP-BAD" not in numbers
    assert len(query("records", "SELECT 1 FROM record_revisions v JOIN records r ON r.id = v.record_id "
                                "WHERE r.source_record_id = ANY(:n)", n=numbers)) == 2
