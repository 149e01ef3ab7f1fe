"""Records follow the registry's transfers, merges and unmerges (the registry events as the
contract describes them, applied to the real records database)."""

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ehr.synthetic import Synthesizer
from services.records.revisions import file_resolved
from services.records.models import Record
from services.records import registry_events
from shared.config import load_settings
from shared.db import make_engine
from shared.contracts.encounter import load_encounter
from shared.pii import service_box
from tests.support.events import registry_event as event

# Archive numbers of the demo county's farm (110105101901) that no other test registers.
SURVIVOR, MERGED, ELSEWHERE = "11010510190180001", "11010510190180002", "11010510190180003"


@pytest.fixture
def db(suite_env):
    settings = load_settings()
    engine = make_engine(settings.database_url_for("records"))
    pii = service_box(settings, "records")
    with Session(engine) as session:
        yield session, pii
    engine.dispose()


def handle_registry_events(session, pii, deliveries):
    return registry_events.handle_registry_events(session, pii, load_settings().require_service_key(), deliveries)


def file(session, pii, synth, resident, archive_no):
    encounter = load_encounter(synth.encounter(resident, "H3301020001", record_id=f"R-{uuid.uuid4().hex[:10]}"))
    file_resolved(session, pii, [(encounter, archive_no, str(uuid.uuid4()))])
    session.commit()
    return session.scalar(sa.select(Record.id).order_by(Record.created_at.desc(), Record.id).limit(1)
                          .where(Record.source_record_id == encounter.record_id))


def where(session, record_ids):
    rows = session.execute(sa.select(Record.id, Record.archive_no).where(Record.id.in_(record_ids))).all()
    return {rid: archive for rid, archive in rows}


def test_a_merge_then_later_writes_then_an_unmerge_leaves_each_record_where_it_belongs(db):
    session, pii = db
    synth = Synthesizer(seed=21)
    alice, bob = synth.resident("110105101901", "T1101051011"), synth.resident("110105101901", "T1101051011")
    survivor_before = file(session, pii, synth, alice, SURVIVOR)
    merged_before = [file(session, pii, synth, bob, MERGED) for _ in range(2)]
    merge_id = uuid.uuid4().int % 2 ** 31  # a merge journal id (an integer, as the registry numbers them)
    bob_key = pii.blind_index("id:01", bob.id_number).hex()

    handle_registry_events(session, pii, [event("archives_merged", {
        "merge_id": merge_id, "archive_no": SURVIVOR, "merged_archive_no": MERGED,
        "merged_identity_keys": [bob_key]})])
    assert set(where(session, merged_before).values()) == {SURVIVOR}

    # After the merge the registry resolves both people to the survivor.
    bob_after = file(session, pii, synth, bob, SURVIVOR)
    alice_after = file(session, pii, synth, alice, SURVIVOR)

    handle_registry_events(session, pii, [event("archives_unmerged", {
        "merge_id": merge_id, "archive_no": SURVIVOR, "restored_archive_no": MERGED,
        "restored_identity_keys": [bob_key]})])
    placed = where(session, [survivor_before, *merged_before, bob_after, alice_after])
    assert placed == {survivor_before: SURVIVOR, merged_before[0]: MERGED, merged_before[1]: MERGED,
                      bob_after: MERGED, alice_after: SURVIVOR}


def test_an_unmerge_handled_before_its_merge_leaves_the_records_in_place(db):
    session, pii = db
    synth = Synthesizer(seed=22)
    carol = synth.resident("110105101901", "T1101051011")
    record = file(session, pii, synth, carol, ELSEWHERE)
    merge_id = uuid.uuid4().int % 2 ** 31  # a merge journal id (an integer, as the registry numbers them)
    key = pii.blind_index("id:01", carol.id_number).hex()
    handle_registry_events(session, pii, [event("archives_unmerged", {
        "merge_id": merge_id, "archive_no": SURVIVOR, "restored_archive_no": ELSEWHERE,
        "restored_identity_keys": [key]})])
    handle_registry_events(session, pii, [event("archives_merged", {
        "merge_id": merge_id, "archive_no": SURVIVOR, "merged_archive_no": ELSEWHERE,
        "merged_identity_keys": [key]})])
    assert where(session, [record]) == {record: ELSEWHERE}


def test_a_transfer_moves_the_records_to_the_new_number_once(db):
    session, pii = db
    synth = Synthesizer(seed=23)
    dave = synth.resident("110105101901", "T1101051011")
    old, new = "11010510190180004", "11010510190180005"
    records = [file(session, pii, synth, dave, old) for _ in range(3)]
    transferred = event("archive_transferred", {"archive_no": new, "former_archive_no": old,
                                                "village_code": "110105101901", "institution_code": "T1101051011"})
    assert handle_registry_events(session, pii, [transferred]) == 3
    assert handle_registry_events(session, pii, [transferred]) == 0  # the same event again: nothing
    assert set(where(session, records).values()) == {new}
