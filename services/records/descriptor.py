"""The records service as the suite runs it (`shared.service`): files hospital encounters and the
insurer's settlements from its work queues, keeps archive contents, pending and quarantined messages."""

from pathlib import Path

from shared.service import ServiceDescriptor

RECORDS = ServiceDescriptor(
    name="records",
    entrypoint="services.records.service:RecordsService",
    migrations=Path(__file__).resolve().parent / "migrations",
    keys=("EHR_RECORDS_PII_KEY", "EHR_INDEX_KEY", "EHR_SERVICE_KEY"),
    optional_keys=("EHR_RECORDS_PII_OLD_KEYS",),
    settings=("EHR_MAX_ENCOUNTER_BYTES", "EHR_BROKER_ACCOUNT_PREFIX"),
    queues=("records.encounters", "records.registry-events", "records.settlements"),
)
