"""Service tests: real Nameko containers against this run's vhost and databases."""

import pytest
from nameko.standalone.rpc import ClusterRpcClient

from services.records.service import RecordsService
from services.registry.service import RegistryService
from shared.messaging import declare_topology


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
def rpc(suite_env, nameko_config):
    with ClusterRpcClient(uri=suite_env.amqp_uri, timeout=20) as client:
        yield client


@pytest.fixture
def registry(start):
    return start(RegistryService)[0]


@pytest.fixture
def records_and_registry(start):
    return start(RegistryService, RecordsService)
