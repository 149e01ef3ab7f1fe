"""Liveness and readiness against the real PostgreSQL and RabbitMQ: the gateway's own checks do
not depend on the other services, and readiness names what is not ready (a database behind the
code's migrations, a missing queue, a broker that does not answer)."""

import dataclasses

import pytest
import requests

from services import SERVICES, service
from services.programmes.service import ProgrammesService
from services.referrals.service import ReferralsService
from services.registry.service import RegistryService
from services.sync.service import SyncService
from shared.config import load_settings
from shared.db import alembic_config, drop_database, ensure_database
from shared.transport.health import check_broker, expected_head, is_ready, readiness
from shared.transport.topology import declare_topology


def test_the_gateway_stays_live_and_ready_while_records_is_down(gateway_url):
    api = gateway_url(RegistryService, ProgrammesService, ReferralsService, SyncService)  # no records service
    live = requests.get(f"{api}/api/v1/health/live", timeout=30)
    ready = requests.get(f"{api}/api/v1/health/ready", timeout=30)
    suite = requests.get(f"{api}/api/v1/health", timeout=30)
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "migrations": "ok"}}
    assert suite.status_code == 503 and suite.json()["checks"]["records"].startswith("unavailable")
    assert suite.json()["checks"]["programmes"] == suite.json()["checks"]["referrals"] == "ok"
    assert suite.json()["checks"]["sync"] == "ok"
    assert suite.json()["checks"]["registry"] == "ok"


def test_the_gateways_root_leads_to_the_api_docs(gateway_url):
    api = gateway_url(RegistryService)
    resp = requests.get(f"{api}/", allow_redirects=False, timeout=30)
    assert resp.status_code in (301, 302) and resp.headers["Location"].endswith("/api/v1/docs")
    assert requests.get(f"{api}/", timeout=30).headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("descriptor", SERVICES, ids=lambda d: d.name)
def test_every_migrated_service_is_ready_as_its_own_role(suite_env, descriptor):
    declare_topology(suite_env.amqp_uri)  # as `ehr up` and `ehr run` do: the work queues exist
    assert readiness(descriptor, load_settings()) == {"database": "ok", "broker": "ok", "migrations": "ok"}


def test_a_database_behind_the_codes_migrations_is_not_ready_until_migrated(suite_env, run_id):
    from alembic import command

    records = service("records")
    url = f"postgresql://postgres@127.0.0.1:5432/ehr_t{run_id}_health_records"
    settings = dataclasses.replace(load_settings(), database_overrides={"records": url})
    ensure_database(url)
    try:
        command.upgrade(alembic_config(records.migrations, url), "0005")  # its role, not yet the function
        behind = readiness(records, settings)
        assert behind["database"] == "ok" and behind["broker"] == "ok"
        assert behind["migrations"] == f"not at head (none; the code expects {expected_head(records.migrations)})"
        assert not is_ready(behind)
        command.upgrade(alembic_config(records.migrations, url), "head")
        assert is_ready(readiness(records, settings))
    finally:
        drop_database(url)


def test_a_service_whose_database_refuses_it_is_not_ready(suite_env, run_id):
    registry = service("registry")
    url = f"postgresql://postgres@127.0.0.1:5432/ehr_t{run_id}_health_nodb"  # never created
    settings = dataclasses.replace(load_settings(), database_overrides={"registry": url})
    checks = readiness(registry, settings)
    assert checks["database"].startswith("unavailable (") and checks["migrations"] == "unknown"
    assert checks["broker"] == "ok"


def test_the_broker_check_names_a_missing_queue_and_an_unreachable_broker(suite_env):
    declare_topology(suite_env.amqp_uri)
    assert check_broker(suite_env.amqp_uri, ("records.encounters",)) == "ok"
    assert check_broker(suite_env.amqp_uri, ("records.encounters", "no-such-queue")) == "queue no-such-queue missing"
    assert check_broker("amqp://guest:guest@127.0.0.1:1/", ()).startswith("unavailable (")
