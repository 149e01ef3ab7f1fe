"""The service key's signatures (shared.signing): a call's signature holds only for that call, by
that acting user, within its time window; an event's only for its exchange, routing key, id and
body. Each refusal names the check, never the content."""

import json
import os
import time
from types import SimpleNamespace

import pytest

from shared.delivery import Delivery
from shared.signing import (
    CALL_WINDOW,
    EVENT_SIGNATURE,
    Refused,
    call_headers,
    check_call,
    check_event,
    event_signature,
)

KEY, OTHER_KEY = os.urandom(32), os.urandom(32)
ACTOR = {"nameko.ehr.user": "doc01", "nameko.ehr.institution": "T1101051011", "nameko.ehr.role": "archive_manager",
         "nameko.ehr.request_id": "r-1"}
BODY = json.dumps({"args": ["11010510110100001"], "kwargs": {}}).encode()


def request(headers, target="registry.get_archive", correlation_id="c-1", body=BODY, encoded=False):
    """A received RPC request as kombu hands it over (py-amqp decodes a body with an encoding)."""
    return SimpleNamespace(headers=headers, body=body.decode() if encoded else body, content_encoding="utf-8",
                           delivery_info={"routing_key": target}, properties={"correlation_id": correlation_id})


def signed(key=KEY, actor=ACTOR, target="registry.get_archive", correlation_id="c-1", body=BODY, now=None):
    return {**actor, **call_headers(key, actor, target, correlation_id, body, now=now)}


def test_a_call_signed_with_the_service_key_passes_also_with_its_body_decoded():
    check_call(KEY, request(signed()))
    check_call(KEY, request(signed(), encoded=True))
    check_call(KEY, request(signed(actor={}), encoded=True))   # no acting user: system, signed all the same


@pytest.mark.parametrize("received,reason", [
    (lambda: request(ACTOR), "not signed"),
    (lambda: request({}), "not signed"),
    (lambda: request(signed(key=OTHER_KEY)), "does not match"),
    (lambda: request({**signed(), "nameko.ehr.role": "system_operator"}), "does not match"),
    (lambda: request({**signed(), "nameko.ehr.institution": "H3301020001"}), "does not match"),
    (lambda: request({k: v for k, v in signed().items() if k != "nameko.ehr.user"}), "does not match"),
    (lambda: request(signed(), target="registry.merge_archives"), "does not match"),
    (lambda: request(signed(), correlation_id="c-2"), "does not match"),
    (lambda: request(signed(), body=BODY.replace(b"00001", b"00002")), "does not match"),
    (lambda: request(signed(now=time.time() - CALL_WINDOW - 5)), "time window"),
    (lambda: request(signed(now=time.time() + CALL_WINDOW + 5)), "time window"),
    (lambda: request({**signed(), "nameko.ehr.signed_at": "yesterday"}), "malformed"),
], ids=["actor without signature", "nothing", "another key", "role changed", "institution changed",
        "user removed", "another method", "another call id", "other arguments", "stale", "from the future",
        "time not a number"])
def test_a_call_not_signed_for_itself_is_refused_naming_the_check(received, reason):
    # Built when the test runs, not when it is collected: a signature's time is part of the case.
    with pytest.raises(Refused, match=reason) as refusal:
        check_call(KEY, received())
    assert "doc01" not in str(refusal.value) and "11010510110100001" not in str(refusal.value)


def delivery(headers, routing_key="registry.archive_transferred", message_id="e-1", body=b'{"event_id": "e-1"}'):
    return Delivery(body, routing_key, message_id, "application/json", headers, False)


def event_headers(key=KEY, routing_key="registry.archive_transferred", message_id="e-1", body=b'{"event_id": "e-1"}',
                  exchange="ehr.events"):
    return {EVENT_SIGNATURE: event_signature(key, exchange, routing_key, message_id, body)}


def test_an_event_signed_by_the_outbox_passes():
    check_event(KEY, "ehr.events", delivery(event_headers()))


@pytest.mark.parametrize("received,reason", [
    (delivery({}), "not signed"),
    (delivery(event_headers(key=OTHER_KEY)), "does not match"),
    (delivery(event_headers(exchange="ehr.archive-updates")), "does not match"),
    (delivery(event_headers(), routing_key="registry.archives_merged"), "does not match"),
    (delivery(event_headers(), message_id="e-2"), "does not match"),
    (delivery(event_headers(), body=b'{"event_id": "e-2"}'), "does not match"),
], ids=["unsigned", "another key", "signed for another exchange", "another routing key", "another message id",
        "another body"])
def test_an_event_not_signed_for_itself_is_refused(received, reason):
    with pytest.raises(Refused, match=reason):
        check_event(KEY, "ehr.events", received)
