"""The patient of a hospital message, as the suite knows them without reading their name: what the
registry finds their archive by, and the key the registry's events name them by.

    identity_query(encounter)
        -> {"id_type": "01", "id_number": "11010519491231002X", "health_card_no": None,
            "insurance_card_no": None, "mrn": "MZ0012345", "institution_code": "H1101050001",
            "sex": "2", "birth_date": "1949-12-31"}
    patient_key(pii, encounter)    -> b"\\x8f..." (32 bytes), or None without an ID number
"""

from __future__ import annotations

from typing import Any

from shared.contracts.encounter import Encounter
from shared.pii import PiiBox, identity_key


def identity_query(encounter: Encounter) -> dict[str, Any]:
    """What the registry finds the patient's archive by (`resolve_identities`): the exact
    identifiers the message carries, the institution that sent it (which issued the MRN), and the
    sex and birth date by which the registry notices a card or MRN naming somebody else."""
    patient = encounter.body.get("patient") or {}
    return {"id_type": encounter.id_type, "id_number": encounter.id_number,
            "health_card_no": patient.get("health_card_no"), "insurance_card_no": patient.get("insurance_card_no"),
            "mrn": patient.get("mrn"), "institution_code": encounter.institution_code,
            "sex": patient.get("sex"), "birth_date": patient.get("birth_date")}


def patient_key(pii: PiiBox, encounter: Encounter) -> bytes | None:
    """The blind index of the patient's identity document (`shared.pii.identity_key`): the key the
    registry's events use, kept on pending encounters and hospital records."""
    if not encounter.id_number:
        return None
    return identity_key(pii, encounter.id_type, encounter.id_number)
