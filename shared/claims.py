"""Idempotency claims: the ids of consumed messages, written in the transaction of their effect.

A consumer claims each message's key (its source and message id) before it acts; a key already
there means a repeat delivery, which changes nothing. The claim and the effect commit together,
so a crash between them leaves neither, and the redelivered message is processed once.

A service adds the table to its metadata (like `shared.outbox.outbox_table`) and claims inside
its unit of work:

    processed_messages = processed_messages_table(metadata)
    ...
    fresh = claim(session, processed_messages, [("registry", event_id), ("encounter:H1101050001", mid)])
        -> {("registry", event_id)}        # the second was claimed before: a repeat
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Column, DateTime, MetaData, String, Table, func
from sqlalchemy.dialects.postgresql import insert as pg_insert


def processed_messages_table(metadata: MetaData) -> Table:
    return Table(
        "processed_messages",
        metadata,
        Column("source", String(64), primary_key=True),
        Column("message_id", String(255), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


@lru_cache(maxsize=None)
def _claim_statement(table: Table):
    # Compiled once per table and run as executemany: the hot path claims a whole batch.
    return pg_insert(table).on_conflict_do_nothing().returning(table.c.source, table.c.message_id)


def claim(session, table: Table, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Record these (source, message id) keys; returns those not seen before, which this
    transaction now owns (a concurrent transaction claiming the same key waits for this one)."""
    if not keys:
        return set()
    rows = [{"source": source, "message_id": message_id} for source, message_id in keys]
    return {(source, message_id) for source, message_id in session.connection().execute(_claim_statement(table), rows)}
