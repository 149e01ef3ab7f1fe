"""What the suite needs to know to run one of its services: a `ServiceDescriptor`.

Each service package declares one (`services/<name>/descriptor.py`) and `services.SERVICES`
lists them; `ehr up`, `ehr run`, `ehr migrate`, `ehr health`, the docker-compose and systemd
checks and the tests iterate over that list, so a new service is one folder and one line.
Plain data: no framework is imported here, and the service class is named, not imported.

    REGISTRY = ServiceDescriptor(
        name="registry",
        entrypoint="services.registry.service:RegistryService",
        migrations=Path(__file__).parent / "migrations",
        keys=("EHR_PII_KEY", "EHR_INDEX_KEY", "EHR_SERVICE_KEY"),
        optional_keys=("EHR_PII_OLD_KEYS",),
    )
    REGISTRY.database_url_variable        # 'EHR_REGISTRY_DATABASE_URL'
    REGISTRY.database_password_variable   # 'EHR_REGISTRY_DATABASE_PASSWORD'
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

# What "ready" means for a service process (`shared.transport.health.readiness` runs them by name): its
# database answers as the service's own role, the broker answers and holds the queues it
# consumes, and its database is at the newest migration.
READINESS_CHECKS = ("database", "broker", "migrations")


@dataclass(frozen=True)
class ServiceDescriptor:
    name: str
    entrypoint: str                       # "package.module:ServiceClass"
    migrations: Path                      # its Alembic folder; its database is <EHR_DB_PREFIX>_<name>
    keys: tuple[str, ...] = ()            # key variables it cannot start without
    optional_keys: tuple[str, ...] = ()   # key variables it reads when given (old keys while rotating)
    settings: tuple[str, ...] = ()        # EHR_* variables only this service reads (besides the common ones)
    queues: tuple[str, ...] = ()          # the work queues it consumes (declared by shared.messaging)
    http: bool = False                    # listens on EHR_GATEWAY_HOST:EHR_GATEWAY_PORT
    readiness: tuple[str, ...] = READINESS_CHECKS

    @property
    def database_url_variable(self) -> str:
        return f"EHR_{self.name.upper()}_DATABASE_URL"

    @property
    def database_password_variable(self) -> str:
        return f"EHR_{self.name.upper()}_DATABASE_PASSWORD"

    @property
    def variables(self) -> tuple[str, ...]:
        """Every variable of its own: keys, settings, its database's URL and password."""
        return (*self.keys, *self.optional_keys, *self.settings, self.database_url_variable,
                self.database_password_variable)

    def load(self) -> type:
        """The service class (imports the service's package and its framework)."""
        module, cls = self.entrypoint.split(":")
        return getattr(importlib.import_module(module), cls)
