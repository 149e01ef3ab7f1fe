"""A service process's liveness is its own: `ehr health registry` (what docker-compose asks)
reads the heartbeat of a real `ehr run registry` process, which keeps beating while its database
refuses it; meanwhile readiness says the database is unavailable, and ready again after."""

import time

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ehr.cli import main
from shared.config import database_role
from shared.db import make_engine
from shared.transport.health import heartbeat_path, liveness
from tests.support.amqp import wait_until

pytestmark = pytest.mark.e2e


def _health(sandbox, *args):
    result = CliRunner().invoke(main, ["health", "registry", *args], env=sandbox.env.variables)
    return result.exit_code, result.output


def _set_login(sandbox, allowed: bool) -> None:
    url = sandbox.settings.database_url_for("registry")
    role = database_role(sa.engine.make_url(url).database)
    engine = make_engine(url, isolation_level="AUTOCOMMIT", pool_size=1)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'ALTER ROLE "{role}" {"LOGIN" if allowed else "NOLOGIN"}')
    finally:
        engine.dispose()


def test_a_service_whose_database_refuses_it_is_not_ready_but_stays_live(sandbox):
    beat = heartbeat_path(sandbox.settings.run_dir, "registry")
    assert _health(sandbox)[0] == 1  # nothing runs yet: not live
    proc = sandbox.start("registry")
    wait_until(lambda: liveness(beat) == "ok" or proc.poll() is not None, timeout=60, message="registry live")
    assert proc.poll() is None
    assert _health(sandbox) == (0, "registry: live ok\n")
    assert _health(sandbox, "--ready")[0] == 0

    _set_login(sandbox, False)
    try:
        refused_at = time.time()
        code, output = _health(sandbox, "--ready")
        assert code == 1 and "database unavailable (OperationalError)" in output, output
        assert "broker ok" in output
        # the process beats on after the refusal began: live, and not restarted for it
        wait_until(lambda: beat.stat().st_mtime > refused_at, timeout=30, message="a heartbeat after the refusal")
        assert _health(sandbox)[0] == 0 and proc.poll() is None
    finally:
        _set_login(sandbox, True)
    assert _health(sandbox, "--ready") == (0, "registry: database ok, migrations ok, broker ok\n")

    proc.terminate()
    proc.wait(30)
    assert not beat.exists() and _health(sandbox)[0] == 1  # stopped: its heartbeat is gone
