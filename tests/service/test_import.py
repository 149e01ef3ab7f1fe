"""`ehr import residents`: whole archives or none, every rejected row with its reason, the same
archive as an interactive creation, rows prepared by worker processes in any order."""

import csv
import json
import os
import time

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from ehr.cli import main
from ehr.synthetic import Synthesizer
from shared.actor import Actor
from shared.contracts.registry import ArchiveCreateSchema
from shared.config import load_settings
from shared.db import make_engine
from shared.pii import PiiBox
from shared import clock
from tests.support.db import query

VILLAGE, MANAGER = "110105201101", "T1101052011"
OTHER_VILLAGE, OTHER_MANAGER = "110105101101", "T1101051011"
ACTOR = Actor(user="import:test", institution_code=MANAGER, role="archive_manager")


def write_register(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["name", "sex", "birth_date", "id_type", "id_number", "phone",
                                               "village_code", "institution_code"])
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def registry_db(suite_env):
    settings = load_settings(suite_env.variables)
    engine = make_engine(settings.database_url_for("registry"))
    yield engine, PiiBox(*settings.require_keys())
    engine.dispose()


def run_import(registry_db, rows, **options):
    from services.registry.importer import import_residents

    engine, pii = registry_db
    with Session(engine) as session:
        return import_residents(session, pii, [(n + 2, row) for n, row in enumerate(rows)], ACTOR, **options)


def last_serial(village):
    return query("registry", "SELECT coalesce(max(last_serial), 0) FROM archive_serials WHERE village_code = :v",
                 v=village)[0][0]


def numbers_of(id_numbers, registry_db):
    """archive number of each ID number (None when it has none), through the blind index."""
    from shared.pii import identity_key

    _, pii = registry_db
    return [(query("registry", "SELECT archive_no FROM archives WHERE id_number_index = :i",
                   i=identity_key(pii, "01", n)) or [[None]])[0][0] for n in id_numbers]


def bad_check_character(request):
    return {**request, "id_number": request["id_number"][:-1] + ("0" if request["id_number"][-1] != "0" else "1")}


def test_a_register_is_imported_whole_archives_only_with_each_rejection_explained(suite_env, tmp_path):
    synth = Synthesizer()
    good = [synth.resident(VILLAGE, MANAGER).archive_request() for _ in range(25)]
    bad_check = bad_check_character(synth.resident(VILLAGE, MANAGER).archive_request())
    unknown_village = {**synth.resident(VILLAGE, MANAGER).archive_request(), "village_code": "110105201199"}
    repeated = dict(good[3])
    rows = good[:10] + [bad_check] + good[10:20] + [unknown_village, repeated] + good[20:]
    path = tmp_path / "register.csv"
    write_register(path, rows)
    before = last_serial(VILLAGE)

    result = CliRunner().invoke(main, ["import", "residents", str(path), "--chunk", "7", "--jobs", "2"])
    assert result.exit_code == 1, result.output  # rows were rejected (issue 17); the valid ones are in
    assert "25 archives created, 3 rejected" in result.output and "3 of 28 rows rejected" in result.output
    rejected = json.loads((tmp_path / "register.csv.rejected.json").read_text())
    assert [r["line"] for r in rejected] == [12, 23, 24]  # header is line 1
    assert "id_number" in rejected[0]["errors"] and "village_code" in rejected[1]["errors"]
    assert "earlier line" in rejected[2]["errors"]["id_number"][0]
    assert bad_check["id_number"] not in json.dumps(rejected) and good[3]["id_number"] not in result.output

    assert last_serial(VILLAGE) == before + 25  # consecutive, no gaps from rejected rows
    assert query("registry", "SELECT count(*) FROM archive_revisions r JOIN archives a USING (archive_no) "
                             "WHERE a.village_code = :v AND r.reason = 'imported'", v=VILLAGE)[0][0] >= 25

    again = CliRunner().invoke(main, ["import", "residents", str(path), "--jobs", "0"])
    assert "0 archives created, 28 rejected" in again.output  # everything is there already
    assert again.exit_code == 1


def test_an_imported_archive_is_the_one_an_interactive_creation_makes(suite_env, registry_db):
    from services.registry.usecases import create_archive

    engine, pii = registry_db
    synth = Synthesizer()
    created, imported = (synth.resident(OTHER_VILLAGE, OTHER_MANAGER).archive_request() for _ in range(2))
    with Session(engine) as session:
        by_hand = create_archive(session, pii, ArchiveCreateSchema().load({**created, "confirm_new": True}),
                                 ACTOR).archive_no
    report = run_import(registry_db, [imported], jobs=1)
    assert (report.created, report.rejected) == (1, [])
    [by_import] = numbers_of([imported["id_number"]], registry_db)
    assert by_import[:12] == by_hand[:12] and int(by_import[12:]) == int(by_hand[12:]) + 1

    def archive(number):
        row = dict(query("registry", "SELECT * FROM archives WHERE archive_no = :a", a=number)[0]._mapping)
        clear = {k: pii.decrypt(row.pop(k), f"archives.{k}", number) for k in ("id_number_enc", "phone_enc")}
        row.pop("id_number_index"), row.pop("phone_index")
        return row, clear

    def revision(number):
        return dict(query("registry", "SELECT * FROM archive_revisions WHERE archive_no = :a", a=number)[0]._mapping)

    def event(number):
        [(message_id, exchange, routing_key, body, headers)] = query(
            "registry", "SELECT message_id, exchange, routing_key, body, headers FROM outbox "
                        "WHERE body::json -> 'data' ->> 'archive_no' = :a", a=number)
        body = json.loads(body)
        assert body["event_id"] == message_id
        return (exchange, routing_key, headers), body

    (hand_row, hand_clear), (import_row, import_clear) = archive(by_hand), archive(by_import)
    assert hand_clear == {"id_number_enc": created["id_number"], "phone_enc": created["phone"]}
    assert import_clear == {"id_number_enc": imported["id_number"], "phone_enc": imported["phone"]}
    differ = {"archive_no", "name", "name_pinyin", "sex", "birth_date", "created_at", "updated_at"}
    assert {k: v for k, v in import_row.items() if k not in differ} == \
        {k: v for k, v in hand_row.items() if k not in differ}
    assert import_row["created_at"] == import_row["updated_at"]
    assert (import_row["name"], import_row["sex"], str(import_row["birth_date"])) == \
        (imported["name"], imported["sex"], imported["birth_date"])

    hand_rev, import_rev = revision(by_hand), revision(by_import)
    assert import_rev["reason"] == "imported" and hand_rev["reason"] is None
    for rev in (hand_rev, import_rev):
        for key in ("id", "changed_at", "reason", "archive_no"):
            rev.pop(key)
    changes = import_rev.pop("changes"), hand_rev.pop("changes")
    assert import_rev == hand_rev
    assert changes[0].keys() == changes[1].keys()
    assert changes[0]["archive_no"] == [None, by_import] and changes[0]["status"] == [None, "active"]
    assert changes[0]["id_number"][1] == "*" * 14 + imported["id_number"][-4:]

    (hand_meta, hand_body), (import_meta, import_body) = event(by_hand), event(by_import)
    assert import_meta == hand_meta
    assert import_body.keys() == hand_body.keys() and import_body["data"].keys() == hand_body["data"].keys()
    assert {k: import_body[k] for k in ("schema", "event_type", "service", "actor")} == \
        {k: hand_body[k] for k in ("schema", "event_type", "service", "actor")}
    assert import_body["data"]["archive_no"] == by_import


def test_rows_prepared_by_different_workers_are_checked_against_each_other_in_file_order(suite_env, registry_db):
    """Three workers, chunks of four: a duplicate is refused whatever process prepared the first
    one, rejected rows in the middle of a chunk leave no gap, serials follow the lines."""
    synth = Synthesizer()
    people = [synth.resident(VILLAGE if n % 2 else OTHER_VILLAGE, MANAGER if n % 2 else OTHER_MANAGER)
              .archive_request() for n in range(20)]
    rows = list(people)
    rows.insert(5, bad_check_character(people[0]))       # line 7, mid-chunk (rows 6-9 are chunk 2)
    rows.insert(9, dict(people[1]))                       # line 11: chunk 3, another worker than line 3's
    rows.insert(17, {**people[2], "phone": "not a phone"})  # line 19: a field error, and a duplicate
    rows.append(dict(people[19]))                         # the last line repeats the line before it
    befores = last_serial(VILLAGE), last_serial(OTHER_VILLAGE)

    report = run_import(registry_db, rows, chunk_size=4, jobs=3)

    assert report.read == 24 and report.created == 20
    assert [(r["line"], sorted(r["errors"])) for r in report.rejected] == [
        (7, ["id_number"]), (11, ["id_number"]), (19, ["phone"]), (25, ["id_number"])]
    assert "earlier line" in report.rejected[1]["errors"]["id_number"][0]
    assert "earlier line" in report.rejected[3]["errors"]["id_number"][0]
    numbers = numbers_of([p["id_number"] for p in people], registry_db)
    for village, before, parity in ((VILLAGE, befores[0], 1), (OTHER_VILLAGE, befores[1], 0)):
        mine = [n for i, n in enumerate(numbers) if i % 2 == parity]
        assert [int(n[12:]) for n in mine] == list(range(before + 1, before + 11))  # in line order, no gap
        assert all(n.startswith(village) for n in mine)
        assert last_serial(village) == before + 10
    assert query("registry", "SELECT count(*) FROM archive_revisions WHERE archive_no = ANY(:n)", n=numbers)[0][0] == 20
    assert query("registry", "SELECT count(*) FROM outbox WHERE body::json -> 'data' ->> 'archive_no' = ANY(:n)",
                 n=numbers)[0][0] == 20


def test_an_id_number_registered_or_merged_away_is_refused_with_the_archive_it_leads_to(suite_env, registry_db):
    from services.registry.merges import merge_archives
    from services.registry.usecases import create_archive

    engine, pii = registry_db
    synth = Synthesizer()
    existing, survivor, merged, fresh = (synth.resident(VILLAGE, MANAGER).archive_request() for _ in range(4))
    with Session(engine) as session:
        numbers = [create_archive(session, pii, ArchiveCreateSchema().load({**r, "confirm_new": True}), ACTOR)
                   .archive_no for r in (existing, survivor, merged)]
        merge_archives(session, pii, numbers[1], numbers[2], "the same person", ACTOR)

    report = run_import(registry_db, [existing, fresh, merged], jobs=2)

    assert report.created == 1
    assert [(r["line"], r["errors"]["id_number"][0]) for r in report.rejected] == [
        (2, f"**************{existing['id_number'][-4:]} already has archive {numbers[0]}."),
        (4, f"**************{merged['id_number'][-4:]} already has archive {numbers[1]}.")]


def test_an_archive_number_taken_meanwhile_makes_the_chunk_start_again_without_it(
        suite_env, registry_db, monkeypatch):
    """An interactive creation gives an ID number its archive between the chunk's check and its
    write: the unique index refuses the chunk, which is checked and written again."""
    from services.registry import importer
    from services.registry.usecases import create_archive

    engine, pii = registry_db
    synth = Synthesizer()
    rows = [synth.resident(VILLAGE, MANAGER).archive_request() for _ in range(3)]
    with Session(engine) as session:
        taken = create_archive(session, pii, ArchiveCreateSchema().load({**rows[1], "confirm_new": True}),
                               ACTOR).archive_no
    checks = []
    real = importer._registered

    def missing_the_first_time(session, indexes):
        checks.append(len(indexes))
        return {} if len(checks) == 1 else real(session, indexes)

    monkeypatch.setattr(importer, "_registered", missing_the_first_time)
    before = last_serial(VILLAGE)
    report = run_import(registry_db, rows, jobs=0)

    assert checks == [3, 3] and report.created == 2
    assert report.rejected == [{"line": 3, "errors": {"id_number": [
        f"**************{rows[1]['id_number'][-4:]} already has archive {taken}."]}}]
    assert last_serial(VILLAGE) == before + 2


def test_a_chunk_that_cannot_be_numbered_leaves_nothing_behind(suite_env, registry_db):
    from shared.pii import identity_key

    engine, pii = registry_db
    village = "110105003002"
    synth = Synthesizer()
    rows = [synth.resident(village, "C1101050031").archive_request() for _ in range(3)]
    before = last_serial(village)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO archive_serials VALUES (:v, 99998) ON CONFLICT (village_code) "
                             "DO UPDATE SET last_serial = 99998"), {"v": village})
    try:
        with pytest.raises(ValueError, match="would pass 99999"):
            run_import(registry_db, rows, jobs=2)
        assert last_serial(village) == 99998
        assert query("registry", "SELECT count(*) FROM archives WHERE id_number_index = ANY(:i)",
                     i=[identity_key(pii, "01", r["id_number"]) for r in rows])[0][0] == 0
    finally:  # the village's counter is shared with the other tests of the run
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE archive_serials SET last_serial = :n WHERE village_code = :v"),
                         {"n": before, "v": village})


def test_rows_the_database_could_not_store_are_refused_and_the_chunk_goes_in(suite_env, registry_db):
    synth = Synthesizer()
    rows = [synth.resident(VILLAGE, MANAGER).archive_request() for _ in range(4)]
    rows[1]["name"] = "张\x00三"
    rows[2]["name"] = "张" * 64  # passes the schema; its pinyin ("zhang" 64 times) passes name_pinyin's 200
    report = run_import(registry_db, rows, jobs=2)
    assert report.created == 2
    assert report.rejected == [
        {"line": 3, "errors": {"name": ["Must not contain NUL characters."]}},
        {"line": 4, "errors": {"name": ["Too long to store (name_pinyin holds 200 characters)."]}}]
    assert numbers_of([r["id_number"] for r in rows], registry_db)[1:3] == [None, None]


def test_a_write_the_database_refuses_is_reported_without_the_values_of_the_row(suite_env, registry_db):
    from services.registry.import_rows import ARCHIVE_COLUMNS, _line
    from services.registry.importer import WriteFailed, _copy
    from services.registry.models import Archive

    engine, _ = registry_db
    line = _line("11010520110199999", "秘密" * 40, "mimi", "1", "1950-01-01", "01", b"\x02",
                 None, VILLAGE, MANAGER, "import:test", 1, b"\x01", None)
    with Session(engine) as session, pytest.raises(WriteFailed) as failed:
        _copy(session, Archive.__table__, ARCHIVE_COLUMNS, [line])
    assert "SQLSTATE 22001" in str(failed.value) and "秘密" not in str(failed.value)
    assert failed.value.__cause__ is None and failed.value.__suppress_context__


def test_collection_loads_give_each_row_what_its_own_load_gives():
    from services.registry.import_rows import RowPreparer

    synth = Synthesizer(seed=11)
    good = [synth.resident(VILLAGE, MANAGER).archive_request() for _ in range(6)]
    other_sex = {**good[1], "sex": "1" if good[1]["sex"] == "2" else "2"}
    rows = [good[0], bad_check_character(good[2]), other_sex, {**good[3], "phone": "x"},
            {**good[4], "unknown": 1}, {k: v for k, v in good[5].items() if k != "name"},
            {**good[0], "id_number": good[0]["id_number"].lower()}, good[5]]
    preparer = RowPreparer(PiiBox(os.urandom(32), os.urandom(32)), ACTOR, {VILLAGE}, {MANAGER})
    schema = ArchiveCreateSchema()

    def alone(row):
        try:
            return schema.load(row)
        except ValidationError as exc:
            return exc.messages

    for subset in (rows, rows[:1], [rows[2], rows[0]], [rows[0], rows[3], rows[2]], rows[1:3]):
        loaded = [d.messages if isinstance(d, ValidationError) else d for d in preparer._load(subset)]
        assert loaded == [alone(row) for row in subset]


def _slow_square(values):
    time.sleep(0.05 * (values[0] % 3))  # chunks finish out of order
    if values[0] < 0:
        raise ValueError("negative")
    return [v * v for v in values]


def test_the_pool_answers_chunks_in_their_order_and_raises_a_worker_failure():
    from services.registry.import_pool import PreparePool

    chunks = [[n, n + 100] for n in range(9)]
    for jobs in (0, 1, 3):
        with PreparePool(_slow_square, jobs) as pool:
            assert list(pool.map(chunks)) == [[n * n, (n + 100) ** 2] for n in range(9)]
    with pytest.raises(ValueError, match="negative"), PreparePool(_slow_square, 2) as pool:
        list(pool.map([[1], [2], [-1], [4], [5]]))


COVER = {"current_address": "北京市朝阳区金盏乡东窑村8号", "registered_address": "河北省三河市燕郊镇", "employer": "务农",
         "contact_name": "王建国", "contact_phone": "13900000000"}
SEALED = ("id_number_enc", "phone_enc", "current_address_enc", "registered_address_enc", "employer_enc",
          "contact_name_enc", "contact_phone_enc", "guardian_id_number_enc")


def test_the_cover_a_responsible_doctor_and_a_newborns_guardian_are_imported_as_a_creation_makes_them(
        suite_env, registry_db):
    from datetime import timedelta

    from services.registry.usecases import create_archive

    engine, pii = registry_db
    synth = Synthesizer()
    doctor, doctors = "doc-import", {("doc-import", OTHER_MANAGER)}
    created, imported = ({**synth.resident(OTHER_VILLAGE, OTHER_MANAGER).archive_request(), **COVER,
                          "responsible_doctor": doctor} for _ in range(2))
    with Session(engine) as session:
        by_hand = create_archive(session, pii, ArchiveCreateSchema().load({**created, "confirm_new": True}),
                                 ACTOR).archive_no
    born = (clock.today() - timedelta(days=5)).isoformat()
    newborn = {"name": "王小宝", "sex": "1", "birth_date": born, "village_code": OTHER_VILLAGE,
               "institution_code": OTHER_MANAGER, "guardian_archive_no": by_hand}
    guardian_id = synth.resident(OTHER_VILLAGE, OTHER_MANAGER).id_number
    refused = [
        {**newborn, "guardian_archive_no": None},                          # no guardian, no ID number
        {**newborn, "guardian_archive_no": OTHER_VILLAGE + "99999"},       # no such archive
        {**synth.resident(OTHER_VILLAGE, OTHER_MANAGER).archive_request(), "responsible_doctor": "doc-elsewhere"},
        {**newborn, "birth_certificate_no": "P110123456"},
    ]
    report = run_import(registry_db, [imported, newborn, {**newborn, "guardian_archive_no": None,
                                                          "guardian_id_number": guardian_id}, *refused],
                        doctors=doctors)
    assert report.created == 3, report.rejected
    errors = {r["line"]: r["errors"] for r in report.rejected}
    assert list(errors) == [5, 6, 7, 8]
    assert "id_number" in errors[5] or "guardian_archive_no" in errors[5]
    assert errors[6] == {"guardian_archive_no": ["Unknown archive."]}
    assert list(errors[7]) == ["responsible_doctor"] and "clinician" in errors[7]["responsible_doctor"][0]
    assert list(errors[8]) == ["birth_certificate_no"]

    [by_import] = numbers_of([imported["id_number"]], registry_db)

    def archive(number):
        row = dict(query("registry", "SELECT * FROM archives WHERE archive_no = :a", a=number)[0]._mapping)
        clear = {k: (pii.decrypt(bytes(v), f"archives.{k}", number) if v is not None else None)
                 for k, v in ((k, row.pop(k)) for k in SEALED)}
        row.pop("id_number_index"), row.pop("phone_index")
        return row, clear

    (hand_row, hand_clear), (import_row, import_clear) = archive(by_hand), archive(by_import)
    assert import_clear == {"id_number_enc": imported["id_number"], "phone_enc": imported["phone"],
                            **{f"{k}_enc": v for k, v in COVER.items()}, "guardian_id_number_enc": None}
    assert hand_clear.keys() == import_clear.keys()
    differ = {"archive_no", "name", "name_pinyin", "sex", "birth_date", "created_at", "updated_at"}
    assert {k: v for k, v in import_row.items() if k not in differ} == \
        {k: v for k, v in hand_row.items() if k not in differ}
    assert import_row["responsible_doctor"] == doctor

    def changes(number):
        return query("registry", "SELECT changes FROM archive_revisions WHERE archive_no = :a", a=number)[0][0]

    assert changes(by_import).keys() == changes(by_hand).keys()
    assert changes(by_import)["current_address"] == [None, "******"]
    assert changes(by_import)["contact_phone"] == [None, "139****0000"] == changes(by_hand)["contact_phone"]

    [(profile,)] = query("registry", "SELECT body::json -> 'data' -> 'profile' FROM outbox "
                                     "WHERE body::json -> 'data' ->> 'archive_no' = :a", a=by_import)
    assert profile["responsible_doctor"] == doctor

    babies = query("registry", "SELECT archive_no, id_number_enc, id_number_index, guardian_archive_no, "
                               "guardian_id_type, guardian_id_number_enc FROM archives "
                               "WHERE name = '王小宝' AND birth_date = :b AND archive_no > :a ORDER BY archive_no",
                   b=born, a=by_import)
    assert [(b.id_number_enc, b.id_number_index, b.guardian_archive_no) for b in babies] == [
        (None, None, by_hand), (None, None, None)]
    assert babies[1].guardian_id_type == "01"
    assert pii.decrypt(bytes(babies[1].guardian_id_number_enc), "archives.guardian_id_number_enc",
                       babies[1].archive_no) == guardian_id
    [(keys,)] = query("registry", "SELECT body::json -> 'data' -> 'identity_keys' FROM outbox "
                                  "WHERE body::json -> 'data' ->> 'archive_no' = :a", a=babies[0].archive_no)
    assert keys == []


def test_the_command_checks_a_registers_responsible_doctors_against_the_gateways_users(suite_env, auth, tmp_path):
    synth = Synthesizer()
    ours = auth.user("village_doctor", OTHER_MANAGER)
    theirs = auth.user("village_doctor", MANAGER)                # a clinician of another institution
    clerk = auth.user("institution_admin", OTHER_MANAGER)        # of the institution, but records no care
    rows = [{**synth.resident(OTHER_VILLAGE, OTHER_MANAGER).archive_request(), "responsible_doctor": who}
            for who in (ours, theirs, clerk)]
    path = tmp_path / "register.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[*rows[0]])
        writer.writeheader()
        writer.writerows(rows)

    result = CliRunner().invoke(main, ["import", "residents", str(path), "--jobs", "0"])

    assert result.exit_code == 1, result.output
    assert "1 archives created, 2 rejected" in result.output
    rejected = json.loads((tmp_path / "register.csv.rejected.json").read_text())
    assert [(r["line"], list(r["errors"])) for r in rejected] == [(3, ["responsible_doctor"]),
                                                                  (4, ["responsible_doctor"])]
    [(doctor,)] = query("registry", "SELECT responsible_doctor FROM archives WHERE name = :n AND birth_date = :b",
                        n=rows[0]["name"], b=rows[0]["birth_date"])
    assert doctor == ours
