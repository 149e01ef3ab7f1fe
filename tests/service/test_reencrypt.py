"""Re-encryption after a rotation of EHR_PII_KEY (`ehr keys reencrypt`), on real PostgreSQL.

Each test gets its own registry and records databases (the run's are shared with the service tests,
whose containers keep the run's key), filled with key A through the registry's and the records'
own code; then the key rotates to B with A kept as an old key, and after the command a box holding
only B must read everything, and blind-index lookups must still find the residents.
"""

import base64
import json
import uuid

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.orm import Session

from ehr.setup import MIGRATIONS
from ehr.synthetic import Synthesizer
from services.records import reencrypt as records_reencrypt
from services.records.filing import QUARANTINE, quarantine_rows
from services.records.models import PendingEncounter
from services.registry import matching, merges, reference, usecases
from services.registry import reencrypt as registry_reencrypt
from services.registry.models import Archive, Merge, ResidentIdentifier
from shared.actor import Actor
from shared.api import ArchiveCreateSchema
from shared.config import generate_key
from shared.consumer import Delivery
from shared.db import drop_database, ensure_database, make_engine, upgrade
from shared.pii import DecryptionFailed, PiiBox

VILLAGE, INSTITUTION, HOSPITAL = "110105101101", "T1101051011", "H3301020001"
ACTOR = Actor(user="doc-rekey", institution_code=INSTITUTION, role="archive_manager")


def key() -> bytes:
    return base64.b64decode(generate_key())


@pytest.fixture
def keys():
    """The old key A, the new key B, and the blind-index key (which does not rotate)."""
    return {"a": key(), "b": key(), "index": key()}


@pytest.fixture
def databases(suite_env, run_id):
    """Fresh, migrated registry and records databases: {"registry": url, "records": url}."""
    suffix = uuid.uuid4().hex[:6]
    urls = {s: f"postgresql://postgres@127.0.0.1:5432/ehr_t{run_id}_rekey{suffix}_{s}" for s in ("registry", "records")}
    for service, url in urls.items():
        ensure_database(url)
        upgrade(MIGRATIONS[service], url)
    engines = {s: make_engine(url, pool_size=2) for s, url in urls.items()}
    with Session(engines["registry"]) as session:
        reference.load_demo_reference_data(session)
    yield engines
    for service, engine in engines.items():
        engine.dispose()
        drop_database(urls[service])


@pytest.fixture
def written(databases, keys):
    """Data sealed with key A: archives with phones and cards, a learned MRN, a merge (its snapshot
    keeps ciphertexts), a quarantined message and a pending encounter. Returns what was written."""
    box = PiiBox(keys["a"], keys["index"])
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
        merge = merges.merge_archives(session, numbers[1], numbers[2], "同一居民重复建档", ACTOR)
    body = json.dumps(synth.encounter(residents[3], HOSPITAL), ensure_ascii=False).encode()
    with Session(databases["records"]) as session:
        delivery = Delivery(body, f"encounter.{HOSPITAL}.outpatient", "m-1", "application/json", {}, False)
        session.execute(QUARANTINE.insert(), quarantine_rows(box, "records.encounters", [(delivery, "not_json", {})]))
        session.add(PendingEncounter(institution_code=HOSPITAL, message_id="m-2", payload_enc=box.encrypt_bytes(body),
                                     identity_key=box.blind_index("id:01", residents[3].id_number)))
        session.commit()
    return {"residents": residents, "numbers": numbers, "mrn": mrn, "merge_id": merge.id, "body": body}


def run(databases, box, **options):
    return {r.column: r for module, service in ((registry_reencrypt, "registry"), (records_reencrypt, "records"))
            for r in module.reencrypt(databases[service], box, **options)}


def tokens(databases) -> list[bytes]:
    """Every ciphertext of both databases, wherever it is kept."""
    found = []
    with databases["registry"].connect() as conn:
        for column in (Archive.id_number_enc, Archive.phone_enc, ResidentIdentifier.value_enc):
            found += [bytes(t) for t in conn.scalars(sa.select(column).where(column.is_not(None)))]
        for snapshot in conn.scalars(sa.select(Merge.snapshot)):
            found += [base64.b64decode(snapshot[f]) for f in ("id_number_enc", "phone_enc") if snapshot.get(f)]
    with databases["records"].connect() as conn:
        found += [bytes(t) for t in conn.scalars(sa.text("SELECT body_enc FROM quarantine"))]
        found += [bytes(t) for t in conn.scalars(sa.text("SELECT headers_enc FROM quarantine"))]
        found += [bytes(t) for t in conn.scalars(sa.text("SELECT payload_enc FROM pending_encounters"))]
    return found


def test_after_reencryption_a_box_with_only_the_new_key_reads_everything_and_finds_everyone(
        databases, keys, written):
    rotated = PiiBox(keys["b"], keys["index"], old_keys=(keys["a"],))
    only_new = PiiBox(keys["b"], keys["index"])
    before = tokens(databases)
    with pytest.raises(DecryptionFailed):
        only_new.decrypt_bytes(before[0])

    counted = run(databases, rotated, dry_run=True)
    reports = run(databases, rotated, batch_size=3)

    # 7 ID numbers, 7 phones, 7 cards + 1 MRN, the merged archive's ID and phone in the snapshot,
    # one quarantined message (body and headers) and one pending message; no plaintext headers.
    expected = {"archives.id_number_enc": 7, "archives.phone_enc": 7, "resident_identifiers.value_enc": 8,
                "merges.snapshot.id_number_enc": 1, "merges.snapshot.phone_enc": 1, "quarantine.body_enc": 1,
                "quarantine.headers_enc": 1, "pending_encounters.payload_enc": 1,
                "quarantine.headers (plaintext)": 0}
    assert {c: r.stale for c, r in counted.items()} == expected
    assert {c: r.rewritten for c, r in counted.items()} == dict.fromkeys(expected, 0)
    assert {c: (r.rewritten, r.failed, r.remaining) for c, r in reports.items()} == {
        c: (n, 0, 0) for c, n in expected.items()}
    after = tokens(databases)
    assert len(after) == len(before)
    assert sorted(only_new.decrypt_bytes(t) for t in after) == sorted(rotated.decrypt_bytes(t) for t in before)

    residents, numbers = written["residents"], written["numbers"]
    with Session(databases["registry"], expire_on_commit=False) as session:
        by_id = matching.resolve(session, only_new, {"id_type": "01", "id_number": residents[0].id_number})
        by_mrn = matching.resolve(session, only_new, {"mrn": written["mrn"], "institution_code": HOSPITAL})
        by_phone = matching.resolve(session, only_new, {"name": residents[4].name, "phone": residents[4].phone})
        assert by_id["archive_no"] == by_mrn["archive_no"] == numbers[0]
        assert by_phone["candidates"][0]["archive_no"] == numbers[4] and "phone" in by_phone["candidates"][0]["reasons"]
        # An unmerge writes the snapshot back: the restored archive opens with the new key alone.
        merges.unmerge_archives(session, written["merge_id"], "并非同一人", ACTOR)
        restored = usecases.get_archive(session, numbers[2])
        assert only_new.decrypt(restored.id_number_enc) == residents[2].id_number
        assert only_new.decrypt(restored.phone_enc) == residents[2].phone

    assert run(databases, rotated)["archives.id_number_enc"].rewritten == 0  # nothing left to do


def test_a_row_the_suite_holds_is_skipped_then_taken_by_the_next_run(databases, keys, written):
    rotated = PiiBox(keys["b"], keys["index"], old_keys=(keys["a"],))
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
        conn.execute(sa.text("UPDATE quarantine SET body_enc = :t"), {"t": stranger.encrypt_bytes(b"{}")})
    rotated = PiiBox(keys["b"], keys["index"], old_keys=(keys["a"],))

    report = run(databases, rotated)["quarantine.body_enc"]

    assert (report.rewritten, report.failed, report.remaining) == (0, 1, 1)


def test_the_command_counts_with_dry_run_then_reencrypts_and_says_nothing_remains(databases, keys, written):
    url = {s: e.url.render_as_string(hide_password=False) for s, e in databases.items()}
    env = {"EHR_PII_KEY": base64.b64encode(keys["b"]).decode(), "EHR_INDEX_KEY": base64.b64encode(keys["index"]).decode(),
           "EHR_PII_OLD_KEYS": base64.b64encode(keys["a"]).decode(), "EHR_TOKEN_KEY": generate_key(),
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
    assert printed.exit_code == 0 and printed.output.count("\n") == 3  # `ehr keys` alone still prints keys


def test_headers_quarantined_before_they_were_sealed_are_sealed_by_the_command(databases, keys, written):
    box = PiiBox(keys["a"], keys["index"])
    legacy = {"x-death": [{"reason": "rejected", "routing-keys": ["encounter.H3301020001.outpatient"]}],
              "x-patient": "110105 19491231 002X"}
    with databases["records"].begin() as conn:
        conn.execute(sa.text("UPDATE quarantine SET headers_enc = NULL, headers = :h"), {"h": json.dumps(legacy)})

    counted = run(databases, box, dry_run=True)["quarantine.headers (plaintext)"]
    report = run(databases, box)["quarantine.headers (plaintext)"]

    assert (counted.stale, counted.rewritten) == (1, 0)
    assert (report.stale, report.rewritten, report.remaining) == (1, 1, 0)
    with databases["records"].connect() as conn:
        row = conn.execute(sa.text("SELECT headers, headers_enc FROM quarantine")).one()
    assert row.headers is None
    assert json.loads(box.decrypt_bytes(bytes(row.headers_enc))) == legacy
