"""The sync service on the real broker and database, with the registry, records, the real document
builders (services/sync/documents/) and the `ehr platform` fake as its peer (a process on a free
port, `tests.support.platform`), in CDA and in FHIR: every archive and record becomes one
acknowledged document, the registration first (with the 个人基本信息表 and the full ID number in
it), an integrated follow-up two (HSDB04.01 and HSDB04.02); two sync workers send each document once; a platform down for 30 seconds (its process
stopped, then started again on the same port and data) loses and doubles nothing; a rejected
document is resent as a replacement once its record is corrected; a record entered in error is
withdrawn from the platform (both documents of an integrated follow-up), or never sent when it
was not yet; the registry answers a full identity only to a call proved with EHR_SYNC_KEY."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from datetime import date

import pytest
from click.testing import CliRunner

from ehr.cli import main

from services.records.service import RecordsService
from services.registry.service import RegistryService
from services.sync.service import SyncService
from shared.config import generate_key
from shared.signing import document_identity_proof, documents_identity_proof
from shared.transport.rpc import CallRefused
from tests.support.amqp import wait_until
from tests.support.db import query
from tests.support.platform import PlatformProcess
from tests.unit.test_follow_up_forms import hypertension, integrated
from tests.unit.test_forms import personal_info, visit

VILLAGE = "110105003001"
MANAGER = "C1101050031"
BORN = date(1950, 6, 15)
OUTAGE = 30.0  # seconds the platform is down


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    process = PlatformProcess(tmp_path_factory.mktemp("platform")).start()
    yield process
    process.stop()


@pytest.fixture
def fmt():
    return "cda"


@pytest.fixture
def platform(fake, fmt, monkeypatch):
    """The fake, normal, and the sync service configured to send it `fmt`."""
    if fake.proc.poll() is not None:
        fake.start()
    fake.reset()
    monkeypatch.setenv("EHR_PLATFORM_URL", fake.url)
    monkeypatch.setenv("EHR_PLATFORM_TOKEN", fake.token)
    monkeypatch.setenv("EHR_PLATFORM_FORMAT", fmt)
    monkeypatch.setenv("EHR_SYNC_MAX_ATTEMPTS", "30")
    yield fake
    if fake.proc.poll() is None:
        fake.reset()


def documents_of(archive_no):
    return query("sync", "SELECT set_id, version, type_code, state, platform_id, replaces, reasons, attempts "
                         "FROM documents WHERE archive_no = :a ORDER BY id", a=archive_no)


def acknowledged(archive_no, count):
    rows = documents_of(archive_no)
    return rows if len(rows) == count and all(r.state == "acknowledged" for r in rows) else None


def on_platform(fake, archive_no):
    return {d: item for d, item in fake.accepted(custodian=MANAGER).items() if item["archive_no"] == archive_no}


def stored_body(fake, document_id):
    """What the fake keeps of an accepted document (its own SQLite file, read beside it)."""
    with sqlite3.connect(fake.data / "platform.sqlite3") as db:
        return bytes(db.execute("SELECT body FROM accepted WHERE document_id = ?", (document_id,)).fetchone()[0])


def new_archive(rpc, synth):
    resident = synth.resident(VILLAGE, MANAGER, born=BORN, sex="1")
    return resident, rpc.registry.create_archive({**resident.archive_request(), "confirm_new": True})["archive_no"]


def file_follow_up(rpc, archive_no, **changes):
    return rpc.records.file_record(archive_no, {"record_type": "hypertension_follow_up",
                                                "content": hypertension(**changes), "institution_code": MANAGER})


@pytest.mark.parametrize("fmt", ["cda", "fhir"])
def test_every_record_becomes_one_acknowledged_document_after_the_registration(start, platform, rpc, synth, fmt):
    start(RegistryService, RecordsService, SyncService)
    resident, archive_no = new_archive(rpc, synth)
    rpc.records.file_record(archive_no, {"record_type": "personal_info", "content": personal_info(),
                                         "institution_code": MANAGER})
    records = [file_follow_up(rpc, archive_no) for _ in range(3)]
    both = rpc.records.file_record(archive_no, {"record_type": "integrated_follow_up", "content": integrated(),
                                                "institution_code": MANAGER})["record_id"]

    def settled():
        rows = documents_of(archive_no)
        done = [r for r in rows if r.state == "acknowledged"]
        return rows if len(done) == len(rows) and sum(r.set_id.startswith("record:") for r in done) == 5 else None

    rows = wait_until(settled, timeout=90, message="every document acknowledged")
    registration = [r for r in rows if r.set_id == f"archive:{archive_no}"]
    # the 个人基本信息表 is part of the registration: a second version only when the first went before it
    assert rows[0].set_id == f"archive:{archive_no}" and [r.version for r in registration] in ([1], [1, 2])
    assert all(r.type_code == "HSDA00.01" for r in registration)
    assert [(r.set_id, r.version, r.type_code) for r in rows if r.set_id.startswith("record:")] == [
        (f"record:{r['record_id']}", 1, "HSDB04.01") for r in records] + [
        (f"record:{both}:HSDB04.01", 1, "HSDB04.01"), (f"record:{both}:HSDB04.02", 1, "HSDB04.02")]
    accepted = on_platform(platform, archive_no)
    assert {f"{r.set_id}:v{r.version}": r.platform_id for r in rows} == {
        d: item["platform_id"] for d, item in accepted.items()}
    received = platform.received()
    assert all(received[document_id] == 1 for document_id in accepted)  # each sent once
    latest = stored_body(platform, f"archive:{archive_no}:v{registration[-1].version}").decode()
    assert resident.id_number in latest and "过敏史" in latest  # the full ID number; the 个人基本信息表
    status = rpc.sync.status()
    assert [n["documents"] >= 3 for n in status["by_state"]  # this run's databases: earlier tests' too
            if (n["state"], n["type_code"]) == ("acknowledged", "HSDB04.01")] == [True]
    oldest = status["oldest_unacknowledged"]  # the run's earlier modules may have left some of theirs
    assert oldest is None or oldest["archive_no"] != archive_no
    mine = set(accepted)
    report = rpc.sync.reconcile(custodian=MANAGER)
    differing = {d for g in report["groups"] for k in ("missing_on_platform", "unknown_to_suite",
                                                       "platform_id_differs") for d in g[k]}
    assert not mine & differing and report["totals"]["acknowledged"] >= 4
    lost = f"record:{records[0]['record_id']}:v1"

    def follow_ups_missing():
        # the run's earlier modules acknowledged documents of this custodian at platforms of their own
        result = CliRunner().invoke(main, ["sync", "reconcile", "--institution", MANAGER, "--type", "HSDB04.01",
                                           "--json"])
        [group] = json.loads(result.output)["groups"]
        return result.exit_code, group["missing_on_platform_count"], group["missing_on_platform"]

    before = follow_ups_missing()
    with sqlite3.connect(platform.data / "platform.sqlite3") as db:  # the platform lost one
        db.execute("DELETE FROM accepted WHERE document_id = ?", (lost,))
    exit_code, count, sample = follow_ups_missing()
    assert exit_code == 1 and count == before[1] + 1 and lost not in before[2]
    assert lost in sample or len(sample) == 50  # the first 50 of a kind are named


def test_two_sync_workers_send_each_document_once(start, platform, rpc, synth):
    start(RegistryService, RecordsService, SyncService, SyncService)
    archives = [new_archive(rpc, synth)[1] for _ in range(4)]
    for archive_no in archives:
        for _ in range(3):
            file_follow_up(rpc, archive_no)
    for archive_no in archives:
        wait_until(lambda: acknowledged(archive_no, 4), timeout=90, message="every document acknowledged")
    accepted = {d for archive_no in archives for d in on_platform(platform, archive_no)}
    assert len(accepted) == 16
    received = platform.received()
    assert {received[d] for d in accepted} == {1}  # no worker sent one another had claimed


def test_a_platform_down_for_thirty_seconds_loses_and_doubles_nothing(start, platform, rpc, synth):
    start(RegistryService, RecordsService, SyncService)
    platform.stop()  # refused connections
    down_since = time.monotonic()
    _, archive_no = new_archive(rpc, synth)
    records = [file_follow_up(rpc, archive_no)["record_id"] for _ in range(2)]
    wait_until(lambda: (rows := documents_of(archive_no)) and rows[0].attempts >= 2, timeout=60,
               message="the registration retried")
    time.sleep(max(0.0, OUTAGE - (time.monotonic() - down_since)))
    platform.start()  # the same port, the same data
    # the retries back off (up to about a minute after a 30 s outage): patience on a loaded machine
    rows = wait_until(lambda: acknowledged(archive_no, 3), timeout=240, message="acknowledged after the outage")
    assert [(r.set_id, r.version) for r in rows] == [(f"archive:{archive_no}", 1)] + [
        (f"record:{r}", 1) for r in records]
    assert rows[0].attempts >= 2  # the registration was retried through the outage
    accepted = on_platform(platform, archive_no)
    assert sorted(accepted) == sorted(f"{r.set_id}:v1" for r in rows)
    # nothing doubled: one acceptance per document, the one the suite recorded (a send the
    # platform answered too late to be heard would be sent again and answered 200, same id)
    assert {r.platform_id for r in rows} == {item["platform_id"] for item in accepted.values()}
    assert len({item["platform_id"] for item in accepted.values()}) == 3


@pytest.mark.parametrize("fmt", ["cda", "fhir"])
def test_a_rejected_document_is_resent_as_a_replacement_once_its_record_is_corrected(start, platform, rpc, synth,
                                                                                     fmt):
    start(RegistryService, RecordsService, SyncService)
    _, archive_no = new_archive(rpc, synth)
    wait_until(lambda: acknowledged(archive_no, 1), timeout=60, message="the registration acknowledged")
    platform.faults(reject_one_in=1)  # the platform refuses what comes next
    record_id = file_follow_up(rpc, archive_no)["record_id"]
    first = f"record:{record_id}:v1"
    rejected = wait_until(lambda: (rows := documents_of(archive_no)) and rows[-1].state == "rejected" and rows,
                          timeout=60, message="the follow-up rejected")
    assert rejected[-1].reasons[0]["code"] == "injected"
    listed = CliRunner().invoke(main, ["sync", "list", "--state", "rejected", "--archive", archive_no, "--json"])
    assert listed.exit_code == 0, listed.output
    assert [d["document_id"] for d in json.loads(listed.output)] == [first]
    resent = CliRunner().invoke(main, ["sync", "resend", first])  # refused again
    assert resent.exit_code == 0 and "queued again" in resent.output
    wait_until(lambda: platform.received().get(first) == 2 and documents_of(archive_no)[-1].state == "rejected",
               message="rejected again")
    assert platform.document(first)["status"] == "rejected"

    platform.faults(reject_one_in=0)
    rpc.records.amend_record(archive_no, record_id, {"content": hypertension(), "reason": "补全"})
    rows = wait_until(lambda: (r := documents_of(archive_no)) and len(r) == 3 and r[-1].state == "acknowledged" and r,
                      timeout=60, message="the correction acknowledged")
    assert (rows[-1].set_id, rows[-1].version, rows[-1].replaces) == (f"record:{record_id}", 2, first)
    assert rows[1].state == "rejected"
    second = platform.document(f"record:{record_id}:v2")
    assert (second["status"], second["set_id"], second["version"]) == ("accepted", f"record:{record_id}", 2)
    assert platform.document(first)["status"] == "rejected"


def test_a_record_entered_in_error_is_withdrawn_from_the_platform_once(start, platform, rpc, synth):
    start(RegistryService, RecordsService, SyncService)
    _, archive_no = new_archive(rpc, synth)
    both = rpc.records.file_record(archive_no, {"record_type": "integrated_follow_up", "content": integrated(),
                                                "institution_code": MANAGER})["record_id"]
    rows = wait_until(lambda: acknowledged(archive_no, 3), timeout=90, message="the follow-up's documents acknowledged")
    documents = [f"{r.set_id}:v1" for r in rows[1:]]
    assert documents == [f"record:{both}:HSDB04.01:v1", f"record:{both}:HSDB04.02:v1"]

    rpc.records.mark_entered_in_error(archive_no, both, "录入了他人的随访")
    rows = wait_until(lambda: acknowledged(archive_no, 5), timeout=90, message="the withdrawals acknowledged")
    withdrawals = query("sync", "SELECT set_id, version, action, withdraws, platform_id, state FROM documents "
                                "WHERE archive_no = :a AND action = 'withdraw' ORDER BY set_id", a=archive_no)
    assert [(w.set_id, w.version, w.withdraws, w.state) for w in withdrawals] == [
        (f"record:{both}:HSDB04.01", 2, documents[0], "acknowledged"),
        (f"record:{both}:HSDB04.02", 2, documents[1], "acknowledged")]
    listed = on_platform(platform, archive_no)
    assert {d: listed[d]["status"] for d in listed} == {f"archive:{archive_no}:v1": "accepted",
                                                        documents[0]: "withdrawn", documents[1]: "withdrawn"}
    assert [w.platform_id for w in withdrawals] == [listed[d]["platform_id"] for d in documents]
    assert platform.document(documents[0])["status"] == "withdrawn"
    listed_here = CliRunner().invoke(main, ["sync", "list", "--archive", archive_no, "--json"])
    assert {(d["document_id"], d["action"], d["withdraws"]) for d in json.loads(listed_here.output)
            if d["action"] == "withdraw"} == {(f"{w.set_id}:v2", "withdraw", w.withdraws) for w in withdrawals}
    report = rpc.sync.reconcile(custodian=MANAGER)
    differing = {d for g in report["groups"] for k in ("missing_on_platform", "unknown_to_suite",
                                                       "platform_id_differs", "withdrawal_differs") for d in g[k]}
    assert not differing & set(documents) and report["totals"]["withdrawn"] >= 2
    assert all(platform.received()[d] == 1 for d in documents)


def test_a_record_entered_in_error_before_it_was_sent_is_never_sent(start, platform, rpc, synth):
    start(RegistryService, RecordsService, SyncService)
    platform.faults(mode="down")  # nothing is accepted: the record waits for its archive's registration
    _, archive_no = new_archive(rpc, synth)
    record_id = file_follow_up(rpc, archive_no)["record_id"]
    wait_until(lambda: len(documents_of(archive_no)) == 2, message="the follow-up queued")
    rpc.records.mark_entered_in_error(archive_no, record_id, "录入了他人的随访")
    states = wait_until(lambda: (rows := query("sync", "SELECT action, state, attempts, sent_at FROM documents "
                                                       "WHERE record_id = :r ORDER BY id", r=record_id))
                        and rows[0].state == "cancelled" and rows, message="the follow-up cancelled")
    assert [(r.action, r.state, r.attempts, r.sent_at) for r in states] == [
        ("submit", "cancelled", 0, None), ("withdraw", "cancelled", 0, None)]
    platform.reset()
    wait_until(lambda: documents_of(archive_no)[0].state == "acknowledged", timeout=120,
               message="the registration acknowledged after the outage")
    listed = CliRunner().invoke(main, ["sync", "list", "--state", "cancelled", "--archive", archive_no, "--json"])
    assert listed.exit_code == 0, listed.output
    assert sorted(d["document_id"] for d in json.loads(listed.output)) == [f"record:{record_id}:v1",
                                                                           f"record:{record_id}:v2"]
    rpc.sync.run_sender()
    assert not any(d.startswith(f"record:{record_id}") for d in platform.received())
    assert list(on_platform(platform, archive_no)) == [f"archive:{archive_no}:v1"]


def test_a_record_type_without_a_document_is_listed_not_sent(start, platform, rpc, synth):
    start(RegistryService, RecordsService, SyncService)
    _, archive_no = new_archive(rpc, synth)
    record_id = rpc.records.file_record(archive_no, {"record_type": "visit", "content": visit(),
                                                     "institution_code": MANAGER})["record_id"]
    wait_until(lambda: query("sync", "SELECT 1 FROM not_buildable WHERE record_id = :r", r=record_id),
               message="the record noted as not buildable")
    assert wait_until(lambda: acknowledged(archive_no, 1), timeout=60)[0].type_code == "HSDA00.01"
    assert [n["records"] >= 1 for n in rpc.sync.status()["not_buildable"] if n["record_type"] == "visit"] == [True]


def test_the_registry_answers_a_full_identity_only_to_the_sync_key(start, rpc, synth, suite_env):
    start(RegistryService)
    resident, archive_no = new_archive(rpc, synth)
    key = base64.b64decode(suite_env.variables["EHR_SYNC_KEY"])
    answer = rpc.registry.identity_for_document(archive_no, document_identity_proof(key, archive_no))
    assert answer["identity"]["id_number"] == resident.id_number
    assert answer["archive"]["archive_no"] == archive_no
    forged = base64.b64decode(generate_key())
    for proof in (document_identity_proof(forged, archive_no), {}, document_identity_proof(key, "11010500300199999")):
        with pytest.raises(CallRefused):
            rpc.registry.identity_for_document(archive_no, proof)
    # the sender's batch: the same, for exactly the numbers proved
    _, other = new_archive(rpc, synth)
    nowhere = "11010500300199999"
    numbers = [archive_no, nowhere, other]
    batch = rpc.registry.identities_for_documents(numbers, documents_identity_proof(key, numbers))
    assert batch["identities"][archive_no] == answer and batch["missing"] == [nowhere]
    assert batch["identities"][other]["archive"]["archive_no"] == other
    for proof in (documents_identity_proof(forged, numbers), documents_identity_proof(key, numbers[:2]), {}):
        with pytest.raises(CallRefused):
            rpc.registry.identities_for_documents(numbers, proof)


def test_a_backfill_queues_what_the_suite_held_before_the_sync_service_heard_of_it(start, platform, rpc, synth,
                                                                                  suite_env):
    import amqp

    start(RegistryService, RecordsService)
    _, archive_no = new_archive(rpc, synth)
    records = [file_follow_up(rpc, archive_no)["record_id"] for _ in range(2)]
    conn = amqp.Connection(**_amqp_params(suite_env.amqp_uri))
    conn.connect()
    channel = conn.channel()
    # the events reach sync.events (declared with the topology) before the service runs: lost to it here
    wait_until(lambda: channel.queue_declare("sync.events", passive=True).message_count >= 3, message="events queued")
    channel.queue_purge("sync.events")
    conn.close()

    start(SyncService)
    run = rpc.sync.start_backfill("2020-01-01")
    assert run["state"] == "running"
    rows = wait_until(lambda: acknowledged(archive_no, 3), timeout=120, message="the backfill sent")
    assert rows[0].set_id == f"archive:{archive_no}"  # the registration first; the records in the timeline's order
    assert sorted(r.set_id for r in rows[1:]) == sorted(f"record:{r}" for r in records)
    assert query("sync", "SELECT DISTINCT cause FROM documents WHERE archive_no = :a", a=archive_no) == [("backfill",)]
    done = wait_until(lambda: [b for b in rpc.sync.status()["backfills"] if b["id"] == run["id"]
                               and b["state"] == "done"], timeout=120, message="the backfill done")
    assert done[0]["counts"]["archives"] >= 1
    again = rpc.sync.start_backfill("2020-01-01")  # nothing queued twice
    wait_until(lambda: [b for b in rpc.sync.status()["backfills"] if b["id"] == again["id"] and b["state"] == "done"],
               timeout=120, message="the second backfill done")
    assert len(documents_of(archive_no)) == 3


def _amqp_params(uri):
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    return {"host": f"{parsed.hostname}:{parsed.port or 5672}", "userid": unquote(parsed.username or "guest"),
            "password": unquote(parsed.password or "guest"), "virtual_host": unquote(parsed.path[1:] or "/")}
