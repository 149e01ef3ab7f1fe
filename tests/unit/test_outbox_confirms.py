"""The outbox relay's publisher strikes each confirmed tag off its window whatever the order the
broker confirms in: an unroutable message (an event no queue binds yet) is confirmed before the
routed ones published ahead of it, and a later `multiple` ack covers it again."""

from shared.transport.outbox import ConfirmedPublisher


def _window(*tags):
    publisher = ConfirmedPublisher("amqp://guest:guest@127.0.0.1:5672/", b"k" * 32)
    publisher._unconfirmed = set(tags)
    return publisher


def test_an_early_single_ack_then_a_multiple_ack_covering_it_confirms_the_window():
    publisher = _window(1, 2, 3)
    publisher._on_ack(3, False)      # unroutable: confirmed at once
    publisher._on_ack(2, True)       # the routed ones, up to 2
    assert publisher._unconfirmed == set()


def test_a_multiple_ack_confirms_only_up_to_its_tag():
    publisher = _window(4, 5, 6, 7)
    publisher._on_ack(5, True)
    assert publisher._unconfirmed == {6, 7}
    publisher._on_ack(7, False)
    assert publisher._unconfirmed == {6}
    publisher._on_ack(6, False)
    assert publisher._unconfirmed == set()
