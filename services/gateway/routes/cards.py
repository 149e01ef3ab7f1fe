"""The 居民健康档案信息卡: issue (and reissue, with why) the card given to the resident, and read
its content with the issue record. The content joins the registry's half (`get_card`: who, the
numbers, the phone, the archiving institution, the issues) and the records' 首页 (`archive_summary`:
ABO/Rh, chronic conditions, allergies).

The archive number on the card finds the archive: a number a transfer replaced still leads to it,
and the answer's `reissue_needed` then says the card shows an old number.
"""

from __future__ import annotations

from typing import Any

from shared.contracts.gateway import CardIssueBodySchema, CardSchema
from shared.contracts.registry import CardIssueSchema

from services.gateway import access
from services.gateway.routes.records import archive_summary
from services.gateway.routes.route import Answer, Body, Call, Route, area

# The card's chronic-disease boxes (domain.md §4): the 首页's conditions that have one; the others
# tick 其他 and are named in `chronic_diseases_other`. 哮喘 and 职业病 are not yet among the
# 首页's conditions, so their boxes stay blank until the summary derives them.
CARD_BOXES = {"hypertension": "高血压", "type2_diabetes": "糖尿病", "diabetes": "糖尿病", "stroke": "脑卒中",
              "coronary_heart_disease": "冠心病", "asthma": "哮喘", "occupational_disease": "职业病"}
OTHER = "其他"


def card_content(identity: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    """The card from the registry's `get_card` and the records' `archive_summary` answers."""
    boxes: list[str] = []
    others: list[str] = []
    for condition in summary.get("chronic_conditions") or []:
        box = CARD_BOXES.get(condition.get("code"))
        if box is None:
            others.append(condition.get("label") or condition.get("code"))
            box = OTHER
        if box not in boxes:
            boxes.append(box)
    return {
        "archive_no": identity["archive_no"],
        "front": {"name": identity["name"], "sex": identity["sex"], "birth_date": identity["birth_date"],
                  "archive_no": identity["archive_no"], "blood_type": summary.get("blood_type"),
                  "chronic_diseases": boxes, "chronic_diseases_other": others,
                  "drug_allergies": summary.get("drug_allergies"),
                  "drug_allergies_other": summary.get("drug_allergies_other")},
        "back": {"address": identity.get("address"), "phone": identity.get("phone"),
                 "emergency_contact": identity.get("emergency_contact"),
                 "village_name": identity.get("village_name"), "institution_code": identity["institution_code"],
                 "institution_name": identity.get("institution_name"),
                 "responsible_doctor": identity.get("responsible_doctor")},
        "issues": identity["issues"],
        "reissue_needed": identity["reissue_needed"],
    }


def get_card(c: Call):
    archive_no = c.archive["archive_no"]
    return card_content(c.registry.get_card(archive_no), archive_summary(c))  # JSON-ready halves


def issue_card(c: Call):
    issue = c.registry.issue_card(c.archive["archive_no"], reason=c.body.get("reason"))
    c.gate.note(target=f"card:{issue['issue_no']}")
    return 201, issue


ROUTES = area(
    "cards",
    Route("POST", "/api/v1/archives/<string:archive_no>/cards", "issue_card", access.CARD_ISSUE, issue_card,
          summary="Issue the resident's 居民健康档案信息卡, or reissue it with the reason (lost, worn, a new number)",
          description="The first issue needs no body; a reissue needs `reason` (400 without). The card is "
                      "printed with the archive's current number. Only an active archive gets a card (422).",
          body=Body(CardIssueBodySchema, required=False),
          answers=(Answer(201, "Issued", CardIssueSchema),), errors=(400, 404, 422, 503)),
    Route("GET", "/api/v1/archives/<string:archive_no>/card", "get_card", access.CARD_READ, get_card,
          summary="The 居民健康档案信息卡: its front and back, and every issue (look it up by the number on the card)",
          answers=(Answer(200, "The card", CardSchema),), errors=(400, 404, 503)),
)
