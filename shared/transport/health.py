"""Is a service process alive, and is it ready? (`ehr health`, the gateway's /api/v1/health/*,
`ehr up`, docker-compose's and systemd's checks.)

Liveness is the process's own: every service process (`ehr run`) touches a heartbeat file,
`<EHR_RUN_DIR>/<process>.alive`, every few seconds from its event loop once its service has
started, and removes it when it stops; a file older than `HEARTBEAT_STALE` seconds means the
process is gone or stuck. It needs no port, so the services that only speak AMQP have it too, and
it depends on nothing else: a process whose database is down stays live (restarting it would not
help).

Readiness is what the process needs to do its work (`ServiceDescriptor.readiness`): its database
answers as the service's own role, the broker answers and holds the queues the service consumes,
and the database is at the migration the code expects. The service's role may not read
`alembic_version`; it asks `migration_version()`, a function the migrations create for it.

    readiness(RECORDS, settings)
    -> {"database": "ok", "broker": "ok", "migrations": "ok"}
    -> {"database": "unavailable (OperationalError)", "broker": "ok", "migrations": "unknown"}

Plain functions (SQLAlchemy, kombu, Alembic's script directory); no message names a password.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

HEARTBEAT_INTERVAL = 5.0   # seconds between two touches of the heartbeat file
HEARTBEAT_STALE = 30.0     # a heartbeat older than this: the process is not live
CONNECT_TIMEOUT = 3        # seconds a readiness check waits for the database or the broker
OK = "ok"

# What the migrations run (as the owner) so that the service's role can tell the schema's version
# without reading `alembic_version`, which it is refused; the downgrade drops it.
MIGRATION_VERSION_SQL = """
    CREATE OR REPLACE FUNCTION migration_version() RETURNS text
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
        AS 'SELECT string_agg(version_num, '','' ORDER BY version_num) FROM alembic_version';
    REVOKE ALL ON FUNCTION migration_version() FROM PUBLIC;
    DO $$ BEGIN
        EXECUTE format('GRANT EXECUTE ON FUNCTION migration_version() TO %I', current_database() || '_app');
    END $$;
"""
DROP_MIGRATION_VERSION_SQL = "DROP FUNCTION IF EXISTS migration_version()"


# -- liveness ---------------------------------------------------------------------------------


def heartbeat_path(run_dir: str | os.PathLike, process: str) -> Path:
    return Path(run_dir) / f"{process}.alive"


def beat(path: Path) -> None:
    """Touch the heartbeat file (creating its folder): the process is alive now."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{os.getpid()}\n")


def stop_beating(path: Path) -> None:
    path.unlink(missing_ok=True)


def liveness(path: Path, now: float | None = None, stale: float = HEARTBEAT_STALE) -> str:
    """"ok", or why the process behind `path` does not count as alive."""
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except FileNotFoundError:
        return "no heartbeat (not started, or stopped)"
    return OK if age <= stale else f"stale heartbeat ({age:.0f} s old)"


# -- readiness --------------------------------------------------------------------------------


def readiness(service, settings) -> dict[str, str]:
    """Each of `service`'s readiness checks (a `ServiceDescriptor`) -> "ok" or what is wrong."""
    checks: dict[str, str] = {}
    if {"database", "migrations"} & set(service.readiness):
        database, version = _database(settings.service_url_for(service.name))
        if "database" in service.readiness:
            checks["database"] = database
        if "migrations" in service.readiness:
            checks["migrations"] = "unknown" if version is None else _compare(version, expected_head(service.migrations))
    if "broker" in service.readiness:
        checks["broker"] = check_broker(settings.amqp_uri, service.queues)
    return checks


def is_ready(checks: dict[str, str]) -> bool:
    return all(value == OK for value in checks.values())


def _database(url: str) -> tuple[str, str | None]:
    """("ok", the schema's version) when the database answers as `url`'s role, else (why, None)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, hide_parameters=True,
                              connect_args={"connect_timeout": CONNECT_TIMEOUT})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            try:
                return OK, conn.scalar(sa.text("SELECT migration_version()")) or ""
            except sa.exc.DBAPIError:
                return OK, ""  # a database from before the function: older than the code
    except Exception as exc:  # noqa: BLE001 - any failure to answer is "unavailable"
        return f"unavailable ({type(exc).__name__})", None
    finally:
        engine.dispose()


@functools.lru_cache(maxsize=None)
def expected_head(migrations: Path) -> str:
    """The newest migration of a service's folder: what its code was written for."""
    from alembic.script import ScriptDirectory

    return ",".join(sorted(ScriptDirectory(str(migrations)).get_heads()))


def _compare(version: str, head: str) -> str:
    if version == head:
        return OK
    return f"not at head ({version or 'none'}; the code expects {head})"


def check_broker(amqp_uri: str, queues: tuple[str, ...] = ()) -> str:
    """"ok" when the broker answers and holds every one of `queues`."""
    from kombu import Connection

    try:
        with Connection(amqp_uri, connect_timeout=CONNECT_TIMEOUT) as conn:
            conn.connect()
            for queue in queues:
                channel = conn.channel()
                try:
                    channel.queue_declare(queue, passive=True)
                except Exception:  # noqa: BLE001 - the broker closes the channel: not there
                    return f"queue {queue} missing"
                finally:
                    _close(channel)
    except Exception as exc:  # noqa: BLE001 - any failure to answer is "unavailable"
        return f"unavailable ({type(exc).__name__})"
    return OK


def _close(channel) -> None:
    try:
        channel.close()
    except Exception:  # noqa: BLE001 - already closed by the broker
        pass
