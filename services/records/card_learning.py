"""After filing settlements, linking to the archive the insurance card numbers it did not know.

The insurer knows a resident's insurance card (社会保障卡号 / 医保电子凭证); the archive may not yet.
The registry's `resolve_identities` only reads, and says of each ID-number match whether the
query carries an insurance card the archive does not hold (`teaches_insurance_card`). A run
resolves through `Remembering`, which keeps those (archive, card) pairs; once the batch is
committed, `teach` links each through the registry's explicit identifier linking
(`link_identifier(archive_no, "insurance_card", value, None, source="learned_from_match")`), so
that the next settlement or encounter with the card alone finds the archive. The registry never
re-points a card another archive holds, nor gives an archive a second one (it answers
`conflict`; logged masked, for an operator). Learning is advisory: if the registry cannot be
reached the settlements stay filed, a warning is logged (ids only), and the next settlement of
that resident teaches it again.

    resolve = Remembering(self.registry.resolve_identities)
    filing.file_messages(SETTLEMENT, ..., resolve=resolve, ...)          # commits
    teach(self.registry.link_identifier, resolve.learnable)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

INSURANCE_CARD = "insurance_card"


class Remembering:
    """A resolver (`filing.Resolver`) that remembers the insurance cards its ID-number matches can
    teach: `learnable` holds (archive_no, card number) pairs."""

    def __init__(self, resolve: Callable[[list[dict[str, Any]]], list[dict[str, Any] | None]]) -> None:
        self._resolve = resolve
        self.learnable: list[tuple[str, str]] = []

    def __call__(self, queries: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        answers = self._resolve(queries)
        self.learnable += [(answer["archive_no"], query["insurance_card_no"])
                           for query, answer in zip(queries, answers)
                           if answer and answer.get("teaches_insurance_card") and query.get("insurance_card_no")]
        return answers


def teach(link: Callable[..., dict], cards: list[tuple[str, str]]) -> int:
    """Link each (archive, card) pair through the registry (after the filing committed); returns
    how many were linked anew."""
    linked = 0
    for archive_no, card in dict.fromkeys(cards):
        try:
            outcome = link(archive_no, kind=INSURANCE_CARD, value=card, issuer=None, source="learned_from_match")
        except Exception:  # noqa: BLE001 - the filing stands; only the learning is lost
            log.warning("could not link an insurance card to its archive", exc_info=True,
                        extra={"archive_no": archive_no})
            continue
        if outcome.get("status") == "conflict":
            log.warning("an insurance card the insurer sent was not linked: the registry holds another", extra={
                "archive_no": archive_no, "held_by": outcome.get("held_by"),
                "identifier": outcome.get("value_masked")})
        linked += outcome.get("status") == "linked"
    return linked
