"""A record entered in error, in the sync service's plain parts: the platform client's withdrawal
(`DELETE /api/documents/{id}` with its reason, each answer mapped to one outcome), the sender
(a withdrawal needs no facts, names its set's latest acknowledged version, is acknowledged when
withdrawn or when the platform had nothing, retried after a transport failure, cancelled without
a request when nothing was acknowledged), and the states and actions the contracts, the CLI and
the web page offer."""

from __future__ import annotations

import http.client
import socket
from datetime import datetime, timedelta, timezone

import pytest

from services.sync import queue, sending
from services.sync.models import Document
from services.sync.platform import Accepted, Rejected, TransportFailure, Withdrawn
from tests.unit.test_sync_rules import FakeTransport, client

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)


def withdraw(transport):
    return client(transport).withdraw("record:8f3e:HSDB04.02:v2", "entered_in_error")


def test_a_withdrawal_is_a_delete_of_the_document_with_its_reason_and_the_token():
    transport = FakeTransport(200, {"status": "withdrawn", "document_id": "record:8f3e:HSDB04.02:v2",
                                    "platform_id": "P-9", "withdrawn_at": "2026-12-01T02:00:00.000+00:00"})
    assert withdraw(transport) == Withdrawn("P-9", "2026-12-01T02:00:00.000+00:00")
    method, path, headers, params = transport.calls[0]
    assert (method, path, params) == ("DELETE", "/api/documents/record:8f3e:HSDB04.02:v2", None)
    assert headers == {"X-Reason": "entered_in_error", "Authorization": "Bearer s3cret"}


@pytest.mark.parametrize("status, body, expected", [
    (404, {"status": "unknown", "document_id": "record:8f3e:HSDB04.02:v2"}, Withdrawn(unknown=True)),
    (404, {"error": "not_found"}, TransportFailure("HTTP 404: not a withdrawal")),  # no such route
    (404, "<html>", TransportFailure("HTTP 404: not JSON")),
    (200, {"status": "accepted", "platform_id": "P-9"}, TransportFailure("HTTP 200: not a withdrawal")),
    (405, {"error": "method_not_allowed"}, TransportFailure("HTTP 405")),
    (400, {"status": "rejected", "reasons": [{"code": "missing_header", "message": "m", "path": "X-Reason"}]},
     Rejected([{"code": "missing_header", "message": "m", "path": "X-Reason"}])),
    (401, None, TransportFailure("HTTP 401")),
    (503, None, TransportFailure("HTTP 503")),
])
def test_each_answer_to_a_withdrawal_maps_to_one_outcome(status, body, expected):
    assert withdraw(FakeTransport(status, body)) == expected


@pytest.mark.parametrize("error", [TimeoutError(), socket.timeout(), ConnectionRefusedError(),
                                   http.client.RemoteDisconnected()])
def test_a_withdrawal_that_does_not_arrive_is_a_transport_failure(error):
    assert withdraw(FakeTransport(raises=error)) == TransportFailure(type(error).__name__)


# -- the sender -------------------------------------------------------------------------------------


def row(id_, set_id, version, action=queue.SUBMIT, **kw):
    return Document(id=id_, set_id=set_id, version=version, action=action, type_code="HSDB04.01",
                    source="hypertension_follow_up", archive_no=f"1101050030010000{id_}", record_id=set_id[7:],
                    state=queue.QUEUED, attempts=0, next_attempt_at=NOW, reasons=[], **kw)


class Platform:
    def __init__(self, answer=None):
        self.answer = answer or Withdrawn("P-1", "2026-12-01T02:00:00+00:00")
        self.withdrawn, self.submitted = [], []

    def withdraw(self, document_id, reason):
        self.withdrawn.append((document_id, reason))
        return self.answer

    def submit(self, document_id, type_code, body, content_type, replaces=None):
        self.submitted.append(document_id)
        return Accepted("P-2")


class Session:
    def __init__(self):
        self.commits = 0

    def commit(self):
        self.commits += 1


def send(monkeypatch, rows, platform, targets, gather=None):
    monkeypatch.setattr(queue, "claim_due", lambda session, now, limit: rows)
    monkeypatch.setattr(queue, "withdrawal_targets",
                        lambda session, withdrawals: {r.id: targets[r.set_id] for r in withdrawals
                                                      if r.set_id in targets})
    gathered = []

    def gather_batch(batch):
        gathered.append([r.id for r in batch])
        if gather:
            raise gather
        return {r.id: "facts" for r in batch}

    session = Session()
    counts = sending.send_due(session, gather_batch, lambda facts: (b"<x/>", "application/hl7-cda+xml"), platform,
                              max_attempts=3, now=NOW, rng=lambda: 1.0)
    return counts, gathered, session


def test_a_withdrawal_needs_no_facts_names_the_latest_acknowledged_version_and_is_acknowledged(monkeypatch):
    monkeypatch.setattr(sending, "prepare", lambda row, facts, build, max_attempts, now, rng: build(facts))
    submit, withdrawal = row(1, "record:a", 1), row(2, "record:b", 3, queue.WITHDRAW)
    platform = Platform()
    counts, gathered, session = send(monkeypatch, [submit, withdrawal], platform, {"record:b": "record:b:v1"})
    assert gathered == [[1]]  # the documents' facts only
    assert platform.withdrawn == [("record:b:v1", "entered_in_error")] and platform.submitted == ["record:a:v1"]
    assert (withdrawal.state, withdrawal.withdraws, withdrawal.platform_id, withdrawal.reasons) == (
        queue.ACKNOWLEDGED, "record:b:v1", "P-1", [])
    assert withdrawal.sent_at == withdrawal.answered_at == NOW
    assert counts["acknowledged"] == 2 and counts["claimed"] == 2 and session.commits == 1


def test_nothing_there_to_withdraw_is_acknowledged_with_the_reason_and_nothing_acknowledged_cancels(monkeypatch):
    gone, never = row(1, "record:a", 2, queue.WITHDRAW), row(2, "record:b", 2, queue.WITHDRAW)
    platform = Platform(Withdrawn(unknown=True))
    counts, gathered, _ = send(monkeypatch, [gone, never], platform, {"record:a": "record:a:v1"})
    assert gathered == [] and platform.withdrawn == [("record:a:v1", "entered_in_error")]
    assert (gone.state, gone.platform_id, [r["code"] for r in gone.reasons]) == (queue.ACKNOWLEDGED, None, ["unknown"])
    assert (never.state, never.sent_at) == (queue.CANCELLED, None) and "nothing acknowledged" in never.last_error
    assert (counts["acknowledged"], counts["cancelled"]) == (1, 1)


def test_a_withdrawal_that_fails_is_retried_with_backoff_and_goes_even_when_the_facts_cannot_be_gathered(
        monkeypatch):
    submit, withdrawal = row(1, "record:a", 1), row(2, "record:b", 2, queue.WITHDRAW)
    platform = Platform(TransportFailure("HTTP 503"))
    counts, _, _ = send(monkeypatch, [submit, withdrawal], platform, {"record:b": "record:b:v1"},
                        gather=RuntimeError("records down"))
    assert (withdrawal.state, withdrawal.attempts, withdrawal.next_attempt_at, withdrawal.last_error) == (
        queue.FAILED, 1, NOW + timedelta(seconds=2), "HTTP 503")
    assert (submit.state, submit.last_error) == (queue.FAILED, "gather: RuntimeError")
    assert counts["failed"] == 2 and platform.withdrawn == [("record:b:v1", "entered_in_error")]


# -- what operators are offered -----------------------------------------------------------------------


def test_the_contracts_the_cli_and_the_page_offer_the_queues_states_and_actions():
    from shared.contracts import sync as contract
    from services.gateway.web.display import SYNC_STATES
    from services.gateway.web.pages import sync as page

    assert contract.STATES == queue.STATES == page.STATES and set(SYNC_STATES) == set(queue.STATES)
    assert contract.ACTIONS == queue.ACTIONS and queue.CANCELLED in queue.SETTLED
    assert queue.CANCELLED not in queue.RESENDABLE
    assert set(sending.OUTCOMES) <= set(contract.SenderOutcomeSchema().fields)
    assert {"action", "withdraws"} <= set(contract.DocumentSchema().fields)


def test_the_reconciliation_expects_what_the_suite_withdrew_listed_withdrawn_or_not_at_all():
    from services.sync import operators

    def acknowledged(id_, set_id, version, platform_id, **kw):
        made = row(id_, set_id, version, **kw)
        made.state, made.platform_id, made.custodian = queue.ACKNOWLEDGED, platform_id, "T1101051011"
        return made

    rows = [acknowledged(1, "record:a", 1, "P-a"), acknowledged(2, "record:a", 2, None, action=queue.WITHDRAW,
                                                                withdraws="record:a:v1"),
            acknowledged(3, "record:b", 1, "P-b"), acknowledged(4, "record:b", 2, None, action=queue.WITHDRAW,
                                                                withdraws="record:b:v1"),
            acknowledged(5, "record:c", 1, "P-c"), acknowledged(6, "record:c", 2, "P-x", action=queue.WITHDRAW,
                                                                withdraws="record:c:v1"),
            acknowledged(7, "record:d", 1, "P-d"), acknowledged(8, "record:e", 1, "P-e")]
    cancelled = row(9, "record:f", 1)
    cancelled.state, cancelled.custodian = queue.CANCELLED, "T1101051011"
    listed = [{"document_id": "record:a:v1", "platform_id": "P-a", "status": "withdrawn"},  # as it should be
              # record:b:v1 is not listed: the platform answered its withdrawal `unknown`; not missing
              {"document_id": "record:c:v1", "platform_id": "P-c", "status": "accepted"},  # not withdrawn there
              {"document_id": "record:d:v1", "platform_id": "P-d", "status": "withdrawn"},  # not by the suite
              {"document_id": "record:e:v1", "platform_id": "P-e", "status": "accepted"}]
    listed = [{**item, "custodian": "T1101051011", "document_type": "HSDB04.01"} for item in listed]

    class Client:
        def accepted(self, custodian=None, type_code=None):
            return iter(listed)

    class Rows:
        def scalars(self, statement):
            return rows + [cancelled]

    report = operators.reconcile(Rows(), Client())
    [group] = report["groups"]
    assert (group["acknowledged"], group["withdrawn"], group["platform_accepted"], group["platform_withdrawn"],
            group["on_the_way"]) == (5, 3, 2, 2, 0)
    assert (group["missing_on_platform"], group["unknown_to_suite"], group["platform_id_differs"]) == ([], [], [])
    assert group["withdrawal_differs"] == ["record:c:v1", "record:d:v1"] and group["withdrawal_differs_count"] == 2
    assert report["totals"]["withdrawal_differs_count"] == 2 and report["consistent"] is False
    listed[1]["status"], listed[2]["status"] = "withdrawn", "accepted"
    assert operators.reconcile(Rows(), Client())["consistent"] is True
