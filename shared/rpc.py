"""RPC entrypoints that survive the broker going away, and RPC clients with a deadline.

`rpc` is nameko's `@rpc` whose reply is sent by `ResilientRpcConsumer`: nameko lets an error
while publishing a reply (the broker restarting, say) end the whole service process. Here the
reply is given up instead, with a warning: the request, never acknowledged, comes back from
the broker once the connection is re-established and is answered then, and the caller, whose
own call is bounded by its deadline, retries or reports the service unavailable.

    class RegistryService:
        @rpc(expected_exceptions=EXPECTED_ERRORS)
        def get_archive(self, archive_no): ...

Clients with a deadline:

Nameko's RPC client waits for a reply forever; a worker calling a service that is down would
hang with its message unacknowledged and its HTTP client waiting. `BoundedServiceRpc` is
`ServiceRpc` with every call bounded by EHR_RPC_TIMEOUT seconds (or `timeout=`), raising
`eventlet.Timeout`, which the batch consumer treats as transient and the gateway answers as 503.

    class RecordsService:
        registry = BoundedServiceRpc("registry")

        def ...(self):
            self.registry.resolve_identities(queries)   # at most 30 s
"""

from __future__ import annotations

import logging

import eventlet
from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError
from nameko.rpc import Rpc, RpcConsumer, ServiceRpc

from shared.config import load_settings

log = logging.getLogger(__name__)

BROKER_GONE = (OperationalError, AmqpConnectionError, ConnectionError, OSError)


class ResilientRpcConsumer(RpcConsumer):
    def handle_result(self, message, result, exc_info):
        try:
            return super().handle_result(message, result, exc_info)
        except BROKER_GONE as exc:
            log.warning("rpc reply not sent: broker unavailable; the request will be redelivered",
                        extra={"routing_key": message.delivery_info.get("routing_key"), "error": type(exc).__name__})
            return result, exc_info


class ResilientRpc(Rpc):
    rpc_consumer = ResilientRpcConsumer()


rpc = ResilientRpc.decorator


class _Bounded:
    def __init__(self, client, timeout: float) -> None:
        self._client = client
        self._timeout = timeout

    def __getattr__(self, method: str):
        target = getattr(self._client, method)

        def call(*args, **kwargs):
            with eventlet.Timeout(self._timeout):
                return target(*args, **kwargs)

        return call


class BoundedServiceRpc(ServiceRpc):
    def __init__(self, target_service: str, timeout: float | None = None, **kwargs) -> None:
        super().__init__(target_service, **kwargs)
        self.timeout = timeout

    def setup(self) -> None:
        super().setup()
        if self.timeout is None:
            self.timeout = load_settings().rpc_timeout

    def get_dependency(self, worker_ctx):
        return _Bounded(super().get_dependency(worker_ctx), self.timeout)
