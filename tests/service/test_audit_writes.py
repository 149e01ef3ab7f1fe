"""The gateway writes the audit entry of a write before the write (outcome `attempt`), and does
not do a write whose entry it cannot write; it logs the chain's head, outside the database."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from ehr.synthetic import Synthesizer
from services.gateway import audit
from services.records.service import RecordsService
from services.registry.service import RegistryService
from shared.config import load_settings
from shared.db import make_engine
from tests.support.db import query

VILLAGE = "110105101102"
MANAGER = "T1101051011"


@pytest.fixture
def api(gateway_url):
    return gateway_url(RegistryService, RecordsService)


@pytest.fixture
def staff(auth):
    return auth.session_for("township_doctor", MANAGER)


def _entries(request_id: str) -> list:
    return query("gateway", "SELECT * FROM audit_entries WHERE request_id = :r ORDER BY seq", r=request_id)


def test_a_write_leaves_an_attempt_entry_before_it_and_its_outcome_after(api, staff):
    resident = Synthesizer().resident(VILLAGE, MANAGER)
    created = staff.post(f"{api}/api/v1/archives", json=resident.archive_request())
    assert created.status_code == 201
    attempt, outcome = _entries(created.headers["X-Request-Id"])
    assert (attempt.action, attempt.outcome, attempt.status) == ("archive.create", "attempt", 0)
    assert (outcome.action, outcome.outcome, outcome.status) == ("archive.create", "ok", 201)
    assert outcome.archive_no == created.json()["archive_no"] and attempt.seq < outcome.seq
    read = staff.get(f"{api}/api/v1/archives/{outcome.archive_no}")
    assert read.status_code == 200 and [e.outcome for e in _entries(read.headers["X-Request-Id"])] == ["ok"]


def test_a_write_whose_entry_cannot_be_written_is_not_done_and_answers_503(api, staff):
    settings = load_settings()
    role = f"{settings.database_name('gateway')}_app"
    owner = make_engine(settings.database_url_for("gateway"), pool_size=1)
    archives = "SELECT count(*) AS n FROM archives"
    before = query("registry", archives)[0].n
    resident = Synthesizer().resident(VILLAGE, MANAGER)
    try:
        with owner.begin() as conn:
            conn.execute(sa.text(f'REVOKE EXECUTE ON FUNCTION audit_reserve() FROM "{role}"'))
        resp = staff.post(f"{api}/api/v1/archives", json=resident.archive_request())
    finally:
        with owner.begin() as conn:
            conn.execute(sa.text(f'GRANT EXECUTE ON FUNCTION audit_reserve() TO "{role}"'))
        owner.dispose()
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "unavailable"
    assert query("registry", archives)[0].n == before  # the archive was not created
    assert resp.headers["X-Request-Id"] and _entries(resp.headers["X-Request-Id"]) == []
    again = staff.post(f"{api}/api/v1/archives", json=resident.archive_request())
    assert again.status_code == 201


def test_the_gateway_logs_the_chain_head_with_its_number_and_hash_only(api, staff, caplog):
    caplog.set_level(logging.INFO, logger="services.gateway.gate")
    assert staff.get(f"{api}/api/v1/villages").status_code == 200  # the first append of this gateway
    [line] = [r for r in caplog.records if r.getMessage() == "audit head"]
    seq, hash_ = audit.parse_head(f"{line.audit_seq}:{line.audit_hash}")
    [entry] = query("gateway", "SELECT hash FROM audit_entries WHERE seq = :s", s=seq)
    assert entry.hash == hash_
    extra = set(vars(line)) - set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) - {"message", "asctime"}
    assert extra == {"audit_seq", "audit_hash"}
