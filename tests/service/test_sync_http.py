"""The gateway's operator routes for the upload to the regional platform (`/api/v1/sync/...`) against
the real sync service, broker and databases (`module_gateway`, its sync service sending to the
module's `sync_platform`): an operator sees the status and lists the documents by state, type and
archive, page by page, with the platform's reasons; resends a rejected one (not an acknowledged
one); starts a backfill; reads the reconciliation. A supervisor reads the counts only, a doctor
nothing; a bad filter or date is a 400 naming the field.

The documents are seeded with the sync service's own queue (`services.sync.queue`) for archives
the registry does not know, so that the module's sender, should it claim one, holds it and sends
nothing."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session

from services.sync import queue
from shared import clock
from shared.config import load_settings
from shared.db import make_engine
from tests.support.db import query

OPERATOR_INSTITUTION = "G1101050001"
# The custodian of the seeded documents: no other module's, so that this module's reconciliation
# reads them beside nothing the run's earlier modules acknowledged at their own platforms.
CUSTODIAN = "C1101050931"
REASONS = [{"code": "missing_element", "message": "患者姓名缺失", "path": "/ClinicalDocument/recordTarget"}]


def _archive_no() -> str:
    return "110105003001" + f"{random.randrange(10 ** 5):05d}"


@pytest.fixture(scope="module")
def seeded(module_gateway):
    """Archive A: its registration acknowledged, a follow-up's document rejected with reasons;
    archive B: its registration held after failures. -> {"a": ..., "b": ..., "rejected": id, ...}"""
    engine = make_engine(load_settings().database_url_for("sync"), pool_size=1)
    a, b = _archive_no(), _archive_no()
    record = f"rec-{a}"
    long_ago = datetime.now(timezone.utc) - timedelta(days=3)
    with Session(engine) as session:
        registration = queue.ensure_registration(session, a, "event", custodian=CUSTODIAN)
        follow_up = queue.enqueue(session, set_id=queue.record_set(record), source="hypertension_follow_up",
                                  type_code="HSDB04.01", archive_no=a, record_id=record, revision=1,
                                  custodian=CUSTODIAN, cause="event")
        held = queue.ensure_registration(session, b, "backfill", custodian=CUSTODIAN)
        registration.state, registration.platform_id = queue.ACKNOWLEDGED, "P-SEEDED-1"
        follow_up.state, follow_up.reasons = queue.REJECTED, REASONS
        held.state, held.attempts, held.last_error, held.queued_at = queue.HELD, 8, "ConnectionError", long_ago
        session.commit()
        ids = {"a": a, "b": b, "registration": queue.document_id(registration.set_id, 1),
               "rejected": queue.document_id(follow_up.set_id, 1), "rejected_row": follow_up.id,
               "held": queue.document_id(held.set_id, 1)}
    engine.dispose()
    return ids


@pytest.fixture(scope="module")
def operator(auth):
    return auth.session_for("system_operator", OPERATOR_INSTITUTION)


def test_an_operator_sees_counts_by_state_and_type_and_the_oldest_unsettled(module_gateway, seeded, operator):
    answer = operator.get(f"{module_gateway}/api/v1/sync/status", timeout=30)
    assert answer.status_code == 200, answer.text
    status = answer.json()
    counts = {(row["state"], row["type_code"]): row["documents"] for row in status["by_state"]}
    assert counts[("acknowledged", "HSDA00.01")] >= 1 and counts[("rejected", "HSDB04.01")] >= 1
    assert counts[("held", "HSDA00.01")] >= 1
    oldest = status["oldest_unacknowledged"]
    assert (oldest["document_id"], oldest["state"], oldest["archive_no"]) == (seeded["held"], "held", seeded["b"])
    assert isinstance(status["not_buildable"], list) and isinstance(status["backfills"], list)


def test_an_operator_lists_by_state_type_and_archive_page_by_page_with_the_platforms_reasons(module_gateway, seeded,
                                                                                              operator):
    base = f"{module_gateway}/api/v1/sync/documents"
    rejected = operator.get(base, params={"state": "rejected", "type": "HSDB04.01", "limit": 200}, timeout=30).json()
    mine = [d for d in rejected["items"] if d["archive_no"] == seeded["a"]]
    assert [d["document_id"] for d in mine] == [seeded["rejected"]]
    assert mine[0]["reasons"] == REASONS and mine[0]["state"] == "rejected"
    assert all(d["state"] == "rejected" and d["type_code"] == "HSDB04.01" for d in rejected["items"])

    first = operator.get(base, params={"archive_no": seeded["a"], "limit": 1}, timeout=30).json()
    assert len(first["items"]) == 1 and first["next"]
    second = operator.get(base, params={"archive_no": seeded["a"], "limit": 1, "cursor": first["next"]},
                          timeout=30).json()
    assert {first["items"][0]["document_id"], second["items"][0]["document_id"]} == {seeded["registration"],
                                                                                     seeded["rejected"]}
    assert second["next"] is None


def test_an_operator_resends_a_rejected_document_and_not_an_acknowledged_one(module_gateway, seeded, operator):
    resent = operator.post(f"{module_gateway}/api/v1/sync/documents/{seeded['rejected']}/resend", timeout=30)
    assert resent.status_code == 200, resent.text
    assert (resent.json()["document_id"], resent.json()["state"], resent.json()["attempts"]) == (
        seeded["rejected"], "queued", 0)
    [entry] = query("gateway", "SELECT action, target, status FROM audit_entries WHERE request_id = :r AND "
                               "outcome <> 'attempt'", r=resent.headers["X-Request-Id"])
    assert tuple(entry) == ("sync_document.resend", f"sync_document:{seeded['rejected']}", 200)

    refused = operator.post(f"{module_gateway}/api/v1/sync/documents/{seeded['registration']}/resend", timeout=30)
    assert refused.status_code == 409 and refused.json()["error"]["details"] == {"state": "acknowledged"}
    unknown = operator.post(f"{module_gateway}/api/v1/sync/documents/record:no-such:v1/resend", timeout=30)
    assert unknown.status_code == 404
    malformed = operator.post(f"{module_gateway}/api/v1/sync/documents/{'x' * 200}/resend", timeout=30)
    assert malformed.status_code == 404 and malformed.json()["error"]["details"] == {"document_id": "x" * 120}


def test_an_operator_starts_a_backfill_and_a_bad_or_future_date_is_refused_naming_since(module_gateway, operator):
    url = f"{module_gateway}/api/v1/sync/backfill"
    started = operator.post(url, json={"since": "2026-01-01"}, timeout=30)
    assert started.status_code == 202, started.text
    assert started.json()["since"] == "2026-01-01" and started.json()["state"] == "running"
    status = operator.get(f"{module_gateway}/api/v1/sync/status", timeout=30).json()
    assert started.json()["id"] in {run["id"] for run in status["backfills"]}
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    for body in ({"since": "yesterday"}, {"since": tomorrow}, {}, {"since": "2026-01-01", "until": "2026-02-01"}):
        refused = operator.post(url, json=body, timeout=30)
        assert refused.status_code == 400, (body, refused.text)
        assert set(refused.json()["error"]["details"]) == ({"until"} if "until" in body else {"since"}), body


def test_the_reconciliation_names_what_the_platform_does_not_hold(module_gateway, seeded, operator):
    answer = operator.get(f"{module_gateway}/api/v1/sync/reconciliation",
                          params={"custodian": CUSTODIAN, "type": "HSDA00.01"}, timeout=30)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert not report["consistent"]
    [group] = [g for g in report["groups"] if (g["custodian"], g["type_code"]) == (CUSTODIAN, "HSDA00.01")]
    assert seeded["registration"] in group["missing_on_platform"]
    assert {g["type_code"] for g in report["groups"]} == {"HSDA00.01"}


@pytest.mark.parametrize("url,params,field", [
    ("/api/v1/sync/documents", {"state": "lost"}, "state"),
    ("/api/v1/sync/documents", {"type": "hypertension"}, "type"),
    ("/api/v1/sync/documents", {"archive_no": "123"}, "archive_no"),
    ("/api/v1/sync/documents", {"limit": "0"}, "limit"),
    ("/api/v1/sync/reconciliation", {"custodian": "T-1"}, "custodian"),
    ("/api/v1/sync/reconciliation", {"type": "HSDX00.01"}, "type"),
])
def test_a_bad_filter_is_400_naming_the_field(module_gateway, operator, url, params, field):
    answer = operator.get(module_gateway + url, params=params, timeout=30)
    assert answer.status_code == 400, answer.text
    assert set(answer.json()["error"]["details"]) == {field}


def test_a_supervisor_reads_the_counts_only_and_a_doctor_nothing(module_gateway, seeded, auth):
    supervisor = auth.session_for("supervisor", OPERATOR_INSTITUTION)
    status = supervisor.get(f"{module_gateway}/api/v1/sync/status", timeout=30)
    assert status.status_code == 200, status.text
    oldest = status.json()["oldest_unacknowledged"]
    assert oldest["state"] == "held" and oldest["type_code"] == "HSDA00.01"
    assert not {"document_id", "set_id", "archive_no", "record_id", "custodian"} & set(oldest)
    assert seeded["b"] not in status.text
    assert supervisor.get(f"{module_gateway}/api/v1/sync/documents", timeout=30).status_code == 403

    doctor = auth.session_for("township_doctor", "T1101051011")
    for method, path, body in (("GET", "/api/v1/sync/status", None), ("GET", "/api/v1/sync/documents", None),
                               ("POST", f"/api/v1/sync/documents/{seeded['rejected']}/resend", None),
                               ("POST", "/api/v1/sync/backfill", {"since": "2026-01-01"}),
                               ("GET", "/api/v1/sync/reconciliation", None)):
        answer = doctor.request(method, module_gateway + path, json=body, timeout=30)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["error"]["code"] == "forbidden"
