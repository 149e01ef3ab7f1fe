"""A township system's consumer of archive updates that outlives broker restarts: `ehr subscribe`.

It binds the township's durable quorum queue to its jurisdiction on `ehr.archive-updates`, hands
each update to `on_update` and acknowledges it after that returned (a redelivered update may come
twice: apply each `update_id` once, as docs/contracts.md says). The connection sends heartbeats
(`HEARTBEAT` seconds), so a broker that went away unseen is noticed; when the connection is lost
(a broker restart, a network cut) it reconnects, backing off, and consumes again from the same
queue, where the updates kept collecting. Refusals are not retried: a wrong password at the first
connection is `Unreachable` (exit status 69), a jurisdiction outside the account's or a missing
exchange is `Refused`.

    follow("amqp://inst-T1101051011:secret@mq:5672/%2F", "township.T1101051011",
           "archive.110105.101.#", on_update=print, echo=print)
"""

from __future__ import annotations

from typing import Callable

import amqp
from kombu import Connection, Exchange, Queue
from kombu.exceptions import OperationalError
from kombu.mixins import ConsumerMixin

from ehr.unreachable import Unreachable, mask
from shared.messaging import ARCHIVE_UPDATES

HEARTBEAT = 30  # seconds; the broker closes a connection that missed two
PREFETCH = 100
# A refusal is an answer, not an outage: reconnecting would only be refused again.
FATAL = (amqp.exceptions.IrrecoverableChannelError, amqp.exceptions.IrrecoverableConnectionError)


class Refused(RuntimeError):
    """The broker refused what the subscriber asked (a binding, a queue); the broker's words."""


def updates_queue(name: str, binding_key: str) -> Queue:
    """The township's durable quorum queue, bound to `binding_key` on the suite's exchange (only
    checked for, passive: a partner may not declare it)."""
    updates = Exchange(ARCHIVE_UPDATES, type="topic", durable=True, passive=True)
    return Queue(name, exchange=updates, routing_key=binding_key, durable=True,
                 queue_arguments={"x-queue-type": "quorum"})


class Subscriber(ConsumerMixin):
    def __init__(self, connection: Connection, queue: Queue, on_update: Callable[[dict], None],
                 echo: Callable[[str], None]) -> None:
        self.connection, self.queue, self.on_update, self.echo = connection, queue, on_update, echo
        self.consuming_before = False

    def get_consumers(self, Consumer, channel):
        return [Consumer(queues=[self.queue], callbacks=[self._deliver], accept=["json"], prefetch_count=PREFETCH)]

    def _deliver(self, body: dict, message) -> None:
        self.on_update(body)
        message.ack()  # after the update was handled: an update in hand when the line broke comes again

    def on_consume_ready(self, connection, channel, consumers, **kwargs) -> None:
        again = "consuming again: " if self.consuming_before else ""
        self.echo(f"{again}bound {self.queue.name} to {self.queue.routing_key}; waiting for updates (Ctrl-C to stop)")
        self.consuming_before = True

    def on_connection_error(self, exc, interval) -> None:
        self.echo(f"the broker is unreachable ({type(exc).__name__}: {exc}); trying again in {interval:.0f} s")

    def run(self) -> None:
        """Consume until stopped, reconnecting whenever the connection is lost."""
        lost = self.connection.connection_errors + self.connection.channel_errors
        while not self.should_stop:
            try:
                for _ in self.consume(limit=None):
                    pass
            except FATAL as exc:
                raise Refused(f"the broker refused: {getattr(exc, 'reply_text', exc)}") from None
            except lost as exc:
                self.echo(f"the connection to the broker was lost ({type(exc).__name__}); reconnecting ...")


def follow(uri: str, queue: str, binding_key: str, on_update: Callable[[dict], None],
           echo: Callable[[str], None], setting: str = "--uri") -> None:
    """Consume the updates of `binding_key` from `queue` until interrupted. The first connection
    must succeed (`Unreachable`, naming `setting`, if not); later losses are reconnected."""
    connection = Connection(uri, heartbeat=HEARTBEAT)
    try:
        connection.ensure_connection(max_retries=2, interval_start=1, interval_step=1)
    except (OperationalError, *connection.connection_errors, *connection.channel_errors) as exc:
        reason = getattr(exc, "reply_text", None) or str(exc) or type(exc).__name__
        raise Unreachable(f"cannot connect to the broker at {mask(uri)} ({setting}): {reason}") from None
    try:
        Subscriber(connection, updates_queue(queue, binding_key), on_update, echo).run()
    finally:
        connection.release()
