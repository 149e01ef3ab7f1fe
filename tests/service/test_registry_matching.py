"""Identity resolution, search and duplicate checks of the registry, on real RabbitMQ and PostgreSQL.

The registry database is shared by the whole run, so each test makes its residents distinct
(random birth dates from the synthesizer, rare name prefixes) and asserts on them, not on totals.
"""

from dataclasses import replace
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ehr.synthetic import Resident, Synthesizer, make_id_number
from services.registry import matching, search
from services.registry.keys import name_pinyin
from services.registry.models import Archive
from shared.config import load_settings
from shared.db import make_engine
from shared.errors import Conflict, ValidationFailed
from shared.pii import PiiBox

VILLAGE = "110105101101"
OTHER_VILLAGE = "110105101102"
INSTITUTION = "T1101051011"
RARE = "鞠邝蒯阚璩暨郜"  # uncommon surnames, each with one reading


@pytest.fixture
def synth():
    return Synthesizer()


def person(synth: Synthesizer, village: str = VILLAGE, **overrides) -> Resident:
    """A synthetic resident; a changed sex or birth date gets a matching, valid ID number."""
    base = synth.resident(village, INSTITUTION)
    sex, birth = overrides.get("sex", base.sex), overrides.get("birth_date", base.birth_date)
    resident = replace(base, **overrides)
    if (sex, birth) != (base.sex, base.birth_date):
        resident = replace(resident, id_number=make_id_number(synth.rng, village[:6], birth, sex))
    return resident


def create(rpc, resident: Resident, **extra) -> str:
    return rpc.registry.create_archive({**resident.archive_request(), **extra})["archive_no"]


def query_of(resident: Resident, **overrides) -> dict:
    request = resident.archive_request()
    query = {k: request[k] for k in ("id_type", "id_number", "name", "sex", "birth_date", "phone")}
    return {**query, "health_card_no": None, "insurance_card_no": None, "mrn": "MRN0000001", **overrides}


def one_digit_typo(day: date) -> date:
    if (day.month, day.day) == (2, 29):
        return day.replace(day=28)
    return day.replace(year=day.year + 1 if day.year % 10 != 9 else day.year - 1)


def rare_prefix(synth: Synthesizer) -> str:
    return "".join(synth.rng.sample(RARE, 2))


def search_all(rpc, filters: dict, limit: int = 200) -> list[dict]:
    return rpc.registry.search_archives(filters, limit=limit)["items"]


# -- resolution -------------------------------------------------------------------------------


def test_an_exact_id_number_is_matched_with_score_one_whatever_the_demographics(registry, rpc, synth):
    resident = person(synth)
    archive_no = create(rpc, resident)
    answer = rpc.registry.resolve(query_of(resident, name="王建国", phone=None))
    assert answer == {"status": "matched", "archive_no": archive_no, "score": 1.0,
                      "reasons": ["id_number"], "archive_status": "active"}


def test_a_same_pinyin_name_with_the_same_birth_date_is_ranked_first_with_its_reasons(registry, rpc, synth):
    target = person(synth, name="张秀英", sex="2")
    target_no = create(rpc, target)
    runner_up = person(synth, name="章秀英", sex="2", birth_date=one_digit_typo(target.birth_date))
    runner_up_no = create(rpc, runner_up)

    answer = rpc.registry.resolve({"name": "章秀英", "sex": "2", "birth_date": target.birth_date.isoformat()})

    assert answer["status"] == "candidates"
    first, second = answer["candidates"][:2]
    assert first == {"archive_no": target_no, "score": 0.65, "reasons": ["name_pinyin", "birth_date", "sex"],
                     "archive_status": "active"}
    assert second["archive_no"] == runner_up_no and second["reasons"] == ["name", "birth_date_typo", "sex"]
    assert len(answer["candidates"]) <= 5 and all(c["score"] >= 0.5 for c in answer["candidates"])


def test_demographics_alone_never_match_even_when_all_agree(registry, rpc, synth):
    resident = person(synth)
    archive_no = create(rpc, resident)
    answer = rpc.registry.resolve(query_of(resident, id_number=None))
    assert answer["status"] == "candidates"
    assert answer["candidates"][0]["archive_no"] == archive_no and answer["candidates"][0]["score"] < 1.0


def test_a_person_the_registry_does_not_know_resolves_to_none(registry, rpc, synth):
    assert rpc.registry.resolve(query_of(person(synth))) == {"status": "none"}


def test_blocking_finds_a_candidate_that_shares_only_the_birth_date(registry, rpc, synth):
    target = person(synth, name="张秀英", sex="2")
    target_no = create(rpc, target)
    # Another pinyin and no phone: only the birth-date block can bring the archive in.
    query = {"name": "张桂英", "sex": "2", "birth_date": target.birth_date.isoformat()}
    assert name_pinyin("张桂英") != name_pinyin(target.name)

    answer = rpc.registry.resolve(query)

    found = {c["archive_no"]: c for c in answer["candidates"]}
    assert found[target_no]["reasons"] == ["name_similar", "birth_date", "sex"]


def test_resolve_many_answers_each_query_in_order(registry, rpc, synth):
    known = person(synth, name="张秀英", sex="2")
    known_no = create(rpc, known)
    answers = rpc.registry.resolve_many([
        query_of(person(synth)),
        query_of(known),
        {"name": "章秀英", "sex": "2", "birth_date": known.birth_date.isoformat()},
    ])
    assert [a["status"] for a in answers] == ["none", "matched", "candidates"]
    assert answers[1]["archive_no"] == known_no and answers[2]["candidates"][0]["archive_no"] == known_no


def test_a_terminated_archive_is_still_a_candidate_showing_its_status_but_no_duplicate(registry, rpc, synth):
    resident = person(synth)
    archive_no = create(rpc, resident)
    engine = make_engine(load_settings().database_url_for("registry"), pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE archives SET status = 'terminated' WHERE archive_no = :a"), {"a": archive_no})
    finally:
        engine.dispose()

    answer = rpc.registry.resolve(query_of(resident, id_number=None))
    candidate = answer["candidates"][0]
    assert candidate["archive_no"] == archive_no and candidate["archive_status"] == "terminated"
    twin = person(synth, name=resident.name, sex=resident.sex, birth_date=resident.birth_date)
    assert create(rpc, twin)  # only active archives count as possible duplicates


def test_a_query_with_an_invalid_id_number_is_refused_naming_the_field_only(registry, rpc, synth):
    query = query_of(person(synth))
    bad = query["id_number"][:-1] + ("0" if query["id_number"][-1] != "0" else "1")
    with pytest.raises(ValidationFailed) as err:
        rpc.registry.resolve({**query, "id_number": bad})
    assert list(err.value.details) == ["id_number"] and bad not in str(err.value.details)


def test_a_query_with_nothing_to_match_on_is_refused(registry, rpc):
    with pytest.raises(ValidationFailed) as err:
        rpc.registry.resolve({"sex": "1", "mrn": "MRN0000001"})
    assert "_schema" in err.value.details


# -- search -----------------------------------------------------------------------------------


@pytest.fixture
def named(registry, rpc, synth):
    """Three archives whose names start with one rare two-character prefix, two in VILLAGE."""
    prefix = rare_prefix(synth)
    residents = [person(synth, village=v, name=prefix + given)
                 for v, given in ((VILLAGE, "秀英"), (VILLAGE, "建国"), (OTHER_VILLAGE, "桂兰"))]
    return prefix, {create(rpc, r): r for r in residents}


def test_search_by_name_prefix_finds_every_name_starting_with_it(rpc, named):
    prefix, archives = named
    items = search_all(rpc, {"name": prefix})
    assert set(archives) <= {i["archive_no"] for i in items}
    assert all(i["name"].startswith(prefix) for i in items)


def test_search_by_pinyin_prefix_ignores_case_and_spaces(rpc, named):
    prefix, archives = named
    typed = " ".join(name_pinyin(ch) for ch in prefix).upper()   # e.g. "JU KUANG"
    items = search_all(rpc, {"pinyin": typed})
    assert set(archives) <= {i["archive_no"] for i in items}
    assert all(name_pinyin(i["name"]).startswith(name_pinyin(prefix)) for i in items)


def test_search_by_village_and_by_village_prefix_of_the_archive_number(rpc, named):
    _, archives = named
    by_village = search_all(rpc, {"village_code": OTHER_VILLAGE})
    by_number = search_all(rpc, {"archive_no": OTHER_VILLAGE})
    assert all(i["village_code"] == OTHER_VILLAGE for i in by_village)
    assert all(i["archive_no"].startswith(OTHER_VILLAGE) for i in by_number)
    ours = {n for n in archives if n.startswith(OTHER_VILLAGE)}
    assert ours <= {i["archive_no"] for i in by_village} and ours <= {i["archive_no"] for i in by_number}


def test_search_by_birth_date_and_combined_filters_narrow_to_the_archive(rpc, named):
    prefix, archives = named
    archive_no, resident = next(iter(archives.items()))
    by_birth = search_all(rpc, {"birth_date": resident.birth_date.isoformat()})
    assert archive_no in {i["archive_no"] for i in by_birth}
    assert all(i["birth_date"] == resident.birth_date.isoformat() for i in by_birth)
    combined = search_all(rpc, {"pinyin": name_pinyin(prefix), "birth_date": resident.birth_date.isoformat(),
                                "village_code": resident.village_code, "institution_code": INSTITUTION,
                                "status": "active"})
    assert [i["archive_no"] for i in combined] == [archive_no]


def test_search_by_exact_archive_number_and_by_id_number_answers_the_id_masked(rpc, named):
    _, archives = named
    archive_no, resident = next(iter(archives.items()))
    assert [i["archive_no"] for i in search_all(rpc, {"archive_no": archive_no})] == [archive_no]
    page = rpc.registry.search_archives({"id_number": resident.id_number.lower()})
    assert [i["archive_no"] for i in page["items"]] == [archive_no] and page["next"] is None
    assert page["items"][0]["id_number_masked"] == "*" * 14 + resident.id_number[-4:]
    assert resident.id_number not in str(page)


def test_paging_through_every_page_returns_each_archive_once_in_archive_number_order(registry, rpc, synth):
    birth = person(synth).birth_date
    # confirm_new: seven residents sharing a birth date could, rarely, share a synthetic name too.
    created = {create(rpc, person(synth, village=OTHER_VILLAGE, birth_date=birth, sex=s), confirm_new=True)
               for s in "1212121"}
    filters = {"birth_date": birth.isoformat(), "village_code": OTHER_VILLAGE}

    seen, cursor, pages = [], None, 0
    while True:
        page = rpc.registry.search_archives(filters, limit=3, cursor=cursor)
        seen += [i["archive_no"] for i in page["items"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break

    assert len(seen) == len(set(seen)) and seen == sorted(seen)
    assert created <= set(seen) and seen == [i["archive_no"] for i in search_all(rpc, filters)]
    assert pages == -(-len(seen) // 3)


@pytest.mark.parametrize("filters, field", [
    ({}, "_schema"),
    ({"id_type": "01"}, "_schema"),
    ({"nickname": "老张"}, "nickname"),
    ({"birth_date": "1949-13-01"}, "birth_date"),
    ({"pinyin": "zhang-3"}, "pinyin"),
    ({"archive_no": "1101051011"}, "archive_no"),
    ({"village_code": "110105101201"}, "village_code"),
    ({"id_number": "110105194912310021"}, "id_number"),
])
def test_a_bad_search_filter_is_refused_naming_the_field(registry, rpc, filters, field):
    with pytest.raises(ValidationFailed) as err:
        rpc.registry.search_archives(filters)
    assert field in err.value.details
    assert "110105194912310021" not in str(err.value.details)


def test_a_bad_limit_or_cursor_is_refused_naming_it(registry, rpc):
    with pytest.raises(ValidationFailed) as err:
        rpc.registry.search_archives({"village_code": VILLAGE}, limit=0)
    assert list(err.value.details) == ["limit"]
    with pytest.raises(ValidationFailed) as err:
        rpc.registry.search_archives({"village_code": VILLAGE}, cursor="not-a-cursor")
    assert list(err.value.details) == ["cursor"]


def _plan(conn, stmt) -> str:
    compiled = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"render_postcompile": True})
    return "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params))


def test_blocking_and_prefix_filters_are_served_by_their_indexes(suite_env):
    settings = load_settings()
    pii = PiiBox(*settings.require_keys())
    sought = matching.sought_identity(pii, {"name": "张秀英", "birth_date": date(1949, 12, 31),
                                            "phone": "13800000000"})
    engine = make_engine(settings.database_url_for("registry"), pool_size=1)
    try:
        with engine.connect() as conn:
            # The test tables are small enough for a sequential scan to be cheapest; forbid it to
            # see which index the planner would use on a million archives.
            conn.exec_driver_sql("SET enable_seqscan = off")
            blocking = _plan(conn, matching.blocking_statement([sought]))
            by_name = _plan(conn, sa.select(Archive.archive_no)
                            .where(*search.filter_conditions(pii, {"name": "张秀"})))
            by_pinyin = _plan(conn, sa.select(Archive.archive_no)
                              .where(*search.filter_conditions(pii, {"pinyin": "zhangxiu"})))
            # a page of a pinyin search is read in index order, without sorting the matches
            paged = _plan(conn, search.search_statement(pii, {"pinyin": "zhang"}, limit=20,
                                                        after=("zhangsan", "11010510110100001")))
    finally:
        engine.dispose()
    assert "BitmapOr" in blocking
    for index in ("ix_archives_birth_date", "ix_archives_name_pinyin_order", "ix_archives_phone_index"):
        assert index in blocking
    assert "ix_archives_name_order" in by_name
    assert "ix_archives_name_pinyin_order" in by_pinyin
    assert "ix_archives_name_pinyin_order" in paged and "Sort" not in paged


# -- possible duplicates on creation -----------------------------------------------------------


def test_a_near_duplicate_is_refused_with_its_candidates_then_created_when_confirmed(registry, rpc, synth):
    first = person(synth)
    first_no = create(rpc, first)
    same_person_new_card = person(synth, name=first.name, sex=first.sex, birth_date=first.birth_date)

    with pytest.raises(Conflict) as err:
        create(rpc, same_person_new_card)

    assert err.value.message == "possible duplicates"
    [duplicate] = [d for d in err.value.details["possible_duplicates"] if d["archive_no"] == first_no]
    assert {"name", "sex", "birth_date"} <= set(duplicate["reasons"]) and set(duplicate) == {
        "archive_no", "score", "reasons"}
    second_no = create(rpc, same_person_new_card, confirm_new=True)
    assert second_no != first_no and rpc.registry.get_archive(second_no)["name"] == first.name


def test_a_same_pinyin_name_with_the_birth_date_or_the_phone_is_a_possible_duplicate(registry, rpc, synth):
    first = person(synth, name="张秀英", sex="2")
    first_no = create(rpc, first)
    same_pinyin_phone = person(synth, name="章秀英", phone=first.phone)
    same_pinyin = person(synth, name="章秀英", sex="1", birth_date=first.birth_date)
    for resident, reasons in ((same_pinyin_phone, {"name_pinyin", "phone"}), (same_pinyin, {"name_pinyin", "birth_date"})):
        with pytest.raises(Conflict) as err:
            create(rpc, resident)
        found = {d["archive_no"]: d for d in err.value.details["possible_duplicates"]}
        assert reasons <= set(found[first_no]["reasons"])


def test_the_same_id_number_is_still_refused_naming_the_existing_archive_before_any_near_match(registry, rpc, synth):
    resident = person(synth)
    archive_no = create(rpc, resident)
    with pytest.raises(Conflict) as err:
        create(rpc, resident, confirm_new=True)
    assert err.value.details["archive_no"] == archive_no


def test_no_answer_or_error_contains_an_unmasked_id_number(registry, rpc, synth):
    resident = person(synth, name="张秀英", sex="2")
    archive_no = create(rpc, resident)
    near = person(synth, name="章秀英", sex="2", birth_date=resident.birth_date)
    numbers = {resident.id_number, near.id_number}
    said = [
        rpc.registry.resolve(query_of(resident)),
        rpc.registry.resolve(query_of(near)),
        rpc.registry.resolve_many([query_of(resident), query_of(near)]),
        rpc.registry.search_archives({"id_number": resident.id_number}),
        rpc.registry.search_archives({"archive_no": archive_no}),
        rpc.registry.search_archives({"name": "张秀英", "birth_date": resident.birth_date.isoformat()}),
    ]
    for attempt in (lambda: create(rpc, near), lambda: create(rpc, resident),
                    lambda: rpc.registry.resolve({**query_of(near), "id_number": near.id_number[:-1] + "Z"}),
                    lambda: rpc.registry.search_archives({"id_number": near.id_number[:-2]})):
        with pytest.raises((Conflict, ValidationFailed)) as err:
            attempt()
        said.append((err.value.message, err.value.details))
    text = repr(said)
    assert archive_no in text
    assert not any(n in text or n[:17] in text for n in numbers)
