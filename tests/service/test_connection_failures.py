"""What `ehr` says when a server it needs cannot be reached (ehr/unreachable.py): one line naming
the setting, its password masked, and exit status 69, from a command and from a service process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from shared.config import generate_key


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ehr(*args: str, **env: str) -> subprocess.CompletedProcess:
    keys = {name: generate_key() for name in ("EHR_PII_KEY", "EHR_INDEX_KEY", "EHR_SERVICE_KEY")}
    return subprocess.run([sys.executable, "-m", "ehr", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **keys, **env})


def test_a_database_that_cannot_be_reached_is_one_line_naming_the_setting_with_the_password_masked():
    url = f"postgresql://postgres:s3cret@127.0.0.1:{unused_port()}"
    done = ehr("migrate", EHR_DATABASE_URL=url)
    assert done.returncode == 69
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("ehr: cannot connect to the database server at postgresql://postgres:***@127.0.0.1:")
    assert "(EHR_DATABASE_URL)" in line and "Connection refused" in line
    assert "s3cret" not in done.stderr and "Traceback" not in done.stderr


def test_a_service_database_override_is_named_by_its_own_setting():
    url = f"postgresql://postgres:s3cret@127.0.0.1:{unused_port()}/reg"
    done = ehr("migrate", EHR_REGISTRY_DATABASE_URL=url)
    assert done.returncode == 69
    assert "the registry database at postgresql://postgres:***@" in done.stderr
    assert "(EHR_REGISTRY_DATABASE_URL)" in done.stderr and "s3cret" not in done.stderr


def test_a_service_process_that_cannot_reach_the_broker_says_so_in_one_line(suite_env):
    uri = f"amqp://guest:s3cret@127.0.0.1:{unused_port()}/"
    done = ehr("run", "registry", **{**suite_env.variables, "EHR_AMQP_URI": uri})
    assert done.returncode == 69
    assert done.stderr.strip().splitlines()[-1] == (
        f"ehr: cannot connect to the broker at {uri.replace('s3cret', '***')} (EHR_AMQP_URI): [Errno 111] ECONNREFUSED")


def test_a_refused_broker_password_is_named_by_the_setting(suite_env):
    uri = suite_env.amqp_uri.replace("guest:guest@", "guest:wrong@")
    done = ehr("run", "registry", **{**suite_env.variables, "EHR_AMQP_URI": uri})
    assert done.returncode == 69
    assert "(EHR_AMQP_URI): ACCESS_REFUSED" in done.stderr and "wrong" not in done.stderr


def test_ehr_subscribe_refused_at_its_first_connection_names_its_uri_and_exits_69(suite_env):
    uri = suite_env.amqp_uri.replace("guest:guest@", "guest:wrong@")
    done = ehr("subscribe", "T1101051011", "--jurisdiction", "110105101", "--uri", uri)
    assert done.returncode == 69
    assert done.stderr.strip().splitlines()[-1].startswith(
        f"ehr: cannot connect to the broker at {uri.replace(':wrong@', ':***@')} (--uri): ACCESS_REFUSED")


def test_a_database_is_worded_alike_by_a_commands_own_check_and_by_the_entry_points_wrapper(monkeypatch):
    """One piece words it (ehr.unreachable.database_unreachable): `service_engine`, which knows
    the service it opens, and `describe`, which reads the service off libpq's reason."""
    import pytest
    import sqlalchemy as sa

    from ehr.databases import service_engine
    from ehr.exit_codes import Unavailable
    from ehr.unreachable import describe
    from shared.db import make_engine
    from tests.support.db import server_url

    url = server_url("ehr_no_such_registry_database")
    monkeypatch.setenv("EHR_REGISTRY_DATABASE_URL", url)
    with pytest.raises(Unavailable) as refused:
        with service_engine("registry"):
            pass
    engine = make_engine(url, pool_size=1)
    with pytest.raises(sa.exc.OperationalError) as failed:
        engine.connect()
    engine.dispose()
    assert refused.value.message == describe(failed.value)
    assert refused.value.message.startswith("cannot connect to the registry database at postgresql://")
    assert "(EHR_REGISTRY_DATABASE_URL)" in refused.value.message
    assert refused.value.message.endswith('"ehr_no_such_registry_database" does not exist; `ehr migrate` creates it')
