"""RPC clients with a deadline.

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

import eventlet
from nameko.rpc import ServiceRpc

from shared.config import load_settings


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
