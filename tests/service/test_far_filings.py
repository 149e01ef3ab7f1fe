"""Filings from hospitals far from the archive's area are flagged for review (issue 11, finding 14).

Registering somebody's ID number in your own village files every hospital encounter waiting for
that number into your archive; an encounter from a hospital in another county is still filed
(it may well be the resident's), but flagged for the clinicians of the archive's area."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.records.rules import OUTSIDE_COUNTY, review_for
from services.records.service import RecordsService
from services.registry.service import RegistryService
from shared.config import load_settings
from shared.db import make_engine
from shared.errors import InvalidTransition
from tests.support.amqp import wait_until
from tests.support.db import query

NEAR, FAR = "H1101050002", "H4401060001"  # 朝阳区中医医院 (110105); a hospital of 天河区 (440106)
VILLAGE, MANAGER = "110105201102", "T1101052011"


def test_review_for_compares_the_hospital_county_with_the_archive_number():
    assert review_for("11010520110200001", "110105") is None
    assert review_for("11010520110200001", "110105201") is None
    assert review_for("11010520110200001", "440106") == OUTSIDE_COUNTY
    assert review_for("11010520110200001", None) is None


@pytest.fixture
def far_hospital(suite_env):
    """A hospital of another county, known to the registry before the services start."""
    engine = make_engine(load_settings().database_url_for("registry"), pool_size=1)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO divisions (code, name, level) VALUES ('440106', '天河区', 'county') "
                             "ON CONFLICT DO NOTHING"))
        conn.execute(sa.text("INSERT INTO institutions (code, name, kind, division_code) "
                             "VALUES (:c, '天河区某医院', 'hospital', '440106') ON CONFLICT DO NOTHING"), {"c": FAR})
    engine.dispose()
    return FAR


@pytest.fixture
def services(far_hospital, start):
    return start(RegistryService, RecordsService)


def _record(rpc, archive_no, institution_code):
    def find():
        return [r for r in rpc.records.list_records(archive_no)["items"]
                if r["source"]["institution_code"] == institution_code]
    return wait_until(find, message=f"a record from {institution_code}")[0]


def _review(record_id):
    [row] = query("records", "SELECT review, reviewed_by FROM records WHERE id = :i", i=record_id)
    return row


def test_registering_an_id_number_files_waiting_encounters_and_flags_those_from_far_hospitals(
        services, rpc, synth, hospital):
    resident = synth.resident(VILLAGE, MANAGER)
    waiting = {hospital.publish(synth.encounter(resident, FAR)), hospital.publish(synth.encounter(resident, NEAR))}
    wait_until(lambda: waiting <= {p["message_id"] for p in rpc.records.list_pending(limit=200)["items"]},
               message="both encounters pending")

    archive_no = rpc.registry.create_archive(resident.archive_request())["archive_no"]
    far, near = _record(rpc, archive_no, FAR), _record(rpc, archive_no, NEAR)

    assert _review(far["record_id"]).review == OUTSIDE_COUNTY
    assert _review(near["record_id"]).review is None
    mine = rpc.records.list_reviews(prefix=VILLAGE[:9], limit=200)["items"]
    assert [(r["record_id"], r["institution_code"]) for r in mine if r["archive_no"] == archive_no] == \
        [(far["record_id"], FAR)]
    assert far["record_id"] not in [r["record_id"] for r in rpc.records.list_reviews(prefix="110105101")["items"]]
    assert far["record_id"] in [r["record_id"] for r in rpc.records.list_reviews(limit=200)["items"]]


def test_a_far_encounter_for_a_registered_resident_is_filed_flagged_and_cleared_by_a_clinician(
        services, rpc, synth, hospital):
    resident = synth.resident(VILLAGE, MANAGER)
    archive_no = rpc.registry.create_archive(resident.archive_request())["archive_no"]
    hospital.publish(synth.encounter(resident, FAR))
    far = _record(rpc, archive_no, FAR)
    assert _review(far["record_id"]).review == OUTSIDE_COUNTY

    cleared = rpc.records.clear_review(archive_no, far["record_id"])
    assert cleared["review"] is None
    assert far["record_id"] not in [r["record_id"] for r in rpc.records.list_reviews(limit=200)["items"]]
    with pytest.raises(InvalidTransition):
        rpc.records.clear_review(archive_no, far["record_id"])
