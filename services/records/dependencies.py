"""Dependency providers of the records service (the registry's institutions are the shared
`shared.transport.providers.Institutions`)."""

from __future__ import annotations

from nameko.extensions import DependencyProvider


class EncounterIntake(DependencyProvider):
    """The checks made of a hospital message before its content is trusted (`filing.Intake`):
    the size bound (EHR_MAX_ENCOUNTER_BYTES) and the broker accounts that may publish for an
    institution (the internal account of EHR_AMQP_URI, partners named EHR_BROKER_ACCOUNT_PREFIX
    + code)."""

    def setup(self) -> None:
        from services.records.filing import Intake
        from shared.config import load_settings
        from shared.messaging import BrokerAccounts

        settings = load_settings()
        self.intake = Intake(BrokerAccounts.from_settings(settings), settings.max_encounter_bytes)

    def get_dependency(self, worker_ctx):
        return self.intake
