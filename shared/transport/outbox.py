"""The outbox's publishing side: a relay that publishes each service's staged messages (see
`shared.outbox` for the table and `stage`) with publisher confirms, signed with the service key.

    class RegistryService:
        outbox = OutboxRelay("registry")   # workers get a wake() callable
"""

from __future__ import annotations

import logging
import time

import amqp
import eventlet
import sqlalchemy as sa
from kombu import Connection
from nameko.extensions import DependencyProvider
from sqlalchemy import MetaData

from shared.config import load_settings
from shared.db import TRANSIENT_DB_ERRORS, make_engine
from shared.outbox import outbox_table
from shared.signing import EVENT_SIGNATURE, event_signature
from shared.transport.providers import make_cooperative

log = logging.getLogger(__name__)


class PublishNotConfirmed(RuntimeError):
    pass


class ConfirmedPublisher:
    """Publishes a window of messages, each signed with the service key, and waits once for all
    the broker's confirms.

    The broker confirms in any order: a message no queue takes (an event nobody binds yet) is
    confirmed at once, one routed to a queue when the queue has it, and an ack may cover every
    tag up to its own (`multiple`). So each tag is struck off the window's unconfirmed set as it
    is confirmed; counting acks would take an early single ack followed by a `multiple` one that
    covers it for one message too few, and wait for a confirm that never comes.
    """

    def __init__(self, amqp_uri: str, service_key: bytes, confirm_timeout: float = 10.0) -> None:
        self.amqp_uri = amqp_uri
        self.service_key = service_key
        self.confirm_timeout = confirm_timeout
        self._conn: Connection | None = None
        self._channel = None
        self._unconfirmed: set[int] = set()
        self._nacked = 0
        self._declared: set[str] = set()

    def _open(self):
        if self._conn is None:
            self._conn = Connection(self.amqp_uri, heartbeat=0)
            self._conn.connect()
            self._channel = self._conn.default_channel
            self._channel.confirm_select()
            self._channel.events["basic_ack"].add(self._on_ack)
            self._channel.events["basic_nack"].add(self._on_nack)
            self._next_tag = 1
            self._declared = set()
        return self._channel

    def _on_ack(self, delivery_tag, multiple):
        if multiple:
            self._unconfirmed = {tag for tag in self._unconfirmed if tag > delivery_tag}
        else:
            self._unconfirmed.discard(delivery_tag)

    def _on_nack(self, delivery_tag, multiple):
        self._nacked += 1

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.release()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
        self._conn = self._channel = None

    def abandon(self) -> None:
        """Drop the connection without the closing handshake (the process is being killed)."""
        if self._conn is not None:
            self._conn.collect()
        self._conn = self._channel = None

    def publish(self, rows) -> None:
        """Publish every row; returns once all are confirmed, raises if any was not."""
        try:
            channel = self._open()
            self._unconfirmed, self._nacked = set(), 0
            for row in rows:
                if row.exchange not in self._declared:
                    channel.exchange_declare(row.exchange, "topic", durable=True, auto_delete=False)
                    self._declared.add(row.exchange)
                body = row.body.encode() if isinstance(row.body, str) else row.body
                headers = {**(row.headers or {}), EVENT_SIGNATURE: event_signature(
                    self.service_key, row.exchange, row.routing_key, row.message_id, body)}
                message = amqp.Message(
                    body,
                    content_type="application/json",
                    content_encoding="utf-8",
                    delivery_mode=2,
                    message_id=row.message_id,
                    timestamp=int(time.time()),
                    user_id=self._conn.userid,  # the internal account, vouched for by the broker
                    application_headers=headers,
                )
                self._unconfirmed.add(self._next_tag)
                channel.basic_publish(message, exchange=row.exchange, routing_key=row.routing_key)
                self._next_tag += 1
            deadline = time.monotonic() + self.confirm_timeout
            while self._unconfirmed and not self._nacked:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PublishNotConfirmed("broker did not confirm in time")
                self._conn.drain_events(timeout=remaining)
            if self._nacked:
                raise PublishNotConfirmed("broker refused a message")
        except BaseException:
            self.close()
            raise


class OutboxRelay(DependencyProvider):
    """Publishes a service's outbox in the background; workers get a `wake()` callable."""

    def __init__(self, service: str, batch_size: int = 500, poll_interval: float = 1.0) -> None:
        self.service = service
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._wakeup = eventlet.event.Event()
        self._running = False
        self._thread = None

    def setup(self) -> None:
        settings = load_settings()
        make_cooperative()
        self.engine = make_engine(settings.service_url_for(self.service), pool_size=1, max_overflow=0)
        self.table = outbox_table(MetaData())
        self.publisher = ConfirmedPublisher(settings.amqp_uri, settings.require_service_key())

    def start(self) -> None:
        self._running = True
        self._thread = self.container.spawn_managed_thread(
            self._run, identifier=f"{self.service}.outbox-relay")

    def stop(self) -> None:
        """Finish the window in hand, then close the connection cleanly."""
        self._running = False
        self.wake()
        if self._thread is not None:
            self._thread.wait()

    def kill(self) -> None:
        self._running = False
        self.publisher.abandon()

    def get_dependency(self, worker_ctx):
        return self.wake

    def wake(self) -> None:
        if not self._wakeup.ready():
            self._wakeup.send(True)

    def _pause(self, seconds: float) -> None:
        with eventlet.Timeout(seconds, False):
            self._wakeup.wait()
        self._wakeup = eventlet.event.Event()

    def _run(self) -> None:
        failures = 0
        try:
            while self._running:
                try:
                    while self._running and self.relay_once():
                        pass
                    failures, pause = 0, self.poll_interval
                except (*TRANSIENT_DB_ERRORS, PublishNotConfirmed, OSError, amqp.exceptions.AMQPError) as exc:
                    failures += 1
                    pause = min(30.0, 0.5 * 2 ** failures)
                    log.warning("outbox relay paused", extra={
                        "service": self.service, "error": type(exc).__name__, "retry_in": pause})
                self._pause(pause)
        finally:
            self.publisher.close()
            self.engine.dispose()

    def relay_once(self) -> int:
        """Publish one window of pending rows; returns how many were published."""
        t = self.table
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.select(t.c.id, t.c.message_id, t.c.exchange, t.c.routing_key, t.c.body, t.c.headers)
                .order_by(t.c.id).limit(self.batch_size).with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return 0
            self.publisher.publish(rows)
            conn.execute(t.delete().where(t.c.id.in_([r.id for r in rows])))
        return len(rows)
