"""Residents' other identifiers: 居民健康卡号 (`health_card`), insurance card numbers
(`insurance_card`), a newborn's 出生医学证明编号 (`birth_cert`) and the medical record numbers
hospitals give them (`mrn`, issued by one institution), each stored encrypted with a keyed blind index and a masked form, never in clear.

    carried(pii, {"health_card_no": "H11010500012", "mrn": "MZ0012345", "institution_code": "H1101050001"})
    -> [Sought(kind="health_card", issuer=None, ...), Sought(kind="mrn", issuer="H1101050001", ...)]
    holders(session, sought)             -> {(kind, issuer, index): {"11010510110100007"}}
    learn(session, pii, [Claim("11010510110100007", sought_mrn)], held)   # after an ID-number match
    link_identifier(session, pii, "11010510110100007", "mrn", "MZ0012345", "H1101050001", actor)
    -> {"status": "linked", "archive_no": "11010510110100007", "kind": "mrn", "issuer": "H1101050001",
        "value_masked": "MZ***2345", "source": "learned_from_match", "held_by": None}

Cards are entered with the archive (`health_card_no`, `insurance_card_no` on creation and identity
corrections): one of each kind per archive, held by no other archive. A card is sought whatever
its issuer. An MRN belongs to its issuer: a hospital's `MZ0012345` says nothing at another
hospital, so it is only sought with the institution that sends it.

MRNs are learned from confirmed matches (`LEARNED`): a hospital encounter matched by its ID
number, or filed by an operator into an archive. An MRN that another archive holds already is
never re-pointed: the claim is kept in `identifier_conflicts` and logged masked, for an operator.

An archive merged into another keeps its identifiers; they lead to the survivor while the merge
stands (as its ID number does) and come back with it when the merge is undone.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from shared.actor import SYSTEM, Actor
from shared.errors import Conflict, ValidationFailed
from shared.pii import PiiBox

from services.registry import aliases
from services.registry.keys import IDENTIFIER_SEALED_IN, identifier_index, identifier_row_key, normalised_identifier
from services.registry.models import MERGED, Archive, IdentifierConflict, Institution, ResidentIdentifier

log = logging.getLogger(__name__)

HEALTH_CARD, INSURANCE_CARD, BIRTH_CERT, MRN = "health_card", "insurance_card", "birth_cert", "mrn"
KINDS = (HEALTH_CARD, INSURANCE_CARD, BIRTH_CERT, MRN)
# After the ID number, exact identifiers decide in this order.
PRECEDENCE = (HEALTH_CARD, INSURANCE_CARD, MRN)
# The fields of archives that carry a card (or a newborn's 出生医学证明编号), by kind: entered with
# the archive, one of each kind per archive, held by no other archive.
CARD_FIELDS = {"health_card_no": HEALTH_CARD, "insurance_card_no": INSURANCE_CARD, "birth_certificate_no": BIRTH_CERT}
CARD_LABELS = {HEALTH_CARD: "health card", INSURANCE_CARD: "insurance card", BIRTH_CERT: "birth certificate"}
# The fields of a hospital's query that decide who the patient is.
QUERY_FIELDS = {"health_card_no": HEALTH_CARD, "insurance_card_no": INSURANCE_CARD, "mrn": MRN}

ENTERED, LEARNED = "entered", "learned_from_match"
SOURCES = (ENTERED, LEARNED)

# Core statements compiled once and run as executemany: learning is on the filing path, where
# building a multi-VALUES statement per batch costs more than the inserts themselves.
IDENTIFIERS, CONFLICTS = ResidentIdentifier.__table__, IdentifierConflict.__table__
_LINK = pg_insert(IDENTIFIERS).on_conflict_do_nothing().returning(
    IDENTIFIERS.c.kind, IDENTIFIERS.c.issuer, IDENTIFIERS.c.value_index)
_upsert = pg_insert(CONFLICTS)
_MARK_CONFLICT = _upsert.on_conflict_do_update(constraint="uq_identifier_conflicts_claim", set_={
    "times_seen": CONFLICTS.c.times_seen + 1, "last_seen_at": sa.func.now(),
    "held_by_archive_no": _upsert.excluded.held_by_archive_no})


def mask(value: str) -> str:
    """A card number or MRN as logs, errors, revisions and answers show it:
    H11010500012 -> H1******0012, MZ0012345 -> MZ***2345, 12345 -> ***45."""
    text = normalised_identifier(value)
    if len(text) <= 4:
        return "*" * len(text)
    if len(text) <= 8:
        return "*" * (len(text) - 2) + text[-2:]
    return text[:2] + "*" * (len(text) - 6) + text[-4:]


@dataclass(frozen=True)
class Sought:
    """One identifier a query or a claim carries. The clear value only travels to be encrypted
    when it is learned; it is never in a repr."""

    kind: str
    issuer: str | None
    index: bytes = field(repr=False)
    value: str = field(repr=False)

    @property
    def key(self) -> tuple[str, str | None, bytes]:
        """What `holders` answers under: cards whatever their issuer, MRNs with theirs."""
        return self.kind, self.issuer if self.kind == MRN else None, self.index


def sought(pii: PiiBox, kind: str, value: str, issuer: str | None = None) -> Sought:
    return Sought(kind, issuer, identifier_index(pii, kind, value), normalised_identifier(value))


def carried(pii: PiiBox, query: dict[str, Any]) -> list[Sought]:
    """The identifiers of a query, in order of precedence. An MRN without the institution that
    sends it (`institution_code`) names nobody, and is left out."""
    found = []
    for name, kind in QUERY_FIELDS.items():
        value = query.get(name)
        if not value or not normalised_identifier(value):
            continue
        issuer = query.get("institution_code") if kind == MRN else None
        if kind == MRN and not issuer:
            continue
        found.append(sought(pii, kind, value, issuer))
    return found


def holders(session: Session, wanted: Iterable[Sought]) -> dict[tuple, set[str]]:
    """For each identifier, the current numbers of the archives holding it (an archive merged away
    answers its survivor). One query, plus one per merged holder."""
    indexes = {s.index for s in wanted}
    if not indexes:
        return {}
    rows = session.execute(
        sa.select(ResidentIdentifier.kind, ResidentIdentifier.issuer, ResidentIdentifier.value_index,
                  ResidentIdentifier.archive_no, Archive.status)
        .join(Archive, Archive.archive_no == ResidentIdentifier.archive_no)
        .where(ResidentIdentifier.value_index.in_(indexes)))
    found: dict[tuple, set[str]] = defaultdict(set)
    for kind, issuer, index, archive_no, status in rows:
        if status == MERGED:
            archive_no = aliases.current_number(session, archive_no)
        found[(kind, issuer if kind == MRN else None, bytes(index))].add(archive_no)
    return found


# -- learning -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """`identifier` belongs to archive `archive_no` (its current number): a confirmed match says so."""

    archive_no: str
    identifier: Sought


def learn(session: Session, pii: PiiBox, claims: list[Claim], held: dict[tuple, set[str]],
          actor: Actor = SYSTEM, source: str = LEARNED) -> list[dict[str, Any]]:
    """Link each claimed identifier to its archive unless an archive holds it already; in the
    caller's transaction. `held` is what `holders` answered for them. A claim another archive
    holds is marked as a conflict, never re-pointed. One outcome per distinct claim (see
    `link_identifier`)."""
    claims = list(dict.fromkeys(claims))
    outcomes: list[dict[str, Any]] = []
    fresh: dict[tuple, Claim] = {}
    conflicts: list[tuple[Claim, str]] = []
    for claim in claims:
        key = claim.identifier.key
        holding = held.get(key, set())
        if claim.archive_no in holding:
            outcomes.append(_outcome("already_linked", claim, source))
        elif holding:
            conflicts.append((claim, min(holding)))
        elif key in fresh and fresh[key].archive_no != claim.archive_no:
            conflicts.append((claim, fresh[key].archive_no))  # two archives claim it in one batch
        elif key not in fresh:
            fresh[key] = claim
    if fresh:
        rows = [{"archive_no": c.archive_no, "kind": c.identifier.kind, "issuer": c.identifier.issuer,
                 "value_enc": pii.encrypt(c.identifier.value, IDENTIFIER_SEALED_IN, identifier_row_key(
                     c.identifier.kind, c.identifier.issuer, c.identifier.index)), "value_index": c.identifier.index,
                 "value_masked": mask(c.identifier.value), "source": source, "linked_by": actor.user,
                 "linked_by_institution": actor.institution_code or c.identifier.issuer}
                for c in fresh.values()]
        # In one order in every worker: two batches inserting the same identifiers in opposite
        # orders would each wait for the other's uncommitted row.
        rows.sort(key=lambda r: (r["value_index"], r["kind"], r["issuer"] or ""))
        result = session.connection().execute(_LINK, rows)
        inserted = {(k, i if k == MRN else None, bytes(v)) for k, i, v in result}
        raced = [c for key, c in fresh.items() if key not in inserted]
        again = holders(session, [c.identifier for c in raced])
        for key, claim in fresh.items():
            if key in inserted:
                outcomes.append(_outcome("linked", claim, source))
            elif claim.archive_no in again.get(key, set()):
                outcomes.append(_outcome("already_linked", claim, source))
            else:  # another worker linked it to another archive between our look and our insert
                conflicts.append((claim, min(again.get(key) or {claim.archive_no})))
    if conflicts:
        _mark_conflicts(session, conflicts, source)
        outcomes += [_outcome("conflict", claim, source, held_by=holder) for claim, holder in conflicts]
    return outcomes


def _outcome(status: str, claim: Claim, source: str, held_by: str | None = None) -> dict[str, Any]:
    s = claim.identifier
    return {"status": status, "archive_no": claim.archive_no, "kind": s.kind, "issuer": s.issuer,
            "value_masked": mask(s.value), "source": source, "held_by": held_by}


def _mark_conflicts(session: Session, conflicts: list[tuple[Claim, str]], source: str) -> None:
    rows: dict[tuple, dict] = {}
    for claim, holder in conflicts:
        s = claim.identifier
        log.warning("identifier not linked: another archive holds it", extra={
            "kind": s.kind, "issuer": s.issuer, "identifier": mask(s.value),
            "archive_no": claim.archive_no, "held_by": holder, "source": source})
        rows[(*s.key, claim.archive_no)] = {
            "kind": s.kind, "issuer": s.issuer, "value_index": s.index, "value_masked": mask(s.value),
            "held_by_archive_no": holder, "claimed_archive_no": claim.archive_no, "source": source}
    session.connection().execute(_MARK_CONFLICT, [rows[key] for key in sorted(rows, key=lambda k: (
        k[2], k[0], k[1] or "", k[3]))])


def link_identifier(session: Session, pii: PiiBox, archive_no: str, kind: str, value: str, issuer: str | None,
                    actor: Actor, source: str = LEARNED) -> dict[str, Any]:
    """Link a hospital's MRN, or an insurance card number the insurer sent, to the archive
    `archive_no` leads to; commits. Entered by hand (`entered`), an identifier another archive
    holds is refused with `Conflict`; learned from a match, it is marked as a conflict and
    answered as such (`"status": "conflict", "held_by": ...`). A card has no issuer, and an archive
    has one insurance card: one holding another is answered `conflict` too (`held_by` itself),
    never changed: a clinician corrects the archive's identity."""
    if kind not in (MRN, INSURANCE_CARD):
        raise ValidationFailed("invalid identifier", {"kind": [
            "Only an MRN or an insurance card is linked this way; other cards are entered with the archive's identity."]})
    if kind == MRN and (not issuer or session.get(Institution, issuer) is None):
        raise ValidationFailed("invalid identifier", {"issuer": ["Unknown institution."]})
    if kind == INSURANCE_CARD:
        issuer = None
    archive = aliases.find(session, archive_no)
    claim = Claim(archive.archive_no, sought(pii, kind, value, issuer))
    held = holders(session, [claim.identifier])
    if source == ENTERED and held.get(claim.identifier.key, set()) - {archive.archive_no}:
        raise Conflict(f"another archive holds this {'MRN' if kind == MRN else 'insurance card'}", {
            "archive_no": min(held[claim.identifier.key]), ("mrn" if kind == MRN else "insurance_card_no"): mask(value)})
    if kind == INSURANCE_CARD and archive.archive_no not in held.get(claim.identifier.key, set()) \
            and "insurance_card_no" in cards_of(session, archive.archive_no):
        log.warning("insurance card not linked: the archive holds another", extra={
            "archive_no": archive.archive_no, "identifier": mask(value), "source": source})
        return _outcome("conflict", claim, source, held_by=archive.archive_no)
    [outcome] = learn(session, pii, [claim], held, actor, source)
    session.commit()
    return outcome


# -- cards entered with the archive -------------------------------------------------------------


def cards_of(session: Session, archive_no: str) -> dict[str, ResidentIdentifier]:
    """The archive's cards by field (`health_card_no`, `insurance_card_no`, `birth_certificate_no`);
    absent ones left out."""
    fields = {kind: name for name, kind in CARD_FIELDS.items()}
    rows = session.scalars(sa.select(ResidentIdentifier).where(
        ResidentIdentifier.archive_no == archive_no, ResidentIdentifier.kind.in_(fields)))
    return {fields[row.kind]: row for row in rows}


def card_conflict(session: Session, pii: PiiBox, name: str, value: str, archive_no: str | None) -> Conflict | None:
    """The refusal to give a card another archive holds (one merged away answers its survivor),
    naming the field: `{"archive_no": "11010510110100003", "health_card_no": "H1******0012"}`."""
    wanted = sought(pii, CARD_FIELDS[name], value)
    holding = holders(session, [wanted]).get(wanted.key, set()) - {archive_no}
    if not holding:
        return None
    return Conflict(f"another archive holds this {CARD_LABELS[CARD_FIELDS[name]]} number",
                    {"archive_no": min(holding), name: mask(value)})


def card_conflicts(session: Session, pii: PiiBox, cards: dict[str, str | None],
                   archive_no: str | None = None) -> Callable[[], Conflict | None]:
    """A check for `commit_unless_taken`: the first card of `cards` another archive holds."""
    def check() -> Conflict | None:
        for name, value in cards.items():
            conflict = value and card_conflict(session, pii, name, value, archive_no)
            if conflict:
                return conflict
        return None
    return check


def set_cards(session: Session, pii: PiiBox, archive_no: str, cards: dict[str, str | None], actor: Actor,
              held: dict[str, ResidentIdentifier] | None = None) -> dict[str, list[str | None]]:
    """Give the archive these cards (None removes one) in the caller's transaction, and answer
    what changed as a revision shows it: `{"health_card_no": [None, "H1******0012"]}`.

    Check `card_conflicts` first. Past reading the archive's cards (`held`, when the caller has
    them) this issues no SQL: the rows are written at commit, where a card another worker gave
    to another archive meanwhile meets the unique index (`commit_unless_taken`)."""
    held = cards_of(session, archive_no) if held is None else held
    changes: dict[str, list[str | None]] = {}
    for name, value in cards.items():
        row, kind = held.get(name), CARD_FIELDS[name]
        if value is None or not normalised_identifier(value):
            if row is not None:
                changes[name] = [row.value_masked, None]
                session.delete(row)
            continue
        wanted = sought(pii, kind, value)
        if row is not None and bytes(row.value_index) == wanted.index:
            continue
        changes[name] = [row.value_masked if row is not None else None, mask(value)]
        if row is None:
            row = ResidentIdentifier(archive_no=archive_no, kind=kind, issuer=None)
            session.add(row)
        row.value_enc = pii.encrypt(wanted.value, IDENTIFIER_SEALED_IN,
                                    identifier_row_key(kind, row.issuer, wanted.index))
        row.value_index, row.value_masked = wanted.index, mask(value)
        row.source, row.linked_by, row.linked_by_institution = ENTERED, actor.user, actor.institution_code
        row.linked_at = sa.func.now()
    return changes


# -- reading --------------------------------------------------------------------------------------


def list_identifiers(session: Session, archive_no: str) -> list[dict[str, Any]]:
    """The identifiers of the archive `archive_no` leads to, masked, oldest first:
    `[{"kind": "mrn", "issuer": "H1101050001", "value_masked": "MZ***2345",
       "source": "learned_from_match", "linked_by": "system", "linked_at": "..."}]`."""
    archive = aliases.find(session, archive_no)
    rows = session.scalars(sa.select(ResidentIdentifier).where(ResidentIdentifier.archive_no == archive.archive_no)
                           .order_by(ResidentIdentifier.linked_at, ResidentIdentifier.id))
    return [{"kind": r.kind, "issuer": r.issuer, "value_masked": r.value_masked, "source": r.source,
             "linked_by": r.linked_by, "linked_by_institution": r.linked_by_institution,
             "linked_at": r.linked_at.isoformat()} for r in rows]
