"""`ehr platform` as the sync service meets it: a process on a free port (`python -m ehr platform`),
driven over HTTP with requests. Accepts, answers a re-send with the same platform id, defers a
record before its resident's registration, rejects with reasons, fails on request (500 for a
while, hangs, goes down, rejects one in N), pages its accepted list, withdraws an accepted
document (kept, listed withdrawn, its set closed to later versions), keeps what it accepted
across a restart (and opens an earlier fake's data file), and wants its token. Hand-written
documents (ehr/platform/samples.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from ehr.platform.samples import sample_cda, sample_fhir
from tests.service.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-platform-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CDA = "application/hl7-cda+xml"
FHIR = "application/fhir+json"


class PlatformProcess:
    def __init__(self, data: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("EHR_PLATFORM")}
        env["PYTHONPATH"] = str(ROOT)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ehr", "platform", "--port", str(self.port), "--token", TOKEN,
             "--data", str(data), *extra], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{self.url}/api/health", headers=AUTH, timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                output = self.stop()
                raise RuntimeError(f"ehr platform did not start: {output}")
            time.sleep(0.2)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.stdout.read().decode(errors="replace")


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    process = PlatformProcess(tmp_path_factory.mktemp("platform"))
    yield process
    process.stop()


@pytest.fixture(autouse=False)
def normal(platform):
    requests.post(f"{platform.url}/control/reset", headers=AUTH, timeout=5).raise_for_status()
    yield platform
    requests.post(f"{platform.url}/control/reset", headers=AUTH, timeout=5).raise_for_status()


def send(url: str, body: bytes, document_id: str, document_type: str = "HSDC00.01", *, replaces=None,
         content_type=CDA, timeout=10, auth=AUTH) -> requests.Response:
    headers = {**auth, "Content-Type": content_type, "X-Document-Id": document_id,
               "X-Document-Type": document_type}
    if replaces:
        headers["X-Replaces"] = replaces
    return requests.post(f"{url}/api/documents", data=body, headers=headers, timeout=timeout)


def resident() -> str:
    """A fresh archive number (17 digits), so tests sharing the platform do not meet."""
    return "110105003001" + str(uuid.uuid4().int)[:5]


def register(url: str, archive_no: str, custodian: str = "T1101051011") -> dict:
    document_id = f"archive:{archive_no}:v1"
    answer = send(url, sample_cda(document_id, "HSDA00.01", archive_no=archive_no, custodian=custodian),
                  document_id, "HSDA00.01")
    assert answer.status_code == 201, answer.text
    return answer.json()


def record(url: str, archive_no: str, custodian: str = "T1101051011", **kw) -> requests.Response:
    document_id = f"record:{uuid.uuid4()}:v1"
    return send(url, sample_cda(document_id, archive_no=archive_no, custodian=custodian), document_id, **kw)


def test_a_document_is_accepted_once_and_a_resend_gets_the_same_platform_id(normal):
    url, archive_no = normal.url, resident()
    first = register(url, archive_no)
    assert first["status"] == "accepted" and first["platform_id"] and first["received_at"]
    document_id = first["document_id"]
    again = send(url, sample_cda(document_id, "HSDA00.01", archive_no=archive_no), document_id, "HSDA00.01")
    assert again.status_code == 200 and again.json() == first
    got = requests.get(f"{url}/api/documents/{document_id}", headers=AUTH, timeout=5).json()
    assert got == {**first, "document_type": "HSDA00.01", "archive_no": archive_no, "custodian": "T1101051011",
                   "set_id": f"archive:{archive_no}", "version": 1}


def test_a_record_before_its_residents_registration_is_deferred_then_accepted(normal):
    url, archive_no = normal.url, resident()
    document_id = f"record:{uuid.uuid4()}:v1"
    body = sample_cda(document_id, archive_no=archive_no)
    early = send(url, body, document_id)
    assert early.status_code == 409
    assert early.json()["status"] == "deferred" and early.json()["reasons"][0]["code"] == "patient_not_registered"
    assert requests.get(f"{url}/api/documents/{document_id}", headers=AUTH, timeout=5).status_code == 404
    register(url, archive_no)
    assert send(url, body, document_id).status_code == 201


def test_a_correction_waits_for_the_version_it_replaces(normal):
    url, archive_no = normal.url, resident()
    register(url, archive_no)
    set_id = f"record:{uuid.uuid4()}"
    v2 = sample_cda(f"{set_id}:v2", version=2, replaces=f"{set_id}:v1", archive_no=archive_no)
    early = send(url, v2, f"{set_id}:v2", replaces=f"{set_id}:v1")
    assert early.status_code == 409 and early.json()["reasons"][0]["code"] == "replaced_document_unknown"
    assert send(url, sample_cda(f"{set_id}:v1", archive_no=archive_no), f"{set_id}:v1").status_code == 201
    assert send(url, v2, f"{set_id}:v2", replaces=f"{set_id}:v1").status_code == 201


def test_a_rejected_document_may_be_replaced_by_its_correction(normal):
    url, archive_no = normal.url, resident()
    register(url, archive_no)
    set_id = f"record:{uuid.uuid4()}"
    requests.post(f"{url}/control/faults", json={"reject_one_in": 1}, headers=AUTH, timeout=5).raise_for_status()
    assert send(url, sample_cda(f"{set_id}:v1", archive_no=archive_no), f"{set_id}:v1").status_code == 422
    requests.post(f"{url}/control/faults", json={"reject_one_in": 0}, headers=AUTH, timeout=5).raise_for_status()
    other_type = sample_cda(f"{set_id}:v2", "HSDC00.04", version=2, replaces=f"{set_id}:v1", archive_no=archive_no)
    wrong = send(url, other_type, f"{set_id}:v2", "HSDC00.04", replaces=f"{set_id}:v1")
    assert wrong.status_code == 422 and wrong.json()["reasons"][0]["code"] == "replaced_document_mismatch"
    v2 = sample_cda(f"{set_id}:v2", version=2, replaces=f"{set_id}:v1", archive_no=archive_no)
    answer = send(url, v2, f"{set_id}:v2", replaces=f"{set_id}:v1")
    assert answer.status_code == 201, answer.text
    assert requests.get(f"{url}/api/documents/{set_id}:v1", headers=AUTH, timeout=5).json()["status"] == "rejected"
    never = f"record:{uuid.uuid4()}"
    v2 = sample_cda(f"{never}:v2", version=2, replaces=f"{never}:v1", archive_no=archive_no)
    unknown = send(url, v2, f"{never}:v2", replaces=f"{never}:v1")
    assert unknown.status_code == 409 and unknown.json()["reasons"][0]["code"] == "replaced_document_unknown"
    counts = requests.get(f"{url}/control/received", headers=AUTH, timeout=5).json()["documents"]
    assert (counts[f"{set_id}:v1"], counts[f"{set_id}:v2"]) == (1, 2)


def test_a_faulty_document_is_rejected_with_reasons_and_the_answer_is_kept(normal):
    url, archive_no = normal.url, resident()
    register(url, archive_no)
    document_id = f"record:{uuid.uuid4()}:v1"
    body = sample_cda(document_id, archive_no=archive_no).replace(b'root="2.16.156.10011.1.2"', b'root="1.2.3"')
    answer = send(url, body, document_id)
    assert answer.status_code == 422
    assert answer.json() == {"status": "rejected", "document_id": document_id, "reasons": [
        {"code": "wrong_oid", "message": answer.json()["reasons"][0]["message"],
         "path": "/ClinicalDocument/recordTarget/patientRole/id/@root"}]}
    got = requests.get(f"{url}/api/documents/{document_id}", headers=AUTH, timeout=5).json()
    assert got["status"] == "rejected" and got["reasons"] == answer.json()["reasons"]

    bundle = sample_fhir(f"record:{uuid.uuid4()}:v1", archive_no=archive_no)
    bundle["entry"][1]["resource"]["gender"] = ["female"]
    invalid = send(url, json.dumps(bundle).encode(), bundle["identifier"]["value"], content_type=FHIR)
    assert invalid.status_code == 422
    assert {r["code"] for r in invalid.json()["reasons"]} == {"invalid_resource"}
    assert invalid.json()["reasons"][0]["path"].startswith("Bundle.entry[1].resource.gender")

    other = send(url, sample_cda(f"record:{uuid.uuid4()}:v1", archive_no=archive_no), "record:else:v1")
    assert other.status_code == 400 and other.json()["reasons"][0]["code"] == "header_mismatch"


def test_a_fhir_document_is_accepted(normal):
    url, archive_no = normal.url, resident()
    register(url, archive_no)
    bundle = sample_fhir(f"record:{uuid.uuid4()}:v1", archive_no=archive_no)
    answer = send(url, json.dumps(bundle, ensure_ascii=False).encode(), bundle["identifier"]["value"],
                  content_type=FHIR)
    assert answer.status_code == 201, answer.text


def test_error_for_two_seconds_then_normal_again(normal):
    url, archive_no = normal.url, resident()
    register(url, archive_no)
    settings = requests.post(f"{url}/control/faults", json={"mode": "error", "seconds": 2}, headers=AUTH, timeout=5)
    assert settings.json()["mode"] == "error"
    assert record(url, archive_no).status_code == 500
    assert requests.get(f"{url}/api/health", headers=AUTH, timeout=5).status_code == 500
    deadline = time.monotonic() + 15
    while (answer := record(url, archive_no)).status_code == 500 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert answer.status_code == 201
    assert requests.get(f"{url}/control/faults", headers=AUTH, timeout=5).json()["mode"] == "normal"


def test_a_hanging_platform_times_the_client_out_until_reset(normal):
    url, archive_no = normal.url, resident()
    register(url, archive_no)
    requests.post(f"{url}/control/faults", json={"mode": "hang"}, headers=AUTH, timeout=5).raise_for_status()
    with pytest.raises(requests.Timeout):
        record(url, archive_no, timeout=0.5)
    requests.post(f"{url}/control/reset", headers=AUTH, timeout=5).raise_for_status()
    assert record(url, archive_no).status_code == 201


def test_down_answers_503_without_processing(normal):
    url, archive_no = normal.url, resident()
    register(url, archive_no)
    requests.post(f"{url}/control/faults", json={"mode": "down", "seconds": 60}, headers=AUTH, timeout=5)
    document_id = f"record:{uuid.uuid4()}:v1"
    assert send(url, sample_cda(document_id, archive_no=archive_no), document_id).status_code == 503
    requests.post(f"{url}/control/faults", json={"mode": "normal"}, headers=AUTH, timeout=5)
    assert requests.get(f"{url}/api/documents/{document_id}", headers=AUTH, timeout=5).status_code == 404


def test_reject_one_in_n(normal):
    url, archive_no = normal.url, resident()
    register(url, archive_no)
    requests.post(f"{url}/control/faults", json={"reject_one_in": 2}, headers=AUTH, timeout=5).raise_for_status()
    answers = [record(url, archive_no) for _ in range(4)]
    assert [a.status_code for a in answers] == [201, 422, 201, 422]
    assert answers[1].json()["reasons"][0]["code"] == "injected"


def test_the_accepted_list_pages_with_its_cursor(normal):
    url, archive_no = normal.url, resident()
    custodian = f"T{uuid.uuid4().int % 10**10:010d}"
    register(url, archive_no, custodian)
    accepted = {record(url, archive_no, custodian).json()["document_id"] for _ in range(4)}
    seen, pages, after = [], 0, None
    while True:
        params = {"custodian": custodian, "limit": 2, **({"after": after} if after else {})}
        page = requests.get(f"{url}/api/documents", params=params, headers=AUTH, timeout=5).json()
        seen += page["items"]
        pages += 1
        after = page["next"]
        if after is None:
            break
    assert pages == 3 and len(seen) == 5
    assert {i["document_id"] for i in seen} == accepted | {f"archive:{archive_no}:v1"}
    assert set(seen[0]) == {"document_id", "set_id", "version", "document_type", "archive_no", "custodian",
                            "platform_id", "received_at", "status", "withdrawn_at"}
    assert {(i["status"], i["withdrawn_at"]) for i in seen} == {("accepted", None)}
    only = requests.get(f"{url}/api/documents", params={"custodian": custodian, "type": "HSDA00.01"},
                        headers=AUTH, timeout=5).json()
    assert [i["document_type"] for i in only["items"]] == ["HSDA00.01"] and only["next"] is None
    bad = requests.get(f"{url}/api/documents", params={"limit": "0"}, headers=AUTH, timeout=5)
    assert bad.status_code == 400 and bad.json()["reasons"][0]["path"] == "limit"


def withdraw(url: str, document_id: str, reason: str | None = "entered_in_error", auth=AUTH) -> requests.Response:
    headers = {**auth, **({"X-Reason": reason} if reason else {})}
    return requests.delete(f"{url}/api/documents/{document_id}", headers=headers, timeout=10)


def test_an_accepted_document_is_withdrawn_kept_listed_so_and_its_set_takes_no_later_version(normal):
    url, archive_no = normal.url, resident()
    custodian = f"T{uuid.uuid4().int % 10**10:010d}"
    register(url, archive_no, custodian)
    set_id = f"record:{uuid.uuid4()}"
    accepted = send(url, sample_cda(f"{set_id}:v1", archive_no=archive_no, custodian=custodian), f"{set_id}:v1").json()
    other = record(url, archive_no, custodian).json()

    first = withdraw(url, f"{set_id}:v1")
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer == {"status": "withdrawn", "document_id": f"{set_id}:v1", "platform_id": accepted["platform_id"],
                      "withdrawn_at": answer["withdrawn_at"], "reason": "entered_in_error"}
    again = withdraw(url, f"{set_id}:v1")
    assert (again.status_code, again.json()) == (200, answer)  # idempotent: the first withdrawal's time
    got = requests.get(f"{url}/api/documents/{set_id}:v1", headers=AUTH, timeout=5).json()
    assert (got["status"], got["platform_id"], got["withdrawn_at"], got["set_id"]) == (
        "withdrawn", accepted["platform_id"], answer["withdrawn_at"], set_id)
    listed = requests.get(f"{url}/api/documents", params={"custodian": custodian}, headers=AUTH, timeout=5).json()
    statuses = {i["document_id"]: (i["status"], i["withdrawn_at"]) for i in listed["items"]}
    assert statuses == {f"archive:{archive_no}:v1": ("accepted", None), other["document_id"]: ("accepted", None),
                        f"{set_id}:v1": ("withdrawn", answer["withdrawn_at"])}
    # a re-send of the withdrawn document: its acceptance, as before; a correction of it: refused
    resent = send(url, sample_cda(f"{set_id}:v1", archive_no=archive_no, custodian=custodian), f"{set_id}:v1")
    assert (resent.status_code, resent.json()) == (200, accepted)
    v2 = sample_cda(f"{set_id}:v2", version=2, replaces=f"{set_id}:v1", archive_no=archive_no, custodian=custodian)
    refused = send(url, v2, f"{set_id}:v2", replaces=f"{set_id}:v1")
    assert refused.status_code == 422 and [r["code"] for r in refused.json()["reasons"]] == ["withdrawn_set"]

    unknown = withdraw(url, f"record:{uuid.uuid4()}:v1")
    assert unknown.status_code == 404 and unknown.json()["status"] == "unknown"
    for reason, code in ((None, "missing_header"), ("mistake", "invalid_value")):
        bad = withdraw(url, other["document_id"], reason)
        assert bad.status_code == 400 and bad.json()["reasons"][0] | {"message": ""} == {
            "code": code, "message": "", "path": "X-Reason"}
    assert withdraw(url, other["document_id"], auth={"Authorization": "Bearer nope"}).status_code == 401
    assert requests.get(f"{url}/api/documents/{other['document_id']}", headers=AUTH, timeout=5).json()[
        "status"] == "accepted"


def test_an_earlier_fakes_data_file_is_opened_and_given_the_withdrawal_columns(tmp_path):
    import sqlite3

    from ehr.platform.storage import FILE_NAME, Store

    with sqlite3.connect(tmp_path / FILE_NAME) as db:  # the first fake's tables
        db.executescript("""
            CREATE TABLE accepted (seq INTEGER PRIMARY KEY AUTOINCREMENT, document_id TEXT NOT NULL UNIQUE,
                platform_id TEXT NOT NULL UNIQUE, format TEXT NOT NULL, document_type TEXT NOT NULL,
                set_id TEXT NOT NULL, version INTEGER NOT NULL, archive_no TEXT NOT NULL, custodian TEXT NOT NULL,
                replaces TEXT, received_at TEXT NOT NULL, body BLOB NOT NULL);
            CREATE TABLE rejected (document_id TEXT PRIMARY KEY, status INTEGER NOT NULL, reasons TEXT NOT NULL,
                received_at TEXT NOT NULL);
            INSERT INTO accepted (document_id, platform_id, format, document_type, set_id, version, archive_no,
                custodian, replaces, received_at, body)
            VALUES ('record:old:v1', 'RHIP-OLD', 'cda', 'HSDB04.01', 'record:old', 1, '11010500300100001',
                'T1101051011', NULL, '2026-01-01T00:00:00.000+00:00', x'3c782f3e');
        """)
    store = Store(tmp_path)
    try:
        assert store.accepted("record:old:v1")["withdrawn_at"] is None
        assert store.withdraw("record:old:v1", "entered_in_error")["withdrawn_reason"] == "entered_in_error"
        assert store.set_withdrawn("record:old") and not store.set_withdrawn("record:other")
        [item], _ = store.list_accepted()
        assert (item["status"], item["platform_id"]) == ("withdrawn", "RHIP-OLD")
    finally:
        store.close()
    Store(tmp_path).close()  # opened again: nothing to add twice


def test_a_token_is_required(platform):
    url = platform.url
    assert requests.get(f"{url}/api/health", timeout=5).status_code == 401
    assert requests.get(f"{url}/api/health", headers={"Authorization": "Bearer nope"}, timeout=5).status_code == 401
    answer = send(url, sample_cda(), "record:sample:v1", auth={"Authorization": "Bearer nope"})
    assert answer.status_code == 401
    assert requests.post(f"{url}/control/reset", timeout=5).status_code == 401


def test_ehr_up_asks_the_platform_whether_it_is_ready_with_its_token(platform):
    from ehr.platform.launch import health_probe

    assert health_probe(platform.url, TOKEN)() is None
    assert health_probe(platform.url, "nope")() == "health answered 401"
    assert health_probe(f"http://127.0.0.1:{free_port()}", TOKEN)().startswith("not answering")


def test_a_body_too_large_is_413(platform):
    answer = send(platform.url, b"<x>" + b" " * (6 * 1024 * 1024) + b"</x>", "record:big:v1")
    assert answer.status_code == 413


def test_what_was_answered_201_survives_the_process_killed(tmp_path):
    """Killed (SIGKILL: no shutdown, nothing flushed by the process) right after its answers: what it
    answered 201 was committed before the answer."""
    data = tmp_path / "data"
    first = PlatformProcess(data)
    archive_no = resident()
    try:
        accepted = [register(first.url, archive_no)] + [record(first.url, archive_no).json() for _ in range(5)]
    finally:
        first.proc.kill()
        first.stop()
    second = PlatformProcess(data)
    try:
        for answer in accepted:
            got = requests.get(f"{second.url}/api/documents/{answer['document_id']}", headers=AUTH, timeout=5).json()
            assert got["status"] == "accepted" and got["platform_id"] == answer["platform_id"]
    finally:
        second.stop()


def test_a_restart_keeps_what_was_accepted(tmp_path):
    data = tmp_path / "data"
    first = PlatformProcess(data)
    try:
        archive_no = resident()
        accepted = register(first.url, archive_no)
    finally:
        first.stop()
    second = PlatformProcess(data, "--no-control")
    try:
        document_id = accepted["document_id"]
        got = requests.get(f"{second.url}/api/documents/{document_id}", headers=AUTH, timeout=5).json()
        assert got["status"] == "accepted" and got["platform_id"] == accepted["platform_id"]
        again = send(second.url, sample_cda(document_id, "HSDA00.01", archive_no=archive_no), document_id,
                     "HSDA00.01")
        assert again.status_code == 200 and again.json() == accepted
        assert record(second.url, archive_no).status_code == 201  # the registration survived too
        refused = requests.post(f"{second.url}/control/faults", json={"mode": "down"}, headers=AUTH, timeout=5)
        assert refused.status_code == 403
    finally:
        second.stop()
