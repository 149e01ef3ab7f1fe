"""The batching entrypoint's delivery guarantees, with a small service of the test's own."""

import json
import uuid

import pytest
from kombu import Exchange

from shared.delivery import Delivery
from shared.transport.consumer import TransientError, batch_consume
from shared.transport.topology import dead_letter_queue, parking_queue, work_queue
from tests.support.amqp import Listener, connect, wait_until

EXCHANGE = Exchange("test.batch", type="topic", durable=True)


def make_service(queue, behaviour, batch_size=10):
    class Service:
        name = f"batch_test_{uuid.uuid4().hex[:6]}"
        calls: list[list[str]] = []

        @batch_consume(queue, batch_size=batch_size, max_wait=0.05)
        def handle(self, deliveries: list[Delivery]):
            ids = [json.loads(d.body)["n"] for d in deliveries]
            type(self).calls.append(ids)
            behaviour(ids, len(type(self).calls))

    return Service


@pytest.fixture
def queue(suite_env):
    name = f"test.batch.{uuid.uuid4().hex[:8]}"
    q = work_queue(name, EXCHANGE, [name])
    conn = connect(suite_env.amqp_uri)
    yield q
    ch = conn.channel()
    for n in (q.name, f"{q.name}.dead-letter", f"{q.name}.parked"):
        ch.queue_delete(n)
    conn.close()


def publish(amqp_uri, queue, numbers):
    import amqp

    conn = connect(amqp_uri)
    ch = conn.channel()
    ch.exchange_declare(EXCHANGE.name, "topic", durable=True, auto_delete=False)
    for n in numbers:
        ch.basic_publish(amqp.Message(json.dumps({"n": n}).encode(), message_id=str(n), delivery_mode=2),
                         exchange=EXCHANGE.name, routing_key=queue.name)
    conn.close()


def declare(amqp_uri, queue):
    from kombu import Connection

    with Connection(amqp_uri) as conn:
        queue(conn.default_channel).declare()
        dead_letter_queue(queue.name)(conn.default_channel).declare()
        parking_queue(queue.name)(conn.default_channel).declare()


def queue_depth(amqp_uri, name):
    conn = connect(amqp_uri)
    try:
        _, count, _ = conn.channel().queue_declare(name, passive=True)
        return count
    finally:
        conn.close()


def test_a_batch_is_retried_while_a_dependency_is_down_and_acknowledged_once_it_succeeds(
        suite_env, container_factory, nameko_config, queue):
    def behaviour(ids, call):
        if call <= 2:
            raise TransientError("database unavailable")

    Service = make_service(queue, behaviour)
    declare(suite_env.amqp_uri, queue)
    publish(suite_env.amqp_uri, queue, range(5))
    container = container_factory(Service, nameko_config)
    container.start()

    wait_until(lambda: len(Service.calls) >= 3, timeout=20, message="third attempt")
    assert Service.calls[0] == Service.calls[1] == Service.calls[2] == [0, 1, 2, 3, 4]
    container.stop()
    # acknowledged after the successful attempt: nothing is redelivered to a new consumer
    assert queue_depth(suite_env.amqp_uri, queue.name) == 0
    assert queue_depth(suite_env.amqp_uri, f"{queue.name}.dead-letter") == 0


def test_a_message_that_fails_alone_is_dead_lettered_and_its_batch_mates_are_acknowledged(
        suite_env, container_factory, nameko_config, queue):
    def behaviour(ids, call):
        if 3 in ids:
            raise ValueError("cannot handle message 3")

    Service = make_service(queue, behaviour)
    declare(suite_env.amqp_uri, queue)
    dead = Listener(suite_env.amqp_uri, "ehr.dead-letter", queue.name)
    publish(suite_env.amqp_uri, queue, range(6))
    container = container_factory(Service, nameko_config)
    container.start()

    [letter] = dead.wait(1, timeout=20)
    assert letter["body"] == {"n": 3}
    handled_alone = sorted(ids[0] for ids in Service.calls if len(ids) == 1 and ids[0] != 3)
    assert handled_alone == [0, 1, 2, 4, 5]
    container.stop()
    assert queue_depth(suite_env.amqp_uri, queue.name) == 0
    dead.close()


def test_unacknowledged_messages_are_redelivered_when_the_worker_dies(
        suite_env, container_factory, nameko_config, queue):
    def never_finishes(ids, call):
        import eventlet
        eventlet.sleep(60)

    Slow = make_service(queue, never_finishes)
    declare(suite_env.amqp_uri, queue)
    publish(suite_env.amqp_uri, queue, range(3))
    container = container_factory(Slow, nameko_config)
    container.start()
    wait_until(lambda: Slow.calls, timeout=20, message="first call")
    container.kill()  # as a crash: no acknowledgement was sent

    Good = make_service(queue, lambda ids, call: None)
    good = container_factory(Good, nameko_config)
    good.start()
    wait_until(lambda: sum(len(c) for c in Good.calls) >= 3, timeout=20, message="redelivery")
    assert sorted(n for c in Good.calls for n in c) == [0, 1, 2]


def test_a_later_batch_finishing_first_is_acknowledged_without_the_earlier_one_still_in_hand(
        suite_env, container_factory, nameko_config, queue):
    import eventlet

    def first_batch_hangs(ids, call):
        if 0 in ids:
            eventlet.sleep(60)

    Service = make_service(queue, first_batch_hangs, batch_size=2)
    declare(suite_env.amqp_uri, queue)
    publish(suite_env.amqp_uri, queue, range(4))
    container = container_factory(Service, nameko_config)
    container.start()
    wait_until(lambda: [2, 3] in Service.calls and [0, 1] in Service.calls, timeout=20, message="both batches")
    eventlet.sleep(0.5)  # give the finished batch time to be acknowledged, as it would be
    container.kill()

    Good = make_service(queue, lambda ids, call: None)
    good = container_factory(Good, nameko_config)
    good.start()
    wait_until(lambda: sum(len(c) for c in Good.calls) >= 2, timeout=20, message="redelivery")
    good.stop()
    assert sorted(n for c in Good.calls for n in c) == [0, 1]


def test_what_even_the_dead_letter_consumer_fails_on_is_parked_not_dropped(
        suite_env, container_factory, nameko_config, queue):
    def always_fails(ids, call):
        raise ValueError("broken beyond repair")

    Service = make_service(queue, always_fails)
    DeadLetters = make_service(dead_letter_queue(queue.name), always_fails)
    declare(suite_env.amqp_uri, queue)
    publish(suite_env.amqp_uri, queue, [7])
    for cls in (Service, DeadLetters):
        container_factory(cls, nameko_config).start()
    wait_until(lambda: queue_depth(suite_env.amqp_uri, f"{queue.name}.parked") == 1, timeout=20,
               message="the message parked")
    assert DeadLetters.calls == [[7]]
