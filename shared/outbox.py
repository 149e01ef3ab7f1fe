"""Transactional outbox: events are written in the same transaction as the change that caused
them, and a relay publishes them afterwards with publisher confirms.

A service adds the table to its metadata and stages messages inside its unit of work:

    outbox = outbox_table(metadata)
    ...
    stage(session, outbox, [OutboxMessage(exchange="ehr.archive-updates",
                                          routing_key="archive.110105.003.001.hospital_encounter",
                                          body={...})])
    session.commit()
    self.relay.wake()        # optional: publish now rather than at the next poll

The relay (`OutboxRelay`, a DependencyProvider running one background thread per process)
takes up to `batch_size` rows with `FOR UPDATE SKIP LOCKED`, so several processes of a
service share the work without publishing a row twice, publishes them all on a confirm-mode
channel, waits for the broker's acknowledgements as one window, and deletes the rows in the
same transaction. A crash between the broker's ack and the delete publishes those rows again:
delivery is at least once, and every message carries a stable `message_id` so consumers drop
the repeat.

Every message is signed as it is published (one HMAC with EHR_SERVICE_KEY over its exchange,
routing key, message id and body, in the header `x-ehr-signature`; see `shared.signing`), so a
consumer of `ehr.events` can tell the suite's events from a forged one. Township updates are
signed too (the same single code path, about a microsecond each); township systems cannot check
that signature and ignore it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB




def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger, sa.Identity(), primary_key=True),
        Column("message_id", String(255), nullable=False),
        Column("exchange", String(128), nullable=False),
        Column("routing_key", String(255), nullable=False),
        Column("body", Text, nullable=False),
        Column("headers", JSONB, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


@dataclass
class OutboxMessage:
    exchange: str
    routing_key: str
    body: dict[str, Any]
    message_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    headers: dict[str, Any] | None = None


def stage(session, table: Table, messages: list[OutboxMessage]) -> None:
    """Write messages to the outbox inside the caller's transaction."""
    if not messages:
        return
    session.execute(table.insert(), [
        {
            "message_id": m.message_id,
            "exchange": m.exchange,
            "routing_key": m.routing_key,
            "body": json.dumps(m.body, ensure_ascii=False, separators=(",", ":")),
            "headers": m.headers,
        }
        for m in messages
    ])
