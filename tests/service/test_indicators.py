"""The work indicators (考核指标) over HTTP: 建档率, 电子建档率 and 使用率 per village and by month,
computed from the registry's archives (with the villages' 常住人口) and the records' filings; for
supervisors and administrators only, within their jurisdiction.

Counts are compared before and after this test's own archives and records (other tests of a run
share the villages)."""

import pytest

from datetime import date

from ehr.synthetic import Synthesizer
from services.gateway.stats import month_ends, rate
from services.records.service import RecordsService
from services.registry.service import RegistryService
from shared import clock
from tests.unit.test_forms import personal_info

VILLAGE = "110105101101"        # 上辛堡村, 常住人口 1200 in the demo reference data
TOWNSHIP = "110105101"
CLINIC = "V1101051011"
COMMISSION = "G1101050001"


@pytest.fixture
def api(gateway_url):
    return gateway_url(RegistryService, RecordsService)


@pytest.fixture
def people(auth):
    return {role: auth.session_for(role, institution) for role, institution in (
        ("supervisor", COMMISSION), ("institution_admin", "T1101051011"), ("township_doctor", "T1101051011"),
        ("village_doctor", CLINIC))}


def _indicators(api, session, **params) -> dict:
    answer = session.get(f"{api}/api/v1/indicators", params=params, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _village(figures: dict, code: str) -> dict:
    return next(v for v in figures["villages"] if v["code"] == code)


def _file(api, doctor, archive_no: str, record_type: str, content: dict) -> None:
    answer = doctor.post(f"{api}/api/v1/archives/{archive_no}/records", json={"record_type": record_type,
                                                                              "content": content}, timeout=30)
    assert answer.status_code == 201, answer.text


def test_the_indicators_count_archives_electronic_and_dynamic_ones_per_village_and_by_month(api, people):
    supervisor, doctor = people["supervisor"], people["township_doctor"]
    before = _indicators(api, supervisor, division=TOWNSHIP, months=4)
    today = clock.today()
    three_months_ago = month_ends(today, 4)[0]   # the end of the trend's first month
    synth = Synthesizer()
    numbers = []
    for archive_date in (three_months_ago, today, today):
        body = {**synth.resident(VILLAGE, CLINIC, born=date(1950, 1, 1)).archive_request(), "confirm_new": True,
                "archive_date": archive_date.isoformat()}
        answer = doctor.post(f"{api}/api/v1/archives", json=body, timeout=30)
        assert answer.status_code == 201, answer.text
        numbers.append(answer.json()["archive_no"])
    old, new, idle = numbers
    visit = {"subjective": "头晕", "assessment": "原发性高血压", "clinician": "李医生"}
    _file(api, doctor, old, "visit", {**visit, "occurred_on": three_months_ago.isoformat()})  # dynamic since then
    _file(api, doctor, new, "visit", {**visit, "occurred_on": today.isoformat()})
    _file(api, doctor, new, "personal_info", personal_info())

    after = _indicators(api, supervisor, division=TOWNSHIP, months=4)
    was, now = _village(before, VILLAGE), _village(after, VILLAGE)
    assert now["name"] == "上辛堡村村民委员会" and now["population"] == 1200
    assert now["archives"] - was["archives"] == 3
    assert now["electronic_archives"] - was["electronic_archives"] == 1
    assert now["dynamic_archives"] - was["dynamic_archives"] == 2       # `idle` has no record
    assert now["coverage_rate"] == rate(now["archives"], 1200)
    assert now["electronic_coverage_rate"] == rate(now["electronic_archives"], 1200)
    assert now["use_rate"] == rate(now["dynamic_archives"], now["archives"])

    # the township: the sum of its villages, whose 常住人口 are all known (1200 + 900 + 300)
    total = after["total"]
    assert total["code"] == TOWNSHIP and total["population"] == 2400
    assert total["archives"] == sum(v["archives"] for v in after["villages"])
    assert {v["code"] for v in after["villages"]} == {"110105101101", "110105101102", "110105101901"}

    # the trend: four months, the last today's; the old archive counts from its month on
    assert [m["month"] for m in after["trend"]] == [e.strftime("%Y-%m") for e in month_ends(today, 4)]
    grown = [a["archives"] - b["archives"] for a, b in zip(after["trend"], before["trend"])]
    assert grown == [1, 1, 1, 3]
    busier = [a["dynamic_archives"] - b["dynamic_archives"] for a, b in zip(after["trend"], before["trend"])]
    assert busier == [1, 1, 1, 2]
    assert after["trend"][-1]["archives"] == total["archives"]
    assert after["trend"][-1]["use_rate"] == rate(total["dynamic_archives"], total["archives"])

    # a village is a division too: its own trend
    village = _indicators(api, supervisor, division=VILLAGE, months=2)
    assert [v["code"] for v in village["villages"]] == [VILLAGE] and village["total"]["archives"] == now["archives"]
    assert _village(_indicators(api, supervisor, division=VILLAGE), VILLAGE)["dynamic_archives"] == \
        now["dynamic_archives"], idle


def test_only_supervisors_and_administrators_read_the_indicators_of_their_jurisdiction(api, people):
    for role in ("village_doctor", "township_doctor"):
        assert people[role].get(f"{api}/api/v1/indicators", timeout=30).status_code == 403, role
    admin = _indicators(api, people["institution_admin"])
    assert admin["division"] == TOWNSHIP
    outside = people["institution_admin"].get(f"{api}/api/v1/indicators", params={"division": "110105201"},
                                             timeout=30)
    assert outside.status_code == 404
    wrong = people["supervisor"].get(f"{api}/api/v1/indicators", params={"months": 99}, timeout=30)
    assert wrong.status_code == 400 and "months" in wrong.text
    assert _indicators(api, people["supervisor"])["division"] == "110105"
