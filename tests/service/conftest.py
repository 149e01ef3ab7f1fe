"""Service tests: real Nameko containers against this run's vhost and databases."""

import socket

import pytest
from shared.transport.rpc import SignedClusterRpcClient

from ehr.synthetic import Synthesizer

from services.gateway.service import GatewayService
from services.programmes.service import ProgrammesService
from services.records.service import RecordsService
from services.referrals.service import ReferralsService
from services.registry.service import RegistryService
from services.sync.service import SyncService
from shared.transport.topology import declare_topology
from tests.support.amqp import Hospital
from tests.support.auth import Credentials
from tests.support.platform import PlatformProcess


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", autouse=True)
def fresh_queues(suite_env):
    """Each module starts with the run's queues empty: the events earlier modules (and the browser
    and end-to-end tests of the same run) published for services that were not running are not
    this module's input, and a service started here would spend the module's time on them."""
    suite_env.purge_queues()


@pytest.fixture
def start(suite_env, container_factory, nameko_config):
    """start(ServiceCls, ...) -> started containers, killed after the test."""
    declare_topology(suite_env.amqp_uri)

    def _start(*service_classes):
        containers = [container_factory(cls, nameko_config) for cls in service_classes]
        for container in containers:
            container.start()
        return containers

    return _start


@pytest.fixture
def synth():
    return Synthesizer()


@pytest.fixture
def hospital(suite_env):
    """A hospital publishing encounters with a plain AMQP client."""
    h = Hospital(suite_env.amqp_uri)
    yield h
    h.close()


@pytest.fixture
def rpc(suite_env, nameko_config):
    with SignedClusterRpcClient(timeout=20) as client:
        yield client


@pytest.fixture
def registry(start):
    return start(RegistryService)[0]


@pytest.fixture
def records_and_registry(start):
    return start(RegistryService, RecordsService)


@pytest.fixture(scope="session")
def auth(suite_env):
    """Users, tokens and API keys made directly in this run's gateway database."""
    from shared.config import load_settings

    creds = Credentials(load_settings(suite_env.variables))
    yield creds
    creds.close()


@pytest.fixture
def gateway_url(suite_env, container_factory, nameko_config):
    """gateway_url(ServiceCls, ...) -> base URL of a gateway started with those services."""
    port = free_port()
    config = {**nameko_config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"}
    declare_topology(suite_env.amqp_uri)

    def _start(*services):
        for cls in (*services, GatewayService):
            container_factory(cls, config).start()
        return f"http://127.0.0.1:{port}"

    return _start


@pytest.fixture(scope="module")
def sync_platform(tmp_path_factory):
    """The regional platform the sync service of `module_gateway` sends to: the `ehr platform` fake
    as a process (`tests.support.platform`), named to it by EHR_PLATFORM_URL / EHR_PLATFORM_TOKEN
    for the module; its fault control makes it refuse (`sync_platform.faults(reject_one_in=1)`)."""
    fake = PlatformProcess(tmp_path_factory.mktemp("platform")).start()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EHR_PLATFORM_URL", fake.url)
        patch.setenv("EHR_PLATFORM_TOKEN", fake.token)
        patch.setenv("EHR_PLATFORM_FORMAT", "cda")
        yield fake
    fake.stop()


@pytest.fixture(scope="module")
def module_gateway(suite_env, sync_platform):
    """Registry, records, programmes, referrals, sync (sending to `sync_platform`) and gateway shared by the
    tests of one module (for the modules that make hundreds of requests): the gateway's base URL."""
    import nameko
    from nameko.containers import get_container_cls

    from shared.config import load_settings, nameko_config

    declare_topology(suite_env.amqp_uri)
    port = free_port()
    patch = nameko.config.patch({**nameko_config(load_settings()), "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"})
    patch.start()
    containers = [get_container_cls()(cls) for cls in (RegistryService, RecordsService, ProgrammesService,
                                                       ReferralsService, SyncService, GatewayService)]
    try:
        for container in containers:
            container.start()
        yield f"http://127.0.0.1:{port}"
    finally:
        for container in reversed(containers):
            try:
                container.kill()
            except Exception:  # noqa: BLE001 - already dead
                pass
        patch.stop()
