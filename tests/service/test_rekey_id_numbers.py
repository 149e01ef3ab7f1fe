"""`ehr registry rekey-id-numbers` on real PostgreSQL: archives of ID type 02 stored with the
blind index of the old namespace (id:02) are found by their number again, a standing merge's
journal too (so that an unmerge does not bring the old index back), twice registered residents
are named by archive number and left as they were, and a second run changes nothing.

The old state is made as it was: archives created through the registry's own use case, then
their index set to what the registry computed before types 01 and 02 were one identity.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.orm import Session

from ehr import exit_codes
from ehr.synthetic import Synthesizer
from services import service as descriptor_of
from services.registry import matching, merges, reference, usecases
from services.registry.models import Archive, Merge
from services.registry.rekey import rekey_id_numbers
from shared.actor import Actor
from shared.config import generate_key
from shared.contracts.registry import ArchiveCreateSchema
from shared.db import drop_database, ensure_database, make_engine, upgrade
from shared.pii import PiiBox
from tests.support.db import server_url

VILLAGE, INSTITUTION = "110105101101", "T1101051011"
ACTOR = Actor(user="doc-rekey", institution_code=INSTITUTION, role="archive_manager")


@pytest.fixture
def keys():
    """EHR_PII_KEY and EHR_INDEX_KEY of this test, base64 as in the environment."""
    return {"EHR_PII_KEY": generate_key(), "EHR_INDEX_KEY": generate_key()}


@pytest.fixture
def box(keys):
    return PiiBox(base64.b64decode(keys["EHR_PII_KEY"]), base64.b64decode(keys["EHR_INDEX_KEY"]))


@pytest.fixture
def engine(suite_env, run_id):
    url = server_url(f"ehr_t{run_id}_idrekey{uuid.uuid4().hex[:6]}_registry")
    ensure_database(url)
    upgrade(descriptor_of("registry").migrations, url)
    engine = make_engine(url, pool_size=2)
    with Session(engine) as session:
        reference.load_demo_reference_data(session)
    yield engine
    engine.dispose()
    drop_database(url)


def old_key(box: PiiBox, number: str) -> bytes:
    """The index the registry gave a number under type 02 before: its own namespace."""
    return box.blind_index("id:02", number)


@pytest.fixture
def stored(engine, box):
    """Archives as they were: `stale` (type 02, old index), `right` (type 02 created since),
    `twice` (type 02, old index) and `card` (the same person under type 01, registered while the
    old index hid `twice`), `merged` (type 02, old index, merged into `survivor`)."""
    synth = Synthesizer(seed=uuid.uuid4().int % 100_000)
    people = {name: synth.resident(VILLAGE, INSTITUTION) for name in ("stale", "right", "twice", "merged", "survivor")}
    numbers, archives = {name: p.id_number for name, p in people.items()}, {}
    with Session(engine, expire_on_commit=False) as session:
        def create(name: str, id_type: str, resident=None) -> str:
            request = {**(resident or people[name]).archive_request(), "id_type": id_type, "confirm_new": True}
            return usecases.create_archive(session, box, ArchiveCreateSchema().load(request), ACTOR).archive_no

        for name in ("stale", "right", "twice", "merged"):
            archives[name] = create(name, "02")
        archives["survivor"] = create("survivor", "01")
        for name in ("stale", "twice", "merged"):
            session.execute(sa.update(Archive).where(Archive.archive_no == archives[name])
                            .values(id_number_index=old_key(box, numbers[name])))
        session.commit()
        archives["card"] = create("card", "01", resident=people["twice"])  # not found under its old index
        merge = merges.merge_archives(session, box, archives["survivor"], archives["merged"], "同一居民重复建档", ACTOR)
    return {"archives": archives, "numbers": numbers, "merge_id": merge.id}


def found(engine, box, number: str) -> str | None:
    with Session(engine) as session:
        answer = matching.resolve(session, box, {"id_type": "01", "id_number": number})
    return answer["archive_no"] if answer["status"] == "matched" else None


def test_type_02_archives_are_found_by_their_number_after_the_rekeying_and_collisions_are_named(engine, box, stored):
    archives, numbers = stored["archives"], stored["numbers"]
    assert found(engine, box, numbers["stale"]) is None  # the old index hides it

    report = rekey_id_numbers(engine, box, batch_size=1)

    # archives stale, right and twice, and the journal of the standing merge
    assert (report.checked, report.rekeyed, report.unchanged, report.busy) == (4, 2, 1, 0)
    assert report.collisions == [(archives["twice"], archives["card"])]
    assert found(engine, box, numbers["stale"]) == archives["stale"]
    assert found(engine, box, numbers["right"]) == archives["right"]
    assert found(engine, box, numbers["twice"]) == archives["card"]
    with Session(engine) as session:
        left = session.get(Archive, archives["twice"])
        assert bytes(left.id_number_index) == old_key(box, numbers["twice"])  # left as it was
        merge = session.get(Merge, stored["merge_id"])
        new = box.blind_index("id:01", numbers["merged"])
        assert bytes(merge.merged_id_number_index) == new
        assert base64.b64decode(merge.snapshot["id_number_index"]) == new
        assert session.get(Archive, archives["merged"]).id_number_index is None  # still merged: no index on its row
    # the merged resident's number leads to the survivor while the merge stands, to itself after
    assert found(engine, box, numbers["merged"]) == archives["survivor"]
    with Session(engine) as session:
        merges.unmerge_archives(session, stored["merge_id"], "合并错误", ACTOR)
    assert found(engine, box, numbers["merged"]) == archives["merged"]

    again = rekey_id_numbers(engine, box)
    assert (again.rekeyed, again.unchanged, again.collisions) == (0, 3, [(archives["twice"], archives["card"])])


def test_a_dry_run_changes_nothing(engine, box, stored):
    counted = rekey_id_numbers(engine, box, dry_run=True)
    assert (counted.rekeyed, len(counted.collisions)) == (2, 1)
    assert found(engine, box, stored["numbers"]["stale"]) is None
    assert rekey_id_numbers(engine, box).rekeyed == 2


def test_the_command_reports_counts_names_collisions_by_archive_number_and_exits_1(engine, keys, stored, tmp_path,
                                                                                   monkeypatch):
    import ehr.state
    from ehr.cli import main

    monkeypatch.setattr(ehr.state, "STATE_DIR", tmp_path)
    env = {**keys, "EHR_REGISTRY_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    runner = CliRunner()

    done = runner.invoke(main, ["registry", "rekey-id-numbers", "--batch-size", "2"], env=env)
    assert done.exit_code == exit_codes.FAILED, done.output
    assert "4 ID numbers of type 02 checked: 2 re-keyed, 1 already right, 1 held by another archive" in done.output
    twice, card = stored["archives"]["twice"], stored["archives"]["card"]
    assert f"archive {twice}: its ID number is held by archive {card}" in done.output
    assert stored["numbers"]["twice"] not in done.output

    as_json = runner.invoke(main, ["registry", "rekey-id-numbers", "--json"], env=env)
    assert as_json.exit_code == exit_codes.FAILED
    body = json.loads(as_json.output)
    assert (body["rekeyed"], body["unchanged"], body["collisions"]) == (0, 3, [{"archive_no": twice, "held_by": card}])
