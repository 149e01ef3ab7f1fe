"""Learning hospitals' MRNs from ID-number matches: a write the caller asks for.

The filing path resolves a batch of encounters with `resolve_identities`, which only reads; once
records has filed them, it asks for this with the same queries (those that carried an MRN and
were matched by ID number). The registry looks each ID number up again, so a caller can only
teach what the registry itself matches, and links the MRN of the sending institution to that
archive (`matching.learn_mrns`, `identifiers.learn`): next time the MRN alone finds it. An MRN
another archive holds is marked as a conflict and never re-pointed.

    learn_medical_record_numbers(session, pii, [{"id_type": "01", "id_number": "11010519491231002X",
                                                 "mrn": "MZ0012345", "institution_code": "H1101050001"}])
    -> [{"status": "linked", "archive_no": "11010500300100001", "kind": "mrn", "issuer": "H1101050001",
         "value_masked": "MZ***2345", "source": "learned_from_match", "held_by": None}]
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.pii import PiiBox

from services.registry import matching


def learn_medical_record_numbers(session: Session, pii: PiiBox, queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Link the MRN of each query whose ID number names an archive (`IdentityQuerySchema`, loaded);
    one outcome per distinct MRN (`linked`, `already_linked`, `conflict`); commits."""
    teaching = [q for q in queries if q.get("id_number") and q.get("mrn") and q.get("institution_code")]
    if not teaching:
        return []
    outcomes = matching.learn_mrns(session, pii, teaching, matching.exact_matches(session, pii, teaching))
    session.commit()
    return outcomes
