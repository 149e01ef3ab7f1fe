"""Schema-driven fuzzing: schemathesis reads the OpenAPI document the gateway serves and sends
every operation generated input, valid (positive) and invalid (negative, which includes broken
credentials), with a valid token of the role the operation is for. Bad input must never give a
5xx. Path parameters name a real archive and record in the caller's scope where the operation
has other input to vary, so that generated bodies and queries reach the handlers behind the
gate. A bounded number of examples per operation keeps the run at about 20 s; a deeper run:
`FUZZ_EXAMPLES=200 pytest tests/service/test_api_fuzz.py`."""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.support.auth import bearer

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
statuses: Counter = Counter()


@pytest.fixture(scope="module")
def api_schema(module_gateway):
    return schemathesis.openapi.from_url(module_gateway + "/api/v1/openapi.json", wait_for_schema=30)


@pytest.fixture(scope="module")
def township_doctor(auth):
    return bearer(auth.token(auth.user("township_doctor", "T1101051011"), lifetime=3600))


@pytest.fixture(scope="module")
def operator(auth):
    return bearer(auth.token(auth.user("system_operator", "G1101050001"), lifetime=3600))


OPERATIONS = ("/api/v1/quarantine", "/api/v1/pending", "/api/v1/sync")  # the operator's; the rest a clinician's
SIGN_OUT = "/api/v1/auth/revoke"


def no_server_error(response) -> None:
    statuses[response.status_code // 100] += 1
    assert response.status_code < 500, (
        f"{response.request.method} {response.request.url} answered {response.status_code}: {response.text[:500]}")


@pytest.fixture(scope="module")
def real(module_gateway, township_doctor):
    """An archive in the doctor's scope with one form record, so that generated requests get
    past the scope check into the handlers (random archive numbers just answer 404)."""
    from ehr.synthetic import Synthesizer

    archive = township_doctor.post(module_gateway + "/api/v1/archives",
                                   json=Synthesizer().resident("110105101101", "T1101051011").archive_request())
    archive_no = archive.json()["archive_no"]
    record = township_doctor.post(f"{module_gateway}/api/v1/archives/{archive_no}/records", json={
        "record_type": "visit", "content": {"occurred_on": "2026-11-20", "subjective": "头晕", "assessment": "高血压",
                                            "clinician": "李医生"}})
    assert record.status_code == 201, record.text
    return {"archive_no": archive_no, "record_id": record.json()["record_id"]}


def _operations() -> list:
    from services.gateway.openapi import build_spec

    cases = []
    for path, ops in build_spec()["paths"].items():
        for method, op in ops.items():
            # An operation that takes no input has no invalid input either.
            takes_input = bool(op.get("parameters") or op.get("requestBody"))
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)[:2 if takes_input else 1]:
                cases.append(pytest.param(path, method, mode, id=f"{mode}-{method.upper()} {path}"))
    return cases


@pytest.mark.parametrize("path,method,mode", _operations())
def test_no_generated_request_gives_a_server_error(api_schema, township_doctor, operator, module_gateway, real,
                                                   auth, path, method, mode):
    from services.gateway.openapi import build_spec

    operation = api_schema[path][method]  # from the document the gateway served
    declared = build_spec()["paths"][path][method]
    fixed = {name: value for name, value in real.items() if "{" + name + "}" in path}
    others = [p for p in declared.get("parameters", []) if p["in"] != "path"] or declared.get("requestBody")
    if mode is GenerationMode.NEGATIVE and not others:
        fixed = {}  # nothing else to make invalid: let the path parameters be the invalid part
    seen: Counter = Counter()

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed or None))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    def fuzz(case):
        session = operator if path.startswith(OPERATIONS) else township_doctor
        if path == SIGN_OUT:  # signs its caller out everywhere: a caller of its own each time
            session = bearer(auth.token(auth.user("township_doctor", "T1101051011")))
        response = case.call(base_url=module_gateway, session=session, timeout=30)
        seen[response.status_code] += 1
        no_server_error(response)

    fuzz()
    if mode is GenerationMode.POSITIVE and path != "/api/v1/auth/token":
        # Valid input with a valid token: a 401 would mean the token did not get through and
        # nothing behind the gate was fuzzed. (Negative cases include broken credentials.)
        assert seen[401] == 0, seen


IN = "{archive}"
HOSTILE = [
    ("GET", f"/api/v1/archives/{IN}/records?record_type=%00"),
    ("GET", f"/api/v1/archives/{IN}/records?institution_code=%00x"),
    ("GET", f"/api/v1/archives/{IN}/records?cursor=%00&since=%00"),
    ("GET", f"/api/v1/archives/{IN}/records?limit=99999999999999999999"),
    ("GET", f"/api/v1/archives/{IN}/records/%00"),
    ("GET", f"/api/v1/archives/{IN}/records/{'9' * 300}"),
    ("POST", f"/api/v1/archives/{IN}/records/%00/revisions", {"content": {}, "reason": "x"}),
    ("GET", "/api/v1/archives/%00/summary"),
    ("POST", f"/api/v1/archives/{IN}/access", {"reason": "急诊\x00" + "长" * 600}),
    ("POST", f"/api/v1/archives/{IN}/records", {"record_type": "visit\x00", "content": {"occurred_on": "\x00"}}),
    ("POST", "/api/v1/archives", {"name": "\x00", "sex": "1", "birth_date": "1990-01-01", "id_number": "\x00",
                                  "village_code": "110105101101", "institution_code": "\x00"}),
    ("GET", "/api/v1/quarantine?status=%00&reason=%00&cursor=%00"),
    ("GET", "/api/v1/quarantine/99999999999999999999"),
    ("POST", "/api/v1/pending/99999999999999999999/link", {"archive_no": "1" * 17}),
    ("POST", "/api/v1/auth/token", {"username": "a\x00", "password": "\x00"}),
    ("POST", "/api/v1/auth/token", {"username": "ab", "password": "x" * 5000}),
]


@pytest.mark.parametrize("request_", HOSTILE, ids=lambda r: f"{r[0]} {r[1][:60]}")
def test_hostile_input_is_refused_with_a_4xx(module_gateway, township_doctor, auth, request_):
    from ehr.synthetic import Synthesizer

    method, path, *body = request_
    if IN in path:
        created = township_doctor.post(module_gateway + "/api/v1/archives",
                                       json=Synthesizer().resident("110105101101", "T1101051011").archive_request())
        path = path.replace(IN, created.json()["archive_no"])
    session = township_doctor if "quarantine" not in path and "pending" not in path \
        else auth.session_for("system_operator", "G1101050001")
    response = session.request(method, module_gateway + path, json=body[0] if body else None)
    assert 400 <= response.status_code < 500, response.text


def test_the_fuzz_run_reached_the_services_and_answered_both_successes_and_refusals():
    if not statuses:
        pytest.skip("the fuzz tests of this module did not run")
    assert statuses[2] > 0, statuses
    assert statuses[4] > 0, statuses


def test_the_check_fails_on_a_server_error():
    class Request:
        method, url = "GET", "http://gateway/api/v1/boom"

    class Broken:
        status_code, text, request = 500, "Internal error.", Request()

    with pytest.raises(AssertionError, match="answered 500"):
        no_server_error(Broken())
