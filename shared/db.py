"""PostgreSQL plumbing shared by the services: engines, a per-worker session provider,
database creation and Alembic migrations.

Each service owns one database (`<prefix>_<service>`) and its own migrations in
`services/<service>/migrations`. The migrations run as the database's owner and create the
service's own role (`<database>_app`, `service_role_sql`); the service's processes connect as
that role (`Settings.service_url_for`), which may read and write the data it is granted but
owns nothing and runs no DDL. A worker gets a fresh session, does its work, and commits
explicitly; whatever it did not commit is rolled back when the worker ends.

    class RecordsService:
        name = "records"
        db = Database("records")

        @rpc
        def get_record(self, record_id):
            return usecases.get_record(self.db, record_id)
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.config import Settings, database_role, load_settings
from shared.errors import Conflict, NotFound

log = logging.getLogger(__name__)

# Stable constraint names, so that Alembic autogenerate compares like with like.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


# Transient errors: the database went away or refused us. The caller should back off and
# retry with the same input; the input itself is not at fault.
# The database is unreachable, or every pooled connection is busy for the pool's timeout (work
# waiting on another service holds them): wait and retry, the input is not at fault.
TRANSIENT_DB_ERRORS = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError,
                       sa.exc.TimeoutError)


def make_engine(url: str, **options) -> Engine:
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_size", 5)
    options.setdefault("max_overflow", 5)
    options.setdefault("connect_args", {"connect_timeout": 5})
    # SQL errors quote their statement's parameters (names, birth dates...) and end up in logs:
    # keep them out.
    options.setdefault("hide_parameters", True)
    return create_engine(url, **options)


@contextmanager
def _server(url: str):
    """An autocommit connection to the server's `postgres` database, and the target's name."""
    target = make_url(url)
    admin = make_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT", pool_size=1)
    try:
        with admin.connect() as conn:
            yield conn, target.database
    finally:
        admin.dispose()


def ensure_database(url: str) -> bool:
    """Create the database named in `url` if it does not exist. Returns True if it was created."""
    with _server(url) as (conn, name):
        if conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
            return False
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        return True


def drop_database(url: str) -> None:
    """Drop the database and its service role (`<database>_app`), which exists for it alone."""
    with _server(url) as (conn, name):
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'DROP ROLE IF EXISTS "{database_role(name)}"'))


def set_role_password(url: str, password: str) -> None:
    """Give the service role of the database in `url` this password (sent as a SCRAM verifier,
    so the password itself never reaches the server's logs)."""
    from psycopg2.extensions import encrypt_password

    with _server(url) as (conn, name):
        role = database_role(name)
        verifier = encrypt_password(password, role, conn.connection.dbapi_connection, "scram-sha-256")
        conn.exec_driver_sql(f'ALTER ROLE "{role}" PASSWORD %(verifier)s', {"verifier": verifier})


def service_role_sql(tables: str = "SELECT, INSERT, UPDATE, DELETE") -> str:
    """What a migration runs (as the owner) to create the database's service role and grant it
    `tables` on every table and the use of every sequence, present and future (default
    privileges of the owner, so the tables later migrations create are covered), but not the
    migrations' own `alembic_version`. The role logs in, is no superuser, cannot create roles or
    databases, owns nothing and is granted no DDL: it cannot alter, drop or truncate a table, nor
    switch its triggers off."""
    return f"""
        DO $$
        DECLARE
            app text := current_database() || '_app';
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = app) THEN
                EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION', app);
            END IF;
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), app);
            EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', app);
            EXECUTE format('GRANT {tables} ON ALL TABLES IN SCHEMA public TO %I', app);
            EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I', app);
            EXECUTE format('REVOKE ALL ON alembic_version FROM %I', app);
            EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {tables} ON TABLES TO %I', app);
            EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO %I', app);
        END $$
    """


def drop_service_role_sql() -> str:
    """The downgrade of `service_role_sql`: the role's privileges here, then the role."""
    return """
        DO $$
        DECLARE
            app text := current_database() || '_app';
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = app) THEN
                EXECUTE format('DROP OWNED BY %I', app);
                EXECUTE format('DROP ROLE %I', app);
            END IF;
        END $$
    """


def alembic_config(migrations_dir: Path, url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(migrations_dir: Path, url: str) -> None:
    """Bring a database to the newest migration (`alembic upgrade head`)."""
    from alembic import command

    command.upgrade(alembic_config(migrations_dir, url), "head")


def prepare_database(service: str, migrations_dir: Path, settings: Settings | None = None) -> bool:
    """Create a service's database if missing and migrate it (as the owner), and give the
    service's role its password when one is configured; True if the database was new."""
    settings = settings or load_settings()
    url = settings.database_url_for(service)
    created = ensure_database(url)
    upgrade(migrations_dir, url)
    password = settings.database_password(service)
    if password:
        set_role_password(url, password)
    return created


def run_alembic_env(metadata: MetaData) -> None:
    """The body of every service's `migrations/env.py` (online mode only)."""
    from alembic import context
    from sqlalchemy import engine_from_config, pool

    config = context.config
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    connectable.dispose()


def ping(session: Session) -> dict[str, str]:
    """What a service's `health` RPC answers once its database replied."""
    session.execute(sa.text("SELECT 1"))
    return {"database": "ok"}


def commit_or_conflict(session: Session, message: str, details: dict | None = None) -> None:
    """Commit; when a unique constraint refuses the write (another worker got there between our
    check and our commit), roll back and answer `Conflict(message, details)`.

        commit_or_conflict(session, "the username is taken", {"username": "doc01"})
    """
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(message, details) from None


def get_or_not_found(session: Session, model: type, row_id: int, message: str, details: dict, lock: bool = False):
    """The row of `model` with id `row_id` (locked `FOR UPDATE` with `lock`), or `NotFound(message,
    details)`.

        get_or_not_found(session, Referral, 7, "no such referral", {"referral_id": 7}, lock=True)
    """
    stmt = sa.select(model).where(model.id == row_id)
    if lock:
        # The row as the lock found it: an object this transaction read before (unlocked) would
        # otherwise keep its stale state, and a racing change it waited for would be overwritten.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    row = session.scalars(stmt).first()
    if row is None:
        raise NotFound(message, details)
    return row
