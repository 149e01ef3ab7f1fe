"""Run one service of the suite as a process: `ehr run registry` (what `ehr up`, docker-compose
and the systemd units start). Configuration comes from the EHR_* environment variables; a service
keeps only its own keys (its descriptor's `keys`) and drops any other it was given. Once started,
the process touches its heartbeat file (`shared.transport.health`) until it stops."""

from __future__ import annotations

import logging
import os
import signal

log = logging.getLogger("ehr.runner")


def run_service(name: str) -> None:
    import eventlet

    eventlet.monkey_patch()  # before anything opens a socket

    from nameko import config
    from nameko.runners import ServiceRunner

    import services
    from shared.config import load_settings, nameko_config, service_environment
    from shared.transport.health import HEARTBEAT_INTERVAL, beat, heartbeat_path, stop_beating
    from shared.logs import configure_logging
    from shared.transport.topology import declare_topology

    descriptor = services.service(name)
    own = service_environment(descriptor, dict(os.environ))
    for variable in set(os.environ) - set(own):
        del os.environ[variable]
    settings = load_settings()
    process = settings.process_name or name
    configure_logging(service=name, level=settings.log_level, fmt=settings.log_format, process=process)
    cfg = nameko_config(settings)
    if descriptor.http:
        cfg["WEB_SERVER_ADDRESS"] = f"{settings.gateway_host}:{settings.gateway_port}"
    config.setup(cfg)
    # Both servers once, before anything starts: a wrong URL or password ends the process with one
    # line naming the setting and exit status 69 (ehr/unreachable.py), not a worker's traceback.
    connect_database(settings, name)
    declare_topology(settings.amqp_uri)

    runner = ServiceRunner()
    runner.add_service(descriptor.load())

    def shutdown(signum, frame):
        eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    heartbeat = heartbeat_path(settings.run_dir, process)

    def keep_beating():
        # From the event loop itself: a loop stuck on a blocking call stops the heartbeat.
        told = False
        while True:
            try:
                beat(heartbeat)
            except OSError as exc:  # the process works on; `ehr health` will call it not live
                if not told:
                    log.error("cannot write the heartbeat file", extra={"path": str(heartbeat),
                                                                        "error": exc.strerror})
                told = True
            eventlet.sleep(HEARTBEAT_INTERVAL)

    beating = eventlet.spawn(keep_beating)
    log.info("service started", extra={"listen": cfg.get("WEB_SERVER_ADDRESS")})
    try:
        runner.wait()
    finally:
        beating.kill()
        stop_beating(heartbeat)
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
