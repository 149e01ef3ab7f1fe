"""Nameko dependency providers for the suite's resources: each opens in `setup()` and hands a
worker the smallest plain interface it needs (a session, a `PiiBox`, an `Actor`, a key), so use
cases never see Nameko.

    class RecordsService:
        name = "records"
        db = Database("records")        # -> sqlalchemy Session, rolled back unless committed
        pii = Pii()                     # -> shared.pii.PiiBox with the service's keys
        actor = CurrentActor()          # -> shared.actor.Actor from the call's context data
        service_key = ServiceKey()      # -> bytes (EHR_SERVICE_KEY)
        institutions = Institutions()   # -> shared.institutions.InstitutionDirectory (cached)
"""

from __future__ import annotations

import logging
from weakref import WeakKeyDictionary

from nameko.extensions import DependencyProvider
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from shared.actor import INSTITUTION_KEY, REQUEST_ID_KEY, ROLE_KEY, USER_KEY, Actor
from shared.config import load_settings
from shared.db import TRANSIENT_DB_ERRORS, make_engine
from shared.institutions import InstitutionDirectory
from shared.pii import service_box

log = logging.getLogger(__name__)


def make_cooperative() -> None:
    """Let psycopg2 yield to other green threads while it waits on the server.

    Without a wait callback psycopg2 blocks the whole process for the length of every query,
    so one slow query stalls every worker, and the AMQP heartbeats with them. `wait_select`
    waits with `select`, which eventlet's monkey-patching makes cooperative.
    """
    import psycopg2.extensions
    import psycopg2.extras
    from eventlet import patcher

    if patcher.is_monkey_patched("select") and psycopg2.extensions.get_wait_callback() is None:
        psycopg2.extensions.set_wait_callback(psycopg2.extras.wait_select)


class Database(DependencyProvider):
    """A SQLAlchemy session per worker, rolled back at the end unless the worker committed."""

    def __init__(self, service: str, **engine_options) -> None:
        self.service = service
        self.engine_options = engine_options
        self.engine: Engine | None = None
        self.sessionmaker: sessionmaker | None = None
        self.sessions: WeakKeyDictionary = WeakKeyDictionary()

    def setup(self) -> None:
        settings = load_settings()
        make_cooperative()
        self.engine = make_engine(settings.service_url_for(self.service), **self.engine_options)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.dispose()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx) -> Session:
        session = self.sessionmaker()
        self.sessions[worker_ctx] = session
        return session

    def worker_teardown(self, worker_ctx) -> None:
        session = self.sessions.pop(worker_ctx, None)
        if session is None:
            return
        try:
            session.close()
        except TRANSIENT_DB_ERRORS as exc:
            # The server went away under the worker (restarted, or its backend terminated): closing
            # rolls back on a dead connection and fails. The worker's own error has been handled;
            # raising here would end the whole container (nameko treats a teardown error as fatal),
            # so the connection is discarded instead and the pool opens a fresh one next time.
            log.warning("database connection lost at worker teardown; discarded",
                        extra={"service": self.service, "error": type(exc).__name__})
            try:
                session.invalidate()
            except TRANSIENT_DB_ERRORS:
                pass


class Pii(DependencyProvider):
    """The process's `PiiBox` with the keys of its service (`Settings.pii_keys`): the registry's
    identity keys in the registry, the records keys in records. Example: `pii = Pii()` on the
    service class; a worker gets the box."""

    def setup(self) -> None:
        from shared.config import load_settings

        self.box = service_box(load_settings(), self.container.service_name)

    def get_dependency(self, worker_ctx):
        return self.box


class CurrentActor(DependencyProvider):
    def get_dependency(self, worker_ctx) -> Actor:
        data = worker_ctx.context_data
        return Actor(
            user=data.get(USER_KEY, "system"),
            institution_code=data.get(INSTITUTION_KEY),
            role=data.get(ROLE_KEY),
            request_id=data.get(REQUEST_ID_KEY),
        )


class ServiceKey(DependencyProvider):
    """The service key (EHR_SERVICE_KEY) for a worker that checks messages itself; a service
    without it does not start.

        class RecordsService:
            service_key = ServiceKey()   # -> b"\x8f..." (32 bytes)
    """

    def setup(self) -> None:
        from shared.config import load_settings

        self.key = load_settings().require_service_key()

    def get_dependency(self, worker_ctx) -> bytes:
        return self.key


class Institutions(DependencyProvider):
    """The process's `shared.institutions.InstitutionDirectory`: the registry's institutions,
    cached for every worker of the process (a worker passes the registry's `list_institutions`).

        class RecordsService:
            institutions = Institutions()
            ...
            self.institutions.known({"H1101050001"}, fetch=self.registry.list_institutions)
                -> {"H1101050001"}
    """

    def __init__(self, min_refresh: float = 5.0, max_age: float = 300.0) -> None:
        self.directory = InstitutionDirectory(min_refresh, max_age)

    def get_dependency(self, worker_ctx) -> InstitutionDirectory:
        return self.directory


class SyncKey(DependencyProvider):
    """EHR_SYNC_KEY (bytes), or None where it is not set: the key only the sync service and the
    registry hold, proving a call for a resident's full identity (`shared.signing`).

        class RegistryService:
            sync_key = SyncKey()   # -> b"\\x41..." | None (the registry then refuses every proof)
    """

    def setup(self) -> None:
        from shared.config import load_settings

        self.key = load_settings().sync_key

    def get_dependency(self, worker_ctx) -> bytes | None:
        return self.key
