"""The indicator pages (考核指标) in a real browser: a supervisor sees 建档率, 电子建档率 and 使用率 per
village as bar charts with tables of the same numbers, the trend by month and the programmes'
figures, each matching what the API answers; a village doctor is offered no figures and is
refused them by typed URL."""

from __future__ import annotations

import pytest
import requests

from shared import clock
from tests.browser.conftest import CLINIC, VILLAGE
from tests.unit.test_forms import personal_info

COMMISSION = "G1101050001"  # 朝阳区卫生健康委员会: the county


def _pct(value) -> str:
    return "—" if value is None else f"{value:.1f}%"


@pytest.fixture(scope="module")
def supervisor(module_gateway, staff):
    username = staff.user("supervisor", COMMISSION)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {staff.token(username)}"
    session.base, session.username = module_gateway, username
    return session


def test_a_supervisor_sees_the_indicator_charts_and_tables_matching_the_api(scenario, api, township, supervisor):
    archives = [api(), api(), api(born=clock.today().replace(year=1950))]
    for archive in archives[:2]:
        answer = township.post(f"{township.base}/api/v1/archives/{archive['archive_no']}/records", timeout=30,
                               json={"record_type": "visit", "content": {
                                   "occurred_on": clock.today().isoformat(), "subjective": "头晕",
                                   "assessment": "原发性高血压", "clinician": "李医生"}})
        assert answer.status_code == 201, answer.text
    answer = township.post(f"{township.base}/api/v1/archives/{archives[2]['archive_no']}/records", timeout=30,
                           json={"record_type": "personal_info", "content": personal_info()})
    assert answer.status_code == 201, answer.text

    indicators = supervisor.get(f"{supervisor.base}/api/v1/indicators", params={"months": 12}, timeout=30).json()
    figures = supervisor.get(f"{supervisor.base}/api/v1/programme-figures",
                             params={"year": clock.today().year}, timeout=30).json()
    keys = ("coverage_rate", "electronic_coverage_rate", "use_rate")
    village = next(v for v in indicators["villages"] if v["code"] == VILLAGE)
    assert village["archives"] >= 3 and village["dynamic_archives"] >= 2 and village["electronic_archives"] >= 1
    expected = {
        "villages": {v["code"]: {"name": v["name"], **{k: _pct(v[k]) for k in keys},
                                 "raw": {k: "" if v[k] is None else str(v[k]) for k in keys}}
                     for v in indicators["villages"]},
        "total": {k: _pct(indicators["total"][k]) for k in keys},
        "trend": {m["month"]: {"coverage_rate": _pct(m["coverage_rate"]), "use_rate": _pct(m["use_rate"])}
                  for m in indicators["trend"]},
        "hypertension_standard_rate": _pct(figures["hypertension"]["standard_rate"]),
    }
    scenario("indicator_scenarios.supervisor_sees_indicators", supervisor=supervisor.username, expected=expected,
             township=VILLAGE[:9])


def test_a_village_doctor_does_not_see_figures(scenario, staff):
    scenario("indicator_scenarios.village_doctor_sees_no_figures", doctor=staff.user("village_doctor", CLINIC))
