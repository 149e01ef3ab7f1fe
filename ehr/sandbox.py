"""An isolated environment for the suite: one RabbitMQ vhost, one database per service, each
with its service role (created by the migrations; the services connect as it, as in production;
`destroy` drops the databases and their roles), and its own names for partner broker accounts
(`<name>-<institution code>`: accounts are cluster-wide, so a run's accounts are told from
others' by that prefix and deleted with the environment).

The servers are those the EHR_* settings name (`base`, default this process's environment):
the broker of `EHR_AMQP_URI`, whose account gets every right in the new vhost, made and removed
through `EHR_BROKER_ADMIN_URL`; the PostgreSQL server of `EHR_DATABASE_URL`. With nothing set,
guest at 127.0.0.1 and postgres at 127.0.0.1:5432, as on the development machines.

Used by the tests and the benchmarks so that their runs never touch a developer's data."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlparse, urlunparse

from shared.config import generate_key, load_settings
from shared.db import drop_database

# The settings a sandbox takes from its base environment: which servers, and how to reach them.
SERVERS = ("EHR_AMQP_URI", "EHR_BROKER_ADMIN_URL", "EHR_DATABASE_URL", "EHR_STATE_DIR")


@dataclass
class SuiteEnvironment:
    name: str
    variables: dict[str, str] = field(default_factory=dict)
    base: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    @property
    def vhost(self) -> str:
        return f"ehr-{self.name}"

    @property
    def amqp_uri(self) -> str:
        """The configured broker account's URI, in this environment's vhost."""
        url = urlparse(load_settings(self._servers()).amqp_uri)
        return urlunparse(url._replace(path="/" + quote(self.vhost, safe="")))

    def _servers(self) -> dict[str, str]:
        return {name: self.base[name] for name in SERVERS if self.base.get(name)}

    def _management(self):
        from ehr.broker import Management

        return Management(load_settings(self._servers()).broker_admin_url, vhost=self.vhost)

    def _admin(self, method: str, *path: str, body: dict | None = None, missing_ok: bool = False) -> None:
        """One call to the management API, waiting up to a minute for it to listen: the broker is
        shared, and its management plugin comes back some seconds after a restart."""
        from ehr.broker import BrokerAdminError

        api = self._management()
        deadline = time.monotonic() + 60
        while True:
            try:
                api.call(method, api.path(*path), body, missing_ok=missing_ok)
                return
            except BrokerAdminError as exc:
                if exc.status not in (None, 503) or time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def create(self) -> None:
        self._admin("PUT", "vhosts", self.vhost, body={})
        account = unquote(urlparse(self.amqp_uri).username or "guest")
        self._admin("PUT", "permissions", self.vhost, account, body={"configure": ".*", "write": ".*", "read": ".*"})
        self.variables = {
            **self._servers(),
            "EHR_AMQP_URI": self.amqp_uri,
            "EHR_DB_PREFIX": f"ehr_{self.name}",
            "EHR_PII_KEY": generate_key(),
            "EHR_RECORDS_PII_KEY": generate_key(),
            "EHR_INDEX_KEY": generate_key(),
            "EHR_TOKEN_KEY": generate_key(),
            "EHR_SERVICE_KEY": generate_key(),
            "EHR_AUDIT_KEY": generate_key(),
            "EHR_SYNC_KEY": generate_key(),
            "EHR_RPC_TIMEOUT": "10",
            "EHR_BROKER_ACCOUNT_PREFIX": f"{self.name}-",
            # The processes' heartbeat files (`ehr health`), apart from every other run's.
            "EHR_RUN_DIR": tempfile.mkdtemp(prefix=f"ehr-{self.name}-run-"),
        }
        from ehr.setup import migrate_all

        migrate_all(load_settings(self.variables), demo_data=True)

    def purge_queues(self) -> int:
        """Empty every queue of this environment's vhost (they stay, with their bindings); the
        number of messages thrown away. For a test module that starts its services afresh: what
        earlier modules published while no consumer ran is not its input."""
        api = self._management()
        dropped = 0
        for queue in api.call("GET", api.path("queues", self.vhost)) or []:
            if queue.get("messages"):
                dropped += queue["messages"]
            api.call("DELETE", api.path("queues", self.vhost, queue["name"], "contents"), missing_ok=True)
        return dropped

    def destroy(self) -> None:
        import services
        from ehr.broker import management, remove_partner_accounts

        settings = load_settings(self.variables)
        for service in services.SERVICES:
            drop_database(settings.database_url_for(service.name))
        self._admin("DELETE", "vhosts", self.vhost, missing_ok=True)
        remove_partner_accounts(*management(settings))
        if self.variables.get("EHR_RUN_DIR"):
            shutil.rmtree(self.variables["EHR_RUN_DIR"], ignore_errors=True)
