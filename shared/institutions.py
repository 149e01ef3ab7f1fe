"""The registry's institutions as a process-wide cache: by code, their division codes, which
codes are known. One per process (`shared.transport.providers.Institutions` hands it to workers);
the registry's `list_institutions` is passed in as `fetch` by the caller, whose RPC proxy it is.

Refresh policy: the whole list is fetched again when it is older than `max_age` seconds, or
sooner (at most every `min_refresh` seconds) when a code asked about is missing, so an
institution registered today is known within seconds and an unknown code costs no RPC storm.

    directory = InstitutionDirectory()
    directory.get("C1101050031", fetch)                    -> {"code": "C1101050031", "kind": ..., ...}
    directory.known({"H1101050001", "H0000000000"}, fetch)   -> {"H1101050001"}
    directory.divisions({"H1101050001"}, fetch)              -> {"H1101050001": "110105"}
    directory.kinds({"Y1101050001"}, fetch)                  -> {"Y1101050001": "insurer"}
    directory.every(fetch, {"C1101050031"})                  -> {"C1101050031": {...}, ...}
"""

from __future__ import annotations

import time
from collections.abc import Callable

Fetch = Callable[[], list[dict]]


class InstitutionDirectory:
    """The registry's institutions by code (each as `list_institutions` answers it)."""

    def __init__(self, min_refresh: float = 5.0, max_age: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.min_refresh, self.max_age = min_refresh, max_age
        self.clock = clock
        self.by_code: dict[str, dict] = {}
        self.fetched_at = float("-inf")

    def _refresh(self, codes: set[str], fetch: Fetch) -> None:
        age = self.clock() - self.fetched_at
        if age > self.max_age or (not codes <= self.by_code.keys() and age > self.min_refresh):
            self.by_code = {i["code"]: i for i in fetch()}
            self.fetched_at = self.clock()

    def get(self, code: str, fetch: Fetch) -> dict | None:
        """The institution with this code, or None."""
        self._refresh({code}, fetch)
        return self.by_code.get(code)

    def every(self, fetch: Fetch, codes: set[str] = frozenset()) -> dict[str, dict]:
        """Every institution by code, in the registry's order (fetched again, as `get`, when one
        of `codes` is missing)."""
        self._refresh(set(codes), fetch)
        return dict(self.by_code)

    def known(self, codes: set[str], fetch: Fetch) -> set[str]:
        """Those of `codes` the registry knows."""
        self._refresh(codes, fetch)
        return codes & self.by_code.keys()

    def kinds(self, codes: set[str], fetch: Fetch) -> dict[str, str | None]:
        """The kind of each known institution of `codes` (`hospital`, `insurer`, ...)."""
        self._refresh(codes, fetch)
        return {code: self.by_code[code].get("kind") for code in codes if code in self.by_code}

    def divisions(self, codes: set[str], fetch: Fetch) -> dict[str, str | None]:
        """The division code of each known institution of `codes`."""
        self._refresh(codes, fetch)
        return {code: self.by_code[code].get("division_code") for code in codes if code in self.by_code}
