"""Property-based, through the real consumer: generated hospital messages, valid and broken in
every field (the strategy of test_filing_properties), published to RabbitMQ and filed by the
records service with the real registry. Each routed message ends filed, pending or quarantined
with a known reason, exactly once; none is dead-lettered (nothing made the consumer fail); and
after every generated stream a good encounter is still filed (the consumer did not stall)."""

from __future__ import annotations

import hashlib
import json
import uuid

import amqp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.delivery import Delivery
from tests.service.test_filing_properties import INTERNAL, REASONS, RESIDENTS, deliveries, synth
from tests.support.amqp import connect, wait_until
from tests.support.db import query

HOSPITAL = "H3301020001"
RUN_HEADER = "x-test-stream"
UNIDENTIFIED_SEEN: set[str] = set()  # digests of the id-less bodies this run has sent


@pytest.fixture(scope="module")
def feed(suite_env):
    conn = connect(suite_env.amqp_uri)
    channel = conn.channel()
    channel.exchange_declare("ehr.encounters", "topic", durable=True, auto_delete=False)
    yield channel
    conn.close()


@pytest.fixture
def filing(records_and_registry, rpc):
    """The records service and the registry running, with some of the residents registered."""
    for resident in RESIDENTS[:3]:
        rpc.registry.create_archive({**resident.archive_request(), "confirm_new": True})
    # Nothing is returned: Hypothesis prints a failing example's arguments, and an RPC proxy
    # answers every attribute, including the printer's `_repr_pretty_`, with an error.


def routed(delivery: Delivery) -> bool:
    """Whether `ehr.encounters` routes the message to the records service (`encounter.#`); the
    broker drops what no queue is bound for, before the suite could see it."""
    key = delivery.routing_key
    return key.split(".")[0] == "encounter" and len(key.encode()) <= 255


def ends(message_ids: list[str]) -> dict[str, list[str]]:
    """Where each message id ended: 'filed', 'pending', or 'quarantine:<reason>' (one entry per row)."""
    found: dict[str, list[str]] = {mid: [] for mid in message_ids}
    for mid, where in query("records", """
            SELECT message_id, 'filed' FROM record_revisions WHERE message_id = ANY(:ids)
            UNION ALL SELECT message_id, 'pending' FROM pending_encounters WHERE message_id = ANY(:ids)
            UNION ALL SELECT message_id, 'quarantine:' || reason FROM quarantine WHERE message_id = ANY(:ids)""",
                            ids=message_ids):
        found[mid].append(where)
    return found


def quarantined_from(tag: str, reason: str) -> int:
    """Quarantined messages of this stream (told by their header, sealed like the body)."""
    from services.records.quarantine import headers_of
    from shared.config import load_settings
    from shared.pii import service_box

    box = service_box(load_settings(), "records")
    rows = query("records", "SELECT id, headers, headers_enc FROM quarantine WHERE reason = :r", r=reason)
    return sum(headers_of(box, row).get(RUN_HEADER) == tag for row in rows)


def good_encounter() -> bytes:
    body = synth.encounter(RESIDENTS[0], HOSPITAL, record_id=f"S-{uuid.uuid4().hex[:12]}")
    return json.dumps(body, ensure_ascii=False).encode()


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(stream=st.lists(deliveries(), min_size=30, max_size=60))
def test_every_generated_message_ends_once_and_the_consumer_never_stops(filing, feed, stream):
    tag = uuid.uuid4().hex
    sent = [d for d in stream if routed(d)]
    for d in sent:
        props = {"content_type": d.content_type, "delivery_mode": 2, "application_headers": {RUN_HEADER: tag}}
        if d.message_id is not None:
            props["message_id"] = d.message_id
        if d.user_id == INTERNAL:  # the broker refuses any other account's name on this connection
            props["user_id"] = d.user_id
        feed.basic_publish(amqp.Message(d.body, **props), exchange="ehr.encounters", routing_key=d.routing_key)
    sentinel = f"sentinel-{tag}"
    feed.basic_publish(amqp.Message(
        good_encounter(), content_type="application/json", delivery_mode=2, message_id=sentinel, user_id=INTERNAL),
        exchange="ehr.encounters", routing_key=f"encounter.{HOSPITAL}.outpatient")

    with_id = [d.message_id for d in sent if d.message_id is not None]
    # A message without an id is known by its body's digest: a second one with the same bytes is
    # the same message, kept once (in an earlier example, perhaps).
    digests = {hashlib.sha256(d.body).hexdigest() for d in sent if d.message_id is None}
    without_id = len(digests - UNIDENTIFIED_SEEN)
    UNIDENTIFIED_SEEN.update(digests)
    wait_until(lambda: all(ends(with_id).values()) and ends([sentinel])[sentinel] == ["filed"], timeout=60,
               message="every message accounted for and the sentinel filed")
    wait_until(lambda: quarantined_from(tag, "missing_message_id") == without_id, timeout=30,
               message="every message without an id quarantined")

    for mid, where in ends(with_id).items():
        assert len(where) == 1, (mid, where)                    # exactly once
        assert where[0] in ("filed", "pending") or where[0].split(":", 1)[1] in REASONS, where
    assert quarantined_from(tag, "dead_lettered") == 0
