"""An isolated environment for the suite: one RabbitMQ vhost, one database per service, each
with its service role (created by the migrations; the services connect as it, as in production;
`destroy` drops the databases and their roles), and its own names for partner broker accounts
(`<name>-<institution code>`: accounts are cluster-wide, so a run's accounts are told from
others' by that prefix and deleted with the environment).

Used by the tests and the benchmarks so that their runs never touch a developer's data."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from urllib.parse import quote

from shared.config import generate_key, load_settings
from shared.db import drop_database

RABBITMQ_BASE = "amqp://guest:guest@127.0.0.1:5672/"


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@dataclass
class SuiteEnvironment:
    name: str
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def vhost(self) -> str:
        return f"ehr-{self.name}"

    @property
    def amqp_uri(self) -> str:
        return RABBITMQ_BASE + quote(self.vhost, safe="")

    def create(self) -> None:
        rabbitmqctl("add_vhost", self.vhost)
        rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        self.variables = {
            "EHR_AMQP_URI": self.amqp_uri,
            "EHR_DB_PREFIX": f"ehr_{self.name}",
            "EHR_PII_KEY": generate_key(),
            "EHR_RECORDS_PII_KEY": generate_key(),
            "EHR_INDEX_KEY": generate_key(),
            "EHR_TOKEN_KEY": generate_key(),
            "EHR_SERVICE_KEY": generate_key(),
            "EHR_AUDIT_KEY": generate_key(),
            "EHR_RPC_TIMEOUT": "10",
            "EHR_BROKER_ACCOUNT_PREFIX": f"{self.name}-",
            # The processes' heartbeat files (`ehr health`), apart from every other run's.
            "EHR_RUN_DIR": tempfile.mkdtemp(prefix=f"ehr-{self.name}-run-"),
        }
        from ehr.setup import migrate_all

        migrate_all(load_settings(self.variables), demo_data=True)

    def destroy(self) -> None:
        import services
        from ehr.broker import management, remove_partner_accounts

        settings = load_settings(self.variables)
        for service in services.SERVICES:
            drop_database(settings.database_url_for(service.name))
        rabbitmqctl("delete_vhost", self.vhost)
        remove_partner_accounts(*management(settings))
        if self.variables.get("EHR_RUN_DIR"):
            shutil.rmtree(self.variables["EHR_RUN_DIR"], ignore_errors=True)
