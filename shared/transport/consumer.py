"""A batching, acknowledge-after-commit consumer entrypoint for Nameko.

Nameko's own `@consume` and `@event_handler` hand a worker one message and acknowledge it
even when the worker raised. The suite's consumers need more: they take a few hundred messages
at a time, write them in one transaction, and acknowledge only after the commit, and they must
never drop nor endlessly loop on a message. `@batch_consume` does that:

    class RecordsService:
        name = "records"

        @batch_consume(RECORDS_ENCOUNTERS, batch_size=200, max_wait=0.05)
        def file_encounters(self, deliveries: list[Delivery]):
            ...  # one transaction for the whole batch, then return

What happens after the worker returns or raises:

- returned: every message of the batch is acknowledged;
- raised a transient error (database or broker unavailable, an RPC timed out): the batch is
  kept, unacknowledged, and retried after a growing pause (0.5 s doubling to 30 s). Nothing
  is acknowledged, nothing is quarantined for that reason, and the prefetch limit stops the
  broker sending more meanwhile;
- raised anything else: the batch is split and each message retried alone, so one bad message
  cannot sink its neighbours; a message that still fails alone is rejected without requeue and
  dead-lettered (see `shared.messaging`), where the owning service quarantines it.

The worker sees `Delivery` objects with the raw body bytes (nothing is decoded for it, so a
message that is not JSON still reaches the handler and can be quarantined with its bytes).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from functools import partial

import eventlet
from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError as BrokerUnreachable
from nameko.amqp.consume import Consumer as ConsumerCore
from nameko.exceptions import ContainerBeingKilled, RpcTimeout, UnknownService
from nameko.extensions import Entrypoint
from nameko import config
from nameko.constants import AMQP_URI_CONFIG_KEY, HEARTBEAT_CONFIG_KEY, DEFAULT_HEARTBEAT

from shared.db import TRANSIENT_DB_ERRORS
from shared.delivery import Delivery
from shared.transport.rpc import ServiceUnavailable

log = logging.getLogger(__name__)


class TransientError(Exception):
    """Raised by a handler when the input is fine but something it depends on is not."""


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientError,
    *TRANSIENT_DB_ERRORS,
    RpcTimeout,          # and shared.transport.rpc.ServiceTimeout, a bounded call's deadline
    ServiceUnavailable,  # a called service's own database or broker is down
    UnknownService,
    AmqpConnectionError,
    BrokerUnreachable,   # kombu's: an RPC call or publish while the broker is down or restarting
    ConnectionError,
)

MAX_BACKOFF = 30.0

# The connection went while acknowledging: py-amqp raises its own ConnectionError when it knows
# the connection is closed, and the socket's (ConnectionResetError, BrokenPipeError) when it
# finds out by writing. Either way the broker requeues what was unacknowledged.
CONNECTION_LOST = (AmqpConnectionError, OSError)


class _RawConsumer(ConsumerCore):
    """Nameko's consumer core, but handing over undecoded messages."""

    def get_consumers(self, consumer_cls, channel):
        consumer = consumer_cls(
            queues=self.queues,
            on_message=lambda message: self.on_message(None, message),
            accept=None,
            **self.consumer_options,
        )
        consumer.qos(prefetch_count=self.prefetch_count)
        return [consumer]


class BatchConsumer(Entrypoint):
    def __init__(self, queue, batch_size: int = 200, max_wait: float = 0.05,
                 prefetch_count: int | None = None, **kwargs) -> None:
        self.queue = queue
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.prefetch_count = prefetch_count or batch_size * 2
        self._buffer: list[Delivery] = []
        self._first_at: float | None = None
        self._stopping = False
        self._wakeup = eventlet.event.Event()
        # Acknowledgement window of the current channel: [delivery tag, state] in arrival order,
        # state None while in hand, ACK once processed, SETTLED once rejected or requeued (the
        # broker knows already). Settling the oldest sends one `basic.ack multiple` for all.
        self._channel = None
        self._window: deque[list] = deque()
        self._entries: dict[int, list] = {}
        super().__init__(**kwargs)

    def setup(self) -> None:
        self.consumer = _RawConsumer(
            config[AMQP_URI_CONFIG_KEY],
            queues=[self.queue],
            callbacks=[self.handle_message],
            heartbeat=config.get(HEARTBEAT_CONFIG_KEY, DEFAULT_HEARTBEAT),
            prefetch_count=self.prefetch_count,
        )

    def start(self) -> None:
        self._stopping = False
        self.container.spawn_managed_thread(self.consumer.run, identifier=f"{self}.consume")
        self.consumer.wait_until_consumer_ready()
        self.container.spawn_managed_thread(self._flush_loop, identifier=f"{self}.flush")

    def stop(self) -> None:
        self._stopping = True
        self.consumer.stop()
        buffered, self._buffer = self._buffer, []
        self._requeue(buffered)
        self._poke()

    def kill(self) -> None:
        self.stop()

    # -- collecting ---------------------------------------------------------------------

    def handle_message(self, body, message) -> None:
        if message.channel is not self._channel:  # first message, or after a reconnection
            self._channel, self._window, self._entries = message.channel, deque(), {}
        entry = [message.delivery_tag, None]
        self._window.append(entry)
        self._entries[message.delivery_tag] = entry
        props = message.properties
        self._buffer.append(Delivery(
            body=message.body if isinstance(message.body, bytes) else bytes(message.body, "utf-8"),
            routing_key=message.delivery_info.get("routing_key", ""),
            message_id=props.get("message_id"),
            content_type=message.content_type,
            headers=dict(message.headers or {}),
            redelivered=bool(message.delivery_info.get("redelivered")),
            user_id=props.get("user_id"),
            message=message,
        ))
        if self._first_at is None:
            self._first_at = time.monotonic()
            self._poke()
        if len(self._buffer) >= self.batch_size:
            self._flush()

    def _poke(self) -> None:
        if not self._wakeup.ready():
            self._wakeup.send(True)

    def _flush_loop(self) -> None:
        while not self._stopping:
            if self._first_at is None:
                self._wakeup.wait()
                self._wakeup = eventlet.event.Event()
                continue
            remaining = self._first_at + self.max_wait - time.monotonic()
            if remaining > 0:
                eventlet.sleep(remaining)
            elif self._buffer:
                self._flush()

    def _flush(self) -> None:
        batch, self._buffer, self._first_at = self._buffer, [], None
        if batch:
            self._spawn(batch, attempt=0)

    # -- processing ---------------------------------------------------------------------

    def _spawn(self, batch: list[Delivery], attempt: int) -> None:
        def spawn():
            try:
                self.container.spawn_worker(
                    self, (batch,), {}, handle_result=partial(self._handle_result, batch, attempt)
                )
            except ContainerBeingKilled:
                self._requeue(batch)

        # spawn_worker blocks while the worker pool is full; keep the consumer thread free.
        self.container.spawn_managed_thread(spawn, identifier=f"{self}.spawn")

    def _handle_result(self, batch, attempt, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            self._settle(batch)
            return result, exc_info

        exc = exc_info[1]
        if isinstance(exc, TRANSIENT_ERRORS):
            delay = min(MAX_BACKOFF, 0.5 * 2 ** attempt)
            log.warning("batch deferred: dependency unavailable", extra={
                "entrypoint": self.method_name, "size": len(batch), "error": type(exc).__name__,
                "retry_in": delay, "attempt": attempt + 1})
            self.container.spawn_managed_thread(
                partial(self._retry_later, batch, attempt + 1, delay), identifier=f"{self}.retry")
        elif len(batch) > 1:
            log.warning("batch failed, retrying its messages one by one", extra={
                "entrypoint": self.method_name, "size": len(batch), "error": type(exc).__name__})
            for delivery in batch:
                self._spawn([delivery], attempt=0)
        else:
            delivery = batch[0]
            log.error("message failed alone; dead-lettering it", extra={
                "entrypoint": self.method_name, "message_id": delivery.message_id,
                "error": type(exc).__name__})
            self._reject(delivery)
        return result, exc_info

    def _retry_later(self, batch, attempt, delay) -> None:
        eventlet.sleep(delay)
        if self._stopping:
            self._requeue(batch)
        else:
            self._spawn(batch, attempt)

    # -- settling -----------------------------------------------------------------------

    def _settle(self, batch: list[Delivery], state: str = "ack") -> None:
        """Mark a batch done and acknowledge it.

        Where the batch completes the oldest messages of the window, one `basic.ack multiple`
        naming the newest processed tag acknowledges them all (naming a rejected tag would be
        an error). Messages of a batch that finished ahead of an older one still in hand are
        acknowledged one by one, so a slow batch never holds back the others' acknowledgements.
        """
        channel = self._channel
        if channel is None or not channel.connection:
            return  # the broker has reclaimed them and will redeliver
        mine = []
        for delivery in batch:
            if delivery.message.channel is channel:
                entry = self._entries.pop(delivery.message.delivery_tag, None)
                if entry is not None:
                    entry[1] = state
                    mine.append(entry)
        last = None
        while self._window and self._window[0][1] is not None:
            tag, settled = self._window.popleft()
            if settled == "ack":
                last = tag
        try:
            if last is not None:
                channel.basic_ack(last, multiple=True)
            for entry in mine:
                if entry[1] == "ack" and (last is None or entry[0] > last):
                    channel.basic_ack(entry[0])
                    entry[1] = "settled"
        except CONNECTION_LOST:
            pass

    def _requeue(self, batch: list[Delivery]) -> None:
        for delivery in batch:
            self.consumer.requeue_message(delivery.message)
        self._settle(batch, state="settled")

    def _reject(self, delivery: Delivery) -> None:
        message = delivery.message
        if message.channel.connection:
            try:
                message.reject(requeue=False)
            except CONNECTION_LOST:  # the broker has reclaimed it already
                pass
        self._settle([delivery], state="settled")


batch_consume = BatchConsumer.decorator
