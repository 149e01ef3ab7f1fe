"""The broker objects of the suite's topology (kombu exchanges and queues), built from the names
in `shared.messaging` and declared in one place: see that module for what each one is for.

    declare_topology("amqp://guest:guest@127.0.0.1:5672/ehr")   # idempotent, at every start
"""

from __future__ import annotations

from kombu import Exchange, Queue, binding

from shared import messaging as names

ENCOUNTERS = Exchange(names.ENCOUNTERS, type="topic", durable=True)
ARCHIVE_UPDATES = Exchange(names.ARCHIVE_UPDATES, type="topic", durable=True)
EVENTS = Exchange(names.EVENTS, type="topic", durable=True)
DEAD_LETTER = Exchange(names.DEAD_LETTER, type="topic", durable=True)
REFERRALS = Exchange(names.REFERRALS, type="topic", durable=True)
REFERRAL_ANSWERS = Exchange(names.REFERRAL_ANSWERS, type="topic", durable=True)
INSURANCE = Exchange(names.INSURANCE, type="topic", durable=True)
EXCHANGES = (ENCOUNTERS, ARCHIVE_UPDATES, EVENTS, DEAD_LETTER, REFERRALS, REFERRAL_ANSWERS, INSURANCE)


def work_queue(name: str, exchange: Exchange, routing_keys: list[str]) -> Queue:
    """A durable quorum queue bound to `exchange` under each routing key, dead-lettering to
    `ehr.dead-letter` with its own name as the routing key."""
    return Queue(
        name,
        bindings=[binding(exchange, routing_key=key) for key in routing_keys],
        durable=True,
        queue_arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": names.DELIVERY_LIMIT,
            "x-dead-letter-exchange": names.DEAD_LETTER,
            "x-dead-letter-routing-key": name,
        },
    )


def dead_letter_queue(for_queue: str) -> Queue:
    """Where `for_queue` sends what it gives up on; consumed by the owning service, which moves
    it to its quarantine store. What even that fails on is parked (see `parking_queue`)."""
    return Queue(
        names.dead_letter_queue_name(for_queue),
        exchange=DEAD_LETTER,
        routing_key=for_queue,
        durable=True,
        queue_arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": names.DELIVERY_LIMIT,
            "x-dead-letter-exchange": "",  # the default exchange: straight to the parking queue
            "x-dead-letter-routing-key": names.parking_queue_name(for_queue),
        },
    )


def parking_queue(for_queue: str) -> Queue:
    """The last resort: a queue nothing consumes, where a message that could not even be
    quarantined waits for an operator (RabbitMQ's management shows it). Nothing is dropped."""
    return Queue(names.parking_queue_name(for_queue), durable=True, queue_arguments={"x-queue-type": "quorum"})


# The queues of the suite's own services.
RECORDS_ENCOUNTERS = work_queue(names.RECORDS_ENCOUNTERS, ENCOUNTERS, ["encounter.#"])
RECORDS_REGISTRY_EVENTS = work_queue(names.RECORDS_REGISTRY_EVENTS, EVENTS, ["registry.#"])
RECORDS_SETTLEMENTS = work_queue(names.RECORDS_SETTLEMENTS, INSURANCE, ["settlement.#"])
PROGRAMMES_EVENTS = work_queue(names.PROGRAMMES_EVENTS, EVENTS, ["registry.#", "records.record_changed"])
REFERRALS_EVENTS = work_queue(names.REFERRALS_EVENTS, EVENTS,
                              ["records.record_changed", "programmes.referral_suggested"])
REFERRALS_ANSWERS = work_queue(names.REFERRALS_ANSWERS, REFERRAL_ANSWERS, ["answer.#"])
SYNC_EVENTS = work_queue(names.SYNC_EVENTS, EVENTS, ["registry.#", "records.record_changed"])
WORK_QUEUES = (RECORDS_ENCOUNTERS, RECORDS_REGISTRY_EVENTS, PROGRAMMES_EVENTS, REFERRALS_EVENTS, REFERRALS_ANSWERS,
               RECORDS_SETTLEMENTS, SYNC_EVENTS)


def referral_queue(institution_code: str) -> Queue:
    """An institution's referral queue (`shared.messaging.referral_queue`): durable, quorum, bound
    to `ehr.referrals` under `referral.<code>.#` only."""
    return Queue(names.referral_queue(institution_code), exchange=REFERRALS,
                 routing_key=f"referral.{institution_code}.#", durable=True,
                 queue_arguments={"x-queue-type": "quorum"})


def declare_referral_queue(amqp_uri: str, institution_code: str) -> None:
    """Declare (idempotently) the queue the referrals addressed to `institution_code` wait in, so
    that nothing sent before the institution first connects is lost."""
    from kombu import Connection

    with Connection(amqp_uri) as conn:
        channel = conn.default_channel
        REFERRALS(channel).declare()
        referral_queue(institution_code)(channel).declare()


def declare_topology(amqp_uri: str) -> None:
    """Declare every exchange and work queue of the suite (idempotent; run at each start), so
    that nothing published before a consumer first starts is lost."""
    from kombu import Connection

    from nameko.rpc import get_rpc_exchange

    with Connection(amqp_uri) as conn:
        channel = conn.default_channel
        for exchange in EXCHANGES:
            exchange(channel).declare()
        # Nameko's RPC exchange too: a service whose first RPC client binds its reply queue
        # before any service has declared the exchange would lose that binding, then its process.
        get_rpc_exchange()(channel).declare()
        for queue in WORK_QUEUES:
            queue(channel).declare()
            dead_letter_queue(queue.name)(channel).declare()
            parking_queue(queue.name)(channel).declare()
