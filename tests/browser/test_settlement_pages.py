"""The insurer's settlements on the pages, in a real browser: a settlement the insurer publishes
for a resident (`ehr.settlement/1` on `ehr.insurance`, with its own broker account, as the demo
does) shows on the archive's 首页 (医保结算: how many in the last 12 months, the total and
out-of-pocket amounts, the last one's date and institution) and on the timeline with its
amounts, and its record reads in Chinese (the settlement and insurance types, diagnoses, the
amounts by category)."""

from __future__ import annotations

import time
from datetime import date

import eventlet
import pytest
from shared import clock

from ehr import demo_settlements
from ehr.broker import grant, management, partner_uri
from ehr.synthetic import Resident
from shared.config import load_settings
from tests.browser.conftest import CLINIC

INSURER, HOSPITAL = "Y1101050001", "H3301020001"   # 朝阳区医疗保障局, 朝阳区人民医院


@pytest.fixture(scope="module")
def insurer(suite_env) -> str:
    """The AMQP URI of the insurer's own broker account."""
    settings = load_settings()
    api, naming = management(settings)
    name, password = grant(api, naming, INSURER, "insurer", "110105")
    return partner_uri(settings.amqp_uri, name, password)


def test_a_settlement_shows_on_the_front_page_and_in_the_timeline_with_its_amounts(scenario, staff, api, township,
                                                                                   insurer):
    archive = api(born=date(1958, 4, 12))
    resident = Resident(archive["name"], archive["sex"], date.fromisoformat(archive["birth_date"]),
                        archive["id_number"], "", archive["village_code"], CLINIC)
    number = f"JS-WEB-{archive['archive_no']}"
    body = demo_settlements.body(INSURER, resident, HOSPITAL, number, 1, demo_settlements.OUTPATIENT, "1",
                                 clock.today())
    demo_settlements.publish(insurer, [body])

    deadline = time.monotonic() + 30
    while True:
        items = township.get(f"{township.base}/api/v1/archives/{archive['archive_no']}/records",
                             params={"record_type": "insurance_settlement"}, timeout=30).json()["items"]
        if items or time.monotonic() > deadline:
            break
        eventlet.sleep(0.3)
    assert [i["source"]["record_id"] for i in items] == [number]

    scenario("settlement_scenarios.front_page_and_timeline", doctor=staff.user("village_doctor", CLINIC),
             archive_no=archive["archive_no"], record_id=items[0]["record_id"],
             visit_date=body["settlement"]["visit_date"])
