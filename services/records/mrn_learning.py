"""After filing, teaching the registry the MRNs of encounters it matched by ID number.

The registry's `resolve_identities` only reads, and says of each ID-number match whether the
query carries an MRN the archive does not hold yet (`teaches_mrn`; after a patient's first visit,
mostly not). A filing run resolves through `Remembering`, which keeps those queries; once the
batch is committed, `teach` hands them to the registry's `learn_medical_record_numbers`, so that
the hospital's next message with that MRN alone finds the archive (and a pending encounter with
only the MRN is filed by the next sweep). Learning is advisory, as with `link_pending`: if the
registry cannot be reached the encounters stay filed and a warning is logged (ids only); the next
encounter of that patient teaches it again.

    resolve = Remembering(self.registry.resolve_identities)
    filing.file_encounters(..., resolve=resolve, ...)          # commits
    teach(self.registry.learn_medical_record_numbers, resolve.learnable)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Remembering:
    """A resolver (`filing.Resolver`) that remembers which of its queries can teach an MRN."""

    def __init__(self, resolve: Callable[[list[dict[str, Any]]], list[dict[str, Any] | None]]) -> None:
        self._resolve = resolve
        self.learnable: list[dict[str, Any]] = []

    def __call__(self, queries: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        answers = self._resolve(queries)
        self.learnable += [query for query, answer in zip(queries, answers) if answer and answer.get("teaches_mrn")]
        return answers


def teach(learn: Callable[[list[dict[str, Any]]], Any], queries: list[dict[str, Any]]) -> None:
    """Ask the registry to learn the MRNs of `queries` (after their filing committed)."""
    if not queries:
        return
    try:
        learn(queries)
    except Exception:  # noqa: BLE001 - the filing stands; only the learning is lost
        log.warning("could not teach the registry the MRNs of filed encounters", exc_info=True,
                    extra={"encounters": len(queries)})
