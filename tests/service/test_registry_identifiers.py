"""Residents' other identifiers (health and insurance cards, hospitals' MRNs): exact resolution by
them, their precedence, merges, uniqueness, learning MRNs from confirmed matches, and their
encryption at rest; real RabbitMQ and PostgreSQL.

The registry database is shared by the whole run: every test makes its own card numbers and MRNs
(random) and its own residents, and asserts on them, never on totals.
"""

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from ehr.synthetic import Resident, Synthesizer, make_id_number
from services.registry.scoring import birth_date_typo
from shared.errors import Conflict, ValidationFailed
from tests.support.amqp import wait_until
from tests.support.db import query

VILLAGE, INSTITUTION = "110105101101", "T1101051011"
HOSPITAL, OTHER_HOSPITAL = "H3301020001", "H1101050002"


def number(prefix: str) -> str:
    """A card number or MRN no other test uses."""
    return prefix + uuid.uuid4().hex[:10].upper()


def create(rpc, resident: Resident, **extra) -> str:
    return rpc.registry.create_archive({**resident.archive_request(), "confirm_new": True, **extra})["archive_no"]


def stranger_of(synth: Synthesizer, resident: Resident) -> Resident:
    """Somebody of the other sex, born years earlier (not a typo of the date; earlier, so that the
    birth date of a young child's stranger is not in the future): a card or MRN of `resident`
    contradicts them."""
    sex = "1" if resident.sex == "2" else "2"
    birth = next(b for b in (resident.birth_date - timedelta(days=d) for d in range(2640, 2700))
                 if not birth_date_typo(resident.birth_date, b))
    base = synth.resident(VILLAGE, INSTITUTION)
    return replace(base, sex=sex, birth_date=birth, id_number=make_id_number(synth.rng, VILLAGE[:6], birth, sex))


def id_query(resident: Resident, **extra) -> dict:
    return {"id_type": "01", "id_number": resident.id_number, "name": resident.name, "sex": resident.sex,
            "birth_date": resident.birth_date.isoformat(), **extra}


def matched(answer: dict, archive_no: str, reason: str) -> bool:
    return answer == {"status": "matched", "archive_no": archive_no, "score": 1.0, "reasons": [reason],
                      "archive_status": "active"}


# -- resolution by each identifier --------------------------------------------------------------


def test_an_archive_is_resolved_by_its_health_card_or_its_insurance_card_alone(registry, rpc, synth):
    health, insurance = number("H"), number("YB")
    archive_no = create(rpc, synth.resident(VILLAGE, INSTITUTION), health_card_no=health,
                        insurance_card_no=insurance)

    assert matched(rpc.registry.resolve({"health_card_no": health}), archive_no, "health_card")
    # Card readers and clerks differ in spacing and case, never in the number.
    spaced = " ".join([health[:4].lower(), health[4:]])
    assert matched(rpc.registry.resolve({"health_card_no": spaced}), archive_no, "health_card")
    assert matched(rpc.registry.resolve({"insurance_card_no": insurance}), archive_no, "insurance_card")
    [answer] = rpc.registry.resolve_identities([{"id_number": None, "insurance_card_no": insurance}])
    assert answer["archive_no"] == archive_no and answer["matched_by"] == "insurance_card"


def test_an_mrn_learned_from_an_id_number_match_finds_the_archive_next_time_at_that_hospital_only(
        registry, rpc, synth):
    resident, mrn = synth.resident(VILLAGE, INSTITUTION), number("MZ")
    archive_no = create(rpc, resident)
    assert rpc.registry.resolve({"mrn": mrn, "institution_code": HOSPITAL}) == {"status": "none"}

    first = rpc.registry.resolve(id_query(resident, mrn=mrn, institution_code=HOSPITAL))

    assert matched(first, archive_no, "id_number")
    assert matched(rpc.registry.resolve({"mrn": mrn, "institution_code": HOSPITAL}), archive_no, "mrn")
    # Another hospital's MRN is another number; an MRN without its hospital names nobody.
    assert rpc.registry.resolve({"mrn": mrn, "institution_code": OTHER_HOSPITAL}) == {"status": "none"}
    with pytest.raises(ValidationFailed):
        rpc.registry.resolve({"mrn": mrn})
    [learned] = [i for i in rpc.registry.list_identifiers(archive_no) if i["kind"] == "mrn"]
    assert learned["issuer"] == HOSPITAL and learned["source"] == "learned_from_match"
    assert learned["value_masked"] != mrn and learned["value_masked"].endswith(mrn[-4:])


def test_the_filing_path_learns_mrns_too(registry, rpc, synth):
    resident, mrn = synth.resident(VILLAGE, INSTITUTION), number("ZY")
    archive_no = create(rpc, resident)
    query = {"id_type": "01", "id_number": resident.id_number, "mrn": mrn, "institution_code": OTHER_HOSPITAL}
    [answer] = rpc.registry.resolve_identities([query])
    assert answer["matched_by"] == "id_number"
    rpc.registry.learn_medical_record_numbers([query])  # what records asks once it filed the encounter
    [again] = rpc.registry.resolve_identities([{"id_number": None, "mrn": mrn, "institution_code": OTHER_HOSPITAL}])
    assert again == {"archive_no": archive_no, "status": "active", "village_code": VILLAGE, "matched_by": "mrn"}


def test_the_filing_paths_lookup_only_reads_and_the_learning_is_asked_for(registry, rpc, synth):
    resident, mrn = synth.resident(VILLAGE, INSTITUTION), number("ZY")
    archive_no = create(rpc, resident)
    query = {"id_type": "01", "id_number": resident.id_number, "mrn": mrn, "institution_code": OTHER_HOSPITAL}
    [answer] = rpc.registry.resolve_identities([query])
    assert (answer["matched_by"], answer["teaches_mrn"]) == ("id_number", True)
    assert [i for i in rpc.registry.list_identifiers(archive_no) if i["kind"] == "mrn"] == []
    by_mrn_alone = {"id_number": None, "mrn": mrn, "institution_code": OTHER_HOSPITAL}
    assert rpc.registry.resolve_identities([by_mrn_alone]) == [None]

    [outcome] = rpc.registry.learn_medical_record_numbers([query, query, by_mrn_alone])
    assert (outcome["status"], outcome["archive_no"], outcome["issuer"]) == ("linked", archive_no, OTHER_HOSPITAL)
    assert mrn not in str(outcome)
    assert rpc.registry.learn_medical_record_numbers([query])[0]["status"] == "already_linked"
    assert "teaches_mrn" not in rpc.registry.resolve_identities([query])[0]  # nothing left to learn
    assert rpc.registry.resolve_identities([by_mrn_alone])[0]["archive_no"] == archive_no


def test_only_an_id_number_match_teaches_an_mrn(registry, rpc, synth):
    resident, health, mrn = synth.resident(VILLAGE, INSTITUTION), number("H"), number("ZY")
    archive_no = create(rpc, resident, health_card_no=health)
    stranger = synth.resident(VILLAGE, INSTITUTION)  # registered nowhere
    assert rpc.registry.learn_medical_record_numbers([
        {"id_number": None, "health_card_no": health, "mrn": mrn, "institution_code": OTHER_HOSPITAL},
        {"id_type": "01", "id_number": stranger.id_number, "mrn": mrn, "institution_code": OTHER_HOSPITAL},
    ]) == []
    assert [i for i in rpc.registry.list_identifiers(archive_no) if i["kind"] == "mrn"] == []


def test_exact_identifiers_decide_in_order_id_number_health_card_insurance_card_mrn(registry, rpc, synth):
    health, insurance, mrn = number("H"), number("YB"), number("MZ")
    by_health = create(rpc, synth.resident(VILLAGE, INSTITUTION), health_card_no=health)
    by_insurance = create(rpc, synth.resident(VILLAGE, INSTITUTION), insurance_card_no=insurance)
    by_mrn_resident = synth.resident(VILLAGE, INSTITUTION)
    by_mrn = create(rpc, by_mrn_resident)
    rpc.registry.resolve(id_query(by_mrn_resident, mrn=mrn, institution_code=HOSPITAL))
    by_id_resident = synth.resident(VILLAGE, INSTITUTION)
    by_id = create(rpc, by_id_resident)
    cards = {"health_card_no": health, "insurance_card_no": insurance, "mrn": mrn, "institution_code": HOSPITAL}

    answers = rpc.registry.resolve_many([
        {"id_type": "01", "id_number": by_id_resident.id_number, **cards},
        cards,
        {**cards, "health_card_no": None},
        {**cards, "health_card_no": None, "insurance_card_no": None},
    ])

    assert [(a["archive_no"], a["reasons"]) for a in answers] == [
        (by_id, ["id_number"]), (by_health, ["health_card"]), (by_insurance, ["insurance_card"]), (by_mrn, ["mrn"])]


def test_an_identifier_the_demographics_contradict_is_a_flagged_candidate_never_a_match(registry, rpc, synth):
    resident, health, mrn = synth.resident(VILLAGE, INSTITUTION), number("H"), number("MZ")
    archive_no = create(rpc, resident, health_card_no=health)
    rpc.registry.resolve(id_query(resident, mrn=mrn, institution_code=HOSPITAL))
    stranger = stranger_of(synth, resident)

    answer = rpc.registry.resolve({"health_card_no": health, "sex": stranger.sex,
                                   "birth_date": stranger.birth_date.isoformat()})

    assert answer["status"] == "candidates"
    assert answer["candidates"][0] == {"archive_no": archive_no, "score": 0.5, "archive_status": "active",
                                       "reasons": ["health_card", "sex_differs", "birth_date_differs"]}
    # Another person's ID number on the same MRN: not the archive's person either.
    other_id = rpc.registry.resolve(id_query(stranger, sex=resident.sex, birth_date=resident.birth_date.isoformat(),
                                             mrn=mrn, institution_code=HOSPITAL))
    assert other_id["candidates"][0]["archive_no"] == archive_no
    assert other_id["candidates"][0]["reasons"][:2] == ["mrn", "id_number_differs"]
    # The filing path files none of them: they wait for an operator.
    assert rpc.registry.resolve_identities([
        {"id_number": None, "health_card_no": health, "sex": stranger.sex,
         "birth_date": stranger.birth_date.isoformat()},
        {"id_type": "01", "id_number": stranger.id_number, "mrn": mrn, "institution_code": HOSPITAL},
    ]) == [None, None]
    # Only one of sex and birth date differing is a plain match (a clerk's slip, not another person).
    assert matched(rpc.registry.resolve({"health_card_no": health, "sex": stranger.sex,
                                         "birth_date": resident.birth_date.isoformat()}), archive_no, "health_card")


def test_an_identifier_of_an_archive_merged_away_leads_to_the_survivor_until_unmerged(registry, rpc, synth):
    health, mrn = number("H"), number("MZ")
    merged_resident = synth.resident(VILLAGE, INSTITUTION)
    merged_no = create(rpc, merged_resident, health_card_no=health)
    rpc.registry.resolve(id_query(merged_resident, mrn=mrn, institution_code=HOSPITAL))
    survivor_no = create(rpc, synth.resident(VILLAGE, INSTITUTION))

    merge = rpc.registry.merge_archives(survivor_no, merged_no, "同一居民重复建档")

    assert matched(rpc.registry.resolve({"health_card_no": health}), survivor_no, "health_card")
    assert matched(rpc.registry.resolve({"mrn": mrn, "institution_code": HOSPITAL}), survivor_no, "mrn")
    with pytest.raises(Conflict) as err:  # the card is the survivor's now: nobody else may take it
        create(rpc, synth.resident(VILLAGE, INSTITUTION), health_card_no=health)
    assert err.value.details["archive_no"] == survivor_no

    rpc.registry.unmerge_archives(merge["merge_id"], "并非同一人")
    assert matched(rpc.registry.resolve({"health_card_no": health}), merged_no, "health_card")


# -- cards on creation and correction -----------------------------------------------------------


def test_a_card_another_archive_holds_is_refused_naming_the_field_and_the_archive(registry, rpc, synth):
    health, insurance = number("H"), number("YB")
    holder = create(rpc, synth.resident(VILLAGE, INSTITUTION), health_card_no=health, insurance_card_no=insurance)
    other = create(rpc, synth.resident(VILLAGE, INSTITUTION))

    with pytest.raises(Conflict) as on_create:
        create(rpc, synth.resident(VILLAGE, INSTITUTION), health_card_no=health.lower())
    with pytest.raises(Conflict) as on_update:
        rpc.registry.update_identity(other, {"insurance_card_no": insurance})

    assert on_create.value.details == {"archive_no": holder, "health_card_no": health[:2] + "*" * (len(health) - 6)
                                       + health[-4:]}
    assert set(on_update.value.details) == {"archive_no", "insurance_card_no"}
    assert on_update.value.details["archive_no"] == holder
    assert health not in repr(on_create.value.details) and insurance not in repr(on_update.value.details)
    assert [i["kind"] for i in rpc.registry.list_identifiers(other)] == []


def test_card_changes_are_revisions_with_the_numbers_masked(registry, rpc, synth):
    first, second = number("H"), number("H")
    archive_no = create(rpc, synth.resident(VILLAGE, INSTITUTION), health_card_no=first)

    rpc.registry.update_identity(archive_no, {"health_card_no": second})
    rpc.registry.update_identity(archive_no, {"health_card_no": second})  # the same: no revision
    rpc.registry.update_identity(archive_no, {"health_card_no": None, "insurance_card_no": number("YB")})

    revisions = rpc.registry.list_revisions(archive_no)
    assert [r["action"] for r in revisions] == ["created", "identity_updated", "identity_updated"]
    created, changed, removed = (r["changes"] for r in revisions)
    assert created["health_card_no"][0] is None and created["health_card_no"][1].endswith(first[-4:])
    assert changed == {"health_card_no": [created["health_card_no"][1], changed["health_card_no"][1]]}
    assert removed["health_card_no"][1] is None and set(removed) == {"health_card_no", "insurance_card_no"}
    assert first not in repr(revisions) and second not in repr(revisions)
    assert rpc.registry.resolve({"health_card_no": first}) == {"status": "none"}
    assert rpc.registry.resolve({"health_card_no": second}) == {"status": "none"}


# -- learning -------------------------------------------------------------------------------------


def test_an_mrn_another_archive_holds_is_never_re_pointed_and_the_conflict_is_kept(registry, rpc, synth):
    first, second, mrn = synth.resident(VILLAGE, INSTITUTION), synth.resident(VILLAGE, INSTITUTION), number("MZ")
    first_no, second_no = create(rpc, first), create(rpc, second)
    rpc.registry.resolve(id_query(first, mrn=mrn, institution_code=HOSPITAL))

    for _ in range(2):
        answer = rpc.registry.resolve(id_query(second, mrn=mrn, institution_code=HOSPITAL))
        assert matched(answer, second_no, "id_number")  # the ID number still decides
    outcome = rpc.registry.link_identifier(second_no, "mrn", mrn, HOSPITAL)

    assert outcome["status"] == "conflict" and outcome["held_by"] == first_no and mrn not in repr(outcome)
    assert matched(rpc.registry.resolve({"mrn": mrn, "institution_code": HOSPITAL}), first_no, "mrn")
    [conflict] = query("registry", "SELECT held_by_archive_no, claimed_archive_no, times_seen, value_masked "
                                   "FROM identifier_conflicts WHERE claimed_archive_no = :a", a=second_no)
    assert conflict[:3] == (first_no, second_no, 3) and mrn not in conflict.value_masked
    with pytest.raises(Conflict) as err:  # entered by hand, the same claim is refused outright
        rpc.registry.link_identifier(second_no, "mrn", mrn, HOSPITAL, source="entered")
    assert err.value.details["archive_no"] == first_no


def test_link_identifier_links_an_mrn_once_and_refuses_what_it_cannot_link(registry, rpc, synth):
    archive_no, mrn = create(rpc, synth.resident(VILLAGE, INSTITUTION)), number("MZ")
    assert rpc.registry.link_identifier(archive_no, "mrn", mrn, HOSPITAL)["status"] == "linked"
    assert rpc.registry.link_identifier(archive_no, "mrn", mrn.lower(), HOSPITAL)["status"] == "already_linked"
    for kind, issuer, field in (("health_card", HOSPITAL, "kind"), ("mrn", "NOPE0001", "issuer")):
        with pytest.raises(ValidationFailed) as err:
            rpc.registry.link_identifier(archive_no, kind, mrn, issuer)
        assert field in err.value.details and mrn not in repr(err.value.details)


def test_an_encounter_filed_by_id_number_teaches_its_mrn_and_the_next_one_with_the_mrn_alone_is_filed(
        records_and_registry, rpc, synth, hospital):
    resident = synth.resident(VILLAGE, INSTITUTION)
    archive_no = create(rpc, resident)
    first = synth.encounter(resident, HOSPITAL)
    hospital.publish(first)
    wait_until(lambda: rpc.records.list_records(archive_no)["items"], message="the first encounter filed")

    later = synth.encounter(resident, HOSPITAL)
    later["patient"].update(id_number=None, mrn=first["patient"]["mrn"])
    hospital.publish(later)

    records = wait_until(lambda: len(rpc.records.list_records(archive_no)["items"]) == 2
                         and rpc.records.list_records(archive_no)["items"], message="the MRN-only encounter filed")
    assert later["source"]["record_id"] in {r["source"]["record_id"] for r in records}


def test_a_pending_encounter_with_only_an_mrn_is_filed_by_the_sweep_once_the_mrn_is_learned(
        records_and_registry, rpc, synth, hospital, suite_env):
    from sqlalchemy.orm import Session

    from services.records import pending
    from shared.config import load_settings
    from shared.db import make_engine
    from shared.pii import service_box

    resident = synth.resident(VILLAGE, INSTITUTION)
    archive_no = create(rpc, resident)
    early = synth.encounter(resident, HOSPITAL)
    early["patient"]["id_number"] = None          # an MRN the registry does not know yet
    message_id = hospital.publish(early)
    wait_until(lambda: [p for p in rpc.records.list_pending(limit=200)["items"] if p["message_id"] == message_id],
               message="pending")
    taught = synth.encounter(resident, HOSPITAL)
    taught["patient"]["mrn"] = early["patient"]["mrn"]   # filed by ID number: the MRN is learned
    hospital.publish(taught)
    wait_until(lambda: rpc.records.list_records(archive_no)["items"], message="the ID-number encounter filed")
    wait_until(lambda: [i for i in rpc.registry.list_identifiers(archive_no) if i["kind"] == "mrn"],
               message="records asked the registry to learn the MRN, after filing")

    settings = load_settings(suite_env.variables)
    engine = make_engine(settings.database_url_for("records"), pool_size=1)
    try:
        with Session(engine) as session:
            pending.retry_pending(session, service_box(settings, "records"),
                                  resolve=rpc.registry.resolve_identities, limit=10_000)
    finally:
        engine.dispose()
    records = rpc.records.list_records(archive_no)["items"]
    assert early["source"]["record_id"] in {r["source"]["record_id"] for r in records}


def test_an_operators_link_of_a_pending_encounter_teaches_its_mrn(records_and_registry, rpc, synth, hospital):
    resident = synth.resident(VILLAGE, INSTITUTION)
    body = synth.encounter(resident, HOSPITAL)
    body["patient"]["id_number"] = None  # only the hospital's MRN: it waits for an operator
    message_id = hospital.publish(body)
    item = wait_until(lambda: [p for p in rpc.records.list_pending(limit=200)["items"]
                               if p["message_id"] == message_id], message="pending")[0]
    archive_no = create(rpc, resident)

    rpc.records.link_pending(item["id"], archive_no)

    mrn = body["patient"]["mrn"]
    assert matched(rpc.registry.resolve({"mrn": mrn, "institution_code": HOSPITAL}), archive_no, "mrn")
    next_visit = synth.encounter(resident, HOSPITAL)
    next_visit["patient"].update(id_number=None, mrn=mrn)
    hospital.publish(next_visit)
    wait_until(lambda: len(rpc.records.list_records(archive_no)["items"]) == 2, message="the next visit filed")


# -- protection -----------------------------------------------------------------------------------


def test_identifiers_are_encrypted_at_rest_and_shown_only_masked(registry, rpc, synth):
    resident, health, insurance, mrn = synth.resident(VILLAGE, INSTITUTION), number("H"), number("YB"), number("MZ")
    archive_no = create(rpc, resident, health_card_no=health, insurance_card_no=insurance)
    rpc.registry.resolve(id_query(resident, mrn=mrn, institution_code=HOSPITAL))

    rows = query("registry", "SELECT kind, value_enc, value_index, value_masked FROM resident_identifiers "
                             "WHERE archive_no = :a", a=archive_no)
    listed = rpc.registry.list_identifiers(archive_no)

    assert sorted(r.kind for r in rows) == ["health_card", "insurance_card", "mrn"]
    for row in rows:
        stored = bytes(row.value_enc) + bytes(row.value_index) + row.value_masked.encode()
        assert not any(clear.encode() in stored for clear in (health, insurance, mrn))
    assert {i["kind"] for i in listed} == {"health_card", "insurance_card", "mrn"}
    assert not any(clear in repr(listed) for clear in (health, insurance, mrn))
    assert not any(clear in repr(rpc.registry.list_revisions(archive_no)) for clear in (health, insurance))
