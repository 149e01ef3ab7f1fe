"""The gateway's HTTP API against real registry and records services, called as a township
doctor of the archives' township (`staff`) and as a system operator (`operator`)."""

from datetime import date

import pytest
import requests
import sqlalchemy as sa

from ehr.synthetic import Synthesizer
from services.gateway.service import GatewayService
from services.programmes.service import ProgrammesService
from services.referrals.service import ReferralsService
from services.records.service import RecordsService
from services.registry.service import RegistryService
from services.sync.service import SyncService
from tests.support.amqp import Hospital, wait_until
from tests.support.db import query

VILLAGE = "110105101102"
MANAGER = "T1101051011"


@pytest.fixture
def api(gateway_url):
    return gateway_url(RegistryService, RecordsService)


@pytest.fixture
def staff(auth):
    return auth.session_for("township_doctor", MANAGER)


@pytest.fixture
def operator(auth):
    return auth.session_for("system_operator", "G1101050001")


@pytest.fixture
def synth():
    return Synthesizer()


def test_creating_an_archive_answers_201_with_its_number(api, synth, staff):
    resident = synth.resident(VILLAGE, MANAGER)
    resp = staff.post(f"{api}/api/v1/archives", json=resident.archive_request())
    assert resp.status_code == 201
    archive = resp.json()
    assert archive["archive_no"].startswith(VILLAGE)
    assert resp.headers["X-Request-Id"]
    got = staff.get(f"{api}/api/v1/archives/{archive['archive_no']}")
    assert got.status_code == 200 and got.json()["name"] == resident.name


def test_unknown_paths_and_methods_answer_json_errors(api, staff):
    missing = staff.get(f"{api}/api/v1/no-such-thing", headers={"X-Request-Id": "unknown-route-1"})
    assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("application/json")
    assert missing.json()["error"]["code"] == "not_found"
    assert missing.headers["X-Request-Id"] == missing.json()["error"]["request_id"] != "unknown-route-1"
    assert missing.headers["X-Client-Request-Id"] == "unknown-route-1"
    wrong = staff.delete(f"{api}/api/v1/villages")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in wrong.headers["Allow"]


def test_a_bad_request_names_each_failing_field(api, synth, staff):
    request = synth.resident(VILLAGE, MANAGER).archive_request()
    del request["birth_date"]
    request["sex"] = "7"
    request["unexpected"] = 1
    resp = staff.post(f"{api}/api/v1/archives", json=request)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "validation_failed"
    assert set(error["details"]) == {"birth_date", "sex", "unexpected"}
    assert error["request_id"] == resp.headers["X-Request-Id"]


def test_a_body_that_is_not_json_is_a_400(api, staff):
    resp = staff.post(f"{api}/api/v1/archives", data=b"{nope", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and "_body" in resp.json()["error"]["details"]


def test_a_duplicate_id_number_is_a_409_naming_the_existing_archive_with_the_id_masked(api, synth, staff):
    resident = synth.resident(VILLAGE, MANAGER)
    first = staff.post(f"{api}/api/v1/archives", json=resident.archive_request()).json()
    resp = staff.post(f"{api}/api/v1/archives", json=resident.archive_request())
    assert resp.status_code == 409
    assert resp.json()["error"]["details"]["archive_no"] == first["archive_no"]
    assert resident.id_number not in resp.text


def test_unknown_and_malformed_archive_numbers_are_404_and_400(api, staff):
    assert staff.get(f"{api}/api/v1/archives/11010510110299999").status_code == 404
    assert staff.get(f"{api}/api/v1/archives/12345").status_code == 400
    assert staff.get(f"{api}/api/v1/archives/11010510110299999/records").status_code == 404


def test_records_are_listed_newest_first_in_pages_with_their_source(api, synth, suite_env, staff):
    resident = synth.resident(VILLAGE, MANAGER)
    archive_no = staff.post(f"{api}/api/v1/archives", json=resident.archive_request()).json()["archive_no"]
    hospital = Hospital(suite_env.amqp_uri)
    for _ in range(5):
        hospital.publish(synth.encounter(resident, "H1101050002"))
    hospital.close()
    wait_until(lambda: len(staff.get(f"{api}/api/v1/archives/{archive_no}/records?limit=200").json()["items"]) == 5,
               message="five records")

    first = staff.get(f"{api}/api/v1/archives/{archive_no}/records", params={"limit": 3}).json()
    second = staff.get(f"{api}/api/v1/archives/{archive_no}/records",
                       params={"limit": 3, "cursor": first["next"]}).json()
    items = first["items"] + second["items"]
    assert len(first["items"]) == 3 and len(second["items"]) == 2 and second["next"] is None
    times = [i["occurred_at"] for i in items]
    assert times == sorted(times, reverse=True)
    assert all(i["source"]["institution_code"] == "H1101050002" for i in items)
    bad = staff.get(f"{api}/api/v1/archives/{archive_no}/records", params={"limit": "many"})
    assert bad.status_code == 400 and "limit" in bad.json()["error"]["details"]


def test_villages_and_institutions_list_the_demo_county(api, staff):
    villages = staff.get(f"{api}/api/v1/villages").json()
    institutions = staff.get(f"{api}/api/v1/institutions").json()
    assert VILLAGE in {v["code"] for v in villages}
    assert all(len(v["code"]) == 12 for v in villages)
    assert {"hospital", "village_clinic", "township_centre"} <= {i["kind"] for i in institutions}


def test_health_is_ok_when_every_service_answers(gateway_url):
    api = gateway_url(RegistryService, RecordsService, ProgrammesService, ReferralsService, SyncService)
    resp = requests.get(f"{api}/api/v1/health")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "checks": {"registry": "ok", "records": "ok", "programmes": "ok",
                                                      "referrals": "ok", "sync": "ok"}}


@pytest.mark.parametrize("down", ["records", "programmes", "referrals", "sync"])
def test_health_is_503_and_names_the_service_that_is_down(gateway_url, down):
    running = {"records": RecordsService, "programmes": ProgrammesService, "referrals": ReferralsService,
               "sync": SyncService}
    api = gateway_url(RegistryService, *(cls for name, cls in running.items() if name != down))
    resp = requests.get(f"{api}/api/v1/health", timeout=30)
    assert resp.status_code == 503 and resp.json()["status"] == "degraded"
    checks = resp.json()["checks"]
    assert checks[down].startswith("unavailable")
    assert {name: value for name, value in checks.items() if name != down} == {
        name: "ok" for name in ("registry", "records", "programmes", "referrals", "sync") if name != down}


def test_the_openapi_document_describes_every_route(api):
    spec = requests.get(f"{api}/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/archives", "/api/v1/archives/{archive_no}", "/api/v1/archives/{archive_no}/records",
            "/api/v1/villages", "/api/v1/institutions", "/api/v1/health"} <= set(spec["paths"])
    # the ID number is required unless a guardian is named (a newborn's archive, issue 18): the
    # document says so where it cannot say it as `required`
    create = spec["components"]["schemas"]["ArchiveCreate"]
    assert set(create["required"]) >= {"name", "sex", "birth_date", "village_code", "institution_code"}
    assert "required unless a guardian" in create["properties"]["id_number"]["description"]


def test_the_served_document_publishes_each_forms_schema_and_code_lists(api):
    spec = requests.get(f"{api}/api/v1/openapi.json").json()
    schemas = spec["components"]["schemas"]
    content = schemas["RecordCreate"]["properties"]["content"]
    assert set(content["x-forms"]) == {"personal_info", "health_exam", "visit", "consultation", "hypertension_follow_up",
                                       "diabetes_follow_up", "integrated_follow_up", "elderly_self_care", "elderly_tcm"}
    for ref in content["x-forms"].values():
        assert ref["$ref"].rsplit("/", 1)[-1] in schemas
    abo = schemas["Form.BloodType"]["properties"]["abo"]
    assert abo["enum"] == ["1", "2", "3", "4", "5"] and abo["description"] == "1 A; 2 B; 3 O; 4 AB; 5 不详"
    item = schemas["Form.ExamResult"]["properties"]["item"]
    assert item["x-enum-descriptions"][item["enum"].index("ecg")] == "心电图"


def test_the_openapi_document_lists_exactly_the_gateways_routes():
    import re

    from nameko.web.handlers import HttpRequestHandler
    from services.gateway.openapi import build_spec

    routes = set()
    for attr in vars(GatewayService).values():
        for entrypoint in getattr(attr, "nameko_entrypoints", ()):
            if isinstance(entrypoint, HttpRequestHandler):
                url = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", entrypoint.url)
                routes |= {(m.lower(), url) for m in entrypoint.method.split(",")}
    documented = {(method, path) for path, ops in build_spec()["paths"].items() for method in ops}
    pages = {(method, path) for method, path in routes if path.startswith("/web/")}  # not the API
    assert routes - pages - {("get", "/api/v1/openapi.json")} == documented


def test_operators_work_the_quarantine_over_http(api, synth, suite_env, operator):
    hospital = Hospital(suite_env.amqp_uri)
    message_id = hospital.publish(b"{nope", routing_key="encounter.H1101050002.outpatient")
    hospital.close()
    entry = wait_until(lambda: [q for q in operator.get(f"{api}/api/v1/quarantine", params={"limit": 200})
                                .json()["items"] if q["message_id"] == message_id], message="quarantined")[0]
    shown = operator.get(f"{api}/api/v1/quarantine/{entry['id']}")
    assert shown.status_code == 200 and shown.json()["reason"] == "not_json"

    no_note = operator.post(f"{api}/api/v1/quarantine/{entry['id']}/discard", json={})
    assert no_note.status_code == 400 and "note" in no_note.json()["error"]["details"]
    done = operator.post(f"{api}/api/v1/quarantine/{entry['id']}/discard", json={"note": "vendor test"})
    assert done.status_code == 200 and done.json()["status"] == "discarded"
    again = operator.post(f"{api}/api/v1/quarantine/{entry['id']}/replay")
    assert again.status_code == 422
    assert operator.get(f"{api}/api/v1/quarantine/999999999").status_code == 404
    bad_link = operator.post(f"{api}/api/v1/pending/1/proposal", json={"archive_no": "123"})
    assert bad_link.status_code == 400 and "archive_no" in bad_link.json()["error"]["details"]


VISIT = {"occurred_on": "2026-11-20", "subjective": "头晕两天", "objective": "血压 150/95 mmHg",
         "assessment": "原发性高血压", "plan": "氨氯地平 5mg qd，两周后复诊", "clinician": "李医生"}


def test_a_form_record_is_filed_amended_and_marked_in_error_keeping_every_revision(api, synth, suite_env, staff):
    from shared.messaging import jurisdiction_binding
    from tests.support.amqp import Listener

    resident = synth.resident(VILLAGE, MANAGER)
    archive_no = staff.post(f"{api}/api/v1/archives", json=resident.archive_request()).json()["archive_no"]
    township = Listener(suite_env.amqp_uri, "ehr.archive-updates", jurisdiction_binding(VILLAGE))
    base = f"{api}/api/v1/archives/{archive_no}/records"

    created = staff.post(base, json={"record_type": "visit", "content": VISIT, "institution_code": MANAGER})
    assert created.status_code == 201, created.text
    record_id = created.json()["record_id"]
    amended = staff.post(f"{base}/{record_id}/revisions",
                         json={"content": {**VISIT, "plan": "氨氯地平 5mg qd，一周后复诊"}, "reason": "复诊时间写错"})
    assert amended.status_code == 201 and amended.json()["current_revision"] == 2
    history = staff.get(f"{base}/{record_id}").json()
    assert [r["content"]["plan"] for r in history["revisions"]] == [VISIT["plan"], "氨氯地平 5mg qd，一周后复诊"]
    assert history["revisions"][1]["reason"] == "复诊时间写错"

    marked = staff.post(f"{base}/{record_id}/entered-in-error", json={"reason": "录入到了错误的档案"})
    assert marked.status_code == 200 and marked.json()["status"] == "entered_in_error"
    assert staff.post(f"{base}/{record_id}/revisions", json={"content": VISIT, "reason": "x"}).status_code == 422
    timeline = staff.get(base).json()["items"]
    assert timeline[0]["status"] == "entered_in_error" and timeline[0]["record_id"] == record_id

    updates = township.wait(3)
    assert [u["body"]["action"] for u in updates] == ["filed", "amended", "entered_in_error"]
    assert all(u["routing_key"].endswith(".visit") for u in updates)
    township.close()


def test_a_form_that_breaks_its_rules_is_a_400_naming_the_field(api, synth, staff):
    resident = synth.resident(VILLAGE, MANAGER)
    archive_no = staff.post(f"{api}/api/v1/archives", json=resident.archive_request()).json()["archive_no"]
    before_birth = (resident.birth_date.replace(year=resident.birth_date.year - 1)).isoformat()
    resp = staff.post(f"{api}/api/v1/archives/{archive_no}/records", json={
        "record_type": "visit", "content": {**VISIT, "occurred_on": before_birth, "subjective": ""},
        "institution_code": MANAGER})
    assert resp.status_code == 400
    assert {"occurred_on", "subjective"} <= set(resp.json()["error"]["details"])
    unknown = staff.post(f"{api}/api/v1/archives/{archive_no}/records",
                         json={"record_type": "x", "content": {}, "institution_code": MANAGER})
    assert unknown.status_code == 400 and "record_type" in unknown.json()["error"]["details"]
    nowhere = staff.post(f"{api}/api/v1/archives/11010510110299999/records",
                         json={"record_type": "visit", "content": VISIT, "institution_code": MANAGER})
    assert nowhere.status_code == 404


def test_hospital_records_are_not_amended_through_the_forms(api, synth, suite_env, staff):
    resident = synth.resident(VILLAGE, MANAGER)
    archive_no = staff.post(f"{api}/api/v1/archives", json=resident.archive_request()).json()["archive_no"]
    hospital = Hospital(suite_env.amqp_uri)
    hospital.publish(synth.encounter(resident, "H1101050002"))
    hospital.close()
    [record] = wait_until(lambda: staff.get(f"{api}/api/v1/archives/{archive_no}/records").json()["items"],
                          message="the hospital record")
    resp = staff.post(f"{api}/api/v1/archives/{archive_no}/records/{record['record_id']}/revisions",
                      json={"content": VISIT, "reason": "try"})
    assert resp.status_code == 422


def test_the_archive_summary_derives_conditions_allergies_and_activity_from_the_records(api, synth, suite_env, staff):
    resident = synth.resident(VILLAGE, MANAGER, born=date(1958, 3, 1))  # the diabetes programme starts at 35
    archive_no = staff.post(f"{api}/api/v1/archives", json=resident.archive_request()).json()["archive_no"]
    empty = staff.get(f"{api}/api/v1/archives/{archive_no}/summary").json()
    assert empty["dynamic"] is False and empty["chronic_conditions"] == [] and empty["last_service"] == {}

    hospital = Hospital(suite_env.amqp_uri)
    encounter = synth.encounter(resident, "H1101050002")
    encounter["encounter"]["diagnoses"] = [{"system": "ICD-10", "code": "E11.9", "name": "2型糖尿病", "primary": True}]
    hospital.publish(encounter)
    hospital.close()
    wait_until(lambda: staff.get(f"{api}/api/v1/archives/{archive_no}/records").json()["items"],
               message="the encounter")

    summary = staff.get(f"{api}/api/v1/archives/{archive_no}/summary").json()
    assert summary["dynamic"] is True
    assert "type2_diabetes" in summary["key_populations"]
    assert [c["code"] for c in summary["chronic_conditions"]] == ["type2_diabetes"]
    assert set(summary["last_service"]) == {"hospital_encounter"}
    assert ("elderly" in summary["key_populations"]) == (summary["age"] >= 65)


def test_the_summary_takes_blood_type_allergies_and_past_diseases_from_the_personal_info_form(api, synth, staff):
    from tests.unit.test_forms import personal_info

    resident = synth.resident(VILLAGE, MANAGER, born=date(1958, 3, 1))  # asked the form (7+), in the programme (35+)
    archive_no = staff.post(f"{api}/api/v1/archives", json=resident.archive_request()).json()["archive_no"]
    content = personal_info(occurred_on="2026-11-01")
    content["past_history"]["diseases"][0]["diagnosed_on"] = max(
        content["past_history"]["diseases"][0]["diagnosed_on"], resident.birth_date.strftime("%Y-%m"))
    content["past_history"]["diseases"] = content["past_history"]["diseases"][:1]  # 2 高血压
    content["past_history"]["operations"] = content["past_history"]["transfusions"] = []
    filed = staff.post(f"{api}/api/v1/archives/{archive_no}/records",
                       json={"record_type": "personal_info", "content": content, "institution_code": MANAGER})
    assert filed.status_code == 201, filed.text

    summary = staff.get(f"{api}/api/v1/archives/{archive_no}/summary").json()
    assert summary["blood_type"] == {"abo": "1", "rh": "2"}
    assert summary["drug_allergies"] == ["2", "5"] and summary["drug_allergies_other"] == "头孢"
    assert [c["code"] for c in summary["chronic_conditions"]] == ["hypertension"]
    assert "hypertension" in summary["key_populations"]


def _gateway_db():
    from shared.config import load_settings
    from shared.db import make_engine

    return make_engine(load_settings().database_url_for("gateway"), pool_size=1)


def _archive(api, synth, staff) -> str:
    resp = staff.post(f"{api}/api/v1/archives", json=synth.resident(VILLAGE, MANAGER).archive_request())
    assert resp.status_code == 201
    return resp.json()["archive_no"]


def test_no_answer_leaves_without_its_audit_entry_a_failed_append_is_a_503(api, synth, staff):
    archive_no = _archive(api, synth, staff)
    engine = _gateway_db()
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER FUNCTION audit_reserve SET lock_timeout = '300ms'"))
        with engine.connect() as holder:  # the chain's head, locked by someone else for too long
            holder.execute(sa.text("SELECT seq FROM audit_head FOR UPDATE"))
            resp = staff.get(f"{api}/api/v1/archives/{archive_no}")
            holder.rollback()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER FUNCTION audit_reserve RESET lock_timeout"))
        engine.dispose()
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "unavailable"
    assert archive_no not in resp.text
    assert query("gateway", "SELECT seq FROM audit_entries WHERE request_id = :r", r=resp.headers["X-Request-Id"]) == []
    assert staff.get(f"{api}/api/v1/archives/{archive_no}").status_code == 200


def test_after_the_database_drops_its_connections_one_request_is_a_503_and_the_next_succeeds(api, synth, staff):
    archive_no = _archive(api, synth, staff)
    engine = _gateway_db()
    try:
        with engine.begin() as conn:  # what a database restart does to the gateway's pool
            dropped = conn.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    finally:
        engine.dispose()
    assert dropped >= 1
    failed = staff.get(f"{api}/api/v1/archives/{archive_no}")
    assert failed.status_code == 503 and failed.json()["error"]["code"] == "unavailable"
    [entry] = query("gateway", "SELECT status FROM audit_entries WHERE request_id = :r",
                    r=failed.headers["X-Request-Id"])
    assert entry.status == 503  # written on a fresh connection before the 503 left
    assert staff.get(f"{api}/api/v1/archives/{archive_no}").status_code == 200
