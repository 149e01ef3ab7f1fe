"""Each service connects to its database as its own least-privileged role (`<database>_app`,
created by the migrations): the gateway's can append to the audit trail only through its
function and can neither edit nor remove an entry, move the head or switch the trigger off;
no role can change the schema; the services run as these roles; and tables added by later
migrations are granted too."""

from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.gateway import audit
from services.programmes.service import ProgrammesService
from services.referrals.service import ReferralsService
from services.records.service import RecordsService
from services.registry.service import RegistryService
from services.sync.service import SyncService
from shared.config import load_settings
from services import service as descriptor_of
from shared.db import drop_database, ensure_database, make_engine, upgrade
from tests.support.db import query, server_url

SERVICES = ("registry", "records", "gateway")


def database_role(database: str) -> str:
    return f"{database}_app"  # as shared.config names it; spelled out so the test states the contract


@pytest.fixture
def as_role(suite_env):
    """as_role(service) -> an engine connected as that service's role, as its processes are."""
    engines = []

    def _connect(service: str):
        url = sa.engine.make_url(load_settings().database_url_for(service))
        engine = make_engine(url.set(username=database_role(url.database)), pool_size=1, max_overflow=0)
        engines.append(engine)
        return engine

    yield _connect
    for engine in engines:
        engine.dispose()


def _refused(engine, sql: str) -> str:
    with pytest.raises(sa.exc.DBAPIError) as refused:
        with engine.begin() as conn:
            conn.execute(sa.text(sql))
    return str(refused.value.orig)


def test_the_gateways_role_cannot_rewrite_the_audit_trail(as_role):
    gateway = as_role("gateway")
    key = load_settings().require_audit_key()
    with Session(gateway) as session:  # appending through the function works
        appended = audit.append(session, audit.Draft(action="archive.read", actor="doc01", status=200,
                                                     outcome="ok"), key)
    for sql in ("UPDATE audit_entries SET outcome = 'denied'",
                "DELETE FROM audit_entries",
                "TRUNCATE audit_entries",
                "INSERT INTO audit_entries SELECT * FROM audit_entries LIMIT 1",
                "UPDATE audit_head SET seq = 0",
                "SELECT * FROM audit_head FOR UPDATE"):
        assert "permission denied" in _refused(gateway, sql), sql
    for sql in ("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only",
                "DROP TRIGGER audit_entries_append_only ON audit_entries",
                "DROP TABLE audit_entries"):
        assert "must be owner" in _refused(gateway, sql), sql
    assert "permission denied" in _refused(gateway, "SET session_replication_role = replica")
    with gateway.connect() as conn:
        assert conn.scalar(sa.text("SELECT seq FROM audit_head")) >= appended.seq  # reads for verify
        assert conn.scalar(sa.text("SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles "
                                   "WHERE rolname = current_user")) is False


def test_the_gateways_role_keeps_what_accounts_need_but_cannot_delete_them(as_role, auth):
    gateway = as_role("gateway")
    username = auth.user("township_doctor", "T1101051011")
    with gateway.begin() as conn:
        conn.execute(sa.text("UPDATE users SET failed_attempts = 0 WHERE username = :u"), {"u": username})
    assert "permission denied" in _refused(gateway, f"DELETE FROM users WHERE username = '{username}'")


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_role_can_change_the_schema_or_own_anything(as_role, service):
    engine = as_role(service)
    assert "permission denied" in _refused(engine, "CREATE TABLE intruder (id int)")
    assert "permission denied" in _refused(engine, "SELECT * FROM alembic_version")
    table = {"registry": "archives", "records": "records", "gateway": "users"}[service]
    assert "must be owner" in _refused(engine, f"ALTER TABLE {table} ADD COLUMN intruder int")
    with engine.connect() as conn:
        owned = conn.scalar(sa.text("SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
                                    "WHERE r.rolname = current_user"))
        assert conn.scalar(sa.text("SELECT current_user")) == database_role(load_settings().database_name(service))
    assert owned == 0


def test_the_services_run_as_their_roles(gateway_url, auth):
    api = gateway_url(RegistryService, RecordsService, ProgrammesService, ReferralsService, SyncService)
    staff = auth.session_for("township_doctor", "T1101051011")
    assert staff.get(f"{api}/api/v1/villages").status_code == 200
    assert requests.get(f"{api}/api/v1/health").status_code == 200
    settings = load_settings()
    for service in SERVICES:
        name = settings.database_name(service)
        owner = sa.engine.make_url(settings.database_url_for(service)).username  # the tests' own connections
        users = {row.usename for row in query(service, "SELECT usename FROM pg_stat_activity WHERE datname = :d "
                                                       "AND usename <> :owner", d=name, owner=owner)}
        assert users == {database_role(name)}, (service, users)


def test_tables_a_later_migration_adds_are_granted_to_the_role_and_roles_go_with_their_database(
        suite_env, run_id):
    url = server_url(f"ehr_t{run_id}_records_roles")
    role = database_role(f"ehr_t{run_id}_records_roles")
    drop_database(url)
    ensure_database(url)
    try:
        upgrade(descriptor_of("records").migrations, url)
        owner = make_engine(url, pool_size=1)
        with owner.begin() as conn:  # as the owner, as a later migration would
            conn.execute(sa.text("CREATE TABLE later_table (id bigint GENERATED BY DEFAULT AS IDENTITY, note text)"))
        owner.dispose()
        app = make_engine(sa.engine.make_url(url).set(username=role), pool_size=1)
        with app.begin() as conn:
            conn.execute(sa.text("INSERT INTO later_table (note) VALUES ('x')"))
            assert conn.scalar(sa.text("SELECT count(*) FROM later_table")) == 1
        app.dispose()
    finally:
        drop_database(url)
    assert query("registry", "SELECT rolname FROM pg_roles WHERE rolname = :r", r=role) == []
