"""The registry's use cases: plain functions over a session, with no Nameko imports.

Archive numbers are allocated from a per-village counter row (`archive_serials`): the
increment takes that row's lock until the creating transaction ends, so concurrent creations
in one village across any number of registry processes queue on it and get consecutive
serials; a creation that rolls back also rolls back its increment, so serials have no gaps
from failed creations. Creations in different villages never wait on each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.actor import Actor
from shared.archive_no import SERIAL_MAX, make_archive_number
from shared.contracts.events import ARCHIVE_CREATED, event_message
from shared.errors import Conflict, NotFound, RegisteredElsewhere, ValidationFailed
from shared.identity import mask_id_number, mask_phone
from shared.outbox import stage
from shared.pii import PiiBox, identity_key
from shared import clock

from services.registry import aliases, identifiers, matching, review, revisions
from services.registry.keys import (
    COVER_SEALED, ID_NUMBER_SEALED_IN, PHONE_SEALED_IN, name_pinyin, phone_index, seal, unseal,
)
from services.registry.models import MERGED, Archive, ArchiveAlias, ArchiveSerial, Division, Institution, outbox

SERVICE = "registry"  # the `service` of the events it announces


def allocate_serial(session: Session, village_code: str) -> int:
    """The next serial of the village (see the module doc); rolled back with the transaction."""
    stmt = pg_insert(ArchiveSerial).values(village_code=village_code, last_serial=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[ArchiveSerial.village_code],
        set_={"last_serial": ArchiveSerial.last_serial + 1},
    ).returning(ArchiveSerial.last_serial)
    serial = session.execute(stmt).scalar_one()
    if serial > SERIAL_MAX:
        raise Conflict("this village has used every archive serial", {"village_code": village_code})
    return serial


def check_references(session: Session, village_code: str, institution_code: str) -> None:
    errors: dict[str, list[str]] = {}
    village = session.get(Division, village_code)
    if village is None or village.level != "village":
        errors["village_code"] = ["Unknown village."]
    if session.get(Institution, institution_code) is None:
        errors["institution_code"] = ["Unknown institution."]
    if errors:
        raise ValidationFailed("unknown reference", errors)


# The units that keep archives (管理单位): township and community health centres, village clinics
# and community stations. Hospitals file their encounters into archives and the health commission
# supervises; neither manages one.
PRIMARY_CARE_KINDS = frozenset({"township_centre", "community_centre", "village_clinic", "community_station"})


def management_problem(institution: Institution, village_code: str) -> str | None:
    """Why `institution` cannot manage archives of the village, or None: it must be a
    primary-care unit (`PRIMARY_CARE_KINDS`) whose division is the village or its township."""
    if institution.kind not in PRIMARY_CARE_KINDS:
        return (f"A {institution.kind.replace('_', ' ')} cannot manage archives: a township or community "
                f"centre, village clinic or community station can.")
    if institution.division_code not in (village_code, village_code[:9]):
        return "Does not serve the village."
    return None


def check_manager(session: Session, village_code: str, institution_code: str,
                  field: str = "institution_code") -> None:
    """Refuse (`ValidationFailed` naming `field`) an institution that cannot manage the village's
    archives (`management_problem`); both references known (`check_references`)."""
    problem = management_problem(session.get(Institution, institution_code), village_code)
    if problem:
        raise ValidationFailed("not a managing institution of the village", {field: [problem]})


def existing_conflict(session: Session, index: bytes | None, masked: str | None) -> Conflict | None:
    """The refusal to give an ID number a second archive (one merged away leads to its survivor);
    None for no ID number."""
    existing = aliases.holder_of_index(session, index) if index is not None else None
    if existing is None:
        return None
    return Conflict(
        "an archive already exists for this ID number",
        {"archive_no": existing, "id_number": masked},
    )


def confined(session: Session, conflict: Conflict | None, scope: dict[str, Any] | None) -> Conflict | None:
    """`conflict` as a caller confined to `scope` (see `review`; None: anywhere) may hear it: the
    archive holding the number is named only when it lies in the scope. Outside, the answer is
    `RegisteredElsewhere`, the field and the caller's own value masked, and nothing of the
    archive: its number is the resident's village."""
    holder = conflict.details.get("archive_no") if conflict is not None else None
    if holder is None or scope is None or review.visible(session, scope, [holder]):
        return conflict
    return RegisteredElsewhere("already registered elsewhere: an archive outside your jurisdiction holds this number",
                               {k: v for k, v in conflict.details.items() if k != "archive_no"})


def create_archive(session: Session, pii: PiiBox, data: dict[str, Any], actor: Actor,
                   scope: dict[str, Any] | None = None) -> Archive:
    """Create one archive from validated `ArchiveCreateSchema` data, announce it, commit.

    The managing institution must be a primary-care unit serving the village (`check_manager`).
    Refused with `Conflict` when the ID number has an archive (details name it), when another
    archive holds its health or insurance card or birth certificate number (details name the
    field and that archive), and, unless `confirm_new` is true, when active archives look like the
    same person (details list them under `possible_duplicates`, see `matching.possible_duplicates`).
    With the caller's `scope` (`shared.contracts.registry.ScopeSchema`), an archive outside it is
    never named: a number it holds is refused with `RegisteredElsewhere` (see `confined`), and it
    is never a possible duplicate, nor a guardian (`guardian_archive_no`: "Unknown archive.").

    Without an ID number (a newborn's archive, which names a guardian), the name, sex and birth
    date decide what is a possible duplicate; the ID number is attached later (`id_numbers`).
    """
    check_references(session, data["village_code"], data["institution_code"])
    check_manager(session, data["village_code"], data["institution_code"])
    guardian = guardian_archive(session, data.get("guardian_archive_no"), scope)
    index = identity_key(pii, data["id_type"], data["id_number"]) if data.get("id_number") else None
    masked = mask_id_number(data["id_number"]) if data.get("id_number") else None
    cards = {name: data[name] for name in identifiers.CARD_FIELDS if data.get(name)}
    taken = identifiers.card_conflicts(session, pii, cards)
    conflict = confined(session, existing_conflict(session, index, masked) or taken(), scope)
    if conflict:
        raise conflict
    if not data.get("confirm_new"):
        duplicates = matching.possible_duplicates(session, pii, data, review.scope_condition(scope) if scope else None)
        if duplicates:
            raise Conflict("possible duplicates", {"possible_duplicates": duplicates})

    serial = allocate_serial(session, data["village_code"])
    archive_no = make_archive_number(data["village_code"], serial).value
    archive = Archive(
        archive_no=archive_no,
        name=data["name"],
        name_pinyin=name_pinyin(data["name"]),
        sex=data["sex"],
        birth_date=data["birth_date"],
        id_type=data["id_type"] if index is not None else None,
        id_number_enc=seal(pii, archive_no, "id_number_enc", data.get("id_number")),
        id_number_index=index,
        phone_enc=pii.encrypt(data["phone"], PHONE_SEALED_IN, archive_no) if data.get("phone") else None,
        phone_index=phone_index(pii, data["phone"]) if data.get("phone") else None,
        village_code=data["village_code"],
        institution_code=data["institution_code"],
        created_by=actor.user,
        archive_date=data.get("archive_date") or clock.today(),
        guardian_archive_no=guardian,
        **{f: data.get(f) for f in COVER_CODES},
        **{column: seal(pii, archive_no, column, data.get(f)) for f, column in COVER_SEALED.items()},
    )
    if archive.guardian_id_number_enc is None:
        archive.guardian_id_type = None
    session.add(archive)
    card_changes = identifiers.set_cards(session, pii, archive.archive_no, cards, actor, held={})
    revisions.record(session, archive, revisions.CREATED, _created_changes(archive, data, card_changes), actor)
    stage(session, outbox, [event_message(SERVICE, ARCHIVE_CREATED, {
        "archive_no": archive.archive_no,
        "village_code": archive.village_code,
        "institution_code": archive.institution_code,
        # Blind indexes are keyed digests, not personal data: they let the records service
        # match encounters it parked as pending without the ID number ever leaving here.
        "identity_keys": [index.hex()] if index is not None else [],
        "profile": archive.profile(),
    }, actor)])
    commit_unless_taken(session, index, masked, taken, scope)
    return archive


# Plain columns of the identity and cover a creation or a correction sets as given (the guardian's
# ID type goes with its sealed number).
COVER_CODES = ("residence_type", "ethnicity", "ethnicity_name", "archive_source", "consent", "consent_date",
               "responsible_doctor", "guardian_id_type")


def guardian_archive(session: Session, archive_no: str | None, scope: dict[str, Any] | None) -> str | None:
    """The current number of the guardian's archive `archive_no` leads to; one outside `scope`
    is refused exactly as an unknown one (`ValidationFailed` naming `guardian_archive_no`)."""
    if not archive_no:
        return None
    unknown = ValidationFailed("unknown guardian", {"guardian_archive_no": ["Unknown archive."]})
    try:
        number = aliases.find(session, archive_no).archive_no
    except NotFound:
        raise unknown from None
    if scope is not None and not review.visible(session, scope, [number]):
        raise unknown
    return number


def commit_unless_taken(session: Session, index: bytes | None, masked: str | None,
                        also: Callable[[], Conflict | None] | None = None,
                        scope: dict[str, Any] | None = None) -> None:
    """Commit; if another worker gave this ID number (or, checked by `also`, a card number) to an
    archive between our check and our write (a unique index says so), answer the same Conflict
    the check would have (`confined` to `scope`)."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        conflict = confined(session, existing_conflict(session, index, masked) or (also and also()), scope)
        if conflict:
            raise conflict from None
        raise


def _created_changes(archive: Archive, data: dict[str, Any],
                     card_changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    after = {**revisions.tracked(archive), "status": "active",
             **{f: revisions.shown(f, data.get(f)) for f in revisions.SHOWN_MASKED},
             **{name: new for name, (_, new) in card_changes.items()}}
    return revisions.diff({}, {k: v for k, v in after.items() if v is not None})


def get_archive(session: Session, archive_no: str) -> Archive:
    """The archive `archive_no` leads to: itself, the archive it became after a transfer, or the
    survivor of a merge (see `aliases`)."""
    return aliases.find(session, archive_no)


def _numbers_leading_to(kind: str):
    alias = ArchiveAlias.__table__
    return (sa.select(sa.func.array_agg(aggregate_order_by(alias.c.old_archive_no, alias.c.old_archive_no)))
            .where(alias.c.archive_no == Archive.__table__.c.archive_no, alias.c.kind == kind)
            .scalar_subquery())


# An archive with the numbers leading to it, in one statement built once (the guarded read of
# every gateway request asks for it).
_ARCHIVE_VIEW = (sa.select(*Archive.__table__.columns,
                           _numbers_leading_to(aliases.TRANSFER).label("former_archive_nos"),
                           _numbers_leading_to(aliases.MERGE).label("merged_archive_nos"))
                 .where(Archive.__table__.c.archive_no == sa.bindparam("archive_no")))


def masked_id_number(pii: PiiBox, token: bytes | None, archive_no: str) -> str | None:
    """The ID number as the archive's readers see it (`mask_id_number`), from its ciphertext
    (sealed to the archive's number): no mask is stored (a stored one was half the number in
    clear). Decrypting costs microseconds."""
    return None if token is None else mask_id_number(pii.decrypt(token, ID_NUMBER_SEALED_IN, archive_no))


def archive_values(pii: PiiBox, archive: Archive) -> dict[str, Any]:
    """The archive's columns with its masked ID number: what `ArchiveSchema` dumps."""
    values = {column.key: getattr(archive, column.key) for column in Archive.__table__.columns}
    return {**values, "id_number_masked": masked_id_number(pii, archive.id_number_enc, archive.archive_no)}


def archive_view(session: Session, pii: PiiBox, archive_no: str) -> dict[str, Any]:
    """What `get_archive` answers for `archive_no` (`ArchiveDetailSchema`). A current number
    that was not merged away, as most are, takes one query; any other goes through `aliases`."""
    archive_no = aliases.checked_number(archive_no)
    row = session.execute(_ARCHIVE_VIEW, {"archive_no": archive_no}).mappings().first()
    if row is None or row["status"] == MERGED:
        return archive_details(session, pii, aliases.find(session, archive_no))
    values = {column.key: row[column.key] for column in Archive.__table__.columns}
    masked = masked_id_number(pii, values["id_number_enc"], values["archive_no"])
    return _details({**values, "id_number_masked": masked},
                    row["former_archive_nos"] or [], row["merged_archive_nos"] or [], pii)


def archive_details(session: Session, pii: PiiBox, archive: Archive) -> dict[str, Any]:
    """What `get_archive` answers (`ArchiveDetailSchema`): the archive with its lifecycle."""
    leading_here = aliases.all_aliases_of(session, archive.archive_no)
    return _details(archive_values(pii, archive), leading_here[aliases.TRANSFER], leading_here[aliases.MERGE], pii)


def cover_values(pii: PiiBox, values: dict[str, Any]) -> dict[str, Any]:
    """The cover's personal data as `get_archive` answers it (`ArchiveDetailSchema`): addresses,
    employer and contact name opened; the contact's phone and a guardian's ID number masked."""
    archive_no = values["archive_no"]
    opened = {f: unseal(pii, archive_no, COVER_SEALED[f], values[COVER_SEALED[f]])
              for f in ("current_address", "registered_address", "employer", "contact_name")}
    phone = unseal(pii, archive_no, "contact_phone_enc", values["contact_phone_enc"])
    guardian = unseal(pii, archive_no, "guardian_id_number_enc", values["guardian_id_number_enc"])
    return {**opened, "contact_phone_masked": mask_phone(phone) if phone else None,
            "guardian_id_number_masked": mask_id_number(guardian) if guardian else None}


def _details(values: dict[str, Any], former: list[str], merged: list[str], pii: PiiBox) -> dict[str, Any]:
    terminated = values["termination_reason"] is not None
    return {
        **values,
        **cover_values(pii, values),
        "termination": {
            "reason": values["termination_reason"], "date": values["termination_date"],
            "cause": values["termination_cause"], "destination": values["termination_destination"],
            "handover": values["termination_handover"], "note": values["termination_note"],
        } if terminated else None,
        "former_archive_nos": former,
        "merged_archive_nos": merged,
    }


def resolve_identities(session: Session, pii: PiiBox, queries: list[dict]) -> list[dict | None]:
    """For each query the archive its exact identifiers name, or None; a fixed number of SQL
    queries for all of them. The filing hot path (`IdentityQuerySchema`):

        [{"id_type": "01", "id_number": "11010519491231002X", "mrn": "MZ0012345",
          "institution_code": "H1101050001", "sex": "2", "birth_date": date(1949, 12, 31)}]
        -> [{"archive_no": "11010500300100001", "status": "active", "village_code": "110105003001",
             "matched_by": "id_number", "teaches_mrn": True}]

    The rules of `matching.exact_matches`: ID number, then health card, insurance card, MRN of
    the sending institution; an ID number a merge moved aside answers the survivor; a card or MRN
    the query contradicts answers None (the encounter waits for an operator). Reads only: an
    ID-number match whose query carries an MRN the archive does not hold yet says so
    (`"teaches_mrn": true`, absent otherwise), and the caller asks for it to be linked once it
    filed (`learning.learn_medical_record_numbers`); likewise an insurance card the archive does
    not hold (`"teaches_insurance_card": true`, linked with `link_identifier`).
    """
    found = matching.exact_matches(session, pii, queries)
    return [{"archive_no": e.archive.archive_no, "status": e.archive.status, "village_code": e.archive.village_code,
             "matched_by": e.kind, **({"teaches_mrn": True} if e.teaches_mrn else {}),
             **({"teaches_insurance_card": True} if e.teaches_insurance_card else {})}
            if e is not None and e.decides else None for e in found]


def list_divisions(session: Session, level: str | None = None) -> list[Division]:
    stmt = sa.select(Division).order_by(Division.code)
    if level:
        stmt = stmt.where(Division.level == level)
    return list(session.scalars(stmt))


def list_institutions(session: Session) -> list[Institution]:
    return list(session.scalars(sa.select(Institution).order_by(Institution.code)))


def import_reference_data(session: Session, divisions: Iterable[dict], institutions: Iterable[dict]) -> tuple[int, int]:
    """Insert or update divisions and institutions (parents before children), then commit."""
    division_rows = sorted(divisions, key=lambda r: len(r["code"]))
    for row in division_rows:
        stmt = pg_insert(Division).values(**row)
        session.execute(stmt.on_conflict_do_update(
            index_elements=[Division.code],
            set_={"name": stmt.excluded.name, "level": stmt.excluded.level, "parent_code": stmt.excluded.parent_code,
                  # a file without the 常住人口 keeps the one known
                  "population": sa.func.coalesce(stmt.excluded.population, Division.population)},
        ))
    institution_rows = sorted(institutions, key=lambda r: r.get("parent_code") is not None)
    for row in institution_rows:
        stmt = pg_insert(Institution).values(**row)
        session.execute(stmt.on_conflict_do_update(
            index_elements=[Institution.code],
            set_={c: getattr(stmt.excluded, c) for c in ("name", "kind", "division_code", "parent_code")},
        ))
    session.commit()
    return len(division_rows), len(institution_rows)
