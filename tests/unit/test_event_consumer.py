"""The idempotent event consumer (shared.events.EventConsumer) with a fake session and a fake
processed-message table: only what the suite signed is acted on, each event once, through its
`handle_<event_type>`; what cannot be read or was forged is quarantined; other event types are
acknowledged and ignored. No broker, no database."""

from __future__ import annotations

import json
import os
import uuid

import sqlalchemy as sa

from shared.claims import processed_messages_table
from shared.delivery import Delivery
from shared.events import EventConsumer
from shared.messaging import EVENTS
from shared.signing import EVENT_SIGNATURE, event_signature

KEY = os.urandom(32)
CREATED = {"archive_no": "11010510110100007", "village_code": "110105101101", "institution_code": "T1101051011",
           "identity_keys": ["9c1f" * 16], "profile": None}
MERGED = {"merge_id": 42, "archive_no": "11010510110100003", "merged_archive_no": "11010510110100007",
          "merged_identity_keys": ["5be0" * 16]}
CLAIMS = processed_messages_table(sa.MetaData())


class FakeSession:
    """A unit of work over an in-memory processed-message table: `claim` inserts its keys through
    `connection().execute(statement, rows)` and gets back those not there before."""

    def __init__(self):
        self.claimed: set[tuple[str, str]] = set()
        self.commits = 0

    def connection(self):
        return self

    def execute(self, statement, rows):
        assert statement.table is CLAIMS
        fresh = [(r["source"], r["message_id"]) for r in rows if (r["source"], r["message_id"]) not in self.claimed]
        self.claimed.update(fresh)
        return fresh

    def commit(self):
        self.commits += 1


class Recorder(EventConsumer):
    source, queue = "registry", "test.registry-events"

    def __init__(self):
        super().__init__(CLAIMS, KEY)
        self.handled: list[tuple[str, dict]] = []
        self.held: list[tuple[str, dict]] = []

    def quarantine(self, session, items):
        self.held += [(reason, details) for _, reason, details in items]

    def handle_archive_created(self, session, event):
        self.handled.append(("archive_created", event.data))
        return 2

    def handle_archives_merged(self, session, event):
        self.handled.append(("archives_merged", event.data))
        return 1


def delivery(event_type="archive_created", data=None, key=KEY, body=None, event_id=None):
    event_id = event_id or str(uuid.uuid4())
    if body is None:
        body = json.dumps({"schema": "ehr.event/1", "event_id": event_id, "event_type": event_type,
                           "service": "registry", "occurred_at": "2026-11-26T10:00:00+00:00", "actor": {},
                           "data": CREATED if data is None else data}).encode()
    routing_key = f"registry.{event_type}"
    headers = {EVENT_SIGNATURE: event_signature(key, EVENTS, routing_key, event_id, body)} if key else {}
    return Delivery(body, routing_key, event_id, "application/json", headers, False)


def test_each_event_is_handled_by_its_handle_method_and_the_batch_commits_once():
    consumer, session = Recorder(), FakeSession()
    changed = consumer.consume(session, [delivery("archive_created", CREATED), delivery("archives_merged", MERGED)])
    assert consumer.handled == [("archive_created", CREATED), ("archives_merged", MERGED)]
    assert changed == 3
    assert session.commits == 1


def test_a_repeated_event_is_handled_once_also_in_a_later_batch():
    consumer, session = Recorder(), FakeSession()
    first = delivery()
    again = Delivery(first.body, first.routing_key, first.message_id, first.content_type, first.headers, True)
    assert consumer.consume(session, [first, again]) == 2
    assert consumer.consume(session, [again]) == 0
    assert len(consumer.handled) == 1
    assert session.claimed == {("registry", first.message_id)}


def test_an_event_type_without_a_handler_is_claimed_and_ignored():
    consumer, session = Recorder(), FakeSession()
    ignored = delivery("archive_sealed", {"archive_no": "11010510110100007"})  # a later event type
    assert consumer.consume(session, [ignored]) == 0
    assert consumer.handled == [] and consumer.held == []
    assert session.claimed == {("registry", ignored.message_id)}


def test_an_event_type_cannot_reach_a_method_that_is_not_a_handler():
    consumer, session = Recorder(), FakeSession()
    assert consumer.consume(session, [delivery("archive_created.x"), delivery("../archive_created"),
                                      delivery("ARCHIVE_CREATED")]) == 0
    assert consumer.handled == []


def test_an_unsigned_or_forged_event_is_quarantined_as_unauthenticated_and_not_claimed():
    consumer, session = Recorder(), FakeSession()
    consumer.consume(session, [delivery(key=None), delivery(key=os.urandom(32))])
    assert [reason for reason, _ in consumer.held] == ["unauthenticated", "unauthenticated"]
    assert consumer.held[0][1] == {"_signature": ["event not signed with the service key."]}
    assert consumer.held[1][1] == {"_signature": ["event signature does not match."]}
    assert consumer.handled == [] and session.claimed == set()
    assert session.commits == 1


def test_a_signed_body_that_is_not_an_event_is_quarantined_as_schema_invalid():
    consumer, session = Recorder(), FakeSession()
    consumer.consume(session, [delivery(body=b"not json"), delivery(body=b'{"event_id": "e-1"}'),
                               delivery(body=b"[1, 2]")])
    assert [reason for reason, _ in consumer.held] == ["schema_invalid"] * 3
    assert all(details["_body"] for _, details in consumer.held)
    assert consumer.handled == [] and session.claimed == set()


class Batching(Recorder):
    """A consumer that applies runs of `archive_created` together."""

    def __init__(self):
        super().__init__()
        self.runs: list[list[str]] = []
        self.claim_statements = 0

    def batch_archive_created(self, session, events):
        self.runs.append([e.data["archive_no"] for e in events])
        return len(events)


class CountingSession(FakeSession):
    def __init__(self):
        super().__init__()
        self.statements = 0

    def execute(self, statement, rows):
        self.statements += 1
        return super().execute(statement, rows)


def created(archive_no):
    return delivery("archive_created", {**CREATED, "archive_no": archive_no})


def test_the_ids_of_a_batch_are_claimed_in_one_statement_and_a_repeat_within_it_is_handled_once():
    consumer, session = Recorder(), CountingSession()
    first, second = delivery(), delivery("archives_merged", MERGED)
    again = Delivery(first.body, first.routing_key, first.message_id, first.content_type, first.headers, True)
    assert consumer.consume(session, [first, second, again]) == 3
    assert session.statements == 1
    assert [kind for kind, _ in consumer.handled] == ["archive_created", "archives_merged"]


def test_a_run_of_one_type_goes_to_its_batch_handler_together_and_other_events_keep_their_place():
    consumer, session = Batching(), FakeSession()
    a, b, c, d = "11010510110100001", "11010510110100002", "11010510110100003", "11010510110100004"
    changed = consumer.consume(session, [created(a), created(b), delivery("archives_merged", MERGED),
                                         created(c), delivery(body=b"not json"), created(d)])
    # the merge ends the first run and is handled between the two runs; the unreadable body, held
    # apart, does not cut the second
    assert consumer.runs == [[a, b], [c, d]]
    assert consumer.handled == [("archives_merged", MERGED)]
    assert [reason for reason, _ in consumer.held] == ["schema_invalid"]
    assert changed == 2 + 1 + 2 and session.commits == 1


def test_a_batch_handler_is_never_reached_as_a_single_events_handler():
    consumer, session = Batching(), FakeSession()
    sneaky = delivery("batch_archive_created", {"archive_no": "11010510110100001"})
    assert consumer.consume(session, [sneaky]) == 0
    # nor does one reach a method of the base whose name would fit (run_handler_for, handler_for)
    assert not [name for name in dir(EventConsumer) if name.startswith(("handle_", "batch_"))]
    assert consumer.handler_for("batch_archive_created") is None
    assert consumer.runs == [] and consumer.handled == []
    assert session.claimed == {("registry", sneaky.message_id)}  # claimed and ignored, as any unknown type
