"""Dependency providers of the referrals service: who may publish a hospital's answers
(`shared.messaging.BrokerAccounts`), and the institutions' referral queues, declared once per
process before the first message to each (`shared.transport.topology.declare_referral_queue`)."""

from __future__ import annotations

from nameko.extensions import DependencyProvider


class AnswerAccounts(DependencyProvider):
    def setup(self) -> None:
        from shared.config import load_settings
        from shared.messaging import BrokerAccounts

        self.accounts = BrokerAccounts.from_settings(load_settings())

    def get_dependency(self, worker_ctx):
        return self.accounts


class ReferralQueues(DependencyProvider):
    """`queues("H1101050001")` declares that institution's referral queue (bound to
    `referral.H1101050001.#`) unless this process already did, so a referral sent to a hospital
    that has not connected yet waits for it instead of being unroutable."""

    def setup(self) -> None:
        from shared.config import load_settings

        self.amqp_uri = load_settings().amqp_uri
        self.declared: set[str] = set()

    def get_dependency(self, worker_ctx):
        return self.ensure

    def ensure(self, institution_code: str) -> None:
        from shared.transport.topology import declare_referral_queue

        if institution_code not in self.declared:
            declare_referral_queue(self.amqp_uri, institution_code)
            self.declared.add(institution_code)
