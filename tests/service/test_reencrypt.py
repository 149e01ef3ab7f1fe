"""Ciphertexts bound to their table, column and row, and re-encryption (`ehr keys reencrypt`) after
a rotation of the PII keys or to bind ciphertexts of the first format, on real PostgreSQL.

Each test gets its own registry and records databases (the run's are shared with the service tests,
whose containers keep the run's keys), filled through the registry's and the records' own code, the
registry with key A and records with its own key RA; then the keys rotate to B and RB with A and RA
kept as old keys, and after the command boxes holding only B and RB must read everything, and
blind-index lookups must still find the residents.
"""

import base64
import json
import uuid

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.orm import Session

from services import service as descriptor_of
from ehr.synthetic import Synthesizer
from services.records import pending, quarantine
from services.records import reencrypt as records_reencrypt
from services.records.pending import PENDING_SEALED_IN, pending_encounter, pending_row_key
from services.records.quarantine import QUARANTINE, quarantine_rows
from services.records.models import PendingEncounter
from services.registry import importer, matching, merges, reference, review, transfers, usecases
from services.registry import reencrypt as registry_reencrypt
from services.registry.models import Archive, Merge, ResidentIdentifier
from shared.actor import Actor
from shared.contracts.registry import ArchiveCreateSchema
from shared.config import generate_key
from shared.delivery import Delivery
from shared.db import drop_database, ensure_database, make_engine, upgrade
from shared.pii import DecryptionFailed, PiiBox
from tests.support.db import server_url
from tests.support.pii import downgrade

VILLAGE, INSTITUTION, HOSPITAL = "110105101101", "T1101051011", "H3301020001"
ACTOR = Actor(user="doc-rekey", institution_code=INSTITUTION, role="archive_manager")


def key() -> bytes:
    return base64.b64decode(generate_key())


@pytest.fixture
def keys():
    """The registry's old key A and new key B, the records' RA and RB, and the blind-index key
    (which does not rotate)."""
    return {"a": key(), "b": key(), "ra": key(), "rb": key(), "index": key()}


def boxes(keys, registry: str, records: str, old: bool = False) -> dict[str, PiiBox]:
    """{"registry": box, "records": box} with these keys, and with A and RA as old keys when `old`."""
    return {"registry": PiiBox(keys[registry], keys["index"], (keys["a"],) if old else ()),
            "records": PiiBox(keys[records], keys["index"], (keys["ra"],) if old else ())}


@pytest.fixture
def databases(suite_env, run_id):
    """Fresh, migrated registry and records databases: {"registry": url, "records": url}."""
    suffix = uuid.uuid4().hex[:6]
    urls = {s: server_url(f"ehr_t{run_id}_rekey{suffix}_{s}") for s in ("registry", "records")}
    for service, url in urls.items():
        ensure_database(url)
        upgrade(descriptor_of(service).migrations, url)
    engines = {s: make_engine(url, pool_size=2) for s, url in urls.items()}
    with Session(engines["registry"]) as session:
        reference.load_demo_reference_data(session)
    yield engines
    for service, engine in engines.items():
        engine.dispose()
        drop_database(urls[service])


@pytest.fixture
def written(databases, keys):
    """Data sealed with keys A and RA: archives with phones and cards, a learned MRN, a merge (its
    snapshot keeps ciphertexts), a quarantined message and a pending encounter. Returns what was
    written."""
    box, records_box = PiiBox(keys["a"], keys["index"]), PiiBox(keys["ra"], keys["index"])
    synth = Synthesizer(seed=7)
    residents = [synth.resident(VILLAGE, INSTITUTION) for _ in range(7)]
    with Session(databases["registry"], expire_on_commit=False) as session:
        numbers = []
        for n, resident in enumerate(residents):
            data = ArchiveCreateSchema().load({**resident.archive_request(), "confirm_new": True,
                                               "health_card_no": f"HK{n}{uuid.uuid4().hex[:8]}"})
            numbers.append(usecases.create_archive(session, box, data, ACTOR).archive_no)
        mrn = "MZ" + uuid.uuid4().hex[:8]
        matching.resolve(session, box, {"id_type": "01", "id_number": residents[0].id_number, "mrn": mrn,
                                        "institution_code": HOSPITAL})
        merge = merges.merge_archives(session, box, numbers[1], numbers[2], "同一居民重复建档", ACTOR)
    body = json.dumps(synth.encounter(residents[3], HOSPITAL), ensure_ascii=False).encode()
    with Session(databases["records"]) as session:
        delivery = Delivery(body, f"encounter.{HOSPITAL}.outpatient", "m-1", "application/json", {}, False)
        session.execute(QUARANTINE.insert(), quarantine_rows(session, records_box, "records.encounters",
                                                             [(delivery, "not_json", {})]))
        session.add(PendingEncounter(institution_code=HOSPITAL, message_id="m-2", payload_enc=records_box.encrypt_bytes(
            body, PENDING_SEALED_IN, pending_row_key(HOSPITAL, "m-2")),
            identity_key=box.blind_index("id:01", residents[3].id_number)))
        session.commit()
    return {"residents": residents, "numbers": numbers, "mrn": mrn, "merge_id": merge.id, "body": body}


MODULES = {"registry": registry_reencrypt, "records": records_reencrypt}
# The cover's personal data, sealed on every archive of `written` (with a guardian's ID number).
COVER = {"current_address": "北京市朝阳区孙河乡上辛堡村12号", "registered_address": "同现住址", "employer": "务农",
         "contact_name": "李建国", "contact_phone": "13900000000"}
COVER_COLUMNS = ("current_address_enc", "registered_address_enc", "employer_enc", "contact_name_enc",
                 "contact_phone_enc", "guardian_id_number_enc")


def run(databases, boxes_, **options):
    return {r.column: r for service, module in MODULES.items()
            for r in module.reencrypt(databases[service], boxes_[service], **options)}


def tokens(databases) -> list[tuple[str, bytes, str, str]]:
    """Every ciphertext of both databases, wherever it is kept: (service, token, table.column, row
    key), what it is bound to read from the rows as a test would (not the walk's definitions)."""
    found = []
    with databases["registry"].connect() as conn:
        archives = sa.select(Archive.archive_no, Archive.id_number_enc, Archive.phone_enc)
        for no, id_enc, phone_enc in conn.execute(archives):
            found += [("registry", bytes(id_enc), "archives.id_number_enc", no),
                      ("registry", bytes(phone_enc), "archives.phone_enc", no)]
        for kind, issuer, index, value in conn.execute(sa.select(
                ResidentIdentifier.kind, ResidentIdentifier.issuer, ResidentIdentifier.value_index,
                ResidentIdentifier.value_enc)):
            found.append(("registry", bytes(value), "resident_identifiers.value_enc",
                          f"{kind}/{issuer or ''}/{bytes(index).hex()}"))
        for snapshot in conn.scalars(sa.select(Merge.snapshot)):
            found += [("registry", base64.b64decode(snapshot[f]), f"archives.{f}", snapshot["archive_no"])
                      for f in ("id_number_enc", "phone_enc") if snapshot.get(f)]
    with databases["records"].connect() as conn:
        found += [("records", bytes(t), "quarantine.body_enc", str(i))
                  for i, t in conn.execute(sa.text("SELECT id, body_enc FROM quarantine"))]
        found += [("records", bytes(t), "quarantine.headers_enc", str(i))
                  for i, t in conn.execute(sa.text("SELECT id, headers_enc FROM quarantine"))]
        found += [("records", bytes(t), "pending_encounters.payload_enc", f"{h}/{m}") for h, m, t in conn.execute(
            sa.text("SELECT institution_code, message_id, payload_enc FROM pending_encounters"))]
    return found


def opened(boxes_, found) -> list[bytes]:
    return sorted(boxes_[service].decrypt_bytes(token, column, row_key) for service, token, column, row_key in found)


def test_after_reencryption_a_box_with_only_the_new_key_reads_everything_and_finds_everyone(
        databases, keys, written):
    rotated, only_new = boxes(keys, "b", "rb", old=True), boxes(keys, "b", "rb")
    before = tokens(databases)
    for service in ("registry", "records"):
        service_, token, column, row_key = next(t for t in before if t[0] == service)
        with pytest.raises(DecryptionFailed):
            only_new[service].decrypt_bytes(token, column, row_key)

    counted = run(databases, rotated, dry_run=True)
    reports = run(databases, rotated, batch_size=3)

    # 7 ID numbers, 7 phones, 7 cards + 1 MRN, the merged archive's ID and phone in the snapshot,
    # one quarantined message (body and headers) and one pending message; no plaintext headers; no
    # cover data (`test_the_cover_is_sealed_to_the_archive_follows_a_transfer_and_is_reencrypted`).
    expected = {"archives.id_number_enc": 7, "archives.phone_enc": 7, "resident_identifiers.value_enc": 8,
                "merges.snapshot.id_number_enc": 1, "merges.snapshot.phone_enc": 1, "quarantine.body_enc": 1,
                "quarantine.headers_enc": 1, "pending_encounters.payload_enc": 1,
                "quarantine.headers (plaintext)": 0, **{f"archives.{c}": 0 for c in COVER_COLUMNS}}
    assert {c: r.stale for c, r in counted.items()} == expected
    assert {c: r.rewritten for c, r in counted.items()} == dict.fromkeys(expected, 0)
    assert {c: (r.rewritten, r.failed, r.remaining) for c, r in reports.items()} == {
        c: (n, 0, 0) for c, n in expected.items()}
    after = tokens(databases)
    assert len(after) == len(before)
    assert opened(only_new, after) == opened(rotated, before)

    residents, numbers = written["residents"], written["numbers"]
    with Session(databases["registry"], expire_on_commit=False) as session:
        registry = only_new["registry"]
        by_id = matching.resolve(session, registry, {"id_type": "01", "id_number": residents[0].id_number})
        by_mrn = matching.resolve(session, registry, {"mrn": written["mrn"], "institution_code": HOSPITAL})
        by_phone = matching.resolve(session, registry, {"name": residents[4].name, "phone": residents[4].phone})
        assert by_id["archive_no"] == by_mrn["archive_no"] == numbers[0]
        assert by_phone["candidates"][0]["archive_no"] == numbers[4] and "phone" in by_phone["candidates"][0]["reasons"]
        # An unmerge writes the snapshot back: the restored archive opens with the new key alone.
        merges.unmerge_archives(session, written["merge_id"], "并非同一人", ACTOR)
        restored = usecases.get_archive(session, numbers[2])
        assert registry.decrypt(restored.id_number_enc, "archives.id_number_enc", numbers[2]) == residents[2].id_number
        assert registry.decrypt(restored.phone_enc, "archives.phone_enc", numbers[2]) == residents[2].phone

    assert run(databases, rotated)["archives.id_number_enc"].rewritten == 0  # nothing left to do


def test_a_row_the_suite_holds_is_skipped_then_taken_by_the_next_run(databases, keys, written):
    rotated = boxes(keys, "b", "rb", old=True)
    busy = written["numbers"][5]
    with databases["registry"].connect() as holder:
        holder.execute(sa.text("SELECT 1 FROM archives WHERE archive_no = :a FOR UPDATE"), {"a": busy})
        first = run(databases, rotated, batch_size=2)
        holder.rollback()

    assert (first["archives.id_number_enc"].rewritten, first["archives.id_number_enc"].remaining) == (6, 1)
    assert first["archives.phone_enc"].remaining == 1 and first["quarantine.body_enc"].remaining == 0
    second = run(databases, rotated, batch_size=2)
    assert second["archives.id_number_enc"].rewritten == 1
    assert all(r.remaining == 0 for r in second.values())


def test_a_ciphertext_no_configured_key_opens_is_left_alone_and_counted(databases, keys, written):
    stranger = PiiBox(key(), keys["index"])
    with databases["records"].begin() as conn:
        row_id = conn.scalar(sa.text("SELECT id FROM quarantine"))
        conn.execute(sa.text("UPDATE quarantine SET body_enc = :t"),
                     {"t": stranger.encrypt_bytes(b"{}", "quarantine.body_enc", str(row_id))})
    rotated = boxes(keys, "b", "rb", old=True)

    report = run(databases, rotated)["quarantine.body_enc"]

    assert (report.rewritten, report.failed, report.remaining) == (0, 1, 1)


def test_the_command_counts_with_dry_run_then_reencrypts_and_says_nothing_remains(databases, keys, written):
    url = {s: e.url.render_as_string(hide_password=False) for s, e in databases.items()}
    b64 = {name: base64.b64encode(value).decode() for name, value in keys.items()}
    env = {"EHR_PII_KEY": b64["b"], "EHR_PII_OLD_KEYS": b64["a"], "EHR_RECORDS_PII_KEY": b64["rb"],
           "EHR_RECORDS_PII_OLD_KEYS": b64["ra"], "EHR_INDEX_KEY": b64["index"], "EHR_TOKEN_KEY": generate_key(),
           "EHR_REGISTRY_DATABASE_URL": url["registry"], "EHR_RECORDS_DATABASE_URL": url["records"]}
    from ehr.cli import main

    runner = CliRunner()
    counted = runner.invoke(main, ["keys", "reencrypt", "--dry-run"], env=env)
    done = runner.invoke(main, ["keys", "reencrypt", "--batch-size", "4"], env=env)
    printed = runner.invoke(main, ["keys"], env=env)

    assert counted.exit_code == 0, counted.output
    assert "archives.id_number_enc" in counted.output and "7 under an old key" in counted.output
    assert "27 ciphertexts under an old key (dry run: nothing changed)" in counted.output
    assert done.exit_code == 0, done.output
    assert "27 re-encrypted, 0 remaining under an old key" in done.output
    assert printed.exit_code == 0 and printed.output.count("\n") == 7  # `ehr keys` alone still prints its 7 keys


def test_the_command_does_one_service_with_only_that_services_keys(databases, keys, written, tmp_path, monkeypatch):
    url = {s: e.url.render_as_string(hide_password=False) for s, e in databases.items()}
    b64 = {name: base64.b64encode(value).decode() for name, value in keys.items()}
    env = {"EHR_RECORDS_PII_KEY": b64["rb"], "EHR_RECORDS_PII_OLD_KEYS": b64["ra"], "EHR_INDEX_KEY": b64["index"],
           "EHR_PII_KEY": "", "EHR_PII_OLD_KEYS": "", "EHR_TOKEN_KEY": "",
           "EHR_REGISTRY_DATABASE_URL": url["registry"], "EHR_RECORDS_DATABASE_URL": url["records"]}
    import ehr.state
    from ehr.cli import main

    monkeypatch.setattr(ehr.state, "STATE_DIR", tmp_path)  # where a development machine's keys would go

    done = CliRunner().invoke(main, ["keys", "reencrypt", "--service", "records"], env=env)

    assert done.exit_code == 0, done.output
    assert "quarantine.body_enc" in done.output and "archives" not in done.output
    assert "3 re-encrypted, 0 remaining under an old key" in done.output
    assert not (tmp_path / "secrets.env").exists()  # nothing generated for the keys it does not need


def test_a_ciphertext_copied_to_another_row_or_column_does_not_open(databases, keys, written):
    registry_box, records_box = PiiBox(keys["a"], keys["index"]), PiiBox(keys["ra"], keys["index"])
    first, second, third = written["numbers"][3:6]
    with databases["registry"].begin() as conn:
        conn.execute(sa.text("UPDATE archives SET id_number_enc = (SELECT id_number_enc FROM archives WHERE "
                             "archive_no = :from) WHERE archive_no = :to"), {"from": first, "to": second})
        conn.execute(sa.text("UPDATE archives SET phone_enc = id_number_enc WHERE archive_no = :a"), {"a": third})
    with Session(databases["registry"]) as session:
        assert review.possible_duplicates_of(session, registry_box, first)["archive_no"] == first
        for moved in (second, third):  # another row's ID number; the ID number as the phone
            with pytest.raises(DecryptionFailed):
                review.possible_duplicates_of(session, registry_box, moved)
            session.rollback()

    body = b'{"not": "an encounter"}'
    with Session(databases["records"]) as session:
        delivery = Delivery(body, f"encounter.{HOSPITAL}.outpatient", "m-3", "application/json", {}, False)
        session.execute(QUARANTINE.insert(), quarantine_rows(session, records_box, "records.encounters",
                                                             [(delivery, "not_json", {})]))
        session.add(PendingEncounter(institution_code=HOSPITAL, message_id="m-4", payload_enc=b"",
                                     identity_key=None))
        session.commit()
        held, copy = session.scalars(sa.select(QUARANTINE.c.id).order_by(QUARANTINE.c.id)).all()
        session.execute(sa.text("UPDATE quarantine SET body_enc = (SELECT body_enc FROM quarantine WHERE id = :a) "
                                "WHERE id = :b"), {"a": held, "b": copy})
        session.execute(sa.text("UPDATE pending_encounters SET payload_enc = (SELECT payload_enc FROM "
                                "pending_encounters WHERE message_id = 'm-2') WHERE message_id = 'm-4'"))
        session.commit()
        assert quarantine.show_quarantined(session, records_box, held)["id"] == held
        with pytest.raises(DecryptionFailed):
            quarantine.show_quarantined(session, records_box, copy)
        session.rollback()
        with pytest.raises(DecryptionFailed):  # m-2 opens, its copy in m-4 does not
            pending.retry_pending(session, records_box, resolve=lambda queries: [None] * len(queries))
        session.rollback()

    # Identifiers are read by re-encryption only: a card's ciphertext copied to another card is
    # the one a rotation cannot open.
    with databases["registry"].begin() as conn:
        conn.execute(sa.text("UPDATE resident_identifiers SET value_enc = (SELECT value_enc FROM resident_identifiers "
                             "ORDER BY id LIMIT 1) WHERE id = (SELECT max(id) FROM resident_identifiers)"))
    reports = run(databases, boxes(keys, "b", "rb", old=True))
    assert {c: r.failed for c, r in reports.items() if r.failed} == {
        "archives.id_number_enc": 1, "archives.phone_enc": 1, "resident_identifiers.value_enc": 1,
        "quarantine.body_enc": 1, "pending_encounters.payload_enc": 1}


def test_ciphertexts_of_the_first_format_still_open_and_reencryption_binds_them(databases, keys, written):
    current = boxes(keys, "a", "ra")
    assert downgrade(databases["registry"], current["registry"], keys["a"], registry_reencrypt.COLUMNS) == 24
    assert downgrade(databases["records"], current["records"], keys["ra"], records_reencrypt.COLUMNS) == 3
    numbers = written["numbers"]
    with Session(databases["registry"]) as session:
        assert review.possible_duplicates_of(session, current["registry"], numbers[4])["archive_no"] == numbers[4]
    with Session(databases["records"]) as session:
        quarantined = session.scalar(sa.select(QUARANTINE.c.id))
        assert quarantine.show_quarantined(session, current["records"], quarantined)["id"] == quarantined
        assert pending_encounter(current["records"], session.scalars(sa.select(PendingEncounter)).one()).record_id

    counted = run(databases, current, dry_run=True)
    reports = run(databases, current)  # the same keys: what is stale is the format

    assert sum(r.stale for r in counted.values()) == 27
    assert all((r.rewritten, r.failed, r.remaining) == (r.stale, 0, 0) for r in reports.values())
    assert all(token[:1] == b"\x02" for _, token, _, _ in tokens(databases))
    assert opened(current, tokens(databases))  # every one opens where it is
    with databases["registry"].begin() as conn:  # and now a copy to another row is refused
        conn.execute(sa.text("UPDATE archives SET phone_enc = (SELECT phone_enc FROM archives WHERE archive_no = :a) "
                             "WHERE archive_no = :b"), {"a": numbers[3], "b": numbers[4]})
    with Session(databases["registry"]) as session, pytest.raises(DecryptionFailed):
        review.possible_duplicates_of(session, current["registry"], numbers[4])


def test_a_transfer_that_renumbers_an_archive_binds_its_ciphertexts_to_the_new_number(databases, keys, written):
    box = PiiBox(keys["a"], keys["index"])
    resident, number = written["residents"][5], written["numbers"][5]
    with Session(databases["registry"], expire_on_commit=False) as session:
        transfer = transfers.request_transfer(session, number, {
            "to_village_code": "110105101102", "to_institution_code": INSTITUTION, "reason": "迁居下辛堡村"}, ACTOR)
        _, archive = transfers.accept_transfer(session, box, transfer.id, ACTOR)
        renumbered = archive.archive_no
        assert renumbered != number and renumbered.startswith("110105101102")
        assert box.decrypt(archive.id_number_enc, "archives.id_number_enc", renumbered) == resident.id_number
        assert box.decrypt(archive.phone_enc, "archives.phone_enc", renumbered) == resident.phone
        assert review.possible_duplicates_of(session, box, renumbered)["archive_no"] == renumbered

    reports = run(databases, boxes(keys, "b", "rb", old=True))
    assert sum(r.failed for r in reports.values()) == 0 and sum(r.remaining for r in reports.values()) == 0


def test_the_cover_is_sealed_to_the_archive_follows_a_transfer_and_is_reencrypted(databases, keys):
    box = PiiBox(keys["a"], keys["index"])
    synth = Synthesizer(seed=23)
    guardian = synth.resident(VILLAGE, INSTITUTION)
    with Session(databases["registry"], expire_on_commit=False) as session:
        data = ArchiveCreateSchema().load({**synth.resident(VILLAGE, INSTITUTION).archive_request(), **COVER,
                                           "guardian_id_number": guardian.id_number, "confirm_new": True})
        number = usecases.create_archive(session, box, data, ACTOR).archive_no
        with databases["registry"].connect() as conn:
            stored = dict(conn.execute(sa.select(*(Archive.__table__.c[c] for c in COVER_COLUMNS))
                                       .where(Archive.archive_no == number)).one()._mapping)
        assert all(token is not None and COVER["current_address"].encode() not in bytes(token)
                   for token in stored.values())  # ciphertext only
        transfer = transfers.request_transfer(session, number, {
            "to_village_code": "110105101102", "to_institution_code": INSTITUTION, "reason": "迁居下辛堡村"}, ACTOR)
        renumbered = transfers.accept_transfer(session, box, transfer.id, ACTOR)[1].archive_no

    reports = run(databases, boxes(keys, "b", "rb", old=True))
    assert {c: reports[f"archives.{c}"].rewritten for c in COVER_COLUMNS} == dict.fromkeys(COVER_COLUMNS, 1)
    with Session(databases["registry"]) as session:
        shown = usecases.archive_details(session, boxes(keys, "b", "rb")["registry"],
                                         usecases.get_archive(session, renumbered))
    assert {k: shown[k] for k in ("current_address", "registered_address", "employer", "contact_name")} == {
        k: COVER[k] for k in ("current_address", "registered_address", "employer", "contact_name")}
    assert shown["contact_phone_masked"] == "139****0000"
    assert shown["guardian_id_number_masked"] == "*" * 14 + guardian.id_number[-4:]


def test_an_imported_archive_is_bound_to_the_number_it_was_given(databases, keys):
    box = PiiBox(keys["a"], keys["index"])
    synth = Synthesizer(seed=19)
    residents = [synth.resident(VILLAGE, INSTITUTION) for _ in range(3)]
    rows = [(n + 2, r.archive_request()) for n, r in enumerate(residents)]
    with Session(databases["registry"]) as session:
        report = importer.import_residents(session, box, rows, ACTOR)
    assert report.created == 3
    with databases["registry"].connect() as conn:
        stored = conn.execute(sa.select(Archive.archive_no, Archive.id_number_enc, Archive.phone_enc)).all()
    assert sorted((box.decrypt(i, "archives.id_number_enc", no), box.decrypt(p, "archives.phone_enc", no))
                  for no, i, p in stored) == sorted((r.id_number, r.phone) for r in residents)
    no, id_enc, _ = stored[0]
    with pytest.raises(DecryptionFailed):
        box.decrypt(id_enc, "archives.id_number_enc", stored[1][0])


def test_headers_quarantined_before_they_were_sealed_are_sealed_by_the_command(databases, keys, written):
    current = boxes(keys, "a", "ra")
    legacy = {"x-death": [{"reason": "rejected", "routing-keys": ["encounter.H3301020001.outpatient"]}],
              "x-patient": "110105 19491231 002X"}
    with databases["records"].begin() as conn:
        conn.execute(sa.text("UPDATE quarantine SET headers_enc = NULL, headers = :h"), {"h": json.dumps(legacy)})

    counted = run(databases, current, dry_run=True)["quarantine.headers (plaintext)"]
    report = run(databases, current)["quarantine.headers (plaintext)"]

    assert (counted.stale, counted.rewritten) == (1, 0)
    assert (report.stale, report.rewritten, report.remaining) == (1, 1, 0)
    with databases["records"].connect() as conn:
        row = conn.execute(sa.text("SELECT id, headers, headers_enc FROM quarantine")).one()
    assert row.headers is None
    sealed = current["records"].decrypt_bytes(bytes(row.headers_enc), "quarantine.headers_enc", str(row.id))
    assert json.loads(sealed) == legacy
