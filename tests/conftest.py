"""Test harness: every run gets its own RabbitMQ vhost and its own PostgreSQL databases, so
runs never collide and nothing is shared with a developer's `ehr up`."""

import warnings

# eventlet is deprecated upstream: a decided risk, written down in docs/dependencies.md
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()  # noqa: E402 - before anything imports socket or threading

import os  # noqa: E402
import uuid  # noqa: E402

import pytest  # noqa: E402

from ehr.sandbox import SuiteEnvironment  # noqa: E402


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def suite_env(run_id):
    """Vhost, databases (migrated, demo reference data loaded) and keys for this test run,
    exported to os.environ so every service container reads them."""
    env = SuiteEnvironment(f"t{run_id}")
    env.create()
    saved = {k: os.environ.get(k) for k in env.variables}
    os.environ.update(env.variables)
    try:
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        env.destroy()


@pytest.fixture
def nameko_config(suite_env):
    from shared.config import load_settings, nameko_config

    return nameko_config(load_settings())
