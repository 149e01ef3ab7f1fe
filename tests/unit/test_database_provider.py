"""The database provider's teardown: a connection that died under a worker is discarded, never
raised, because nameko ends the whole container on an error in a provider's teardown (a registry
whose database restarted would otherwise stop answering for good)."""

from __future__ import annotations

import sqlalchemy as sa

from shared.transport.providers import Database


class Worker:
    """A stand-in for nameko's worker context (the provider keys its sessions weakly by it)."""


class DeadSession:
    def __init__(self):
        self.invalidated = False

    def close(self):
        raise sa.exc.OperationalError("ROLLBACK", {}, Exception("server closed the connection unexpectedly"))

    def invalidate(self):
        self.invalidated = True


def test_a_session_whose_connection_died_is_discarded_at_teardown_without_raising():
    provider, worker, session = Database("registry"), Worker(), DeadSession()
    provider.sessions[worker] = session
    provider.worker_teardown(worker)
    assert session.invalidated and worker not in provider.sessions


def test_a_bug_at_teardown_is_still_raised():
    class Broken(DeadSession):
        def close(self):
            raise RuntimeError("not a connection problem")

    provider, worker = Database("registry"), Worker()
    provider.sessions[worker] = Broken()
    try:
        provider.worker_teardown(worker)
    except RuntimeError:
        pass
    else:
        raise AssertionError("a programming error at teardown must not be swallowed")
