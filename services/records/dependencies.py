"""Dependency providers of the records service."""

from __future__ import annotations

import time
from collections.abc import Callable

from nameko.extensions import DependencyProvider



class InstitutionDirectory(DependencyProvider):
    """Process-wide cache of the institution codes the registry knows.

    A code not in the cache triggers one refresh (at most every `min_refresh` seconds), so a
    newly registered hospital is accepted within seconds and an unknown one costs no RPC storm.

        known = self.institutions(codes, fetch=self.registry.list_institutions)
    """

    def __init__(self, min_refresh: float = 5.0, max_age: float = 300.0) -> None:
        self.min_refresh = min_refresh
        self.max_age = max_age
        self.codes: set[str] = set()
        self.fetched_at = 0.0

    def get_dependency(self, worker_ctx) -> Callable[..., set[str]]:
        return self.known

    def known(self, codes: set[str], fetch: Callable[[], list[dict]]) -> set[str]:
        age = time.monotonic() - self.fetched_at
        if age > self.max_age or (not codes <= self.codes and age > self.min_refresh):
            self.codes = {i["code"] for i in fetch()}
            self.fetched_at = time.monotonic()
        return codes & self.codes



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
