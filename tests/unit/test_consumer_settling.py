"""Settling a batch when the broker connection has just gone: the acknowledgement is given up
(the broker requeues what was not acknowledged) instead of ending the worker, whose exception
would end the whole service process. Seen in the broker-restart fault test."""

from types import SimpleNamespace

import pytest
from amqp.exceptions import ConnectionError as AmqpConnectionError

from shared.transport.consumer import BatchConsumer
from shared.delivery import Delivery


class GoneChannel:
    """A channel whose connection broke; py-amqp finds out only when it writes."""

    connection = True

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def basic_ack(self, tag, multiple=False):
        raise self.error


def in_hand(consumer: BatchConsumer, channel, tag: int) -> Delivery:
    message = SimpleNamespace(channel=channel, delivery_tag=tag, reject=lambda requeue: channel.basic_ack(tag))
    entry = [tag, None]
    consumer._window.append(entry)
    consumer._entries[tag] = entry
    return Delivery(b"{}", "encounter.H1.outpatient", f"m{tag}", "application/json", {}, False, message=message)


@pytest.mark.parametrize("error", [ConnectionResetError(104, "Connection reset by peer"),
                                   BrokenPipeError(32, "Broken pipe"), AmqpConnectionError("closed")])
def test_an_acknowledgement_or_rejection_on_a_lost_connection_is_given_up_quietly(error):
    consumer = BatchConsumer(queue=None)
    channel = GoneChannel(error)
    consumer._channel = channel
    batch = [in_hand(consumer, channel, 1), in_hand(consumer, channel, 2)]
    rejected = in_hand(consumer, channel, 3)

    consumer._settle(batch)
    consumer._reject(rejected)

    assert not consumer._window and not consumer._entries
