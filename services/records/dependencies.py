"""Dependency providers of the records service."""

from __future__ import annotations

import time
from collections.abc import Callable

from nameko.extensions import DependencyProvider


class InstitutionDirectory(DependencyProvider):
    """Process-wide cache of the registry's institutions: their codes and division codes.

    A code not in the cache triggers one refresh (at most every `min_refresh` seconds), so a
    newly registered hospital is accepted within seconds and an unknown one costs no RPC storm.

        known = self.institutions.known(codes, fetch=self.registry.list_institutions)
        self.institutions.divisions({"H1101050001"}, fetch=...)  -> {"H1101050001": "110105"}
    """

    def __init__(self, min_refresh: float = 5.0, max_age: float = 300.0) -> None:
        self.min_refresh = min_refresh
        self.max_age = max_age
        self.division_of: dict[str, str | None] = {}
        self.fetched_at = 0.0

    def get_dependency(self, worker_ctx) -> "InstitutionDirectory":
        return self

    def _refresh(self, codes: set[str], fetch: Callable[[], list[dict]]) -> None:
        age = time.monotonic() - self.fetched_at
        if age > self.max_age or (not codes <= self.division_of.keys() and age > self.min_refresh):
            self.division_of = {i["code"]: i.get("division_code") for i in fetch()}
            self.fetched_at = time.monotonic()

    def known(self, codes: set[str], fetch: Callable[[], list[dict]]) -> set[str]:
        self._refresh(codes, fetch)
        return codes & self.division_of.keys()

    def divisions(self, codes: set[str], fetch: Callable[[], list[dict]]) -> dict[str, str | None]:
        self._refresh(codes, fetch)
        return {code: self.division_of[code] for code in codes if code in self.division_of}


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
