"""The sync service's plain rules: the pause after a failure (exponential, jittered, capped), a
document held after the configured number of failures, the platform's answers mapped to outcomes
(`HttpPlatformClient` over a fake HTTP transport), the builders' type table read in either shape,
the sync key's proof, and the settings refused with the variable named."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import http.client
import socket
import ssl

import pytest

from services.sync import building, queue
from services.sync.models import Document
from services.sync.platform import Accepted, Deferred, HttpPlatformClient, Rejected, TransportFailure
from services.sync.settings import PlatformSettings
from services.sync.transport import Response
from shared.config import ConfigError, generate_key
from shared.signing import Refused, check_document_identity_proof, document_identity_proof

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("attempts, ceiling", [(1, 2), (2, 4), (3, 8), (9, 512), (10, 600), (40, 600)])
def test_the_pause_doubles_with_each_failure_up_to_ten_minutes_jittered_between_half_and_all(attempts, ceiling):
    assert queue.backoff(attempts, rng=lambda: 1.0) == timedelta(seconds=ceiling)
    assert queue.backoff(attempts, rng=lambda: 0.0) == timedelta(seconds=ceiling / 2)


def test_jitter_spreads_the_retries_of_many_documents():
    import random

    rng = random.Random(7)
    pauses = {queue.backoff(4, rng=rng.random) for _ in range(50)}
    assert len(pauses) > 40 and all(timedelta(seconds=8) <= p <= timedelta(seconds=16) for p in pauses)


def test_a_failure_counts_and_waits_and_the_last_allowed_one_holds_the_document():
    row = Document(attempts=0, state=queue.QUEUED, next_attempt_at=NOW)
    queue.after_failure(row, "HTTP 503", NOW, max_attempts=3, rng=lambda: 1.0)
    assert (row.state, row.attempts, row.next_attempt_at, row.last_error) == (
        queue.FAILED, 1, NOW + timedelta(seconds=2), "HTTP 503")
    queue.after_failure(row, "ConnectTimeout", NOW, max_attempts=3, rng=lambda: 1.0)
    assert (row.state, row.next_attempt_at) == (queue.FAILED, NOW + timedelta(seconds=4))
    queue.after_failure(row, "ConnectTimeout", NOW, max_attempts=3, rng=lambda: 1.0)
    assert (row.state, row.attempts) == (queue.HELD, 3)


def test_a_deferral_leaves_the_document_sent_and_due_again():
    row = Document(attempts=0, state=queue.QUEUED, next_attempt_at=NOW)
    queue.after_failure(row, "deferred: patient_not_registered", NOW, 5, rng=lambda: 0.0, state=queue.SENT)
    assert (row.state, row.next_attempt_at) == (queue.SENT, NOW + timedelta(seconds=1))


def test_document_ids_follow_the_builders_model():
    from services.sync.documents.model import DocumentInput

    assert queue.document_id("record:8f3e", 2) == "record:8f3e:v2" == DocumentInput.document_id.fget(
        SimpleNamespace(set_id="record:8f3e", version=2))


# -- the HTTP client -------------------------------------------------------------------------------


class FakeTransport:
    def __init__(self, status=201, body=None, raises=None):
        self.status, self.body, self.raises = status, body, raises
        self.calls = []

    def request(self, method, path, body=None, headers=None, params=None):
        self.calls.append((method, path, headers, dict(params) if params else params))
        if self.raises:
            raise self.raises
        return self._response()

    def _response(self):
        body = self.body
        raw = json.dumps(body).encode() if isinstance(body, (dict, list)) else str(body or "").encode()
        return Response(self.status, raw)


def client(transport, **settings):
    return HttpPlatformClient(PlatformSettings(url="https://platform.example.org/", token="s3cret", timeout=7,
                                               **settings), transport=transport)


def submit(session):
    return client(session).submit("record:1:v2", "HSDB04.01", b"<x/>", "application/hl7-cda+xml",
                                  replaces="record:1:v1")


def test_an_acceptance_carries_the_platform_id_and_the_request_its_headers_and_token():
    transport = FakeTransport(201, {"status": "accepted", "document_id": "record:1:v2", "platform_id": "P-9"})
    assert submit(transport) == Accepted("P-9", None)
    method, path, headers, params = transport.calls[0]
    assert (method, path, params) == ("POST", "/api/documents", None)
    assert headers == {"Content-Type": "application/hl7-cda+xml", "X-Document-Id": "record:1:v2",
                       "X-Document-Type": "HSDB04.01", "X-Replaces": "record:1:v1", "Authorization": "Bearer s3cret"}


def test_the_client_of_the_settings_verifies_tls_with_the_configured_ca_bundle_and_times_out(monkeypatch):
    asked = []
    monkeypatch.setattr(ssl, "create_default_context", lambda cafile=None: asked.append(cafile) or "context")
    made = HttpPlatformClient(PlatformSettings(url="https://platform.example.org/base/", token="t", timeout=7,
                                               ca_file="/etc/ehr/platform-ca.pem"))
    assert asked == ["/etc/ehr/platform-ca.pem"] and made.transport.context == "context"
    assert (made.transport.host, made.transport.port, made.transport.base_path, made.transport.timeout) == (
        "platform.example.org", None, "/base", 7)


@pytest.mark.parametrize("status, body, expected", [
    (200, {"status": "accepted", "platform_id": "P-9"}, Accepted("P-9")),
    (422, {"status": "rejected", "reasons": [{"code": "missing_element", "message": "m", "path": "/p", "x": 1}]},
     Rejected([{"code": "missing_element", "message": "m", "path": "/p"}])),
    (400, "oops", Rejected([{"code": "rejected", "message": "HTTP 400"}])),
    (413, None, Rejected([{"code": "too_large", "message": "the platform refused the document's size"}])),
    (409, {"status": "deferred", "reasons": [{"code": "patient_not_registered", "message": "m"}]},
     Deferred([{"code": "patient_not_registered", "message": "m"}])),
    (500, None, TransportFailure("HTTP 500")),
    (503, None, TransportFailure("HTTP 503")),
    (401, {"status": "unauthorized"}, TransportFailure("HTTP 401")),
    (201, "not json", TransportFailure("HTTP 201: not JSON")),
    (201, {"status": "rejected"}, TransportFailure("HTTP 201: not an acceptance")),
])
def test_each_answer_of_the_platform_maps_to_one_outcome(status, body, expected):
    assert submit(FakeTransport(status, body)) == expected


@pytest.mark.parametrize("error", [TimeoutError(), socket.timeout(), ConnectionRefusedError(),
                                   http.client.RemoteDisconnected(), http.client.BadStatusLine("x")])
def test_timeouts_and_refused_connections_are_transport_failures_named_by_type(error):
    assert submit(FakeTransport(raises=error)) == TransportFailure(type(error).__name__)


def test_the_accepted_listing_follows_the_cursor():
    pages = iter([{"items": [{"document_id": "a"}], "next": "c1"}, {"items": [{"document_id": "b"}], "next": None}])
    transport = FakeTransport()
    transport._response = lambda: Response(200, json.dumps(next(pages)).encode())
    items = list(client(transport).accepted(custodian="T1101051011", type_code="HSDC00.01"))
    assert [i["document_id"] for i in items] == ["a", "b"]
    assert transport.calls[0][3] == {"limit": 500, "custodian": "T1101051011", "type": "HSDC00.01"}
    assert transport.calls[1][3]["after"] == "c1"


# -- the builders' table ----------------------------------------------------------------------------


def test_the_builders_say_which_documents_a_source_makes(monkeypatch):
    assert building.document_types("hypertension_follow_up") == ["HSDB04.01"]
    assert building.document_types("hospital_encounter", {"kind": "outpatient"}) == ["HSDC00.02"]
    assert building.document_types("hospital_encounter", {"kind": "lab_result"}) == []
    assert building.document_types("elderly_tcm") == []
    # an older builder with document_type_for only
    monkeypatch.setattr(building, "_module", lambda name: SimpleNamespace(document_type_for=lambda s, c: None))
    assert building.document_types("visit") == []


def test_without_the_builders_building_waits(monkeypatch):
    def missing(name):
        raise building.BuilderUnavailable(name)

    monkeypatch.setattr(building, "_module", missing)
    with pytest.raises(building.BuilderUnavailable):
        building.document_types("hypertension_follow_up")
    with pytest.raises(building.BuilderUnavailable):
        building.build(None, "cda")


# -- the sync key's proof, the settings ------------------------------------------------------------------


def test_only_a_proof_made_with_the_sync_key_for_that_archive_within_the_window_is_accepted():
    key, other = base64.b64decode(generate_key()), base64.b64decode(generate_key())
    proof = document_identity_proof(key, "11010500300100001", now=1_000_000.0)
    check_document_identity_proof(key, "11010500300100001", proof, now=1_000_100.0)
    for args, reason in [((other, "11010500300100001", proof, 1_000_100.0), "does not match"),
                         ((key, "11010500300100002", proof, 1_000_100.0), "does not match"),
                         ((key, "11010500300100001", proof, 1_000_400.0), "time window"),
                         ((key, "11010500300100001", {}, 1_000_100.0), "missing"),
                         ((None, "11010500300100001", proof, 1_000_100.0), "no EHR_SYNC_KEY")]:
        with pytest.raises(Refused, match=reason):
            check_document_identity_proof(*args[:3], now=args[3])


def test_platform_settings_default_and_refuse_with_the_variable_named(tmp_path):
    token = tmp_path / "token"
    token.write_text("t0ken\n")
    settings = PlatformSettings.from_environment({"EHR_PLATFORM_TOKEN_FILE": str(token)})
    assert (settings.url, settings.token, settings.format, settings.timeout, settings.max_attempts) == (
        "http://127.0.0.1:8090", "t0ken", "cda", 10.0, 8)
    assert "t0ken" not in repr(settings)
    for env, variable in [({"EHR_PLATFORM_FORMAT": "hl7v2"}, "EHR_PLATFORM_FORMAT"),
                          ({"EHR_PLATFORM_URL": "ftp://x"}, "EHR_PLATFORM_URL"),
                          ({"EHR_SYNC_MAX_ATTEMPTS": "0"}, "EHR_SYNC_MAX_ATTEMPTS"),
                          ({"EHR_PLATFORM_TIMEOUT": "soon"}, "EHR_PLATFORM_TIMEOUT")]:
        with pytest.raises(ConfigError, match=variable):
            PlatformSettings.from_environment(env)


# -- the sender's batch of facts -----------------------------------------------------------------------


def test_a_batch_of_facts_takes_three_calls_and_says_what_leads_nowhere():
    from services.sync import facts
    from services.sync.documents.model import DocumentInput
    from shared.errors import NotFound

    archive = {"archive_no": "11010500300100001", "name": "张三", "sex": "1", "birth_date": "1950-06-15",
               "institution_code": "C1101050031", "archive_date": "2024-03-01"}
    identity = {"archive": archive, "identity": {"id_type": "01", "id_number": None}, "institution_name": "中心"}
    record = {"record_id": "r1", "record_type": "hypertension_follow_up", "institution_code": "C1101050031",
              "occurred_at": "2024-05-20T02:00:00+00:00",
              "revisions": [{"revision": 1, "content": {"a": 1}}, {"revision": 2, "content": {"a": 2}}]}
    rows = [Document(id=1, set_id="archive:11010500300100001", version=1, type_code="HSDA00.01", source="archive",
                     archive_no="11010500300100001"),
            Document(id=2, set_id="record:r1", version=2, type_code="HSDB04.01", source="hypertension_follow_up",
                     archive_no="11010500300100001", record_id="r1", revision=1, replaces="record:r1:v1"),
            Document(id=3, set_id="record:r9", version=1, type_code="HSDB04.01", source="hypertension_follow_up",
                     archive_no="11010500300100001", record_id="r9", revision=1),
            Document(id=4, set_id="archive:11010500300199999", version=1, type_code="HSDA00.01", source="archive",
                     archive_no="11010500300199999")]
    calls = []

    def identities(numbers):
        calls.append(("identities", numbers))
        return {"identities": {"11010500300100001": identity}, "missing": ["11010500300199999"]}

    def records(ids):
        calls.append(("records", ids))
        return {"records": [record], "missing": ["r9"]}

    def personal_infos(numbers):
        calls.append(("personal_infos", numbers))
        return {"11010500300100001": {"marital_status": "2"}}

    out = facts.gather_batch(rows, identities, records, personal_infos)
    assert calls == [("identities", ["11010500300100001", "11010500300199999"]), ("records", ["r1", "r9"]),
                     ("personal_infos", ["11010500300100001", "11010500300199999"])]
    assert isinstance(out[1], DocumentInput) and out[1].content["personal_info"] == {"marital_status": "2"}
    assert out[1].content["name"] == "张三" and "personal_info" not in archive  # the answer is not changed
    assert out[2].content == {"a": 1} and out[2].replaces == "record:r1:v1"  # the revision queued
    assert isinstance(out[3], NotFound) and isinstance(out[4], NotFound)


def test_a_merged_archives_registration_takes_the_survivors_personal_info_asked_once_more():
    from services.sync import facts

    survivor = {"archive_no": "11010500300100002", "name": "张三", "sex": "1", "birth_date": "1950-06-15",
                "institution_code": "C1101050031", "archive_date": "2024-03-01"}
    identity = {"archive": survivor, "identity": {"id_type": "01", "id_number": None}}
    row = Document(id=1, set_id="archive:11010500300100001", version=2, type_code="HSDA00.01", source="archive",
                   archive_no="11010500300100001")
    asked = []

    def personal_infos(numbers):
        asked.append(numbers)
        return {"11010500300100002": {"marital_status": "1"}} if numbers == ["11010500300100002"] else {}

    out = facts.gather_batch([row], lambda numbers: {"identities": {"11010500300100001": identity}},
                             lambda ids: {"records": []}, personal_infos,
                             at_once=lambda *calls: [call() for call in reversed(calls)][::-1])
    assert asked == [["11010500300100001"], ["11010500300100002"]]
    assert out[1].content["personal_info"] == {"marital_status": "1"}
