"""The sync service as the suite runs it (`shared.service`): standard documents (WS/T 483 CDA, or
FHIR R4) of every archive and record, sent to the regional health information platform. It
learns of archives and records from the registry's and records' events on its work queue, keeps
no identifying data (ids, codes, states and the platform's answers), and reads a resident's full
identity at send time with EHR_SYNC_KEY, which only it and the registry hold."""

from pathlib import Path

from shared.service import ServiceDescriptor

SYNC = ServiceDescriptor(
    name="sync",
    entrypoint="services.sync.service:SyncService",
    migrations=Path(__file__).resolve().parent / "migrations",
    keys=("EHR_SERVICE_KEY", "EHR_SYNC_KEY"),
    settings=("EHR_PLATFORM_URL", "EHR_PLATFORM_TOKEN", "EHR_PLATFORM_FORMAT", "EHR_PLATFORM_TIMEOUT",
              "EHR_PLATFORM_CA_FILE", "EHR_SYNC_MAX_ATTEMPTS"),
    queues=("sync.events",),
)
