"""The 区域平台上传 page in a real browser, end to end: an archive and a hypertension follow-up made
through the API reach the sync service of `module_gateway`, which sends them to the module's
platform (`sync_platform`, the `ehr platform` fake); told to, the platform rejects the follow-up's document, and an operator finds it
on the page with the platform's reasons, resends it once the platform takes it, and sees it
acknowledged; a backfill is started from the page (a date in the future named beside the field);
a doctor is offered no link and refused the page."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from shared import clock
from tests.browser.conftest import CLINIC, TOWNSHIP, VILLAGE
from tests.support.amqp import wait_until
from tests.support.db import query
from tests.unit.test_follow_up_forms import hypertension

OPERATOR_INSTITUTION = "G1101050001"  # 朝阳区卫生健康委员会


def _state(document_id: str):
    set_id, _, version = document_id.rpartition(":v")
    rows = query("sync", "SELECT id, state FROM documents WHERE set_id = :s AND version = :v", s=set_id, v=int(version))
    return rows[0] if rows else None


@pytest.fixture(scope="module")
def operator(staff):
    return staff.user("system_operator", OPERATOR_INSTITUTION)


def test_an_operator_finds_a_rejected_document_with_the_platforms_reasons_and_resends_it(
        scenario, api, township, sync_platform, operator):
    archive = api(VILLAGE, CLINIC, born=date(1950, 6, 15), sex="1")
    wait_until(lambda: (r := _state(f"archive:{archive['archive_no']}:v1")) and r.state == "acknowledged",
               timeout=60, message="the registration acknowledged")
    sync_platform.faults(reject_one_in=1)  # the platform refuses what comes next
    filed = township.post(f"{township.base}/api/v1/archives/{archive['archive_no']}/records",
                          json={"record_type": "hypertension_follow_up", "content": hypertension()}, timeout=30)
    assert filed.status_code == 201, filed.text
    assert archive["name"] and archive["id_number"]
    document_id = f"record:{filed.json()['record_id']}:v1"
    row = wait_until(lambda: (r := _state(document_id)) and r.state == "rejected" and r, timeout=60,
                     message="the follow-up's document rejected by the platform")
    assert sync_platform.document(document_id)["status"] == "rejected"
    sync_platform.reset()  # the platform takes it from now on

    scenario("sync_scenarios.operator_resends", operator=operator, document_id=document_id, row_id=row.id,
             archive_no=archive["archive_no"], name=archive["name"], id_number=archive["id_number"])
    assert _state(document_id).state == "acknowledged"
    assert sync_platform.received()[document_id] == 2  # rejected once, taken once
    [(target,)] = query("gateway", "SELECT target FROM audit_entries WHERE action = 'sync_document.resend' "
                                   "AND outcome = 'ok' AND actor = :a", a=operator)
    assert target == f"sync_document:{row.id}"


def test_an_operator_starts_a_backfill_from_the_page_and_a_bad_date_is_named(scenario, operator):
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    scenario("sync_scenarios.backfill_and_bad_date", operator=operator, tomorrow=tomorrow)
    assert query("sync", "SELECT requested_by FROM backfills WHERE since = '2026-01-01'")[-1][0] == operator


def test_a_doctor_is_offered_no_link_and_refused_the_page(scenario, staff):
    scenario("sync_scenarios.doctor_refused", doctor=staff.user("township_doctor", TOWNSHIP))
