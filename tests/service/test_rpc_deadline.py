"""RPC clients with a deadline (`shared.transport.rpc.BoundedServiceRpc`), with small services of the
test's own: a call past its deadline ends its worker like any other error, and a reply queue
lost with replies pending fails those calls instead of the whole service."""

from __future__ import annotations

import time
import uuid

import eventlet
import pytest
from nameko.extensions import DependencyProvider

from shared.transport.rpc import BoundedServiceRpc, ResilientReplyListener, ServiceTimeout, rpc

rpc_entrypoint = rpc  # the `rpc` fixture (a client) shadows the decorator inside tests
from tests.support.amqp import connect, wait_until


class Teardowns(DependencyProvider):
    """Counts the workers torn down: a worker ended by a BaseException never is."""

    def setup(self) -> None:
        self.count = 0

    def worker_teardown(self, worker_ctx) -> None:
        self.count += 1


def slow_service(name: str):
    class Slow:
        @rpc
        def answer(self, seconds: float) -> str:
            eventlet.sleep(seconds)
            return "late" if seconds else "prompt"

    Slow.name = name
    return Slow


def caller_service(target: str, timeout: float):
    class Caller:
        name = f"caller_{uuid.uuid4().hex[:6]}"
        target_rpc = BoundedServiceRpc(target, timeout=timeout)
        teardowns = Teardowns()

        @rpc
        def ask(self, seconds: float) -> str:
            return self.target_rpc.answer(seconds)

    return Caller


@pytest.fixture
def services(start):
    target = f"slow_{uuid.uuid4().hex[:6]}"

    def _start(timeout: float):
        slow, caller = start(slow_service(target), caller_service(target, timeout))
        return caller

    return _start


def listener_of(container) -> ResilientReplyListener:
    return next(e for e in container.extensions if isinstance(e, ResilientReplyListener))


def teardowns_of(container) -> Teardowns:
    return next(e for e in container.extensions if isinstance(e, Teardowns))


def test_a_call_past_its_deadline_raises_service_timeout_and_its_worker_still_ends_cleanly(services, rpc):
    caller = services(timeout=0.5)
    service = rpc[caller.service_name]

    started = time.monotonic()
    with pytest.raises(ServiceTimeout, match=r"answer within 0.5 s"):
        service.ask(3)
    assert time.monotonic() - started < 2.5
    # The caller's worker was torn down (its session closed, its message settled) and answered.
    wait_until(lambda: teardowns_of(caller).count == 1, timeout=5, message="the worker torn down")
    # The late reply finds nobody waiting, and the client is as good as new.
    assert listener_of(caller).pending == {}
    assert service.ask(0) == "prompt"


def test_a_reply_queue_lost_with_calls_waiting_fails_those_calls_and_not_the_service(services, rpc, suite_env):
    caller = services(timeout=20)
    service = rpc[caller.service_name]
    assert service.ask(0) == "prompt"
    queue = listener_of(caller).queue.name

    waiting = eventlet.spawn(service.ask, 4)
    wait_until(lambda: listener_of(caller).pending, timeout=5, message="a call waiting for its reply")
    conn = connect(suite_env.amqp_uri)
    try:
        conn.channel().queue_delete(queue)   # what a broker restart does to a non-durable queue
    finally:
        conn.close()

    started = time.monotonic()
    with pytest.raises(ServiceTimeout, match="lost"):
        waiting.wait()
    assert time.monotonic() - started < 4  # failed when the loss was noticed, not at its deadline
    assert service.ask(0) == "prompt"      # a new reply queue, the service alive


def test_a_service_timeout_passed_on_by_a_service_is_still_one_for_its_caller():
    """Records answering the gateway with its own call's ServiceTimeout: the gateway sees a
    ServiceTimeout (503, transient), not a RemoteError (500)."""
    from nameko.exceptions import deserialize, serialize

    from shared.transport.consumer import TRANSIENT_ERRORS

    passed_on = deserialize(serialize(ServiceTimeout("registry.get_archive gave no answer within 30 s")))
    assert isinstance(passed_on, ServiceTimeout) and isinstance(passed_on, TRANSIENT_ERRORS)
    assert str(passed_on) == "registry.get_archive gave no answer within 30 s"


def test_a_reply_queue_deleted_between_calls_costs_at_most_one_call_failed_at_once(services, rpc, suite_env):
    """The client declares its reply queue only now and then (see shared.transport.rpc). A queue gone
    between calls, as after a broker restart, may lose the reply of the next call: that call
    fails as transient when the listener notices, long before its deadline, and the queue is
    back for the calls after it."""
    caller = services(timeout=10)
    service = rpc[caller.service_name]
    assert service.ask(0) == "prompt"
    conn = connect(suite_env.amqp_uri)
    try:
        conn.channel().queue_delete(listener_of(caller).queue.name)
    finally:
        conn.close()
    outcomes = []
    for _ in range(4):
        started = time.monotonic()
        try:
            outcomes.append(service.ask(0))
        except ServiceTimeout:
            outcomes.append("lost")
        assert time.monotonic() - started < 5
    assert outcomes[1:] == ["prompt"] * 3


def test_a_service_whose_database_is_down_answers_service_unavailable_not_a_remote_error(start, rpc):
    """What the batch consumer retries and the gateway answers 503; a bug stays a RemoteError."""
    import sqlalchemy as sa
    from nameko.exceptions import RemoteError

    from shared.transport.consumer import TRANSIENT_ERRORS
    from shared.transport.rpc import ServiceUnavailable

    class Shaky:
        name = f"shaky_{uuid.uuid4().hex[:6]}"

        @rpc_entrypoint
        def read(self):
            raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

        @rpc_entrypoint
        def buggy(self):
            raise ValueError("a bug")

    start(Shaky)
    with pytest.raises(ServiceUnavailable, match="OperationalError") as down:
        rpc[Shaky.name].read()
    assert isinstance(down.value, TRANSIENT_ERRORS)
    with pytest.raises(RemoteError, match="ValueError"):
        rpc[Shaky.name].buggy()
