"""Run one service of the suite as a process: `ehr run registry` (what `ehr up` and the
docker-compose file start). Configuration comes from the EHR_* environment variables; a service
keeps only its own keys (`shared.config.SERVICE_KEYS`) and drops any other it was given."""

from __future__ import annotations

import importlib
import logging
import os
import signal

SERVICES = {
    "registry": "services.registry.service:RegistryService",
    "records": "services.records.service:RecordsService",
    "gateway": "services.gateway.service:GatewayService",
}
HTTP_SERVICES = {"gateway"}

log = logging.getLogger("ehr.runner")


def load_service(name: str):
    module, cls = SERVICES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def run_service(name: str) -> None:
    import eventlet

    eventlet.monkey_patch()  # before anything opens a socket

    from nameko import config
    from nameko.runners import ServiceRunner

    from shared.config import load_settings, nameko_config, service_environment
    from shared.logs import configure_logging
    from shared.messaging import declare_topology

    own = service_environment(name, dict(os.environ))
    for variable in set(os.environ) - set(own):
        del os.environ[variable]
    settings = load_settings()
    configure_logging(service=name, level=settings.log_level)
    cfg = nameko_config(settings)
    if name in HTTP_SERVICES:
        cfg["WEB_SERVER_ADDRESS"] = f"{settings.gateway_host}:{settings.gateway_port}"
    config.setup(cfg)
    # Both servers once, before anything starts: a wrong URL or password ends the process with one
    # line naming the setting and exit status 69 (ehr/unreachable.py), not a worker's traceback.
    connect_database(settings, name)
    declare_topology(settings.amqp_uri)

    runner = ServiceRunner()
    runner.add_service(load_service(name))

    def shutdown(signum, frame):
        eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    log.info("service started", extra={"listen": cfg.get("WEB_SERVER_ADDRESS")})
    runner.wait()
    log.info("service stopped")


def connect_database(settings, name: str) -> None:
    """Connect once to `name`'s database as its service role (what its workers will do)."""
    from shared.db import make_engine

    engine = make_engine(settings.service_url_for(name), pool_size=1, max_overflow=0)
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()
