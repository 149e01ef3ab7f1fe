"""RPC entrypoints that survive the broker going away, and RPC clients with a deadline.

`rpc` is nameko's `@rpc` whose reply is sent by `ResilientRpcConsumer`: nameko lets an error
while publishing a reply (the broker restarting, say) end the whole service process. Here the
reply is given up instead, with a warning: the request, never acknowledged, comes back from
the broker once the connection is re-established and is answered then, and the caller, whose
own call is bounded by its deadline, retries or reports the service unavailable.

A method that fails because something it depends on is down (its database unreachable or out
of connections, the broker gone) answers `ServiceUnavailable`, not nameko's RemoteError: the
caller can tell "try again later" from a bug, so the batch consumer retries the batch instead of
splitting it and dead-lettering its messages, and the gateway answers 503, not 500.

    class RegistryService:
        @rpc(expected_exceptions=EXPECTED_ERRORS)
        def get_archive(self, archive_no): ...

Every call is authenticated with the service key (see `shared.signing`): the clients here sign
each request, with its acting user, target and arguments, and `rpc` entrypoints refuse a request
whose signature is missing, stale or wrong before any worker runs. The refusal is logged
(target and reason only) and answered with `CallRefused`, a kind of `ServiceUnavailable`: a
caller with a wrong key is a misconfigured deployment, whose batches wait and whose HTTP requests
answer 503 until the keys agree, and nothing is quarantined for it. Tools outside a service (the
`ehr` commands, tests) call through `SignedClusterRpcClient`, which needs EHR_SERVICE_KEY too.

Clients with a deadline:

Nameko's RPC client waits for a reply forever; a worker calling a service that is down would
hang with its message unacknowledged and its HTTP client waiting. `BoundedServiceRpc` is
`ServiceRpc` with every call bounded by EHR_RPC_TIMEOUT seconds (or `timeout=`), raising
`ServiceTimeout`, which the batch consumer treats as transient and the gateway answers as 503.

    class RecordsService:
        registry = BoundedServiceRpc("registry")

        def ...(self):
            self.registry.resolve_identities(queries)   # at most 30 s

`ServiceTimeout` is an ordinary exception on purpose. `eventlet.Timeout` derives from
BaseException, which nameko's worker runner does not catch: a worker ended by it never has its
result handled nor its dependencies torn down, so a batch would stay unacknowledged for good
and its database session open, idle in transaction, holding the locks it took.

The client's reply queue is not durable (nameko's), so a broker restart deletes it with any
reply in it. Nameko's reply listener then ends the whole service process
(ReplyQueueExpiredWithPendingReplies) on reconnecting; `ResilientReplyListener` fails just the
calls waiting for those replies, with `ServiceTimeout`, and goes on with a new queue.

Nameko also declares the reply queue again before every request (kombu caches no declaration
of an expiring queue): three more broker round trips a call. The reply listener declares it
whenever it (re)connects, so `BoundedServiceRpc` declares it again only when its last
declaration is `REDECLARE_AFTER` seconds old, a publish failed (the broker may have restarted
since), or the reply listener has found the queue gone since (it finds so before its consumer
declares the queue again). A reply to a request sent in the gap between a broker restart and the
queue's return is lost, and its call ends with `ServiceTimeout`: at once when the reply
listener, reconnecting, finds the queue gone, at its deadline otherwise.
"""

from __future__ import annotations

import logging
import time

import eventlet
import kombu.serialization
from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError
from nameko.exceptions import ReplyQueueExpiredWithPendingReplies, RpcTimeout, deserialize_to_instance
from nameko.rpc import Client, ReplyListener, Rpc, RpcConsumer, ServiceRpc
from nameko.standalone.rpc import ClusterRpcClient

from shared.config import load_settings
from shared.db import TRANSIENT_DB_ERRORS
from shared.signing import SIGNATURE_KEY, SIGNED_AT_KEY, Refused, call_headers, check_call
from shared.transport import errors as _registered  # noqa: F401  (the expected errors cross RPC)

log = logging.getLogger(__name__)

BROKER_GONE = (OperationalError, AmqpConnectionError, ConnectionError, OSError)
REDECLARE_AFTER = 5.0  # seconds between declarations of a client's reply queue


@deserialize_to_instance  # the caller gets this very type back (see the module doc)
class ServiceUnavailable(Exception):
    """The called service could not answer: something it depends on is unavailable. Transient."""


@deserialize_to_instance
class CallRefused(ServiceUnavailable):
    """The called service refused the request: not signed with its service key (a forged call, or
    a caller configured with another EHR_SERVICE_KEY). The message names the check that failed."""


DEPENDENCY_DOWN = (*TRANSIENT_DB_ERRORS, OperationalError, AmqpConnectionError, ConnectionError)


class ResilientRpcConsumer(RpcConsumer):
    def setup(self) -> None:
        super().setup()
        self.service_key = load_settings().require_service_key()

    def handle_message(self, body, message):
        try:
            check_call(self.service_key, message)
        except Refused as exc:
            log.warning("rpc call refused", extra={
                "target": message.delivery_info.get("routing_key"), "reason": str(exc),
                "correlation_id": message.properties.get("correlation_id")})
            refusal = CallRefused(f"call refused: {exc}")
            self.handle_result(message, None, (CallRefused, refusal, None))
            return
        super().handle_message(body, message)

    def handle_result(self, message, result, exc_info):
        if exc_info is not None and isinstance(exc_info[1], DEPENDENCY_DOWN):
            unavailable = ServiceUnavailable(f"{type(exc_info[1]).__name__}: a dependency of the service is down")
            exc_info = (ServiceUnavailable, unavailable, exc_info[2])
        try:
            return super().handle_result(message, result, exc_info)
        except BROKER_GONE as exc:
            log.warning("rpc reply not sent: broker unavailable; the request will be redelivered",
                        extra={"routing_key": message.delivery_info.get("routing_key"), "error": type(exc).__name__})
            return result, exc_info


class ResilientRpc(Rpc):
    rpc_consumer = ResilientRpcConsumer()


rpc = ResilientRpc.decorator


@deserialize_to_instance  # a service passing one on to its caller: still a ServiceTimeout there
class ServiceTimeout(RpcTimeout):
    """A service gave no answer in time, or its answer was lost with the broker's restart.
    Transient: the caller should try again later."""


class ResilientReplyListener(ReplyListener):
    # When the listener last found its queue gone (`time.monotonic()`). It finds it before its
    # consumer declares the queue again, so a call made in between declares it itself (see
    # `BoundedServiceRpc._publish`) rather than have its reply dropped for want of a queue.
    lost_at = float("-inf")

    def check_for_lost_replies(self) -> None:
        try:
            super().check_for_lost_replies()
        except ReplyQueueExpiredWithPendingReplies:
            self.lost_at = time.monotonic()
            pending, self.pending = self.pending, {}
            log.warning("rpc replies lost with the reply queue (broker restarted); failing their calls",
                        extra={"calls": len(pending)})
            for reply in pending.values():
                if not reply.ready():
                    reply.send_exception(ServiceTimeout("the reply was lost when the broker restarted"))

    def forget(self, correlation_id: str) -> None:
        """A call that gave up waiting: a late reply to it is dropped, and it is no longer
        counted as lost when the broker restarts."""
        self.pending.pop(correlation_id, None)


def signing(publish, key: bytes, serializer: str):
    """Wrap a nameko RPC `publish` so that each request is serialized here and signed over its
    bytes, its target, its correlation id and its acting user (`shared.signing`)."""

    def signed_publish(payload, **kwargs):
        content_type, encoding, body = kombu.serialization.dumps(payload, serializer=serializer)
        body = body.encode(encoding) if isinstance(body, str) else body
        headers = dict(kwargs.pop("extra_headers", None) or {})
        headers.update(call_headers(key, headers, kwargs["routing_key"], kwargs["correlation_id"], body))
        publish(body, content_type=content_type, content_encoding=encoding, extra_headers=headers, **kwargs)

    return signed_publish


class SignedClusterRpcClient(ClusterRpcClient):
    """nameko's standalone `ClusterRpcClient`, signing its calls with EHR_SERVICE_KEY: for the
    suite's own tools (`ehr quarantine ...`) and tests. `context_data` carries the acting user;
    `settings` (default: from the environment) give the broker and the key.

        with SignedClusterRpcClient(timeout=30, context_data=actor.as_context()) as rpc:
            rpc.records.list_quarantine()
    """

    def __init__(self, context_data=None, timeout=None, settings=None, **options) -> None:
        settings = settings or load_settings()
        options.setdefault("uri", settings.amqp_uri)
        context_data = {k: v for k, v in (context_data or {}).items() if k not in (SIGNATURE_KEY, SIGNED_AT_KEY)}
        super().__init__(context_data=context_data, timeout=timeout, **options)
        client = self.client
        self.client = Client(signing(client.publish, settings.require_service_key(), self.serializer),
                             client.register_for_reply, client.context_data)


class _Bounded:
    def __init__(self, client, timeout: float, listener: ResilientReplyListener) -> None:
        self._client = client
        self._timeout = timeout
        self._listener = listener

    def __getattr__(self, method: str):
        target = getattr(self._client, method)

        def call(*args, **kwargs):
            timer, rpc_call = eventlet.Timeout(self._timeout), None
            try:
                rpc_call = target.call_async(*args, **kwargs)
                return rpc_call.result()
            except eventlet.Timeout as exc:
                if exc is not timer:
                    raise
                if rpc_call is not None:
                    self._listener.forget(rpc_call.correlation_id)
                raise ServiceTimeout(f"{target.identifier} gave no answer within {self._timeout:g} s") from None
            finally:
                timer.cancel()

        return call


class BoundedServiceRpc(ServiceRpc):
    reply_listener = ResilientReplyListener()

    def __init__(self, target_service: str, timeout: float | None = None, **kwargs) -> None:
        super().__init__(target_service, **kwargs)
        self.timeout = timeout
        self._declared_at = float("-inf")

    def setup(self) -> None:
        super().setup()
        settings = load_settings()
        if self.timeout is None:
            self.timeout = settings.rpc_timeout
        self.publisher.declare = []  # see the module doc: declared in `_publish` when due
        self._signed_publish = signing(self._publish, settings.require_service_key(), self.publisher.serializer)

    def get_dependency(self, worker_ctx):
        client = Client(self._signed_publish, self.reply_listener.register_for_reply, worker_ctx.context_data)
        return _Bounded(getattr(client, self.target_service), self.timeout, self.reply_listener)

    def _publish(self, payload, **kwargs):
        now = time.monotonic()
        if now - self._declared_at > REDECLARE_AFTER or self.reply_listener.lost_at > self._declared_at:
            kwargs["declare"] = [self.reply_listener.queue]
        try:
            self.publisher.publish(payload, **kwargs)
        except BaseException:
            self._declared_at = float("-inf")
            raise
        if "declare" in kwargs:
            self._declared_at = now
