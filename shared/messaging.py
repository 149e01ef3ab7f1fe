"""The suite's messaging topology, declared in one place.

Public exchanges (contracts with the world outside the suite):

    ehr.encounters        topic, durable  encounter.<institution_code>.<kind>   hospitals publish
    ehr.archive-updates   topic, durable  archive.<county6>.<township3>.<village3>.<record_type>
    ehr.referrals         topic, durable  referral.<institution_code>.<event>          the suite tells hospitals
    ehr.referral-answers  topic, durable  answer.<institution_code>.<kind>             hospitals answer
    ehr.insurance         topic, durable  settlement.<institution_code>.<type>         the insurer publishes

Internal exchanges:

    ehr.events            topic, durable  <service>.<event_type>   domain events between services
    ehr.dead-letter       topic, durable  <queue name>             what a queue gave up on
    (default exchange)                    <queue name>.parked      what even quarantine failed on

Work queues are durable quorum queues: they survive a broker restart, replicate in a cluster,
and count deliveries, so a message that keeps killing its consumer is dead-lettered after
`DELIVERY_LIMIT` attempts instead of looping forever. The owning service moves dead letters to
its quarantine store, where operators see them with the reason.

Nameko's RPC queues are nameko's own and stay classic: `rpc-<service>` (durable) and each
client's reply queue (not durable, expiring), which a quorum queue cannot be. Nothing is kept in
them that a caller does not wait for: a request or reply lost with a broker restart ends its
call with `shared.transport.rpc.ServiceTimeout` at once or at its deadline, and the caller's batch or HTTP
request is retried or answered 503.

Who may use which exchange is decided by broker accounts (provisioned by `ehr.broker`): the
suite's services connect with the internal account of `EHR_AMQP_URI`, the only one with rights on
`ehr.events`, `ehr.dead-letter` and nameko's RPC exchange and queues; each hospital and township
system has a partner account of its own, `<EHR_BROKER_ACCOUNT_PREFIX><institution code>`, that may
only publish its own encounters or read its own jurisdiction's updates (`BrokerAccounts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlparse

# Exchange names (all topic exchanges, durable; declared by `shared.transport.topology`).
ENCOUNTERS = "ehr.encounters"
ARCHIVE_UPDATES = "ehr.archive-updates"
EVENTS = "ehr.events"
REFERRALS = "ehr.referrals"
REFERRAL_ANSWERS = "ehr.referral-answers"
INSURANCE = "ehr.insurance"
DEAD_LETTER = "ehr.dead-letter"

DELIVERY_LIMIT = 50


def dead_letter_queue_name(for_queue: str) -> str:
    """The queue where `for_queue` sends what it gives up on (bound to `ehr.dead-letter`)."""
    return f"{for_queue}.dead-letter"


def parking_queue_name(for_queue: str) -> str:
    """The queue nothing consumes, where what even quarantine failed on waits for an operator."""
    return f"{for_queue}.parked"


def event_routing_key(service: str, event_type: str) -> str:
    return f"{service}.{event_type}"


def encounter_routing_key(institution_code: str, kind: str) -> str:
    return f"encounter.{institution_code}.{kind}"


def settlement_routing_key(institution_code: str, settlement_type: str) -> str:
    """What the insurer publishes a settlement under: the institution visited and the type,
    `settlement.H3301020001.outpatient`."""
    return f"settlement.{institution_code}.{settlement_type}"


def referral_routing_key(institution_code: str, event: str) -> str:
    """What the suite publishes to the institution a referral or consultation is addressed to
    (`referral.H3301020001.referral_requested`); its queue `referral_queue(code)` binds only these."""
    return f"referral.{institution_code}.{event}"


def answer_routing_key(institution_code: str, kind: str) -> str:
    """What a hospital publishes its answers under: `answer.H3301020001.accept`."""
    return f"answer.{institution_code}.{kind}"


def referral_queue(institution_code: str) -> str:
    """The durable queue an institution reads the referrals and consultations addressed to it
    from, bound to `ehr.referrals` under `referral.<code>.#`; declared by the suite (the referrals
    service, before it first publishes to that institution), readable by that institution's
    account only."""
    return f"referrals.{institution_code}"


def jurisdiction_binding(jurisdiction: str) -> str:
    """Binding key for a township or village subscription.

    `110105003` (county + township) -> `archive.110105.003.#`;
    `110105003001` (+ village)      -> `archive.110105.003.001.#`;
    `110105`                        -> `archive.110105.#`.
    """
    digits = jurisdiction.replace(".", "")
    if not digits.isdigit() or len(digits) not in (6, 9, 12):
        raise ValueError("a jurisdiction is 6 (county), 9 (township) or 12 (village) digits")
    parts = [digits[:6], digits[6:9], digits[9:12]]
    return "archive." + ".".join(p for p in parts if p) + ".#"


def township_queue(institution_code: str) -> str:
    """The durable queue a township or village system consumes its updates from; its broker
    account may declare, bind and read this queue and `<this name>.<anything>`, and no other."""
    return f"township.{institution_code}"


def account_of(amqp_uri: str) -> str:
    """The broker account an AMQP URI connects as (kombu's default when it names none: guest)."""
    return unquote(urlparse(amqp_uri).username or "guest")


def vhost_of(amqp_uri: str) -> str:
    """The vhost an AMQP URI connects to: `amqp://h:5672/` and `amqp://h:5672//` are `/`."""
    return unquote(urlparse(amqp_uri).path[1:]) or "/"


@dataclass(frozen=True)
class BrokerAccounts:
    """The broker accounts that may publish a hospital's encounters: the hospital's own partner
    account, and the suite's internal account (an operator's replay, the tests and benchmarks).

    RabbitMQ refuses a message whose `user_id` property is not the publishing connection's
    account, so `user_id` tells who published; a message without it is not trusted.

        accounts = BrokerAccounts(internal="ehr", partner_prefix="inst-")
        accounts.partner("H3301020001")                          # 'inst-H3301020001'
        accounts.may_publish_for("inst-H3301020001", "H3301020001")  # True
        accounts.may_publish_for("inst-H1101050002", "H3301020001")  # False
    """

    internal: str
    partner_prefix: str = "inst-"

    @classmethod
    def from_settings(cls, settings) -> "BrokerAccounts":
        return cls(account_of(settings.amqp_uri), settings.broker_account_prefix)

    def partner(self, institution_code: str) -> str:
        return f"{self.partner_prefix}{institution_code}"

    def may_publish_for(self, user_id: str | None, institution_code: str) -> bool:
        return user_id is not None and user_id in (self.internal, self.partner(institution_code))


# The work queues of the suite's own services (declared by `shared.transport.topology`).
RECORDS_ENCOUNTERS = "records.encounters"
RECORDS_REGISTRY_EVENTS = "records.registry-events"
# The insurer's settlements (ehr.insurance settlement.#), filed by records like encounters.
RECORDS_SETTLEMENTS = "records.settlements"
# The programmes hear of residents (registry.#) and of their records (records.record_changed).
PROGRAMMES_EVENTS = "programmes.events"
# The referrals hear of hospital encounters (records.record_changed: arrival) and of the
# follow-ups' suggestions (programmes.referral_suggested), and take hospitals' answers.
REFERRALS_EVENTS = "referrals.events"
REFERRALS_ANSWERS = "referrals.answers"
# The sync service hears of every archive (registry.#) and record (records.record_changed) it
# documents to the regional platform.
SYNC_EVENTS = "sync.events"
# Institution codes that would name the suite's own queues as a referral queue (`referral_queue`).
RESERVED_REFERRAL_CODES = frozenset({"events", "answers"})
