"""The 居民健康档案信息卡 (domain.md §4): the card a resident is given when the archive is created,
and given again when it is lost, worn out, or its number changed. The registry keeps each issue
(`card_issues`) and the identity half of the card's content; the gateway adds the records' half
(ABO/Rh, chronic conditions, allergies from the 首页) and answers the whole card.

Looking an archive up by the card: the card carries the archive number it was printed with, and
that number leads to the archive for good, also after a transfer re-keyed it (`aliases`). So
`card("11010510110100007")` with the number from the card answers the archive's card today, and
`reissue_needed` says when the card in the resident's hand shows a number that is no longer the
archive's (a reissue prints the current one).

    issue_card(session, "11010510110100007", None, actor)
        -> {"issue_no": 1, "printed_archive_no": "11010510110100007", "reason": null, ...}
    issue_card(session, "11010510110100007", "卡片遗失", actor)     -> {"issue_no": 2, ...}
    card(session, pii, "11010510110100007")
        -> {"archive_no": ..., "name": "张秀英", "phone": "13800000000", "issues": [...], ...}
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.errors import InvalidTransition, ValidationFailed
from shared.pii import PiiBox

from services.registry import aliases
from services.registry.keys import PHONE_SEALED_IN
from services.registry.models import ACTIVE, CardIssue, Division, Institution


def issue_card(session: Session, archive_no: str, reason: str | None, actor: Actor) -> dict[str, Any]:
    """Record an issue of the archive's card, printed with its current number; commit.

    The first issue needs no reason; a reissue does (`ValidationFailed` on `reason`). Only an
    active archive gets a card (`InvalidTransition`)."""
    archive = aliases.find(session, archive_no, lock=True)  # serialises two issues of one card
    if archive.status != ACTIVE:
        raise InvalidTransition("a card is issued only for an active archive", {"status": archive.status})
    issued = session.scalar(sa.select(sa.func.max(CardIssue.issue_no)).where(CardIssue.archive_no == archive.archive_no))
    if issued and not reason:
        raise ValidationFailed("a reissue needs a reason", {"reason": ["Required for a reissue (why the card is "
                                                                        "issued again)."]})
    issue = CardIssue(archive_no=archive.archive_no, issue_no=(issued or 0) + 1,
                      printed_archive_no=archive.archive_no, reason=reason, issued_by=actor.user,
                      issued_by_institution=actor.institution_code, issued_by_role=actor.role)
    session.add(issue)
    session.commit()
    return issue_values(issue)


def issue_values(issue: CardIssue) -> dict[str, Any]:
    return {column.key: getattr(issue, column.key) for column in CardIssue.__table__.columns}


def card(session: Session, pii: PiiBox, archive_no: str) -> dict[str, Any]:
    """The registry's half of the card of the archive `archive_no` leads to, with its issues
    (oldest first). The address, the emergency contact and the responsible doctor are not yet
    kept by the registry: `address`, `emergency_contact` and `responsible_doctor` answer null
    until the identity holds them (现住址, 联系人姓名/电话, 责任医生; issue 18)."""
    archive = aliases.find(session, archive_no)
    issues = list(session.scalars(sa.select(CardIssue).where(CardIssue.archive_no == archive.archive_no)
                                  .order_by(CardIssue.issue_no)))
    institution = session.get(Institution, archive.institution_code)
    village = session.get(Division, archive.village_code)
    phone = pii.decrypt(archive.phone_enc, PHONE_SEALED_IN, archive.archive_no) if archive.phone_enc else None
    return {
        "archive_no": archive.archive_no, "status": archive.status, "name": archive.name, "sex": archive.sex,
        "birth_date": archive.birth_date, "phone": phone,
        "village_code": archive.village_code, "village_name": village.name if village else None,
        "institution_code": archive.institution_code,
        "institution_name": institution.name if institution else None,
        "address": None, "emergency_contact": None, "responsible_doctor": None,  # not in the identity yet
        "issues": [issue_values(issue) for issue in issues],
        "reissue_needed": bool(issues) and issues[-1].printed_archive_no != archive.archive_no,
    }
