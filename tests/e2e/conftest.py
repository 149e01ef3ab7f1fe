"""A private suite per test: its own vhost and databases, services as real processes."""

import os
import subprocess
import sys
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ehr.sandbox import SuiteEnvironment
from ehr.synthetic import Resident, Synthesizer
from services import service as descriptor_of
from shared.config import Settings, load_settings, service_environment
from shared.db import make_engine
from shared.transport.topology import declare_topology

VILLAGES = ["110105003001", "110105101101", "110105201101"]
MANAGERS = {"110105003": "C1101050031", "110105101": "T1101051011", "110105201": "T1101052011"}


@dataclass
class Sandbox:
    env: SuiteEnvironment
    settings: Settings
    procs: list = field(default_factory=list)

    def start(self, service: str) -> subprocess.Popen:
        # Only the service's own keys, as `ehr up` and docker-compose give them.
        env = service_environment(descriptor_of(service), {**os.environ, **self.env.variables, "EHR_LOG_LEVEL": "WARNING"})
        proc = subprocess.Popen([sys.executable, "-m", "ehr", "run", service], env=env)
        self.procs.append(proc)
        return proc

    def register(self, count: int, synth: Synthesizer) -> list[Resident]:
        """Residents registered straight through the registry's use case (fast, no RPC)."""
        from services.registry.usecases import create_archive
        from shared.actor import SYSTEM
        from shared.pii import PiiBox

        people = []
        engine = make_engine(self.settings.database_url_for("registry"))
        with Session(engine) as session:
            pii = PiiBox(*self.settings.require_keys())
            for n in range(count):
                village = VILLAGES[n % len(VILLAGES)]
                person = synth.resident(village, MANAGERS[village[:9]])
                create_archive(session, pii, {**person.archive_request(), "birth_date": person.birth_date,
                                              "confirm_new": True}, SYSTEM)
                people.append(person)
        engine.dispose()
        return people

    def records_scalar(self, sql: str, **params):
        engine = make_engine(self.settings.database_url_for("records"), pool_size=1)
        try:
            with engine.connect() as conn:
                return conn.scalar(sa.text(sql), params)
        finally:
            engine.dispose()


@pytest.fixture
def sandbox(run_id, request):
    env = SuiteEnvironment(f"t{run_id}{request.node.name[-12:].replace('_', '')[:8].lower()}")
    env.create()
    declare_topology(env.amqp_uri)  # as `ehr up` does: nothing published before a worker starts is lost
    box = Sandbox(env, load_settings(env.variables))
    yield box
    for proc in box.procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
    env.destroy()
