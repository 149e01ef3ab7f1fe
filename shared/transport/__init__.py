"""The transport: everything that knows Nameko, eventlet or kombu, in one subpackage.

- `consumer`   the batching, acknowledge-after-commit entrypoint (`batch_consume`)
- `rpc`        RPC with deadlines, signed calls and resilient reply listeners
- `outbox`     the relay that publishes each service's outbox with confirms
- `providers`  dependency providers: `Database`, `Pii`, `CurrentActor`, `ServiceKey`
- `topology`   the broker's exchanges and queues, declared in one place
- `health`     liveness (heartbeat files) and readiness (database, broker, migrations)
- `errors`     registers `shared.errors` for deserialisation across RPC

The rest of `shared` is plain vocabulary (errors, actors, deliveries as data, contracts, codes,
keys) that use cases import; none of it imports Nameko, eventlet or kombu, which
`tests/unit/test_layering.py` holds to. A service's `service.py` and its providers are the only
places that import from here.
"""
