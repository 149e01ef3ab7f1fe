"""The registry as the suite runs it (`shared.service`): residents' identities and archive
numbers, answered over RPC; it consumes no work queue."""

from pathlib import Path

from shared.service import ServiceDescriptor

REGISTRY = ServiceDescriptor(
    name="registry",
    entrypoint="services.registry.service:RegistryService",
    migrations=Path(__file__).resolve().parent / "migrations",
    # EHR_SYNC_KEY: to answer the sync service its residents' full identities (`identity_for_document`).
    keys=("EHR_PII_KEY", "EHR_INDEX_KEY", "EHR_SERVICE_KEY", "EHR_SYNC_KEY"),
    optional_keys=("EHR_PII_OLD_KEYS",),
)
