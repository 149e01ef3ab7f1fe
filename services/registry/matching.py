"""Identity resolution against the master resident index: which archive is this person?

Input is what a hospital sends about a patient, loaded by `ResolveQuerySchema` (`birth_date` a
`date`), with the code of the institution sending it (`institution_code`), which an MRN needs.

    resolve(session, pii, {"id_type": "01", "id_number": "11010519491231002X", "name": "张秀英",
                           "sex": "2", "birth_date": date(1949, 12, 31), "phone": "13800000000",
                           "mrn": "MZ0012345", "institution_code": "H1101050001"})
    -> {"status": "matched", "archive_no": "11010500300100001", "score": 1.0,
        "reasons": ["id_number"], "archive_status": "active"}
    resolve(session, pii, {"mrn": "MZ0012345", "institution_code": "H1101050001"})  # learned just now
    -> {"status": "matched", "archive_no": "11010500300100001", "score": 1.0,
        "reasons": ["mrn"], "archive_status": "active"}
    resolve(session, pii, {"name": "章秀英", "sex": "2", "birth_date": date(1949, 12, 31)})
    -> {"status": "candidates", "candidates": [{"archive_no": "11010500300100001", "score": 0.65,
        "reasons": ["name_pinyin", "birth_date", "sex"], "archive_status": "active"}]}
    -> {"status": "none"}

Exact identifiers decide first, in this order (`exact_matches`): the ID number (through its blind
index); the 居民健康卡号; the insurance card number; the MRN the sending institution gave the
patient (an MRN without `institution_code` names nobody and is ignored). See `identifiers`. The
identifier of an archive merged into another answers the survivor.

A card or MRN does not decide when the query contradicts the archive it names: a different ID
number of the same type, or both another sex and another birth date (`scoring.contradictions`;
cards get lent within families, MRNs mis-keyed). The answer is then "candidates" with that
archive first, scored 0.50, its reasons saying why (`["mrn", "sex_differs",
"birth_date_differs"]`), followed by the demographic candidates: filing parks such an encounter
for an operator rather than filing it silently. An ID number decides whatever the rest says (the
archive's sex and birth date were checked against it when it was created).

Learning: when the ID number matched and the query carries an MRN with its institution, the MRN
is linked to that archive (`learned_from_match`), so that next time the MRN alone finds it;
unless another archive holds that MRN, which is then marked as a conflict and logged masked,
never re-pointed (`identifiers.learn`). `resolve_batch` learns and commits; `exact_matches`, the
filing path's lookup, only reads: the filing path asks for the learning separately, after it
filed (`learning.learn_medical_record_numbers`).

Otherwise the archives are scored by `services.registry.scoring` (weights, threshold of 0.50,
at most 5 candidates, best first; see its docstring) and every candidate carries its archive's
status, since a terminated or merged archive may still be the person's.

Blocking: only archives sharing the birth date, OR the name's pinyin, OR the phone's blind index
are fetched and scored, each arm served by its own index (`ix_archives_birth_date`,
`ix_archives_name_pinyin_order`, `ix_archives_phone_index`), which PostgreSQL combines with a
BitmapOr. At a million residents a block is a few hundred rows at most (a birth date holds about
30 residents, the commonest pinyin name a few hundred), so a resolution reads one small index
range per key. `resolve_batch` answers many queries with one ID-number query, one identifier query
(`resident_identifiers` by blind index) and one blocking query for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.codes import IdType
from shared.errors import ValidationFailed
from shared.pii import PiiBox, identity_key

from services.registry import aliases, identifiers
from services.registry.keys import name_pinyin, phone_index
from services.registry.models import ACTIVE, Archive
from services.registry.scoring import (
    MAX_CANDIDATES, Identity, Score, contradictions, identifier_score, is_possible_duplicate, rank, score,
)

MAX_BATCH = 100

_IDENTITY_COLUMNS = (
    Archive.archive_no, Archive.status, Archive.name, Archive.name_pinyin, Archive.sex,
    Archive.birth_date, Archive.phone_index, Archive.id_type, Archive.id_number_index, Archive.village_code,
)


def sought_identity(pii: PiiBox, query: dict[str, Any]) -> Identity:
    """The identity a query (or a creation request) describes, with its keys derived."""
    name, phone, id_number = query.get("name"), query.get("phone"), query.get("id_number")
    id_type = query.get("id_type") or IdType.RESIDENT_ID_CARD.value
    return Identity(
        name=name or None,
        name_pinyin=name_pinyin(name) if name else None,
        sex=query.get("sex"),
        birth_date=query.get("birth_date"),
        phone_index=phone_index(pii, phone) if phone else None,
        id_type=id_type if id_number else None,
        id_index=identity_key(pii, id_type, id_number) if id_number else None,
    )


def _archive_identity(row) -> Identity:
    return Identity(
        name=row.name, name_pinyin=row.name_pinyin, sex=row.sex, birth_date=row.birth_date,
        phone_index=bytes(row.phone_index) if row.phone_index is not None else None,
        id_type=row.id_type,
        id_index=bytes(row.id_number_index) if row.id_number_index is not None else None,
        archive_no=row.archive_no, status=row.status, village_code=row.village_code,
    )


def _by_identifier(session: Session, indexes: set[bytes]) -> dict[bytes, Identity]:
    """The archive holding each ID number; one a merge moved aside answers the survivor, which then
    holds that number too (so it scores as the identifier match it is)."""
    if not indexes:
        return {}
    rows = session.execute(sa.select(*_IDENTITY_COLUMNS).where(Archive.id_number_index.in_(indexes)))
    found = {bytes(row.id_number_index): _archive_identity(row) for row in rows}
    moved = aliases.moved_indexes(session, indexes - found.keys())
    if moved:
        rows = session.execute(sa.select(*_IDENTITY_COLUMNS).where(Archive.archive_no.in_(set(moved.values()))))
        survivors = {row.archive_no: _archive_identity(row) for row in rows}
        found.update({index: replace(survivors[no], id_index=index) for index, no in moved.items() if no in survivors})
    return found


def blocking_statement(sought: list[Identity], active_only: bool = False, by_phone: bool = True,
                       within: sa.ColumnElement[bool] | None = None) -> sa.Select | None:
    """The archives sharing a birth date, a pinyin or (`by_phone`) a phone with any of `sought`,
    and meeting `within` when given; None if no key."""
    dates = {s.birth_date for s in sought if s.birth_date is not None}
    pinyins = {s.name_pinyin for s in sought if s.name_pinyin}
    phones = {s.phone_index for s in sought if s.phone_index is not None and by_phone}
    arms = []
    if dates:
        arms.append(Archive.birth_date.in_(sorted(dates)))
    if pinyins:
        arms.append(Archive.name_pinyin.collate("C").in_(sorted(pinyins)))
    if phones:
        arms.append(Archive.phone_index.in_(sorted(phones)))
    if not arms:
        return None
    stmt = sa.select(*_IDENTITY_COLUMNS).where(sa.or_(*arms))
    if within is not None:
        stmt = stmt.where(within)
    return stmt.where(Archive.status == ACTIVE) if active_only else stmt


def _blocked(session: Session, sought: list[Identity], active_only: bool = False, by_phone: bool = True,
             within: sa.ColumnElement[bool] | None = None) -> list[Identity]:
    stmt = blocking_statement(sought, active_only, by_phone, within)
    return [] if stmt is None else [_archive_identity(row) for row in session.execute(stmt)]


def _in_block_of(sought: Identity, archive: Identity) -> bool:
    return ((sought.birth_date is not None and sought.birth_date == archive.birth_date)
            or (bool(sought.name_pinyin) and sought.name_pinyin == archive.name_pinyin)
            or (sought.phone_index is not None and sought.phone_index == archive.phone_index))


def _view(archive: Identity, result: Score) -> dict[str, Any]:
    return {"archive_no": archive.archive_no, "score": result.value, "reasons": list(result.reasons),
            "archive_status": archive.status}


def _answer(sought: Identity, blocked: list[Identity]) -> dict[str, Any]:
    ranked = rank(sought, [a for a in blocked if _in_block_of(sought, a)])
    if not ranked:
        return {"status": "none"}
    return {"status": "candidates", "candidates": [_view(a, s) for a, s in ranked]}


def _archives(session: Session, numbers: set[str]) -> dict[str, Identity]:
    if not numbers:
        return {}
    rows = session.execute(sa.select(*_IDENTITY_COLUMNS).where(Archive.archive_no.in_(numbers)))
    return {row.archive_no: _archive_identity(row) for row in rows}


@dataclass(frozen=True)
class Exact:
    """The archive an exact identifier of `kind` named; `contradicted` says what in the query
    speaks against it (then it does not decide)."""

    archive: Identity
    kind: str
    contradicted: tuple[str, ...] = ()
    teaches_mrn: bool = False  # an ID-number match whose query carries an MRN this archive does not hold yet
    teaches_insurance_card: bool = False  # ... or an insurance card it does not hold

    @property
    def decides(self) -> bool:
        return not self.contradicted

    @property
    def score(self) -> Score:
        return identifier_score(self.kind, self.contradicted)


def exact_matches(session: Session, pii: PiiBox, queries: list[dict[str, Any]],
                  sought: list[Identity] | None = None) -> list[Exact | None]:
    """For each query the archive its exact identifiers name, or None (see the module doc). Reads
    only: `learn_mrns` links what they taught."""
    sought = sought or [sought_identity(pii, q) for q in queries]
    carried = [identifiers.carried(pii, q) for q in queries]
    by_id = _by_identifier(session, {s.id_index for s in sought if s.id_index is not None})
    held = identifiers.holders(session, [c for cs in carried for c in cs])
    named: dict[int, tuple[str, str]] = {}
    for i, s in enumerate(sought):
        if s.id_index in by_id:
            continue
        for identifier in carried[i]:
            holding = held.get(identifier.key, set())
            if len(holding) == 1:  # a card two archives hold (under two issuers) decides nothing
                named[i] = (identifier.kind, next(iter(holding)))
                break
    archives = _archives(session, {no for _, no in named.values()})
    found: list[Exact | None] = []
    for i, s in enumerate(sought):
        if s.id_index in by_id:
            archive = by_id[s.id_index]
            found.append(Exact(archive, "id_number", teaches_mrn=any(
                c.kind == identifiers.MRN and archive.archive_no not in held.get(c.key, set()) for c in carried[i]),
                teaches_insurance_card=any(c.kind == identifiers.INSURANCE_CARD and archive.archive_no not in held.get(
                    c.key, set()) for c in carried[i])))
        elif i in named and named[i][1] in archives:
            archive = archives[named[i][1]]
            found.append(Exact(archive, named[i][0], contradictions(s, archive)))
        else:
            found.append(None)
    return found


def learn_mrns(session: Session, pii: PiiBox, queries: list[dict[str, Any]],
               found: list[Exact | None]) -> list[dict[str, Any]]:
    """Link the MRN each query carries (with its institution) to the archive its ID number named
    (`found`, what `exact_matches` answered for `queries`), in the caller's transaction; one
    outcome per distinct claim (`identifiers.learn`). Only ID-number matches teach: a card or an
    MRN that named the archive proves nothing new."""
    claims = [identifiers.Claim(exact.archive.archive_no, identifier)
              for exact, query in zip(found, queries) if exact is not None and exact.kind == "id_number"
              for identifier in identifiers.carried(pii, query) if identifier.kind == identifiers.MRN]
    if not claims:
        return []
    return identifiers.learn(session, pii, claims, identifiers.holders(session, [c.identifier for c in claims]))


def _flagged(exact: Exact, answer: dict[str, Any]) -> dict[str, Any]:
    """The archive a contradicted identifier named, first, before the demographic candidates."""
    others = [c for c in answer.get("candidates", []) if c["archive_no"] != exact.archive.archive_no]
    return {"status": "candidates", "candidates": [_view(exact.archive, exact.score), *others][:MAX_CANDIDATES]}


def resolve_batch(session: Session, pii: PiiBox, queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One answer per query, in order, with a fixed number of SQL queries whatever their number;
    commits the MRNs learned."""
    if len(queries) > MAX_BATCH:
        raise ValidationFailed("too many queries", {"queries": [f"At most {MAX_BATCH} at a time."]})
    sought = [sought_identity(pii, q) for q in queries]
    exact = exact_matches(session, pii, queries, sought)
    learn_mrns(session, pii, queries, exact)
    blocked = _blocked(session, [s for s, e in zip(sought, exact) if e is None or not e.decides])
    answers = []
    for s, e in zip(sought, exact):
        if e is not None and e.decides:
            answers.append({"status": "matched", **_view(e.archive, e.score)})
        elif e is not None:
            answers.append(_flagged(e, _answer(s, blocked)))
        else:
            answers.append(_answer(s, blocked))
    session.commit()
    return answers


def resolve(session: Session, pii: PiiBox, query: dict[str, Any]) -> dict[str, Any]:
    """The archive `query` identifies, the candidates it may be, or none (see the module doc)."""
    return resolve_batch(session, pii, [query])[0]


def possible_duplicates(session: Session, pii: PiiBox, data: dict[str, Any],
                        within: sa.ColumnElement[bool] | None = None) -> list[dict[str, Any]]:
    """Active archives a creation request may duplicate, best first, at most five, among those
    meeting `within` (the caller's scope, see `review.scope_condition`):
    `[{"archive_no": "11010510110100007", "score": 0.75, "reasons": ["name", "birth_date", "sex", ...]}]`.

    Only archives sharing the birth date or the name's pinyin are looked at, never those sharing
    the phone alone: a phone number only adds to a candidate's score (`is_possible_duplicate`),
    so that creating an archive is no reverse phone lookup. An archive with the same ID number is
    left out: that is the ID-number check's refusal.
    """
    sought = sought_identity(pii, data)
    found = []
    for archive in _blocked(session, [sought], active_only=True, by_phone=False, within=within):
        result = score(sought, archive)
        if not result.is_identifier_match and is_possible_duplicate(result):
            found.append((archive, result))
    found.sort(key=lambda pair: (-pair[1].value, pair[0].archive_no))
    return [{"archive_no": a.archive_no, "score": s.value, "reasons": list(s.reasons)}
            for a, s in found[:MAX_CANDIDATES]]
