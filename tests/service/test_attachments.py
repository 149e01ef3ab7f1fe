"""Files kept with an archive, the resident's copy and the retention date, through the gateway
with the registry and records services on real RabbitMQ and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib

import pytest
import sqlalchemy as sa

from ehr.synthetic import Synthesizer
from services.records.service import RecordsService
from services.registry.service import RegistryService
from tests.support.db import audit_outcome, execute, query

VILLAGE = "110105101102"
MANAGER = "T1101051011"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
VISIT = {"occurred_on": "2026-11-20", "subjective": "头晕两天", "assessment": "原发性高血压",
         "plan": "氨氯地平 5mg qd", "clinician": "李医生"}


@pytest.fixture
def api(gateway_url):
    return gateway_url(RegistryService, RecordsService)


@pytest.fixture
def staff(auth):
    return auth.session_for("township_doctor", MANAGER)


@pytest.fixture
def archive(api, staff):
    resident = Synthesizer().resident(VILLAGE, MANAGER)
    created = staff.post(f"{api}/api/v1/archives", json=resident.archive_request())
    assert created.status_code == 201, created.text
    return f"{api}/api/v1/archives/{created.json()['archive_no']}"


def report(content: bytes = PDF, **fields) -> dict:
    return {"attachment_type": "check_report", "content": base64.b64encode(content).decode(),
            "filename": "血常规.pdf", "source": "朝阳区医院检验科", "document_date": "2026-11-18", **fields}


def test_an_attachment_is_added_listed_read_audited_and_marked_entered_in_error(archive, staff):
    filed = staff.post(f"{archive}/records", json={"record_type": "visit", "content": VISIT})
    record_id = filed.json()["record_id"]
    added = staff.post(f"{archive}/attachments", json=report(record_id=record_id))
    assert added.status_code == 201, added.text
    attachment = added.json()
    assert attachment["content_type"] == "application/pdf" and attachment["size_bytes"] == len(PDF)
    assert attachment["sha256"] == hashlib.sha256(PDF).hexdigest() and attachment["record_id"] == record_id
    assert attachment["status"] == "active" and attachment["added_by"] not in ("", "system")
    assert attachment["institution_code"] == MANAGER and attachment["document_date"] == "2026-11-18"

    listed = staff.get(f"{archive}/attachments")
    assert listed.status_code == 200
    assert [a["attachment_id"] for a in listed.json()["items"]] == [attachment["attachment_id"]]
    assert "content" not in listed.json()["items"][0]

    url = f"{archive}/attachments/{attachment['attachment_id']}"
    read = staff.get(url)
    assert read.status_code == 200 and read.content == PDF
    assert read.headers["Content-Type"] == "application/pdf"
    assert read.headers["X-Attachment-Status"] == "active"
    entry = audit_outcome(read.headers["X-Request-Id"])
    assert (entry.action, entry.outcome, entry.status) == ("attachment.read", "ok", 200)
    assert entry.archive_no == archive.rsplit("/", 1)[1]
    assert entry.target == f"attachment:{attachment['attachment_id']}"

    marked = staff.post(f"{url}/entered-in-error", json={"reason": "扫描了别人的化验单"})
    assert marked.status_code == 200, marked.text
    assert marked.json()["status"] == "entered_in_error" and "扫描了别人的化验单" in marked.json()["status_reason"]
    assert staff.post(f"{url}/entered-in-error", json={"reason": "again"}).status_code == 422
    # kept and listed with its status; its file still served, flagged
    [kept] = staff.get(f"{archive}/attachments").json()["items"]
    assert kept["status"] == "entered_in_error"
    again = staff.get(url)
    assert again.status_code == 200 and again.content == PDF
    assert again.headers["X-Attachment-Status"] == "entered_in_error"
    assert staff.get(f"{archive}/attachments/999999999").status_code == 404


def test_the_file_is_immutable_and_never_deleted_even_by_the_database_owner(archive, staff):
    added = staff.post(f"{archive}/attachments", json=report()).json()
    with pytest.raises(sa.exc.DBAPIError, match="never deleted"):
        execute("records", "DELETE FROM attachments WHERE id = :i", i=added["attachment_id"])
    with pytest.raises(sa.exc.DBAPIError, match="immutable"):
        execute("records", "UPDATE attachments SET content = :c WHERE id = :i", c=b"%PDF-other",
                i=added["attachment_id"])
    [(content,)] = query("records", "SELECT content FROM attachments WHERE id = :i", i=added["attachment_id"])
    assert bytes(content) == PDF


def test_a_text_file_named_pdf_and_a_file_too_large_are_refused_naming_content(archive, staff):
    text = staff.post(f"{archive}/attachments", json=report(b"name,phone\nzhang,13900000000\n", filename="x.pdf"))
    assert text.status_code == 400
    assert list(text.json()["error"]["details"]) == ["content"]
    unknown_type = staff.post(f"{archive}/attachments", json=report(attachment_type="photo"))
    assert unknown_type.status_code == 400 and "attachment_type" in unknown_type.json()["error"]["details"]
    # one byte past EHR_MAX_ATTACHMENT_BYTES (5 MiB), a body past the other routes' bound (1 MiB) but
    # within the upload's: the records service answers 400; a body past the upload's bound, 413 unread
    large = staff.post(f"{archive}/attachments", json=report(PDF + b"0" * ((5 << 20) + 1 - len(PDF))))
    assert large.status_code == 400 and list(large.json()["error"]["details"]) == ["content"]
    huge = staff.post(f"{archive}/attachments", json=report(PDF + b"0" * (6 << 20)))
    assert huge.status_code == 413
    assert staff.get(f"{archive}/attachments").json()["items"] == []


def test_the_residents_copy_holds_the_archive_its_records_and_its_attachments(archive, staff):
    staff.post(f"{archive}/records", json={"record_type": "visit", "content": VISIT})
    kept = staff.post(f"{archive}/attachments", json=report()).json()
    wrong = staff.post(f"{archive}/attachments", json=report(filename="别人的.pdf")).json()
    staff.post(f"{archive}/attachments/{wrong['attachment_id']}/entered-in-error", json={"reason": "别人的"})

    exported = staff.get(f"{archive}/export")
    assert exported.status_code == 200, exported.text
    assert "attachment;" in exported.headers["Content-Disposition"]
    copy = exported.json()
    assert copy["format"] == "ehr.archive-export/1"
    assert copy["archive"]["archive_no"] == archive.rsplit("/", 1)[1]
    assert [r["record_type"] for r in copy["records"]] == ["visit"]
    by_id = {a["attachment_id"]: a for a in copy["attachments"]}
    assert base64.b64decode(by_id[kept["attachment_id"]]["content"]) == PDF
    assert by_id[wrong["attachment_id"]]["status"] == "entered_in_error"
    assert "content" not in by_id[wrong["attachment_id"]]
    assert audit_outcome(exported.headers["X-Request-Id"]).action == "archive.export"


def test_an_archive_knows_until_when_it_must_be_kept(archive, staff, auth):
    staff.post(f"{archive}/records", json={"record_type": "visit", "content": VISIT})
    retention = staff.get(f"{archive}/retention")
    assert retention.status_code == 200, retention.text
    body = retention.json()
    assert body["last_service"] >= "2026-11-20" and body["deletes"] is False
    assert body["retain_until"] == str(int(body["last_service"][:4]) + 15) + body["last_service"][4:]
    terminated = staff.post(f"{archive}/termination", json={"reason": "death", "date": "2026-11-25", "cause": "脑梗死"})
    assert terminated.status_code == 200, terminated.text
    after = staff.get(f"{archive}/retention").json()
    assert after["terminated_on"] == "2026-11-25" and after["status"] == "terminated"
    assert after["retain_until"] >= "2041-11-25"
    # a village doctor reads the archive but does not keep the register
    doctor = auth.session_for("village_doctor", "V1101051011")
    assert doctor.get(f"{archive}/retention").status_code == 403


def test_attachments_are_entries_of_the_timeline_paged_and_filtered_with_the_records(archive, staff, rpc):
    visit = staff.post(f"{archive}/records", json={"record_type": "visit", "content": VISIT}).json()
    older = staff.post(f"{archive}/attachments", json=report(document_date="2026-11-18")).json()
    newer = staff.post(f"{archive}/attachments", json=report(attachment_type="referral", document_date="2026-11-25",
                                                             record_id=visit["record_id"])).json()
    staff.post(f"{archive}/attachments/{newer['attachment_id']}/entered-in-error", json={"reason": "别人的转诊单"})

    items = staff.get(f"{archive}/records").json()["items"]
    assert [(i["entry"], i.get("record_id"), i.get("attachment", {}).get("attachment_id")) for i in items] == [
        ("attachment", None, newer["attachment_id"]), ("record", visit["record_id"], None),
        ("attachment", None, older["attachment_id"])]
    flagged, _, kept = items
    assert flagged["record_type"] == "attachment" and flagged["kind"] == "referral"
    assert (flagged["status"], flagged["attachment"]["status"]) == ("entered_in_error", "entered_in_error")
    assert "别人的转诊单" in flagged["status_reason"] and flagged["attachment"]["record_id"] == visit["record_id"]
    assert kept["occurred_at"] == "2026-11-18T00:00:00+08:00" and kept["status"] == "active"
    assert kept["source"]["institution_code"] == MANAGER and "content" not in kept["attachment"]

    # one entry a page, records and attachments in one keyset order
    walked, cursor = [], None
    while True:
        page = staff.get(f"{archive}/records", params={"limit": 1, **({"cursor": cursor} if cursor else {})}).json()
        walked += page["items"]
        if not (cursor := page["next"]):
            break
    assert walked == items

    def listed(**query):
        page = staff.get(f"{archive}/records", params=query)
        assert page.status_code == 200, page.text
        return [i.get("attachment", {}).get("attachment_id") or i["record_id"] for i in page.json()["items"]]

    assert listed(record_type="attachment") == [newer["attachment_id"], older["attachment_id"]]
    assert listed(record_type="visit") == [visit["record_id"]]
    assert listed(kind="check_report") == [older["attachment_id"]]
    assert listed(since="2026-11-19T00:00:00+08:00", record_type="attachment") == [newer["attachment_id"]]
    assert listed(until="2026-11-18T00:00:01+08:00") == [older["attachment_id"]]
    # the list of their own still answers, and the records service alone gives the same timeline
    assert [a["attachment_id"] for a in staff.get(f"{archive}/attachments").json()["items"]] == [
        newer["attachment_id"], older["attachment_id"]]
    assert rpc.records.list_records(archive.rsplit("/", 1)[1])["items"] == items
